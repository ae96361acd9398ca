import { type Command, InvalidArgumentError, Option } from 'commander';
import { isValidMediaType, LadingError } from '../oci/index.js';
import type { CliIO } from './io.js';
import { addOcmGlobalOptions, applyOcmGlobalOptions } from './log.js';
import { addFormatOptions } from './output/format.js';

export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new LadingError('INVALID_ARGUMENT', `--concurrency must be a whole number from 1 to 256, got "${value}"`);
  }
  return n;
}

/** Accumulates a repeatable option into a list. */
/** `4MiB`, `1G`, `512k`, `1000`: a byte count. */
export function parseSize(value: string): number {
  const m = /^(\d+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a size such as 4MiB or 1GiB');
  const unit = (m[2] as string).toLowerCase().charAt(0);
  const scale = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit] as number;
  const bytes = Number(m[1]) * scale;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new InvalidArgumentError('expected a positive size');
  return bytes;
}

/** {@link parseSize}, or `unlimited` for no bound (Infinity). */
export function parseSizeOrUnlimited(value: string): number {
  return value.trim().toLowerCase() === 'unlimited' ? Number.POSITIVE_INFINITY : parseSize(value);
}

export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `--registry-config`, the one remote flag `logout` has too. */
export function addRegistryConfigOption(cmd: Command, prefix = ''): Command {
  const p = prefix ? `${prefix}-` : '';
  return cmd.option(`--${p}registry-config <path>`, 'path of a docker-style auth config file (repeatable)', collect);
}

/**
 * The registry flags (credentials, TLS, plain HTTP, headers). With a prefix (`from`, `to`) they
 * are the `cp` forms: `--from-username`, with no short names and no stdin variants.
 */
function addRemoteOptions(cmd: Command, prefix = '', options: { shortFlags?: boolean } = {}): Command {
  const p = prefix ? `${prefix}-` : '';
  const short = (s: string) => (prefix || options.shortFlags === false ? '' : `${s}, `);
  cmd
    .option(`${short('-u')}--${p}username <username>`, 'registry user name')
    .option(`${short('-p')}--${p}password <password>`, 'registry password or identity token')
    .option(`--${p}identity-token <token>`, 'registry identity (refresh) token')
    .option(`--${p}insecure`, 'allow connections to registries whose TLS certificate cannot be verified')
    .option(`--${p}plain-http`, 'use plain HTTP instead of HTTPS (the default for the host name localhost only)')
    // `--plain-http=false` (see goBoolFlags): HTTPS even for localhost, as ORAS.
    .addOption(new Option(`--no-${p}plain-http`).hideHelp())
    .option(`--${p}ca-file <file>`, 'server certificate authority file for the remote registry')
    .option(`--${p}cert-file <file>`, `client certificate file for mutual TLS (with --${p}key-file)`)
    .option(`--${p}key-file <file>`, `client private key file for mutual TLS (with --${p}cert-file)`);
  addRegistryConfigOption(cmd, prefix);
  if (!prefix) {
    cmd
      .option('--password-stdin', 'read the password (or identity token) from stdin')
      .option('--identity-token-stdin', 'read the identity token from stdin');
  }
  const which = prefix ? `${layoutRole[prefix]} ` : '';
  cmd
    .option(
      `${short('-H')}--${p}header <header>`,
      `add a 'Name: value' header to requests to ${which || 'the '}registry (repeatable)`,
      collect,
    )
    .option(
      `--${p}resolve <host:port:address[:port]>`,
      `connect to this address instead of what DNS says for ${which || 'the '}registry host (repeatable)`,
      collect,
    );
  return cmd;
}

const layoutRole: Record<string, string> = { from: 'the source', to: 'the destination' };
const layoutForm: Record<string, string> = {
  '': '<path>[:<tag>|@<digest>] (a directory, or a tar file to read)',
  to: '<path>[:<tag>[,<tag>...]] (a directory)',
};

function addTargetOptions(cmd: Command, prefix = ''): Command {
  const p = prefix ? `${prefix}-` : '';
  cmd
    .option(
      `--${p}oci-layout`,
      `${layoutRole[prefix] ?? 'the target'} is an OCI image layout: ${layoutForm[prefix] ?? layoutForm['']}`,
    )
    .option(`--${p}oci-layout-path <path>`, 'the OCI image layout to use; the argument is then a reference inside it');
  return addRemoteOptions(cmd, prefix);
}

function addDistributionSpecOption(cmd: Command, prefix = ''): Command {
  const p = prefix ? `${prefix}-` : '';
  return cmd.addOption(
    new Option(`--${p}distribution-spec <spec>`, 'referrers support of the registry, instead of detecting it').choices([
      'v1.1-referrers-api',
      'v1.1-referrers-tag',
    ]),
  );
}

/** `--concurrency <n>`: `what` runs `n` at a time (read with parseConcurrency). */
export function addConcurrencyOption(cmd: Command, what: string, defaultValue: number): Command {
  return cmd.option('--concurrency <n>', `${what} in parallel`, String(defaultValue));
}

/** The flags a command of a family adds after its own. */
export interface FamilyOptions {
  /** `--concurrency`: what runs in parallel (`blobs pushed`), and how many by default. */
  concurrency?: { what: string; default: number };
  /** `--no-tty`: the command shows progress bars on a terminal. */
  progress?: boolean;
}

