import type { Writable } from 'node:stream';
import { addAbortSignal, Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDigester, type Descriptor, LadingError, MaxManifestBytes, parseDigest } from '../oci/index.js';
import { valueText } from '../oci/value-text.js';
import { type AsyncDigester, asyncDigester } from './hash-pool.js';
import { type Content, type Fetcher, hasFetchBytes, type Op } from './storage.js';

/**
 * A pass-through stream that counts and hashes what flows through it and fails the stream when the
 * content is longer or shorter than `expected.size` or hashes to another digest. The error comes
 * before the stream ends, so a consumer that commits on 'finish' never commits bad bytes.
 */
/**
 * The size a verified read is bounded by must be a byte count: a size from hostile data that is
 * NaN, negative or fractional would bound nothing (`seen > NaN` never holds) and let a server
 * stream until the disk is full before the digest check refused it.
 */
export function checkExpectedSize(expected: Descriptor, where: string = expected.digest): void {
  if (!Number.isSafeInteger(expected.size) || expected.size < 0) {
    throw new LadingError(
      'SIZE_MISMATCH',
      `${where}: size ${valueText(expected.size)} is not a byte count; nothing is read`,
    );
  }
}

export class VerifyStream extends Transform {
  readonly #expected: Descriptor;
  readonly #hash: ReturnType<typeof createDigester>;
  readonly #where: string;
  readonly #onBytes: ((n: number) => void) | undefined;
  #seen = 0;

