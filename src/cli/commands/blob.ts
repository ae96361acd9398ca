import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import type { Descriptor } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions } from '../options.js';
import { safeText } from '../output/safe-text.js';
import type { OpenedTarget, TargetFlags } from '../targets.js';

interface BlobFetchFlags extends TargetFlags {
  output?: string;
  descriptor?: boolean;
  pretty?: boolean;
  tty?: boolean;
}

interface BlobPushFlags extends TargetFlags {
  size?: string;
  mediaType: string;
  descriptor?: boolean;
  pretty?: boolean;
}

interface BlobDeleteFlags extends TargetFlags {
  force?: boolean;
  descriptor?: boolean;
  pretty?: boolean;
}

/** The digest a blob command needs: `<name>@<digest>`, nothing else. */
async function blobDigest(opened: OpenedTarget, raw: string): Promise<string> {
  const { isValidDigest, LadingError } = await import('../../oci/index.js');
  if (!opened.reference || !isValidDigest(opened.reference)) {
    throw new LadingError('INVALID_REFERENCE', `"${raw}": a blob is named by its digest: <name>@<digest>`);
  }
  return opened.reference;
}

/** A blob's descriptor from its digest: HEAD on a registry's blob, the blobs folder of a layout. */
async function resolveBlob(opened: OpenedTarget, digest: string): Promise<Descriptor> {
  const { hasBlobResolver } = await import('../../content/index.js');
  return hasBlobResolver(opened.target) ? opened.target.resolveBlob(digest) : opened.target.resolve(digest);
}

async function blobFetch(io: CliIO, raw: string, flags: BlobFetchFlags): Promise<void> {
  const { LadingError } = await import('../../oci/index.js');
  if (flags.output === undefined && !flags.descriptor) {
    throw new LadingError('INVALID_ARGUMENT', 'either `--output` or `--descriptor` must be provided');
  }
  if (flags.output === '-' && flags.descriptor) {
    throw new LadingError('INVALID_ARGUMENT', '`--output -` cannot be used with `--descriptor` at the same time');
  }
  const { openTarget, closeRegistries } = await import('../targets.js');
  const shared = await import('./manifest-shared.js');
  const opened = await openTarget(raw, flags);
  // Ctrl-C or SIGTERM stops the download, and the temp file beside the output goes with it.
  const signal = (await import('../interrupt.js')).interruptSignal();
  let display: import('../output/transfer.js').TransferDisplay | undefined;
  try {
    const digest = await blobDigest(opened, raw);
    const { hasBlobReferenceFetcher } = await import('../../content/index.js');
    // A registry describes the blob with the GET that reads it: no HEAD first (as oras blob fetch).
    const oneGet = flags.output !== undefined && hasBlobReferenceFetcher(opened.target) ? opened.target : undefined;
    const tty = io.isTTY && flags.tty !== false && !io.debug;
    const { TransferDisplay, PullVerbs } = await import('../output/transfer.js');
    // Bars only: the status lines of other commands are not part of `blob fetch`'s output.
    display = tty && flags.output !== '-' ? new TransferDisplay(io, PullVerbs) : undefined;
    const bars = display;
    let desc: Descriptor;
    let fetched: Readable | undefined;
    if (oneGet) {
      let onProgress: ((n: number) => void) | undefined;
      const got = await oneGet.fetchBlob(digest, {
        signal,
        ...(display ? { onProgress: (n: number) => onProgress?.(n) } : {}),
      });
      desc = got.descriptor;
      fetched = got.content;
      if (bars) onProgress = (n) => bars.onProgress(desc, n);
    } else {
      desc = await resolveBlob(opened, digest);
    }
    if (flags.output === '-') {
      await shared.writeStdout(io, fetched ?? (await opened.target.fetch(desc, { signal })));
    } else if (flags.output !== undefined) {
      try {
        display?.preCopy(desc);
        const stream =
          fetched ??
          (await opened.target.fetch(desc, {
            signal,
            ...(bars ? { onProgress: (n: number) => bars.onProgress(desc, n) } : {}),
          }));
        await shared.writeOutputStream(flags.output, stream);
        display?.postCopy(desc);
      } finally {
        display?.stop();
      }
    }
    if (flags.descriptor) shared.printDescriptor(io, desc, Boolean(flags.pretty));
  } finally {
    display?.stop();
    await closeRegistries();
  }
}

