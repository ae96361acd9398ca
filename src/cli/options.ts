import { type Command, Option } from 'commander';
import { isValidMediaType, LadingError } from '../oci/index.js';

export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new LadingError('INVALID_ARGUMENT', `--concurrency must be a whole number from 1 to 256, got "${value}"`);
  }
  return n;
}

/** Accumulates a repeatable option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The ORAS remote flags (credentials, TLS, plain HTTP, headers). With a prefix (`from`, `to`) they
 * are the `cp` forms: `--from-username`, with no short names and no stdin variants.
 */
export function addRemoteOptions(cmd: Command, prefix = '', options: { shortFlags?: boolean } = {}): Command {
  const p = prefix ? `${prefix}-` : '';
  const short = (s: string) => (prefix || options.shortFlags === false ? '' : `${s}, `);
  cmd
    .option(`${short('-u')}--${p}username <username>`, 'registry user name')
    .option(`${short('-p')}--${p}password <password>`, 'registry password or identity token')
    .option(`--${p}identity-token <token>`, 'registry identity (refresh) token')
    .option(`--${p}insecure`, 'allow connections to registries whose TLS certificate cannot be verified')
    .option(`--${p}plain-http`, 'use plain HTTP instead of HTTPS (the default for the host name localhost only)')
    .option(`--${p}ca-file <file>`, 'server certificate authority file for the remote registry')
    .option(`--${p}cert-file <file>`, `client certificate file for mutual TLS (with --${p}key-file)`)
    .option(`--${p}key-file <file>`, `client private key file for mutual TLS (with --${p}cert-file)`)
    .option(`--${p}registry-config <path>`, 'path of a docker-style auth config file (repeatable)', collect);
  if (!prefix) {
    cmd
      .option('--password-stdin', 'read the password (or identity token) from stdin')
      .option('--identity-token-stdin', 'read the identity token from stdin')
      .option(
        `${short('-H')}--header <header>`,
        "add a 'Name: value' header to registry requests (repeatable)",
        collect,
      );
  }
  return cmd;
}

const layoutRole: Record<string, string> = { from: 'the source', to: 'the destination' };
const layoutForm: Record<string, string> = {
  '': '<path>[:<tag>|@<digest>] (a directory, or a tar file to read)',
  to: '<path>[:<tag>[,<tag>...]] (a directory)',
};

export function addTargetOptions(cmd: Command, prefix = ''): Command {
  const p = prefix ? `${prefix}-` : '';
  cmd
    .option(
      `--${p}oci-layout`,
      `${layoutRole[prefix] ?? 'the target'} is an OCI image layout: ${layoutForm[prefix] ?? layoutForm['']}`,
    )
    .option(`--${p}oci-layout-path <path>`, 'the OCI image layout to use; the argument is then a reference inside it');
  return addRemoteOptions(cmd, prefix);
}

export function addDistributionSpecOption(cmd: Command, prefix = ''): Command {
  const p = prefix ? `${prefix}-` : '';
  return cmd.addOption(
    new Option(`--${p}distribution-spec <spec>`, 'referrers support of the registry, instead of detecting it').choices([
      'v1.1-referrers-api',
      'v1.1-referrers-tag',
    ]),
  );
}

export function addFormatOption(cmd: Command, choices: string[], defaultValue = 'text'): Command {
  return cmd.addOption(new Option('--format <format>', 'output format').choices(choices).default(defaultValue));
}

export function addNoTtyOption(cmd: Command): Command {
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
    if (key in out) throw new LadingError('INVALID_ARGUMENT', `duplicate annotation key "${key}"`);
    out[key] = item.slice(i + 1);
  }
  return out;
}
