import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { fileReadBytes } from '../../content/index.js';
import type { InputBlob } from './types.js';

/** Counts and hashes what flows through. */
export class Measure extends Transform {
  readonly #hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    this.#hash.update(chunk);
    done(null, chunk);
  }

  get digest(): string {
    return `sha256:${this.#hash.digest('hex')}`;
  }
}

/** Digest and size of a stream, reading it once. */
export async function measureStream(stream: Readable, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
  const measure = new Measure();
  await pipeline(
    stream,
    measure,
    async (source: AsyncIterable<Buffer>) => {
      for await (const _ of source) {
        // only measured
      }
    },
    signal ? { signal } : {},
  );
  return { digest: measure.digest, size: measure.size };
}

/** Gzip as upstream applies it for `compress: true` (default level; Go's deflate bytes differ). */
export function gzipStream(): Transform {
  return createGzip();
}

/**
 * Writes what `produce()` streams (optionally gzipped) to a temporary file while measuring it, and
 * returns a blob that re-reads that file. Used where producing the bytes again would be costly
 * (compression) — memory stays flat, disk holds one copy until `dispose()`.
 */
export async function spoolToTempFile(
  produce: () => Readable | Promise<Readable>,
  options: { mediaType: string; gzip?: boolean; tempDir?: string; signal?: AbortSignal },
): Promise<InputBlob> {
  const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'lading-input-'));
  const file = join(dir, `blob-${randomBytes(4).toString('hex')}`);
  const dispose = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const measure = new Measure();
    const stages: NodeJS.ReadWriteStream[] = options.gzip ? [gzipStream(), measure] : [measure];
    const source = await produce();
    await pipeline([source, ...stages, createWriteStream(file)], options.signal ? { signal: options.signal } : {});
    return {
      mediaType: options.mediaType,
      size: measure.size,
      digest: measure.digest,
      open: () => createReadStream(file, { highWaterMark: fileReadBytes(measure.size) }),
      dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}