  constructor(expected: Descriptor, options: { where?: string; onBytes?: (n: number) => void } = {}) {
    super();
    this.#expected = expected;
    this.#hash = createDigester(parseDigest(expected.digest).algorithm);
    this.#where = options.where ?? expected.digest;
    checkExpectedSize(expected, this.#where);
    this.#onBytes = options.onBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#expected.size) {
      done(contentTooLong(this.#where, this.#expected));
      return;
    }
    this.#hash.update(chunk);
    this.#onBytes?.(chunk.length);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#seen !== this.#expected.size) {
      done(sizeMismatch(this.#where, this.#seen, this.#expected));
      return;
    }
    const got = `${parseDigest(this.#expected.digest).algorithm}:${this.#hash.digest('hex')}`;
    if (got !== this.#expected.digest) {
      done(digestMismatch(this.#where, got, this.#expected));
      return;
    }
    done();
  }
}

/**
 * Checks bytes in memory against `expected` (size, then digest): what {@link VerifyStream} checks of
 * a stream, in one call and with the same errors, for content that is small enough to hold.
 */
export function verifyBytes(expected: Descriptor, bytes: Uint8Array, where: string = expected.digest): void {
  checkExpectedSize(expected, where);
  if (bytes.length > expected.size) {
    throw contentTooLong(where, expected);
  }
  if (bytes.length !== expected.size) {
    throw sizeMismatch(where, bytes.length, expected);
  }
  const { algorithm } = parseDigest(expected.digest);
  const got = `${algorithm}:${createDigester(algorithm).update(bytes).digest('hex')}`;
  if (got !== expected.digest) throw digestMismatch(where, got, expected);
}

/** The error of content longer than `expected` says, the same everywhere (raised before the byte too many is kept). */
export function contentTooLong(where: string, expected: Descriptor): LadingError {
  return new LadingError('SIZE_MISMATCH', `${where}: content is longer than the expected ${expected.size} bytes`);
}

/** The error of content that ended after `got` bytes where `expected` says otherwise, the same everywhere. */
export function sizeMismatch(where: string, got: number, expected: Descriptor): LadingError {
  return new LadingError('SIZE_MISMATCH', `${where}: got ${got} bytes, expected ${expected.size}`);
}

/** The error of content whose digest is `got` where `expected` was asked for, the same everywhere. */
export function digestMismatch(where: string, got: string, expected: Descriptor): LadingError {
  return new LadingError('DIGEST_MISMATCH', `${where}: content digest ${got} does not match ${expected.digest}`);
}

/** True when `content` is a stream that itself fails unless it delivers exactly `expected`'s digest. */
export function verifiesItself(content: Content, expected: Descriptor): boolean {
  return content instanceof VerifiedReadable && content.digest === expected.digest;
}

export function toReadable(content: Content): Readable {
  if (content instanceof Readable) return content;
  if (content instanceof Uint8Array)
    return Readable.from([Buffer.from(content.buffer, content.byteOffset, content.byteLength)], { objectMode: false });
  return Readable.from(content, { objectMode: false });
}

/**
 * Moves `content` into `sink`, failing (and destroying the sink) unless it is exactly `expected`.
 * A stream that verifies itself for this digest is not hashed again: the bytes go straight
 * through, counted for `onBytes` by the stream itself.
 */
export async function verifiedCopy(
  content: Content,
  expected: Descriptor,
  sink: Writable,
  options: { where?: string; op?: Op } = {},
): Promise<void> {
  const signal = options.op?.signal ? { signal: options.op.signal } : {};
  const onBytes = options.op?.onProgress;
  if (verifiesItself(content, expected)) {
    const stream = content as Readable;
    if (onBytes) observeBytes(stream, onBytes);
    await pipeline(stream, sink, signal);
    return;
  }
  const verifier = new VerifyStream(expected, {
    ...(options.where !== undefined ? { where: options.where } : {}),
    ...(onBytes ? { onBytes } : {}),
  });
  await pipeline(toReadable(content), verifier, sink, signal);
}

/** Reads a whole (small) verified blob into memory; manifests and configs only. */
export async function readAll(stream: Readable, limit = MaxManifestBytes, where = 'content'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      stream.destroy();
      throw new LadingError('SIZE_EXCEEDS_LIMIT', `${where}: content exceeds the ${limit}-byte limit`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/**
 * How messages name a store: its `location` (a layout's path, a CTF repository) or its own
 * `toString` (a registry repository, `host/name`); undefined for a store with neither.
 */
export function storeName(store: object): string | undefined {
  const location = (store as { location?: unknown }).location;
  if (typeof location === 'string') return location;
  const own = (store as { toString?: unknown }).toString;
  if (typeof own !== 'function' || own === Object.prototype.toString) return undefined;
  const name = own.call(store);
  return typeof name === 'string' ? name : undefined;
}

/** `<store>@<digest>` for messages, or the digest alone for a store without a name. */
export function contentWhere(store: object, digest: string): string {
  const name = storeName(store);
  return name === undefined ? digest : `${name}@${digest}`;
}

/**
 * Fetches a descriptor's whole content, verified, refusing more than `limit` bytes up front. A store
 * that reads a small blob in one call (a {@link BytesFetcher}: a file) is read that way, without a
 * stream.
 */
export async function fetchAll(fetcher: Fetcher, desc: Descriptor, o: Op & { limit?: number } = {}): Promise<Buffer> {
  const limit = o.limit ?? MaxManifestBytes;
  const where = contentWhere(fetcher, desc.digest);
  if (desc.size > limit) {
    throw new LadingError('SIZE_EXCEEDS_LIMIT', `${where}: ${desc.size} bytes exceeds the ${limit}-byte limit`);
  }
  if (desc.data !== undefined) {
    const bytes = Buffer.from(desc.data, 'base64');
    verifyBytes(desc, bytes, where);
    return bytes;
  }
  if (hasFetchBytes(fetcher)) return fetcher.fetchBytes(desc, o.signal ? { signal: o.signal } : {});
  const stream = await fetcher.fetch(desc, o);
  // A store may hand out a stream that does not watch the signal: an abort must still end the read.
  if (o.signal) addAbortSignal(o.signal, stream);
  return readAll(stream, limit, where);
}

/**
 * Where a source that broke off can continue: a fresh stream of the content from `offset`, or a
 * throw (the error to report) when it cannot.
 */
export type ResumeSource = (offset: number, error: unknown) => Promise<Readable>;

/**
 * Reads `source` only as fast as its consumer does, hashing and counting each chunk on the way
 * (one stream, no intermediate iterators: this is the hot path of every transfer), and fails
 * before its end on a wrong size or digest.
 */
class VerifiedReadable extends Readable {
  readonly #expected: Descriptor;
  readonly #algorithm: ReturnType<typeof parseDigest>['algorithm'];
  readonly #where: string;
  readonly #onBytes: ((n: number) => void)[] = [];
  readonly #resume: ResumeSource | undefined;
  #hash: AsyncDigester | undefined;
  /** The hashing thread is behind: reading waits until it catches up. */
  #hashWait = false;
  readonly #onHashDrain = () => {
    this.#hashWait = false;
    this.#pump();
  };
  #source: Readable;
  #seen = 0;
  #listening = false;
  /** An error the source raised before anyone read: reported on the first read. */
  #early: unknown;
  #resuming = false;
  /** The consumer asked for more (_read) and has not been given enough yet. */
  #wanted = false;
  readonly #onReadable = () => this.#pump();
  readonly #onEnd = () => this.#finish();
  readonly #onError = (error: unknown) => this.#failed(error);
  readonly #onEarlyError = (error: unknown) => {
    this.#early ??= error;
  };

  constructor(
    source: Readable,
    expected: Descriptor,
    options: { where?: string; onBytes?: (n: number) => void; resume?: ResumeSource },
  ) {
    super({ highWaterMark: 256 * 1024 });
    this.#source = source;
    this.#expected = expected;
    this.#algorithm = parseDigest(expected.digest).algorithm;
    this.#where = options.where ?? expected.digest;
    checkExpectedSize(expected, this.#where);
    if (options.onBytes) this.#onBytes.push(options.onBytes);
    this.#resume = options.resume;
    source.on('error', this.#onEarlyError);
  }

  /** The digest this stream checks. */
  get digest(): string {
    return this.#expected.digest;
  }

  /** Also reports each chunk's size to `onBytes` (for a consumer that counts progress). */
  observe(onBytes: (n: number) => void): void {
    this.#onBytes.push(onBytes);
  }

  #listen(source: Readable): void {
    source.off('error', this.#onEarlyError);
    source.on('readable', this.#onReadable);
    source.on('end', this.#onEnd);
    source.on('error', this.#onError);
  }

  #unlisten(source: Readable): void {
    source.off('readable', this.#onReadable);
    source.off('end', this.#onEnd);
    source.off('error', this.#onError);
    // A late error from a source we let go of must not go unhandled.
    source.on('error', () => {});
  }

  override _read(): void {
    if (!this.#listening) {
      this.#listening = true;
      const algorithm = this.#algorithm;
      this.#hash = asyncDigester(algorithm, this.#expected.size, () => createDigester(algorithm));
      if (this.#early !== undefined) {
        this.#source.off('error', this.#onEarlyError);
        this.#failed(this.#early);
        return;
      }
      this.#listen(this.#source);
    }
    this.#wanted = true;
    this.#pump();
  }

  #pump(): void {
    if (!this.#wanted || this.#resuming || this.#hashWait || this.destroyed) return;
    const size = this.#expected.size;
    for (;;) {
      const chunk = this.#source.read() as Buffer | null;
      if (chunk === null) return;
      this.#seen += chunk.length;
      if (this.#seen > size) {
        this.destroy(contentTooLong(this.#where, this.#expected));
        return;
      }
      const hashing = this.#hash?.update(chunk) ?? true;
      for (const report of this.#onBytes) report(chunk.length);
      const more = this.push(chunk);
      if (!hashing) {
        this.#hashWait = true;
        this.#hash?.onDrain(this.#onHashDrain);
      }
      if (!more) {
        this.#wanted = false;
        return;
      }
      if (!hashing) return;
    }
  }

  #finish(): void {
    if (this.destroyed) return;
    if (this.#seen !== this.#expected.size) {
      this.destroy(sizeMismatch(this.#where, this.#seen, this.#expected));
      return;
    }
    const hash = this.#hash;
    if (!hash) return;
    hash.digest().then(
      (hex) => {
        if (this.destroyed) return;
        const got = `${this.#algorithm}:${hex}`;
        if (got !== this.#expected.digest) {
          this.destroy(digestMismatch(this.#where, got, this.#expected));
          return;
        }
        this.push(null);
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        this.destroy(new LadingError('IO_ERROR', `${this.#where}: hashing failed: ${message}`, { cause: error }));
      },
    );
  }

  #failed(error: unknown): void {
    if (this.destroyed || this.#resuming) return;
    const resume = this.#resume;
    if (!resume) {
      this.destroy(error as Error);
      return;
    }
    this.#resuming = true;
    const broken = this.#source;
    this.#unlisten(broken);
    broken.destroy();
    resume(this.#seen, error).then(
      (next) => {
        this.#resuming = false;
        if (this.destroyed) {
          next.destroy();
          return;
        }
        this.#source = next;
        this.#listen(next);
        this.#pump();
      },
      (failure: unknown) => {
        this.#resuming = false;
        this.destroy(failure as Error);
      },
    );
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.#hash?.abandon();
    const source = this.#source;
    if (this.#listening) this.#unlisten(source);
    else source.off('error', this.#onEarlyError);
    source.on('error', () => {});
    source.destroy();
    done(error);
  }
}

/**
 * Wraps a source so that reading it yields verified bytes: the digest and size are checked as the
 * consumer reads, and the last read fails on a mismatch. Nothing flows until the consumer reads,
 * so a fetch that is never consumed cannot raise an unhandled error; destroying the result closes
 * the source. With `resume`, a source that breaks off is replaced by the one `resume` opens at
 * the offset reached, and the hash goes on.
 */
export function verifiedStream(
  source: Readable,
  expected: Descriptor,
  options: { where?: string; onBytes?: (n: number) => void; resume?: ResumeSource } = {},
): Readable {
  return new VerifiedReadable(source, expected, options);
}

/** Has a stream made by `verifiedStream` report each chunk's size to `onBytes` as well. */
export function observeBytes(stream: Readable, onBytes: (n: number) => void): void {
  if (!(stream instanceof VerifiedReadable)) throw new TypeError('observeBytes needs a stream made by verifiedStream');
  stream.observe(onBytes);
}
