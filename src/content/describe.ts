import { createReadStream } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  abortError,
  createDigester,
  type Descriptor,
  type DigestAlgorithm,
  LadingError,
  throwIfAborted,
} from '../oci/index.js';

/** Options of {@link describeContent}. */
export interface DescribeContentOptions {
  /** The descriptor's media type. Default `application/octet-stream`. */
  mediaType?: string;
  /** Annotations to put on the descriptor, as given. */
  annotations?: Record<string, string>;
  /** The digest algorithm. Default `sha256`. */
  algorithm?: DigestAlgorithm;
  /** Stops reading; the call then rejects with a `LadingError` of code `ABORTED`. */
  signal?: AbortSignal;
}

/** What {@link describeContent} may describe: a file path, bytes, or a stream (read to its end). */
export type DescribedContent = string | Uint8Array | Readable | AsyncIterable<Uint8Array>;

/**
 * The descriptor of some content: its digest and size, computed by streaming it once (never held
 * whole), with the media type and annotations given. A path is read from the file system (push it
 * afterwards with `createReadStream(path)`); a stream is consumed. Errors are `LadingError`s:
 * `NOT_FOUND` or `IO_ERROR` for a file, `ABORTED` when `signal` stops the read.
 */
export async function describeContent(
  content: DescribedContent,
  options: DescribeContentOptions = {},
): Promise<Descriptor> {
  const { signal } = options;
  throwIfAborted(signal);
  const algorithm = options.algorithm ?? 'sha256';
  const hash = createDigester(algorithm);
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      hash.update(chunk);
      done();
    },
  });
  const source =
    typeof content === 'string'
      ? createReadStream(content)
      : content instanceof Uint8Array
        ? Readable.from([content])
        : content;
  try {
    await pipeline(source, sink, signal ? { signal } : {});
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof content === 'string' && (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES')) {
      throw new LadingError(
        code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR',
        `${content}: cannot read the file (${code})`,
        { cause: error },
      );
    }
    if (error instanceof LadingError) throw error;
    throw new LadingError('IO_ERROR', `cannot read the content to describe: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return {
    mediaType: options.mediaType ?? 'application/octet-stream',
    digest: `${algorithm}:${hash.digest('hex')}`,
    size,
    ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
  };
}
