import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { addAbortSignal, Readable } from 'node:stream';
import { LadingError } from '../oci/index.js';
import { encodeTarHeader, type TarWriteHeader, tarPadding, tarTrailer } from './tar-header.js';
import { cleanArchivePath } from './tar-index.js';

/**
 * The one tar writer. Every tar lading makes (CTF archives, OCI layout tars, ORAS directory
 * layers, OCM inputs and descriptors) is laid out by Go's archive/tar rules (see tar-header.ts),
 * so what upstream tests hold byte for byte and what is merely read back come from the same code.
 */

export type TarWriteBody = AsyncIterable<Uint8Array | string>;

export interface TarEntryOptions {
  /** Names the entry in errors. */
  where: string;
  signal?: AbortSignal;
  /** The error for a body that is not `header.size` bytes long (`got` so far); SIZE_MISMATCH by default. */
  sizeError?: (got: number, expected: number) => Error;
}

/**
 * The bytes of one entry: its header, its body (a regular file's, streamed and held to exactly
 * `header.size` bytes), and the padding to a whole block. A tar is its entries, then `tarTrailer`.
 */
export async function* tarEntry(
  header: TarWriteHeader,
  body: TarWriteBody | Uint8Array | undefined,
  options: TarEntryOptions,
): AsyncGenerator<Buffer> {
  const { where, signal } = options;
  const sizeError =
    options.sizeError ??
    ((got: number, expected: number) =>
      new LadingError(
        'SIZE_MISMATCH',
        got > expected
          ? `${where} is longer than ${expected} bytes`
          : `${where} gave ${got} bytes, expected ${expected}`,
      ));
  signal?.throwIfAborted();
  yield encodeTarHeader(header);
  let count = 0;
  if (body instanceof Uint8Array) {
    // A body held whole (a small file read in one call): no stream machinery for a few bytes.
    if (body.byteLength !== header.size) throw sizeError(body.byteLength, header.size);
    count = body.byteLength;
    if (count > 0) yield Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  } else if (body) {
    // A stream that stalls still answers an abort.
    if (signal && body instanceof Readable) addAbortSignal(signal, body);
    for await (const chunk of body) {
      const bytes =
        typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      count += bytes.length;
      if (count > header.size) throw sizeError(count, header.size);
      yield bytes;
    }
  }
  if (count !== header.size) throw sizeError(count, header.size);
  const padding = tarPadding(count);
  if (padding.length > 0) yield padding;
}

/**
 * The header of a folder with writeTar's fixed metadata (mode 0755, owner 0, time 0); `path` is
 * written with the trailing slash Go's archive/tar gives a folder.
 */
export function folderHeader(path: string): TarWriteHeader {
  return {
    name: path.endsWith('/') ? path : `${path}/`,
    mode: 0o755,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    typeflag: '5',
  };
}

/**
 * The folders above `path` (a clean, `/`-separated tar path) that `named` does not hold yet,
 * outermost first; they are added to it. An OCI layout tar names each folder before the first
 * file in it, as tar, skopeo and oras write one: skopeo and podman (containers/storage), run by
 * anyone but root, cannot unpack a file whose folder the tar does not name (they create the
 * folder owned by root, which fails).
 */
export function foldersToName(path: string, named: Set<string>): string[] {
  const missing: string[] = [];
  const own = path.replace(/\/+$/, '');
  for (let slash = own.indexOf('/'); slash > 0; slash = own.indexOf('/', slash + 1)) {
    const folder = own.slice(0, slash);
    if (named.has(folder)) continue;
    named.add(folder);
    missing.push(folder);
  }
  return missing;
}

/**
 * What goes into a tar that names its folders for `header`: the entries of the folders above it
 * not named yet ({@link foldersToName}), and whether `header` itself is still to be written (a
 * folder named already, before a file in it, is not named twice). `named` is updated.
 */
export function namingFolders(
  header: TarWriteHeader,
  named: Set<string>,
): { folders: TarWriteHeader[]; write: boolean } {
  const folders = foldersToName(header.name, named).map(folderHeader);
  if (header.typeflag !== '5') return { folders, write: true };
  const own = header.name.replace(/\/+$/, '');
  const write = !named.has(own);
  named.add(own);
  return { folders, write };
}

/**
 * `entries` with a folder entry before the first file in each folder ({@link namingFolders}).
 * For OCI layout tars, not for tars whose bytes follow another tool's (Helm charts, OCM
 * descriptors, upstream's CTF archives).
 */
