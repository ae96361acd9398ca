import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import {
  type Content,
  fileOriginOf,
  fileReadBytes,
  MaxFileReadBytes,
  type Op,
  verifiedCopy,
  verifiesItself,
} from '../content/index.js';
import { createDigester, type Descriptor, LadingError, parseDigest } from '../oci/index.js';

/**
 * The part of a file name that its temp names repeat: the name itself, cut to 200 bytes (at a
 * character boundary) so that the temp name, and a temp of that temp, stay under NAME_MAX (255
 * bytes) however long the final name is.
 */
export function tempStem(name: string): string {
  if (Buffer.byteLength(name) <= TempStemBytes) return name;
  let stem = '';
  let bytes = 0;
  for (const char of name) {
    bytes += Buffer.byteLength(char);
    if (bytes > TempStemBytes) break;
    stem += char;
  }
  return stem;
}
const TempStemBytes = 200;

/** A unique temp name next to `target`, so that the final rename stays on one file system. */
export function tempPathFor(target: string, dir = dirname(target)): string {
  return join(dir, `.${tempStem(basename(target))}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes a whole small file atomically: temp file (exclusive create), fsync, rename. */
export async function writeFileAtomic(target: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const temp = tempPathFor(target);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * A temp file that becomes `target` only on `commit()`; `abort()` removes it. Its content must
 * have been written whole (all bytes verified, see `writeVerified`) before commit.
 */
export interface StagedFile {
  handle: FileHandle;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function stageFile(target: string, tempDir: string): Promise<StagedFile> {
  await mkdir(tempDir, { recursive: true });
  const temp = tempPathFor(target, tempDir);
  const handle = await open(temp, 'wx', 0o644);
  return {
    handle,
    async commit() {
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    },
    async abort() {
      await handle.close().catch(() => {});
      await rm(temp, { force: true });
    },
  };
}

/** Buffers in flight while copying a file: one being read, one being hashed, two being written. */
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
  const origin = fileOriginOf(content);
  if (origin === undefined || !verifiesItself(content, expected)) {
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
  const onBytes = options.op?.onBytes;
  const source = await open(from, 'r');
  const bufferBytes = fileReadBytes(expected.size);
  const buffers = Array.from({ length: CopyBuffers }, () => Buffer.allocUnsafeSlow(bufferBytes));
  const writes: (Promise<void> | undefined)[] = new Array(CopyBuffers);
  const readInto = async (slot: number, at: number) => {
    await writes[slot];
    return source.read(buffers[slot] as Buffer, 0, bufferBytes, at);
  };
  let position = 0;
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
      writes[turn % CopyBuffers] = pending(writeAll(to, chunk, position));
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

const lockPollMs = 10;
const lockStaleMs = 120_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding an exclusive lock file. Two processes updating one index.json serialise here;
 * a lock left by a dead process (or older than two minutes) is broken.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await isStale(lockPath)) {
        await unlink(lockPath).catch(() => {});
        continue;
      }
      if (Date.now() - started > timeoutMs) {
        throw new LadingError(
          'IO_ERROR',
          `timed out waiting for lock ${lockPath}; remove it if no lading process is running`,
        );
      }
      await new Promise((r) => setTimeout(r, lockPollMs + Math.random() * lockPollMs));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => {});
  }
}

/** Removes a lock file left by a process that no longer runs (or one older than two minutes). */
export async function removeStaleLock(lockPath: string): Promise<void> {
  if (await isStale(lockPath)) await unlink(lockPath).catch(() => {});
}

async function isStale(lockPath: string): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(lockPath, 'utf8'), stat(lockPath)]);
    const pid = Number.parseInt(text, 10);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) return true;
    return Date.now() - info.mtimeMs > lockStaleMs;
  } catch {
    return false; // vanished or half-written: try again
  }
}
