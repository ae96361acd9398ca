import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { addOrasOptions, parseConcurrency } from '../options.js';
import type { TargetFlags } from '../targets.js';

interface BackupFlags extends TargetFlags {
  output?: string;
  includeReferrers?: boolean;
  concurrency: string;
  tty?: boolean;
}

interface RestoreFlags extends TargetFlags {
  input?: string;
  excludeReferrers?: boolean;
  dryRun?: boolean;
  concurrency: string;
  tty?: boolean;
}

const argumentForm = '<registry>/<repository>[:<tag>[,<tag>...]]';

/** `oras backup` and `oras restore` (ORAS 1.3): a repository's tags into an OCI layout and back. */
export function registerBackup(program: Command, io: CliIO): void {
  const backup = program
    .command('backup')
    .description('[Experimental] back up artifacts from a registry into an OCI image layout (a directory or a tar)')
    .argument('<artifacts>', `the repository and tags to back up: ${argumentForm}; all tags when none is given`)
    .option('-o, --output <path>', 'path to the target output, either a tar archive (*.tar) or a directory (required)')
    .option('--include-referrers', 'back up the artifact with its referrers (e.g., attestations, SBOMs)');
  addOrasOptions(backup, {
    concurrency: { what: 'blobs copied', default: 3 },
    names: 'registry',
    distributionSpec: true,
    progress: true,
  });
  backup.addHelpText(
    'after',
    `
The output is a tar archive when its name ends in ".tar", otherwise a directory. A backup that
was interrupted resumes when run again: what the layout (for a tar, the staging directory
<output>.partial beside it) already holds is verified, not copied again; a blob that fails
verification is copied again. With --include-referrers, the referrers tag schema's sha256-<hex>
tags are not backed up as tags (the referrers themselves are).

Examples:
  lading backup --output hello localhost:5000/hello:v1
  lading backup --output hello.tar localhost:5000/hello:v1
  lading backup --output hello --include-referrers localhost:5000/hello:v1
  lading backup --output hello localhost:5000/hello:v1,v2,v3
  lading backup --output hello localhost:5000/hello`,
  );
  backup.action(async (raw: string, flags: BackupFlags) => runBackup(io, raw, flags));

  const restore = program
    .command('restore')
    .description('[Experimental] restore artifacts to a registry from an OCI image layout (a directory or a tar)')
    .argument('<targets>', `the repository to restore to, and the tags to restore: ${argumentForm}; all when none`)
    .option('--input <path>', 'path to the OCI layout, either a tar archive (*.tar) or a directory (required)')
    .option('--exclude-referrers', 'restore artifacts excluding their referrers')
    .option('--dry-run', 'simulate the restore process without actually uploading any artifacts');
  addOrasOptions(restore, {
    concurrency: { what: 'blobs pushed', default: 5 },
    names: 'registry',
    distributionSpec: true,
    progress: true,
  });
  restore.addHelpText(
    'after',
    `
Everything to restore is read and verified before the first push: a layout with a missing or
corrupt blob, or a tag that is not a valid tag, leaves the registry untouched. Each tag is set
after its artifact and referrers are in place.

Examples:
  lading restore --input hello.tar localhost:5000/hello:v1
  lading restore --input hello localhost:5000/hello:v1
  lading restore --input hello --dry-run localhost:5000/hello:v1
  lading restore --input hello localhost:5000/hello:v1,v2
  lading restore --input hello localhost:5000/hello
  lading restore --input hello --exclude-referrers localhost:5000/hello`,
  );
  restore.action(async (raw: string, flags: RestoreFlags) => runRestore(io, raw, flags));
}

/** `host/repo[:t1[,t2…]]` as ORAS parses it: no digest, every tag valid. */
async function parseArtifacts(raw: string): Promise<{ repository: string; tags: string[] }> {
  const { LadingError, isValidTag, parseReference } = await import('../../oci/index.js');
  if (!raw) throw new LadingError('INVALID_REFERENCE', 'artifact reference cannot be empty');
  if (raw.includes('@')) throw new LadingError('INVALID_REFERENCE', `digest references are not supported: "${raw}"`);
  const [main = '', ...extra] = raw.split(',');
  const ref = parseReference(main);
  const repository = `${ref.registry}/${ref.repository}`;
  if (!ref.reference && extra.length === 0) return { repository, tags: [] };
  const tags = [ref.reference, ...extra];
  for (const tag of tags) {
    if (!tag) throw new LadingError('INVALID_REFERENCE', `empty tag in reference "${raw}"`);
    if (!isValidTag(tag)) throw new LadingError('INVALID_REFERENCE', `invalid tag "${tag}" in reference "${raw}"`);
  }
  return { repository, tags };
}

