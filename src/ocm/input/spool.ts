import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { sweepStaleTemps, tempFolderError, tempPathFor } from '../../archive/index.js';
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

const SpoolName = 'lading-input';
/** A temp folder's age past which one of a process that is gone is taken for abandoned (the temp folder may be shared by machines). */
const SpoolStaleMs = 60 * 60 * 1000;
const swept = new Set<string>();

/** Removes, once per process and folder, the spool folders killed runs left there (see sweepStaleTemps). */
async function sweepOnce(base: string): Promise<void> {
  if (swept.has(base)) return;
  swept.add(base);
  await sweepStaleTemps(base, SpoolName, { olderThanMs: SpoolStaleMs });
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
  const base = options.tempDir ?? tmpdir();
  await sweepOnce(base);
  // Named as lading's other temps (with this process's id), so that a later run can tell one left
  // by a killed run from one in use.
  const dir = tempPathFor(join(base, SpoolName));
  await mkdir(dir, { mode: 0o700 }).catch((error: unknown) => {
    throw tempFolderError(base, error);
  });
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
