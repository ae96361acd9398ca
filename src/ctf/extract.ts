import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tarStream from 'tar-stream';
import { cleanArchivePath, type TarEntry, TarFiles } from '../layout/index.js';
import { LadingError } from '../oci/index.js';

/**
 * Decompressed bytes allowed per compressed byte before a gzip stream is taken for a bomb. CTF
 * content is mostly blobs that are already compressed (ratio near 1) plus small JSON and YAML
 * (about 10:1); deflate cannot exceed about 1032:1, so 100 leaves honest archives ample room and
 * still stops a bomb at a tenth of what it could expand to.
 */
export const DefaultMaxExpansionRatio = 100;
/** Below this much output the ratio is not applied: small archives never trip the check. */
export const DefaultMinExtractBytes = 1024 * 1024 * 1024;

/** The bound on decompressed bytes for `compressedSize` bytes of gzip input. */
export function extractionLimit(compressedSize: number): number {
  return Math.max(DefaultMinExtractBytes, DefaultMaxExpansionRatio * compressedSize);
}

/** Where an archive entry goes: a clean relative path inside the output folder, or undefined to skip it. */
export type EntrySelector = (path: string) => string | undefined;

export interface ExtractOptions {
  /** Names the archive in errors (a temp folder would mean nothing to the user). */
  where: string;
  select: EntrySelector;
  signal?: AbortSignal;
}

function invalid(where: string, what: string): never {
  throw new LadingError('INVALID_ARCHIVE', `${where}: ${what}`);
}

/**
 * Links and special files are refused wherever they appear, even where we would skip a regular
 * file: an archive that carries them was not written by a CTF writer, and refusing is clearer
 * than silently dropping part of it.
 */
export function refuseEntryType(where: string, path: string, type: string): never {
  const what =
    type === 'symlink' || type === 'hardlink' || type === 'link'
      ? 'a link; links are not allowed in a CTF archive'
      : `a ${type} entry; only regular files and folders are allowed in a CTF archive`;
  invalid(where, `tar archive entry ${JSON.stringify(path)} is ${what}`);
}

/**
 * Extracts an uncompressed tar file: the header index is built (and checked: no escaping paths,
 * no duplicates) before any byte is written, then the selected regular files are copied out as
 * streams.
 */
export async function extractTarFile(file: string, into: string, options: ExtractOptions): Promise<void> {
  const tar = await TarFiles.open(file, options.signal ? { signal: options.signal } : {});
  const selected: TarEntry[] = [];
  for (const entry of tar.entries()) {
    if (entry.type === 'directory') continue;
    if (entry.type !== 'file') refuseEntryType(options.where, entry.path, entry.type);
    if (options.select(entry.path) !== undefined) selected.push(entry);
  }
  for (const entry of selected) {
    options.signal?.throwIfAborted();
    const dest = options.select(entry.path) as string;
    await writeOut(await tar.open(entry.path), join(into, dest), options.signal);
  }
}

/**
 * Extracts a tar stream, gunzipping it first when `gzip` is set. Every decompressed byte counts
 * against `maxBytes` (headers and padding too: they cost time even if not disk), and the
 * extraction stops with SIZE_EXCEEDS_LIMIT as soon as it is passed. Nothing is trusted: paths
 * are cleaned, escapes, links, devices and duplicates are refused.
 */
