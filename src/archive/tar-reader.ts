import type { Readable } from 'node:stream';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, LadingError } from '../oci/index.js';
import { escapedName } from './dir-names.js';

/**
 * A tar entry's header as the reader gives it (tar-stream's fields, declared here so that
 * lading's type declarations do not depend on tar-stream's).
 */
export interface TarHeader {
  name: string;
  size: number;
  mode: number;
  mtime: Date;
  type: 'file' | 'link' | 'symlink' | 'directory' | 'block-device' | 'character-device' | 'fifo' | 'contiguous-file';
  linkname: string;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  pax?: unknown;
}
/** An entry's body: read it to its end (or drain it) before the next entry comes. */
export type TarBody = AsyncIterable<Buffer>;

export interface ReadTarOptions {
  /** Names the archive in errors. */
  where: string;
  gzip: boolean;
  /**
   * Bound on the uncompressed bytes (headers and padding count: they cost time if not disk), or
   * a bound computed from the compressed bytes read so far. Passing it fails with SIZE_EXCEEDS_LIMIT.
   */
  maxBytes?: number | ((compressedSoFar: number) => number);
  /** Bound on the number of entries (every header counts, skipped ones too); passing it fails with SIZE_EXCEEDS_LIMIT. */
  maxEntries?: number;
  signal?: AbortSignal;
}

/**
 * Reads a tar (or tar+gzip) stream entry by entry; `onEntry` must consume each entry's body
 * (write it or drain it) before the next one is read. Returns the sha256 of the uncompressed tar,
 * which covers every byte of it, trailing blocks included.
 */
export async function readTar(
  source: Readable,
  options: ReadTarOptions,
  onEntry: (header: TarHeader, body: TarBody) => Promise<void>,
): Promise<{ tarDigest: string }> {
  const { where, signal } = options;
  // Loaded here, not at the top: every user of archive/ would otherwise load tar-stream and zlib
  // (~140 KB of JS) before its first byte of work, also when it never reads a tar.
  const { default: tarStream } = await import('tar-stream');
  const { createGunzip } = options.gzip ? await import('node:zlib') : { createGunzip: undefined };
  // Names come as the header's bytes (latin1 keeps each byte) and are checked as UTF-8 below.
  const extract = tarStream.extract({ filenameEncoding: 'latin1' } as Parameters<typeof tarStream.extract>[0]);
  const budget = new Budget(where, options.maxBytes ?? Number.POSITIVE_INFINITY);
  const compressed = new Transform({
    transform(chunk: Buffer, _enc, done) {
      budget.compressed += chunk.length;
      done(null, chunk);
    },
  });
  const opts = signal ? { signal } : {};
  const feeding = createGunzip
    ? pipeline(source, compressed, createGunzip(), budget, extract, opts)
    : pipeline(source, compressed, budget, extract, opts);
  feeding.catch(() => {}); // awaited below; the iterator reports the same failure first
  const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
  let entries = 0;
  try {
    for await (const entry of extract) {
      signal?.throwIfAborted();
      if (++entries > maxEntries) {
        throw new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `${where}: has more than ${maxEntries} entries; refusing it (raise the entry limit if the archive is trusted)`,
        );
      }
      // A truncated archive fails the entry before onEntry reads it; that failure reaches the
      // caller through the iterator, so it must not go unhandled here.
      entry.on('error', () => {});
      await onEntry(utf8Names(entry.header, where), entry as unknown as TarBody);
    }
    await feeding;
  } catch (error) {
    source.destroy();
    extract.destroy();
    await feeding.catch(() => {});
    throw describeTarFailure(error, where, budget.failure);
  }
  return { tarDigest: `sha256:${budget.hash.digest('hex')}` };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The entry's name and link target as UTF-8 text. A name that is not UTF-8 (`caf\xe9` from a
 * Latin-1 system) would otherwise be decoded with U+FFFD for its bad bytes: two such files became
 * one, renamed, and the pull said nothing. It is refused, naming the bytes; a PAX name, which tar
 * decodes as UTF-8 before lading sees it, is refused where it holds U+FFFD.
 */
function utf8Names(header: TarHeader, where: string): TarHeader {
  const pax = (typeof header.pax === 'object' && header.pax !== null ? header.pax : {}) as Record<string, unknown>;
  const name = utf8Field(header.name, typeof pax.path === 'string', where);
  const linkname = header.linkname
    ? utf8Field(header.linkname, typeof pax.linkpath === 'string', where)
    : header.linkname;
  return name === header.name && linkname === header.linkname ? header : Object.assign(header, { name, linkname });
}

function utf8Field(value: string, fromPax: boolean, where: string): string {
  if (fromPax) {
    if (!value.includes('\uFFFD')) return value;
    throw notUtf8(Buffer.from(value, 'utf8'), where);
  }
  const bytes = Buffer.from(value, 'latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw notUtf8(bytes, where);
  }
}

function notUtf8(bytes: Buffer, where: string): LadingError {
  return new LadingError(
    'UNSUPPORTED',
    `${where}: the entry ${escapedName(bytes)} is not named in UTF-8 (or holds U+FFFD); refusing the archive rather than lose or rename the file`,
  );
}

/** Reads an entry's body to its end without keeping it (skipped content still counts against the bound). */
export async function drain(body: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of body) {
    // nothing kept
  }
}

/** Counts, hashes and bounds the uncompressed bytes. */
class Budget extends Transform {
  compressed = 0;
  failure: LadingError | undefined;
  readonly hash = createDigester('sha256');
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
    this.hash.update(chunk);
    done(null, chunk);
  }
}

/** zlib, tar-stream and the file system fail with plain errors; the caller gets a stable code naming the archive. */
export function describeTarFailure(error: unknown, where: string, budget?: LadingError): unknown {
  if (budget) return budget;
  if (error instanceof LadingError || (error as Error).name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = (error as Error).message;
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
    return new LadingError('INVALID_ARCHIVE', `${where}: not a valid gzip stream (${message})`, { cause: error });
  }
  if (/^E[A-Z]+$/.test(code)) {
    return new LadingError('IO_ERROR', `${where}: cannot extract: ${message}`, { cause: error });
  }
  return new LadingError('INVALID_ARCHIVE', `${where}: not a valid tar archive (${message})`, { cause: error });
}