export function withFolders<T extends { header: TarWriteHeader; body?: Buffer }>(
  entries: readonly T[],
): { header: TarWriteHeader; body?: Buffer }[] {
  const named = new Set<string>();
  return entries.flatMap((entry) => {
    const { folders, write } = namingFolders(entry.header, named);
    return [...folders.map((header) => ({ header })), ...(write ? [entry] : [])];
  });
}

/** A whole tar of small entries held in memory (descriptors, charts, generated layouts). */
export function tarBytes(entries: readonly { header: TarWriteHeader; body?: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { header, body } of entries) {
    const size = body?.length ?? 0;
    if (size !== header.size) {
      throw new LadingError('SIZE_MISMATCH', `tar entry ${header.name}: ${size} bytes, the header says ${header.size}`);
    }
    parts.push(encodeTarHeader(header));
    if (body) parts.push(body, tarPadding(size));
  }
  parts.push(tarTrailer);
  return Buffer.concat(parts);
}

/** How {@link TarFileWriter.create} and {@link writeTar} make the file. */
export interface TarFileOptions {
  mode?: number;
  nameFolders?: boolean;
}

/**
 * A tar file being written: entries are appended one at a time (callers that append at once
 * queue), and the file replaces `out` only when `finish()` completes it; `abort()`, or any
 * failure, leaves `out` as it was and no temp file behind.
 */
export class TarFileWriter {
  readonly out: string;
  readonly #temp: string;
  readonly #handle: FileHandle;
  #queue: Promise<void> = Promise.resolve();
  #failed: unknown;
  #closed = false;
  /** Folders named so far ({@link namingFolders}); undefined when folders are not named. */
  readonly #folders: Set<string> | undefined;
  /**
   * Small chunks (headers, padding, small bodies) gathered into one write: an archive of
   * thousands of small files otherwise costs three writes per file, each a trip through the
   * thread pool. Copied in, so a body may reuse its buffer once the chunk is taken.
   */
  readonly #gather = Buffer.allocUnsafe(GatherBytes);
  #gathered = 0;

  private constructor(out: string, temp: string, handle: FileHandle, nameFolders: boolean) {
    this.out = out;
    this.#temp = temp;
    this.#handle = handle;
    this.#folders = nameFolders ? new Set() : undefined;
  }

  /**
   * `mode`: the file's permissions from its first byte on (default 0644, less the umask).
   * `nameFolders` (default true): an entry for each folder before the first file in it
   * ({@link foldersToName}); false for a format whose bytes follow a tool that writes none
   * (upstream OCM's CTF archives).
   */
  static async create(out: string, o: TarFileOptions = {}): Promise<TarFileWriter> {
    const temp = `${out}.${randomBytes(6).toString('hex')}.tmp`;
    const handle = await open(temp, 'wx', o.mode ?? 0o644);
    if (o.mode !== undefined) await handle.chmod(o.mode).catch(() => {});
    return new TarFileWriter(out, temp, handle, o.nameFolders ?? true);
  }

  /**
   * Appends one entry once those before it are written (after an entry for each folder above it
   * not named yet, when folders are named); a failure spoils the whole file. The body is streamed,
   * or given whole as bytes (a small file read in one call).
   */
  append(header: TarWriteHeader, body: TarWriteBody | Uint8Array | undefined, options: TarEntryOptions): Promise<void> {
    const turn = this.#queue.then(async () => {
      if (this.#failed !== undefined) throw this.#failed;
      try {
        if (this.#folders) {
          const { folders, write } = namingFolders(header, this.#folders);
          for (const folder of folders) await this.#write(encodeTarHeader(folder));
          if (!write) return;
        }
        for await (const chunk of tarEntry(header, body, options)) await this.#write(chunk);
      } catch (error) {
        this.#failed = error;
        throw error;
      }
    });
    this.#queue = turn.catch(() => {});
    return turn;
  }