/** Go's `%q` of a plain string (what ORAS quotes paths and repositories with). */
function quoted(text: string): string {
  return JSON.stringify(text);
}

/** ORAS's humanize.ToBytes: `%g %2s` of the size in 1024 units, rounded to at most four digits. */
export function orasBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  if (n < 1024) return `${n} ${'B'.padStart(2)}`;
  const e = Math.min(Math.floor(Math.log(n) / Math.log(1024)), units.length - 1);
  const p = n / 1024 ** e;
  const rounded = p < 10 ? Math.round(p * 100) / 100 : p < 100 ? Math.round(p * 10) / 10 : Math.round(p);
  return `${rounded} ${(units[e] as string).padStart(2)}`;
}

/** ORAS's humanize.FormatDuration: rounded to seconds, milliseconds or microseconds, written as Go writes durations. */
export function orasDuration(ms: number): string {
  if (ms > 1000) {
    let s = Math.round(ms / 1000);
    const h = Math.floor(s / 3600);
    s -= h * 3600;
    const m = Math.floor(s / 60);
    s -= m * 60;
    if (h > 0) return `${h}h${m}m${s}s`;
    if (m > 0) return `${m}m${s}s`;
    return `${s}s`;
  }
  if (ms > 1) return `${Math.round(ms)}ms`;
  const us = Math.round(ms * 1000);
  return us === 0 ? '0s' : `${us}µs`;
}

/** ORAS lists up to five tags on one line, more one a line. */
function tagsFound(io: CliIO, where: string, tags: string[], safe: (s: string) => string): void {
  if (tags.length <= 5) {
    io.stdout.write(`Found ${tags.length} tag(s) in ${where}: ${tags.map(safe).join(', ')}\n`);
    return;
  }
  io.stdout.write(`Found ${tags.length} tag(s) in ${where}:\n`);
  for (const tag of tags) io.stdout.write(`${safe(tag)}\n`);
}

/** What backup and restore both start with: the layout path checked, the arguments parsed, the modules loaded. */
async function begin(
  io: CliIO,
  raw: string,
  flags: BackupFlags | RestoreFlags,
  path: { flag: string; value: string | undefined; what: string },
  verbs: { start: string; done: string },
) {
  const { LadingError } = await import('../../oci/index.js');
  if (path.value === undefined) throw new LadingError('INVALID_ARGUMENT', `required flag "${path.flag}" not set`);
  if (path.value === '') throw new LadingError('INVALID_ARGUMENT', `the ${path.what} path cannot be empty`);
  const started = performance.now();
  const { repository, tags } = await parseArtifacts(raw);
  const concurrency = parseConcurrency(flags.concurrency);
  const { openTarget, closeRegistries } = await import('../targets.js');
  const { TransferDisplay } = await import('../output/transfer.js');
  const { safeText } = await import('../output/safe-text.js');
  const { interruptSignal } = await import('../interrupt.js');
  const display = new TransferDisplay(io, { ...verbs, exists: 'Exists   ' }, flags.tty === false ? { tty: false } : {});
  return {
    layoutPath: path.value,
    started,
    repository,
    tags,
    concurrency,
    openTarget,
    closeRegistries,
    safeText,
    interruptSignal,
    display,
  };
}