export async function extractTarStream(
  source: Readable,
  into: string,
  options: ExtractOptions & { gzip: boolean; maxBytes: number | ((compressedSoFar: number) => number) },
): Promise<void> {
  const { where, signal } = options;
  const extract = tarStream.extract();
  const counter = new ByteBudget(where, options.maxBytes);
  const compressedCounter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      counter.compressed += chunk.length;
      done(null, chunk);
    },
  });
  const opts = signal ? { signal } : {};
  const feeding = options.gzip
    ? pipeline(source, compressedCounter, createGunzip(), counter, extract, opts)
    : pipeline(source, compressedCounter, counter, extract, opts);
  feeding.catch(() => {}); // awaited below; the iterator reports the same failure first
  const seen = new Set<string>();
  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      const header = entry.header;
      const cleaned = cleanArchivePath(header.name);
      if ('refused' in cleaned) invalid(where, `tar archive entry ${JSON.stringify(header.name)} ${cleaned.refused}`);
      const path = cleaned.path;
      const type = header.type ?? 'unknown';
      const sparse = Object.keys((header as { pax?: Record<string, string> }).pax ?? {}).some((k) =>
        k.startsWith('GNU.sparse.'),
      );
      if (type === 'directory') {
        await drain(entry);
        continue;
      }
      if ((type !== 'file' && type !== 'contiguous-file') || sparse) {
        entry.resume();
        refuseEntryType(where, header.name, sparse ? 'sparse' : type);
      }
      if (path === '.') invalid(where, `tar archive entry ${JSON.stringify(header.name)} has an empty path`);
      if (seen.has(path)) invalid(where, `tar archive has a duplicate entry ${JSON.stringify(header.name)}`);
      seen.add(path);
      const dest = options.select(path);
      if (dest === undefined) await drain(entry);
      else await writeOut(entry as AsyncIterable<Buffer>, join(into, dest), signal);
    }
    await feeding;
  } catch (error) {
    source.destroy();
    extract.destroy();
    await feeding.catch(() => {});
    throw describe(error, where, counter.failure);
  }
}

/** Extracts a tar or tgz file, applying the expansion bound derived from its size to tgz. */
export async function extractArchiveFile(
  file: string,
  into: string,
  options: ExtractOptions & { gzip: boolean; maxExtractedBytes?: number },
): Promise<void> {
  if (!options.gzip) {
    await extractTarFile(file, into, options);
    return;
  }
  const size = (await stat(file)).size;
  const maxBytes = options.maxExtractedBytes ?? extractionLimit(size);
  await extractTarStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), into, { ...options, maxBytes });
}

class ByteBudget extends Transform {
  compressed = 0;
  failure: LadingError | undefined;
  readonly #where: string;
  readonly #max: number | ((compressed: number) => number);
  #seen = 0;

  constructor(where: string, max: number | ((compressed: number) => number)) {
    super();
    this.#where = where;
    this.#max = max;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    const max = typeof this.#max === 'number' ? this.#max : this.#max(this.compressed);
    if (this.#seen > max) {
      this.failure = new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${this.#where}: expands to more than ${max} bytes; refusing it as a possible gzip bomb (raise the extraction limit if the archive is trusted)`,
      );
      done(this.failure);
      return;
    }
    done(null, chunk);
  }
}

async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of entry) {
    // skipped content still has to pass through the byte budget
  }
}

async function writeOut(source: AsyncIterable<Buffer>, dest: string, signal: AbortSignal | undefined): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  // Exclusive create: a path already written (a case-folded duplicate, say) is never overwritten.
  const handle = await open(dest, 'wx', 0o644);
  await pipeline(source, handle.createWriteStream({ highWaterMark: 1024 * 1024 }), signal ? { signal } : {});
}

function describe(error: unknown, where: string, budget: LadingError | undefined): unknown {
  if (budget) return budget;
  if (error instanceof LadingError || (error as Error).name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
    return new LadingError('INVALID_ARCHIVE', `${where}: not a valid gzip stream (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (code === 'EEXIST') {
    return new LadingError('INVALID_ARCHIVE', `${where}: tar archive has two entries for one file`, { cause: error });
  }
  if (code.startsWith('E')) {
    return new LadingError('IO_ERROR', `${where}: cannot extract: ${(error as Error).message}`, { cause: error });
  }
  return new LadingError('INVALID_ARCHIVE', `${where}: not a valid tar archive (${(error as Error).message})`, {
    cause: error,
  });
}
