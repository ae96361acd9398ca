import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  type BlobFill,
  type Content,
  fileOriginOf,
  fileReadBytes,
  MaxFileReadBytes,
  type Op,
  observeBytes,
  verifiedCopy,
  verifiesItself,
  verifyBytes,
} from '../content/index.js';
import { abortError, createDigester, type Descriptor, LadingError, parseDigest } from '../oci/index.js';

/** Buffers in flight while copying a file: one being read, one being hashed, two written one after the other. */
const CopyBuffers = 4;

/**
 * Writes a blob into `handle` (a new, empty file), verifying every byte against `expected`, and
 * closes it. A self-verifying stream of a local file is not taken chunk by chunk: the file is
 * read, hashed and written here with a few reused buffers, reading ahead and writing behind the
 * hash (no allocation per chunk, no stream machinery: what `add cv` of a big folder spends its
 * time on). Anything else streams through `verifiedCopy`.
 */
export async function writeVerified(
  handle: FileHandle,
  content: Content,
  expected: Descriptor,
  options: { where?: string; op?: Op } = {},
): Promise<void> {
  if (content instanceof Uint8Array) {
    // Bytes in memory (a small blob read whole): checked in one call and written in one.
    try {
      verifyBytes(expected, content, options.where);
      await handle.writeFile(content);
      options.op?.onProgress?.(content.length);
    } finally {
      await handle.close();
    }
    return;
  }
  const origin = fileOriginOf(content);
  if (origin === undefined || !verifiesItself(content, expected)) {
    if (content instanceof Readable && verifiesItself(content, expected)) {
      // A verified download (a registry's response body): written here in batches.
      const onBytes = options.op?.onProgress;
      if (onBytes) observeBytes(content, onBytes);
      try {
        await streamToFile(content, handle, options.op?.signal);
      } finally {
        await handle.close();
      }
      return;
    }
    await verifiedCopy(content, expected, handle.createWriteStream({ highWaterMark: MaxFileReadBytes }), options);
    return;
  }
  (content as Readable).destroy();
  try {
    await copyFileVerified(origin, handle, expected, options);
  } finally {
    await handle.close();
  }
}

/**
 * Writes a blob a {@link BlobFill} delivers into `handle` (a new, empty file) and closes it: the
 * fill writes it itself, verified, or hands back a stream, written as {@link writeVerified}
 * writes one after the file is emptied; bytes the fill reported already are not reported twice.
 */
export async function writeFilled(
  handle: FileHandle,
  fill: BlobFill,
  expected: Descriptor,
  options: { where?: string; op?: Op } = {},
): Promise<void> {
  let result: Awaited<ReturnType<BlobFill['fill']>>;
  try {
    result = await fill.fill(handle, options.op ?? {});
  } catch (error) {
    await handle.close();
    throw error;
  }
  if (result.filled) {
    await handle.close();
    return;
  }
  const { content, reported } = result;
  try {
    if (!result.keepsPrefix) await handle.truncate(0);
  } catch (error) {
    content.destroy();
    await handle.close();
    throw error;
  }
  const onProgress = options.op?.onProgress;
  let seen = 0;
  const op: Op = {
    ...options.op,
    ...(onProgress
      ? {
          onProgress: (n: number) => {
            const before = seen;
            seen += n;
            if (seen > reported) onProgress(seen - Math.max(before, reported));
          },
        }
      : {}),
  };
  await writeVerified(handle, content, expected, { ...options, op });
}

/** A promise whose rejection is reported where it is awaited, not as unhandled in between. */
function pending<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/**
 * The copy runs as a pipeline over `CopyBuffers` buffers: while chunk n is hashed on this thread,
 * chunk n + 1 is being read and chunk n - 1 written by the I/O threads. A buffer is read into
 * again only once the write of the chunk it held is done.
 */
