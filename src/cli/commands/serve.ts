import { homedir } from 'node:os';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { RequestLog } from '../../server/index.js';
import type { CliIO } from '../io.js';
import { collect, parseSize } from '../options.js';
import { safeText } from '../output/safe-text.js';

interface ServeFlags {
  addr: string;
  root: string;
  tlsCert?: string;
  tlsKey?: string;
  htpasswd?: string;
  readOnly?: boolean;
  maxManifestSize: number;
  maxUploadSize?: number;
  automaticMount: boolean;
  logLevel: string;
  logFormat: string;
  ui: boolean;
  publicKey?: string[];
  rootCertificate?: string[];
  allowedHost?: string[];
}

interface GcFlags {
  root: string;
  grace: number;
  dryRun?: boolean;
}

const defaultRoot = join(homedir(), '.lading', 'registry');
const levels = ['error', 'warn', 'info', 'debug'];

/** `90s`, `10m`, `24h`, `0`: milliseconds. */
function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a duration such as 30m or 24h');
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's'] as number;
  return Number(m[1]) * scale;
}

function choice(allowed: string[]) {
  return (value: string) => {
    if (!allowed.includes(value)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`);
    return value;
  };
}

export function registerServe(program: Command, io: CliIO): void {
  const serve = program
    .command('serve')
    .description(
      'run an OCI registry (distribution-spec v1.1.1) in the foreground, each repository an OCI layout under --root.\n' +
        'A single-node registry for development, CI, demos and air-gapped hand-over.',
    )
    .option(
      '--addr <host:port>',
      'address to listen on (port 0: a free one; :port for all interfaces)',
      '127.0.0.1:5000',
    )
    .option(
      '--allowed-host <name>',
      'a further host name the server answers by (repeatable; its addresses and localhost always work): on a loopback address every client, elsewhere web pages',
      collect,
    )
    .option('--root <dir>', 'where the repositories are kept', defaultRoot)
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--htpasswd <file>', 'require basic auth from this htpasswd file (bcrypt entries, htpasswd -B)')
    .option('--read-only', 'refuse every push and delete')
    .addOption(
      new Option('--max-manifest-size <size>', 'largest manifest accepted (4 MiB at most)')
        .argParser(parseSize)
        .default(4 * 1024 * 1024, '4 MiB'),
    )
    .option('--max-upload-size <size>', 'largest blob upload accepted (default: no limit)', parseSize)
    .option('--no-automatic-mount', 'do not mount blobs from other repositories when a mount names no "from"')
    .option('--log-level <level>', `${levels.join(', ')}: info logs one line per request`, choice(levels), 'info')
    .option('--log-format <format>', 'text or json', choice(['text', 'json']), 'text')
    .option('--no-ui', 'do not serve the read-only browser view at /ui/')
    .option(
      '--public-key <[signature=]file>',
      "a public key (PEM) the browser view's verify action checks signatures with (repeatable)",
      collect,
    )
    .option(
      '--root-certificate <[signature=]file>',
      'root certificates (PEM) for PEM signatures, for the browser view (repeatable)',
      collect,
    )
    .addHelpText(
      'after',
      `
Examples:
  lading serve --root ~/.lading/registry                     # http://127.0.0.1:5000
  lading serve --root /tmp/reg2 --addr 127.0.0.1:5001
  lading serve --addr 127.0.0.1:0 --root ./registry          # a free port, named on stdout
  lading serve --root ./registry --allowed-host registry.example
  lading serve --addr :5443 --tls-cert cert.pem --tls-key key.pem --htpasswd ./htpasswd`,
    )
    .action(async (flags: ServeFlags) => serveCommand(io, flags));
  serve
    .command('gc')
    .description('remove what no tag or manifest reaches: unreferenced blobs, stale uploads, unlinked pool files')
    .option('--root <dir>', 'the registry root', defaultRoot)
    .addOption(
      new Option('--grace <duration>', 'keep what changed more recently than this (in-flight pushes), e.g. 30m, 2h')
        .argParser(parseDuration)
        .default(3_600_000, '1h'),
    )
    .option('--dry-run', 'only report what would be removed')
    .addHelpText(
      'after',
      `
Examples:
  lading serve gc --root ~/.lading/registry --dry-run
  lading serve gc --root ~/.lading/registry --grace 30m`,
    )
    .action(async (flags: GcFlags, cmd: Command) => {
      // `serve` has a --root too: commander gives the flag to whichever command it meets first.
      const parent = cmd.parent?.opts<ServeFlags>();
      const root = cmd.getOptionValueSource('root') === 'cli' || !parent ? flags.root : parent.root;
      return gcCommand(io, { ...flags, root });
    });
}

async function serveCommand(io: CliIO, flags: ServeFlags): Promise<void> {
  const { startRegistry } = await import('../../server/index.js');
  const { interruptSignal } = await import('../interrupt.js');
  const json = flags.logFormat === 'json';
  const level = levels.indexOf(flags.logLevel);
  const line = (fields: Record<string, unknown>, text: string) =>
    io.stderr.write(json ? `${JSON.stringify(fields)}\n` : `${safeText(text)}\n`);
  const { keysFrom } = await import('./ui.js');
  const { readVersion } = await import('../version.js');
  const keys = flags.ui
    ? await keysFrom({ publicKey: flags.publicKey ?? [], rootCertificate: flags.rootCertificate ?? [] })
    : undefined;
  const registry = await startRegistry({
    ui: flags.ui ? { ...(keys ? { keys } : {}), version: readVersion() } : false,
    root: flags.root,
    addr: flags.addr,
    ...(flags.tlsCert ? { tlsCert: flags.tlsCert } : {}),
    ...(flags.tlsKey ? { tlsKey: flags.tlsKey } : {}),
    ...(flags.htpasswd ? { htpasswd: flags.htpasswd } : {}),
    readOnly: Boolean(flags.readOnly),
    maxManifestBytes: flags.maxManifestSize,
    ...(flags.maxUploadSize ? { maxUploadBytes: flags.maxUploadSize } : {}),
    automaticMount: flags.automaticMount,
    ...(flags.allowedHost ? { allowedHosts: flags.allowedHost } : {}),
    onRequest: (e) => {
      const want = e.status >= 500 || e.aborted ? 0 : e.status >= 400 ? 1 : 2;
      if (want > level) return;
      line(
        { level: e.status >= 500 ? 'error' : e.status >= 400 ? 'warn' : 'info', msg: 'request', ...e },
        `${e.time} ${e.remote} "${e.method} ${e.path}" ${e.status} in=${e.bytesIn} out=${e.bytesOut} ${e.ms}ms${e.aborted ? ' aborted' : ''} ${JSON.stringify(e.userAgent)}${e.error === undefined ? '' : ` error=${JSON.stringify(whyFailed(e))}`}`,
      );
    },
  });
  // The readiness line: scripts wait for it (the port is the real one, also with --addr :0).
  const ready = { level: 'info', msg: 'ready', url: registry.url, root: flags.root, readOnly: Boolean(flags.readOnly) };
  io.stdout.write(
    json ? `${JSON.stringify(ready)}\n` : `lading serve: ready on ${registry.url} (root ${safeText(flags.root)})\n`,
  );
  const { isLoopbackAddress } = await import('../../server/index.js');
  if (!flags.htpasswd && !isLoopbackAddress(registry.host)) {
    const can = flags.readOnly ? 'read' : 'read, push and delete';
    const text = `Warning: lading serve listens on ${registry.url} without --htpasswd: anyone who can reach it can ${can} every repository`;
    line({ level: 'warn', msg: 'no authentication on a network address', url: registry.url }, text);
  }
  if (flags.ui)
    line({ level: 'info', msg: 'ui', url: `${registry.url}/ui/` }, `lading serve: browser view at ${registry.url}/ui/`);
  const signal = interruptSignal();
  await new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  line({ level: 'info', msg: 'stopping' }, 'lading serve: stopping (requests in flight get 8 s to finish)');
  await registry.close(8_000);
  line({ level: 'info', msg: 'stopped' }, 'lading serve: stopped');
}

async function gcCommand(io: CliIO, flags: GcFlags): Promise<void> {
  const { collectGarbage } = await import('../../server/index.js');
  const report = await collectGarbage(flags.root, { graceMs: flags.grace, ...(flags.dryRun ? { dryRun: true } : {}) });
  const verb = flags.dryRun ? 'would remove' : 'removed';
  io.stdout.write(
    `${verb} ${report.blobs} blob(s) (${report.bytes} bytes) from ${report.repositories} repositories, ` +
      `${report.uploads} stale upload(s), ${report.pool} unlinked pool file(s)\n`,
  );
  for (const { repository, reason } of report.kept) {
    io.stderr.write(`Warning: kept every blob of ${safeText(repository)}: ${safeText(reason)}\n`);
  }
}

/** A failed request's reason for the log; a refused host name with the flag that admits it. */
function whyFailed(e: RequestLog): string {
  const why = e.error ?? '';
  return e.refusedHost ? `${why}; start lading serve with --allowed-host ${e.refusedHost} to answer it` : why;
}
