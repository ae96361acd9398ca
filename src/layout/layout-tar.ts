import { Readable } from 'node:stream';
import { fileHeader, TarFileWriter } from '../archive/index.js';
import {
  type Content,
  cancellablePush,
  type Op,
  observeBytes,
  type Target,
  toReadable,
  verifiedStream,
  verifiesItself,
} from '../content/index.js';
import { checkRefName, type Descriptor, LadingError } from '../oci/index.js';
import { encodeIndexJson, type IndexState, layoutFileBytes, recordTag, resolveIndexed } from './index-json.js';
import { blobPath } from './layout.js';

/**
 * An OCI image layout written straight into a tar file, as the destination of a graph copy:
 * `oci-layout` first, then every blob as it is pushed (streamed and verified on the way in),
 * and on `finish()` an index.json that lists what was tagged (only that: a layout tar names its
 * artifacts, not every manifest below them). The file replaces `out` only when finished; until
 * then, and after `abort()` or a failure, `out` is as it was.
 *
 * Entries are written in the order pushed: copy into it with a concurrency of 1, so that no
 * source stream waits open for its turn and the same graph always gives the same tar.
 */
export class LayoutTarWriter implements Target {
  /** The tar file written (in place only once finished). */
  readonly out: string;
  readonly #tar: TarFileWriter;
  readonly #written = new Map<string, Descriptor>();
  readonly #state: IndexState = { tags: new Map(), manifests: new Map() };
  #ended = false;

  private constructor(out: string, tar: TarFileWriter) {
    this.out = out;
    this.#tar = tar;
  }

  /** Starts a layout tar for `out`; `out` is replaced only by {@link LayoutTarWriter.finish}. */
  static async create(out: string): Promise<LayoutTarWriter> {
    const tar = await TarFileWriter.create(out).catch((error) => {
      throw ioError(out, error);
    });
    const writer = new LayoutTarWriter(out, tar);
    await writer.#append('oci-layout', layoutFileBytes());
    return writer;
  }

  async exists(desc: Descriptor): Promise<boolean> {
    return this.#written.has(desc.digest);
  }

  push(expected: Descriptor, content: Content, o: Op = {}): Promise<void> {
    return cancellablePush(content, o, () => this.#push(expected, content, o));
  }

  async #push(expected: Descriptor, content: Content, o: Op): Promise<void> {
    if (this.#written.has(expected.digest)) {
      throw new LadingError('ALREADY_EXISTS', `${this.out}: ${expected.digest} already exists`);
    }
    const path = blobPath(expected.digest);
    const where = `${this.out}: ${path}`;
    await this.#append(
      path,
      verifiedBody(content, expected, { where, ...(o.onProgress ? { onBytes: o.onProgress } : {}) }),
      {
        size: expected.size,
        ...(o.signal ? { signal: o.signal } : {}),
      },
    );
    this.#written.set(expected.digest, expected);
  }

  async fetch(desc: Descriptor): Promise<never> {
    throw new LadingError('UNSUPPORTED', `${this.out}: a layout tar being written cannot be read (${desc.digest})`);
  }

  async resolve(reference: string): Promise<Descriptor> {
    const found = resolveIndexed(this.#state, reference) ?? this.#written.get(reference);
    if (!found) throw new LadingError('NOT_FOUND', `${this.out}: ${reference} not found`);
    return found;
  }

  /** Lists `desc` in index.json under `reference` (a digest reference lists it without a name). */
  async tag(desc: Descriptor, reference: string): Promise<void> {
    checkRefName(reference, this.out);
    if (!this.#written.has(desc.digest)) throw new LadingError('NOT_FOUND', `${this.out}: ${desc.digest} not found`);
    recordTag(this.#state, desc, reference);
  }

  /** Writes index.json and puts the tar at `out`. */
  async finish(): Promise<void> {
    this.#ended = true;
    await this.#append('index.json', encodeIndexJson(this.#state));
    await this.#tar.finish().catch((error) => {
      throw ioError(this.out, error);
    });
  }

  /** Drops what was written: `out` stays as it was. */
  async abort(): Promise<void> {
    this.#ended = true;
    await this.#tar.abort();
  }

  /** {@link LayoutTarWriter.finish} (default) or, with `commit: false`, {@link LayoutTarWriter.abort}. */
  async close(options: { commit?: boolean } = {}): Promise<void> {
    if (options.commit === false) await this.abort();
    else await this.finish();
  }

  /**
   * For `await using`: aborts unless {@link LayoutTarWriter.finish} or `close()` ran, so a scope
   * left by an error never puts a partial tar at `out`.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#ended) await this.abort();
  }

  async #append(path: string, body: Buffer | Readable, o: { size?: number; signal?: AbortSignal } = {}) {
    const size = o.size ?? (body as Buffer).length;
    const content = body instanceof Readable ? body : Readable.from([body]);
    await this.#tar
      .append(fileHeader(path, size), content, {
        where: `${this.out}: tar entry ${path}`,
        ...(o.signal ? { signal: o.signal } : {}),
      })
      .catch((error) => {
        throw ioError(this.out, error);
      });
  }
}

/** `content` as a stream that fails unless it is exactly `expected`; one that checks itself is not hashed twice. */
function verifiedBody(
  content: Content,
  expected: Descriptor,
  o: { where: string; onBytes?: (n: number) => void },
): Readable {
  if (!verifiesItself(content, expected)) return verifiedStream(toReadable(content), expected, o);
  const stream = content as Readable;
  if (o.onBytes) observeBytes(stream, o.onBytes);
  return stream;
}

/** File system failures name the tar; lading's own errors (a digest mismatch, an abort) pass as they are. */
function ioError(out: string, error: unknown): unknown {
  if (error instanceof LadingError || (error as Error).name === 'AbortError') return error;
  return new LadingError('IO_ERROR', `${out}: cannot write tar archive: ${(error as Error).message}`, { cause: error });
}