async function runBackup(io: CliIO, raw: string, flags: BackupFlags): Promise<void> {
  const {
    layoutPath,
    started,
    repository,
    tags,
    concurrency,
    openTarget,
    closeRegistries,
    safeText,
    interruptSignal,
    display,
  } = await begin(
    io,
    raw,
    flags,
    { flag: '--output', value: flags.output, what: 'output' },
    { start: 'Pulling  ', done: 'Pulled   ' },
  );
  const { backupRepository } = await import('../../layout/index.js');
  const { LadingError } = await import('../../oci/index.js');
  const { reportError } = await import('../io.js');
  try {
    const src = await openTarget(repository, flags);
    const result = await backupRepository(src.target, layoutPath, {
      tags,
      includeReferrers: Boolean(flags.includeReferrers),
      concurrency,
      signal: interruptSignal(),
      where: repository,
      ...display.hooks(),
      onTagsFound: (found) => tagsFound(io, repository, found, safeText),
      onTagCopied: (t) =>
        io.stdout.write(
          t.existed
            ? `Skipped tag ${safeText(t.tag)} with ${t.referrers} referrer(s): already backed up\n`
            : `Pulled tag ${safeText(t.tag)} with ${t.referrers} referrer(s)\n`,
        ),
      onCorrupt: (desc, problem) =>
        io.stderr.write(
          `Warning: ${safeText(desc.digest)} in the backup failed verification (${safeText(problem)}); copying it again\n`,
        ),
      onExporting: (path) => {
        display.stop();
        io.stdout.write(`Exporting to ${safeText(path)}\n`);
      },
      // One tag that cannot be backed up does not stop the others; the run still fails at the end.
      onTagFailed: (tag, error) => {
        reportError(
          io,
          new LadingError(
            error.code,
            `failed to back up tag ${quoted(tag)} from ${quoted(repository)}: ${error.message}`,
            {
              cause: error,
            },
          ),
        );
      },
    });
    display.stop();
    if (result.failed.length > 0) {
      if (result.size !== undefined)
        io.stdout.write(`Exported to ${safeText(result.output)} (${orasBytes(result.size)})\n`);
      const first = result.failed[0]?.error;
      throw new LadingError(
        first?.code ?? 'NOT_FOUND',
        `backed up ${result.tags.length} of ${result.tags.length + result.failed.length} tag(s) from ${quoted(repository)} to ${quoted(result.output)}; failed: ${result.failed.map((f) => quoted(f.tag)).join(', ')}`,
      );
    }
    if (result.size !== undefined)
      io.stdout.write(`Exported to ${safeText(result.output)} (${orasBytes(result.size)})\n`);
    io.stdout.write(
      `Successfully backed up ${result.tags.length} tag(s) from ${safeText(quoted(repository))} to ${safeText(quoted(result.output))} in ${orasDuration(performance.now() - started)}.\n`,
    );
  } finally {
    display.stop();
    await closeRegistries();
  }
}

async function runRestore(io: CliIO, raw: string, flags: RestoreFlags): Promise<void> {
  const {
    layoutPath,
    started,
    repository,
    tags,
    concurrency,
    openTarget,
    closeRegistries,
    safeText,
    interruptSignal,
    display,
  } = await begin(
    io,
    raw,
    flags,
    { flag: '--input', value: flags.input, what: 'input' },
    { start: 'Pushing  ', done: 'Pushed   ' },
  );
  const { restoreRepository } = await import('../../layout/index.js');
  const dryRun = Boolean(flags.dryRun);
  try {
    const dst = await openTarget(repository, flags, { write: true });
    const result = await restoreRepository(layoutPath, dst.target, {
      tags,
      includeReferrers: !flags.excludeReferrers,
      dryRun,
      concurrency,
      signal: interruptSignal(),
      ...display.hooks(),
      onLoaded: (path, size) => io.stdout.write(`Loaded backup archive: ${safeText(path)} (${orasBytes(size)})\n`),
      onTagsFound: (found) => tagsFound(io, 'the backup', found, safeText),
      onTagRestored: (t) =>
        io.stdout.write(
          `${dryRun ? 'Dry run: would push' : 'Pushed'} tag ${safeText(t.tag)} with ${t.referrers} referrer(s)\n`,
        ),
    });
    display.stop();
    io.stdout.write(
      dryRun
        ? `Dry run complete: ${result.tags.length} tag(s) would be restored to ${safeText(quoted(repository))} (no data pushed)\n`
        : `Successfully restored ${result.tags.length} tag(s) to ${safeText(quoted(repository))} in ${orasDuration(performance.now() - started)}\n`,
    );
  } finally {
    display.stop();
    await closeRegistries();
  }
}