async function copyFileVerified(
  from: string,
  to: FileHandle,
  expected: Descriptor,
  options: { where?: string; op?: Op },
): Promise<void> {
  const where = options.where ?? expected.digest;
  const { algorithm } = parseDigest(expected.digest);
  const hash = createDigester(algorithm);
  const signal = options.op?.signal;
  const onBytes = options.op?.onProgress;
  const source = await open(from, 'r');
  const bufferBytes = fileReadBytes(expected.size);
  const buffers = Array.from({ length: CopyBuffers }, () => Buffer.allocUnsafeSlow(bufferBytes));
  const writes: (Promise<void> | undefined)[] = new Array(CopyBuffers);
  const readInto = async (slot: number, at: number) => {
    await writes[slot];
    return source.read(buffers[slot] as Buffer, 0, bufferBytes, at);
  };
  let position = 0;
  let lastWrite: Promise<void> = Promise.resolve();
  let reading = pending(readInto(0, 0));
  try {
    for (let turn = 0; ; turn++) {
      signal?.throwIfAborted();
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      if (position + bytesRead > expected.size) {
        throw new LadingError(
          'SIZE_MISMATCH',
          `${from}: content is longer than the expected ${expected.size} bytes (copying into ${where})`,
        );
      }
      const chunk = buffer.subarray(0, bytesRead);
      reading = pending(readInto((turn + 1) % CopyBuffers, position + bytesRead));
      hash.update(chunk);
      // One write at a time: concurrent writes into one file only queue on its lock in the kernel
      // (ext4 spins on it, CPU the hash needs).
      const at = position;
      writes[turn % CopyBuffers] = pending(lastWrite.then(() => writeAll(to, chunk, at)));
      lastWrite = writes[turn % CopyBuffers] as Promise<void>;
      position += bytesRead;
      onBytes?.(bytesRead);
    }
    await Promise.all(writes);
  } finally {
    await Promise.allSettled([reading, ...writes]);
    await source.close();
  }
  // The bytes came from `from`: a mismatch is that file's fault, not the destination's.
  if (position !== expected.size) {
    throw new LadingError(
      'SIZE_MISMATCH',
      `${from}: got ${position} bytes, expected ${expected.size} (copying into ${where})`,
    );
  }
  const got = `${algorithm}:${hash.digest('hex')}`;
  if (got !== expected.digest) {
    throw new LadingError(
      'DIGEST_MISMATCH',
      `${from}: content digest ${got} does not match ${expected.digest} (copying into ${where})`,
    );
  }
}

async function writeAll(handle: FileHandle, chunk: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position + done);
    done += bytesWritten;
  }
}

/** Bytes gathered from a stream before they are written with one `writev`. */
const WriteBatchBytes = 1024 * 1024;

/**
 * Writes `stream` into `handle` from offset 0 and answers the bytes written: its chunks are
 * gathered and written with one `writev` per ~1 MiB, one write at a time, and the stream is paused
 * while a full batch waits for the write before it (at most two batches held). A plain `pipe` into
 * a file stream costs a callback, a buffer entry and a 'drain' check per chunk; a download of 1 GiB
 * arrives in ~16,000 chunks. A stream that verifies itself fails before its end on a wrong size or
 * digest, so its last batch is written only once every byte is verified (and the caller renames
 * the file only after). `onChunk` sees each chunk before it is written.
 */
async function streamToFile(
  stream: Readable,
  handle: FileHandle,
  signal: AbortSignal | undefined,
  onChunk?: (chunk: Buffer) => void,
): Promise<number> {
  if (signal?.aborted) throw abortError(signal);
  let position = 0;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writing = false;
  let ended = false;
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', finish);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else {
        stream.destroy();
        reject(error);
      }
    };
    const onAbort = () => finish(abortError(signal as AbortSignal));
    const next = () => {
      if (settled) return;
      if (batchBytes >= WriteBatchBytes || (ended && batchBytes > 0)) write();
      else if (ended) finish();
      else stream.resume();
    };
    const write = () => {
      const buffers = batch;
      const bytes = batchBytes;
      batch = [];
      batchBytes = 0;
      const at = position;
      position += bytes;
      writing = true;
      writeAllv(handle, buffers, bytes, at).then(
        () => {
          writing = false;
          next();
        },
        (error: unknown) => finish(error),
      );
    };
    const onData = (chunk: Buffer) => {
      onChunk?.(chunk);
      batch.push(chunk);
      batchBytes += chunk.length;
      if (batchBytes < WriteBatchBytes) return;
      if (writing) stream.pause();
      else write();
    };
    const onEnd = () => {
      ended = true;
      if (!writing) next();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', finish);
  });
  return position;
}

/**
 * Writes what `stream` yields into `handle` (a new, empty file), hashing it on the way, and
 * closes the file: the digest and size of exactly the bytes written, for a blob whose digest is
 * not known until its end (one pass instead of hashing first and writing after).
 */
export async function writeHashed(
  handle: FileHandle,
  stream: Readable,
  o: Op = {},
): Promise<{ digest: string; size: number }> {
  const hash = createDigester('sha256');
  const onBytes = o.onProgress;
  try {
    const size = await streamToFile(stream, handle, o.signal, (chunk) => {
      hash.update(chunk);
      onBytes?.(chunk.length);
    });
    return { digest: `sha256:${hash.digest('hex')}`, size };
  } finally {
    await handle.close();
  }
}

async function writeAllv(handle: FileHandle, buffers: Buffer[], bytes: number, position: number): Promise<void> {
  const { bytesWritten } = await handle.writev(buffers, position);
  // A short write (a full disk reports itself on the next call): the rest goes in plain writes.
  if (bytesWritten < bytes) {
    await writeAll(handle, Buffer.concat(buffers, bytes).subarray(bytesWritten), position + bytesWritten);
  }
}