  /** Ends the archive and puts it at `out`. */
  async finish(): Promise<void> {
    await this.#queue;
    if (this.#failed !== undefined) throw this.#failed;
    try {
      await this.#write(tarTrailer);
      await this.#flush();
      await this.#handle.sync();
      this.#closed = true;
      await this.#handle.close();
      await rename(this.#temp, this.out);
    } catch (error) {
      await this.abort();
      throw error;
    }
  }

  async abort(): Promise<void> {
    await this.#queue;
    if (!this.#closed) {
      this.#closed = true;
      await this.#handle.close().catch(() => {});
    }
    await rm(this.#temp, { force: true }).catch(() => {});
  }

  async #write(chunk: Buffer): Promise<void> {
    if (chunk.length <= GatherBytes - this.#gathered) {
      chunk.copy(this.#gather, this.#gathered);
      this.#gathered += chunk.length;
      return;
    }
    await this.#flush();
    if (chunk.length < GatherBytes) {
      chunk.copy(this.#gather, 0);
      this.#gathered = chunk.length;
      return;
    }
    await this.#writeOut(chunk);
  }

  async #flush(): Promise<void> {
    if (this.#gathered === 0) return;
    const gathered = this.#gathered;
    this.#gathered = 0;
    await this.#writeOut(this.#gather.subarray(0, gathered));
  }

  async #writeOut(chunk: Buffer): Promise<void> {
    let done = 0;
    while (done < chunk.length) done += (await this.#handle.write(chunk, done, chunk.length - done)).bytesWritten;
  }
}

/** How many bytes of small chunks {@link TarFileWriter} gathers before it writes them. */
const GatherBytes = 256 * 1024;

/**
 * The largest file that a writer of a tar over files (a CTF written back) reads whole in one call
 * ({@link TarWriteEntry.read}) rather than streams.
 */
export const TarSmallEntryBytes = 64 * 1024;

export interface TarWriteEntry {
  /** Clean, relative, `/`-separated path. */
  path: string;
  /** Exact byte count the body must deliver. */
  size: number;
  /** The body as a stream, opened when the entry's turn comes. */
  open: () => Promise<Readable> | Readable;
  /**
   * The body whole, for a small entry (a CTF's descriptors, configs and manifests are a few
   * hundred bytes each): when given, writeTar calls it, when the entry's turn comes, instead of
   * `open`, and the entry costs one read rather than a stream (an archive of thousands of small
   * files otherwise holds a stream's buffers and objects per file). It must give exactly `size` bytes.
   */
  read?: () => Promise<Uint8Array> | Uint8Array;
}

/**
 * Writes `entries`, in the order given, as an uncompressed tar of regular files with fixed
 * metadata (mode 0644, owner 0, time 0: the same entries always give the same bytes), each
 * folder named before the first file in it unless `nameFolders` is false. Bodies are streamed.
 * `out` is replaced atomically and only when every entry delivered exactly its size.
 */
export async function writeTar(
  out: string,
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  options: TarFileOptions & { signal?: AbortSignal } = {},
): Promise<void> {
  const signal = options.signal;
  let writer: TarFileWriter | undefined;
  try {
    signal?.throwIfAborted();
    const { signal: _, ...fileOptions } = options;
    writer = await TarFileWriter.create(out, fileOptions);
    const seen = new Set<string>();
    for await (const entry of entries) {
      checkEntry(entry, seen, out);
      const appendOptions = { where: `${out}: tar entry ${entry.path}`, ...(signal ? { signal } : {}) };
      if (entry.read) {
        signal?.throwIfAborted();
        await writer.append(fileHeader(entry.path, entry.size), await entry.read(), appendOptions);
        continue;
      }
      const body = await entry.open();
      try {
        await writer.append(fileHeader(entry.path, entry.size), body, appendOptions);
      } finally {
        body.destroy();
      }
    }
    await writer.finish();
  } catch (error) {
    await writer?.abort();
    if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
    throw new LadingError('IO_ERROR', `${out}: cannot write tar archive: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The header of a regular file with writeTar's fixed metadata. */
export function fileHeader(path: string, size: number): TarWriteHeader {
  return { name: path, mode: 0o644, uid: 0, gid: 0, size, mtime: 0, typeflag: '0' };
}

function checkEntry(entry: TarWriteEntry, seen: Set<string>, out: string): void {
  const cleaned = cleanArchivePath(entry.path);
  if ('refused' in cleaned) {
    const code = cleaned.refused.includes('NUL') ? 'INVALID_ARGUMENT' : 'PATH_TRAVERSAL';
    throw new LadingError(code, `${out}: tar entry path ${JSON.stringify(entry.path)} ${cleaned.refused}`);
  }
  if (cleaned.path !== entry.path || entry.path === '.') {
    throw new LadingError('INVALID_ARGUMENT', `${out}: tar entry path ${JSON.stringify(entry.path)} is not clean`);
  }
  if (seen.has(entry.path)) {
    throw new LadingError('INVALID_ARGUMENT', `${out}: tar entry ${JSON.stringify(entry.path)} is given twice`);
  }
  seen.add(entry.path);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new LadingError('INVALID_ARGUMENT', `${out}: tar entry ${entry.path} has an invalid size ${entry.size}`);
  }
}