/** What an ORAS-family command names. */
export interface OrasOptions extends FamilyOptions {
  /**
   * `target` (default): a registry repository or, with `--oci-layout`, a layout; `ends`: a source
   * and a destination (`--from-…`, `--to-…`, as `cp`); `registry`: a registry, never a layout.
   */
  names?: 'target' | 'ends' | 'registry';
  /** `--distribution-spec` (per end with `ends`). */
  distributionSpec?: boolean;
  /** `--format` with these choices; the first is the default. */
  format?: readonly [string, ...string[]];
}

/**
 * The ORAS family's flags, in the order `--help` lists them: concurrency, the target flags (layout,
 * credentials, TLS, plain HTTP, headers), distribution spec, format, progress.
 */
export function addOrasOptions(cmd: Command, options: OrasOptions = {}): Command {
  if (options.concurrency) addConcurrencyOption(cmd, options.concurrency.what, options.concurrency.default);
  const prefixes = options.names === 'ends' ? ['from', 'to'] : [''];
  for (const prefix of prefixes) {
    if (options.names === 'registry') addRemoteOptions(cmd);
    else addTargetOptions(cmd, prefix);
  }
  if (options.names !== 'ends') addSecretWarning(cmd);
  if (options.distributionSpec) for (const prefix of prefixes) addDistributionSpecOption(cmd, prefix);
  if (options.format) addFormatOptions(cmd, options.format);
  if (options.progress) addNoTtyOption(cmd);
  return addDeprecatedVerbose(cmd);
}

/**
 * ORAS's warning, on stderr, when a secret is given on the command line: `--identity-token`
 * first, else `-p/--password` (the `--from-`/`--to-` forms of cp get none, as in ORAS).
 */
function addSecretWarning(cmd: Command): void {
  cmd.hook('preAction', (_program, action) => {
    if (action.getOptionValue('identityToken') !== undefined)
      commandIO(action).stderr.write(
        'WARNING! Using --identity-token via the CLI is insecure. Use --identity-token-stdin.\n',
      );
    else if (action.getOptionValue('password') !== undefined)
      commandIO(action).stderr.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  });
}

/** ORAS's deprecated `-v, --verbose`: accepted, hidden, and a warning on stderr as cobra prints it. */
function addDeprecatedVerbose(cmd: Command): Command {
  cmd.addOption(new Option('-v, --verbose', '[Deprecated] verbose output').hideHelp());
  cmd.hook('preAction', (_program, action) => {
    if (action.getOptionValue('verbose') !== undefined)
      commandIO(action).stderr.write('Flag --verbose has been deprecated, and will be removed in a future release.\n');
  });
  return cmd;
}

/**
 * The OCM family's flags, in the order `--help` lists them: concurrency, progress, the registry
 * flags as the ORAS family has them but without short names (OCM's own short flags mean other
 * things), and `--config` for OCM configuration files.
 */
export function addOcmOptions(cmd: Command, options: FamilyOptions & { remote?: boolean } = {}): Command {
  if (options.concurrency) addConcurrencyOption(cmd, options.concurrency.what, options.concurrency.default);
  if (options.progress) addNoTtyOption(cmd);
  if (options.remote !== false) addRemoteOptions(cmd, '', { shortFlags: false });
  cmd.option(
    '--config <file>',
    'an OCM configuration file (repeatable); replaces the discovery of $OCM_CONFIG, ~/.config/ocm/config, ~/.ocmconfig, ./.ocmconfig, …',
    collect,
  );
  addOcmGlobalOptions(cmd);
  cmd.hook('preAction', async (_program, action) => applyOcmGlobalOptions(commandIO(action), action.opts()));
  return cmd;
}

/** The command's io, as the program gave it (set by buildProgram on every command). */
function commandIO(cmd: Command): CliIO {
  const io = (cmd as Command & { ladingIO?: CliIO }).ladingIO;
  if (!io) throw new Error(`no io for ${cmd.name()}`);
  return io;
}

function addNoTtyOption(cmd: Command): Command {
  return cmd.option('--no-tty', 'print one line per event instead of progress bars');
}

/** `path[:type]`: split at the last colon; a trailing colon keeps the default type (ORAS fileref). */
export function parseFileRef(raw: string, defaultType?: string): { path: string; mediaType?: string } {
  const i = raw.lastIndexOf(':');
  const isDrive = i === 1 && /^[A-Za-z]:[\\/]/.test(raw);
  if (i < 0 || isDrive) return { path: raw, ...(defaultType ? { mediaType: defaultType } : {}) };
  const path = raw.slice(0, i);
  const type = raw.slice(i + 1);
  if (!path) throw new LadingError('INVALID_ARGUMENT', `"${raw}": missing file path`);
  const mediaType = type || defaultType;
  if (type && !isValidMediaType(type))
    throw new LadingError('INVALID_ARGUMENT', `"${raw}": invalid media type "${type}"`);
  return { path, ...(mediaType ? { mediaType } : {}) };
}

/** `-a key=value` pairs into a record; a key given twice is an error. */
export function parseAnnotations(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new LadingError('INVALID_ARGUMENT', `invalid annotation "${item}": expected key=value`);
    const key = item.slice(0, i);
    // Own keys only, defined rather than assigned: `constructor` is not a duplicate, `__proto__` is a key.
    if (Object.hasOwn(out, key)) throw new LadingError('INVALID_ARGUMENT', `duplicate annotation key "${key}"`);
    Object.defineProperty(out, key, { value: item.slice(i + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}