async function blobPush(io: CliIO, raw: string, file: string, flags: BlobPushFlags): Promise<void> {
  const { createReadStream } = await import('node:fs');
  const { stat } = await import('node:fs/promises');
  const { pipeline } = await import('node:stream/promises');
  const { createDigester, isLadingError, isValidDigest, LadingError, parseDigest } = await import('../../oci/index.js');
  const { openTarget, closeRegistries } = await import('../targets.js');
  const shared = await import('./manifest-shared.js');
  let size = -1;
  if (flags.size !== undefined) {
    size = Number(flags.size);
    if (!Number.isSafeInteger(size) || size < -1) {
      throw new LadingError('INVALID_ARGUMENT', `--size must be a whole number of bytes, got "${flags.size}"`);
    }
  }
  if (file === '') throw new LadingError('INVALID_ARGUMENT', 'missing file name');
  if (file === '-') {
    shared.checkStdinConflict(flags);
    if (size < 0) throw new LadingError('INVALID_ARGUMENT', '`--size` must be provided if the blob is read from stdin');
  }
  const opened = await openTarget(raw, flags, { write: true });
  try {
    let digest = '';
    if (opened.reference) {
      if (!isValidDigest(opened.reference)) {
        throw new LadingError('INVALID_REFERENCE', `"${raw}": a blob is named by its digest, not a tag`);
      }
      digest = opened.reference;
      parseDigest(digest);
    }
    let desc: Descriptor;
    let open: (offset: number) => Readable;
    if (file === '-') {
      if (!digest) {
        throw new LadingError(
          'INVALID_ARGUMENT',
          'the digest must be given (<name>@<digest>) when the blob is read from stdin',
        );
      }
      desc = { mediaType: flags.mediaType, digest, size };
      open = () => process.stdin;
    } else {
      let actual: number;
      try {
        const info = await stat(file);
        if (info.isDirectory()) throw new LadingError('INVALID_ARGUMENT', `${file}: a directory, not a file`);
        actual = info.size;
      } catch (error) {
        if (isLadingError(error)) throw error;
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new LadingError('NOT_FOUND', `${file}: no such file or directory`, { cause: error });
        }
        throw new LadingError('IO_ERROR', `failed to open ${file}: ${(error as Error).message}`, { cause: error });
      }
      if (size >= 0 && size !== actual) {
        throw new LadingError('SIZE_MISMATCH', `input size ${size} does not match the actual content size ${actual}`);
      }
      if (!digest) {
        const hash = createDigester('sha256');
        await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) hash.update(chunk);
        });
        digest = `sha256:${hash.digest('hex')}`;
      }
      desc = { mediaType: flags.mediaType, digest, size: actual };
      open = (offset) => createReadStream(file, { start: offset });
    }
    const verbose = !flags.descriptor;
    if (await opened.target.exists(desc)) {
      if (verbose) shared.statusLine(io, shared.Prompt.Exists, desc);
    } else {
      if (verbose) shared.statusLine(io, shared.Prompt.Uploading, desc);
      // A file can be re-read from any offset, so a broken upload resumes instead of failing.
      await opened.target.push(desc, open(0), file === '-' ? {} : { reopen: async (offset) => open(offset) });
      if (verbose) shared.statusLine(io, shared.Prompt.Uploaded, desc);
    }
    if (!verbose) {
      shared.printDescriptor(io, desc, Boolean(flags.pretty));
      return;
    }
    // ORAS 1.3's words: `Pushed:` and the reference as given.
    io.stdout.write(`Pushed: [${opened.kind}] ${safeText(raw)}\nDigest: ${desc.digest}\n`);
  } finally {
    await closeRegistries();
  }
}

async function blobDelete(io: CliIO, raw: string, flags: BlobDeleteFlags): Promise<void> {
  const { LadingError } = await import('../../oci/index.js');
  const { hasDelete } = await import('../../content/index.js');
  if (flags.descriptor && !flags.force) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      'must apply --force to confirm the deletion if the descriptor is outputted',
    );
  }
  const { openTarget, closeRegistries } = await import('../targets.js');
  const shared = await import('./manifest-shared.js');
  const opened = await openTarget(raw, flags, { write: true });
  try {
    const digest = await blobDigest(opened, raw);
    const target = opened.target;
    if (!hasDelete(target)) throw new LadingError('UNSUPPORTED', `${opened.display}: deleting is not supported`);
    let desc: Descriptor;
    try {
      desc = await resolveBlob(opened, digest);
    } catch (error) {
      if (!shared.isNotFound(error)) throw error;
      if (flags.force && !flags.descriptor) {
        io.stdout.write(`Missing ${raw}\n`);
        return;
      }
      throw new LadingError('NOT_FOUND', `${raw}: the specified blob does not exist`, { cause: error });
    }
    if (!flags.force && !(await shared.confirm(io, `Are you sure you want to delete the blob "${desc.digest}"?`))) {
      return;
    }
    try {
      await target.delete(desc);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new LadingError(
        error instanceof LadingError ? error.code : 'REGISTRY_ERROR',
        `failed to delete ${raw}: ${message}`,
        {
          cause: error,
        },
      );
    }
    if (flags.descriptor) shared.printDescriptor(io, desc, Boolean(flags.pretty));
    else io.stdout.write(`Deleted [${opened.kind}] ${raw}\n`);
  } finally {
    await closeRegistries();
  }
}

/** `blob fetch|push|delete`, flag for flag as `oras blob`. */
export function registerBlob(program: Command, io: CliIO): void {
  const group = program.command('blob').description('fetch, push and delete single blobs');

  const fetch = group
    .command('fetch')
    .alias('get')
    .description('download one blob by digest (verified before it is kept)')
    .argument('<name>', 'the blob: <registry>/<repository>@<digest>')
    .option('-o, --output <file>', 'write the blob to this file; - for stdout')
    .option('--descriptor', 'print the descriptor of the blob')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(fetch, { progress: true });
  fetch.addHelpText(
    'after',
    `
Examples:
  lading blob fetch --output blob.tar.gz localhost:5000/hello@sha256:<digest>
  lading blob -o - fetch localhost:5000/hello@sha256:<digest>
  lading blob fetch --descriptor localhost:5000/hello@sha256:<digest>
  lading blob fetch --oci-layout --output - layout.tar@sha256:<digest>`,
  );
  fetch.action((name: string, opts) => blobFetch(io, name, opts));

  const push = group
    .command('push')
    .description('upload one blob from a file or stdin')
    .argument('<name>', 'destination: <registry>/<repository>[@<digest>]')
    .argument('<file>', 'the content; - for stdin (then --size and @<digest> are needed)')
    .option('--size <bytes>', 'size of the blob (required for stdin)')
    .option('--media-type <type>', 'media type of the descriptor printed', 'application/vnd.oci.image.layer.v1.tar')
    .option('--descriptor', 'print the descriptor of the blob instead of the status')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(push, { progress: true });
  push.addHelpText(
    'after',
    `
Examples:
  lading blob push localhost:5000/hello hi.txt
  lading blob push --size 12 localhost:5000/hello@sha256:<digest> - < hi.txt
  lading blob push --descriptor --oci-layout layout-dir hi.txt`,
  );
  push.action((name: string, file: string, opts) => blobPush(io, name, file, opts));

  const del = group
    .command('delete')
    .aliases(['remove', 'rm'])
    .description('delete one blob by digest')
    .argument('<name>', 'the blob: <registry>/<repository>@<digest>')
    .option('-f, --force', 'do not ask for confirmation; a missing blob is not an error')
    .option('--descriptor', 'print the descriptor of the deleted blob (needs --force)')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(del);
  del.addHelpText(
    'after',
    `
Examples:
  lading blob delete localhost:5000/hello@sha256:<digest>
  lading blob delete --force --descriptor localhost:5000/hello@sha256:<digest>`,
  );
  del.action((name: string, opts) => blobDelete(io, name, opts));
}
