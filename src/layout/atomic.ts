import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { LadingError } from '../oci/index.js';

/** A unique temp name next to `target`, so that the final rename stays on one file system. */
export function tempPathFor(target: string, dir = dirname(target)): string {
  return join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
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
 * A writable temp file that becomes `target` only on `commit()`; `abort()` removes it. The
 * stream must have finished (all bytes verified) before commit.
 */
export interface StagedFile {
  stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export async function stageFile(target: string, tempDir: string): Promise<StagedFile> {
  await mkdir(tempDir, { recursive: true });
  const temp = tempPathFor(target, tempDir);
  const handle = await open(temp, 'wx', 0o644);
  const stream = handle.createWriteStream({ highWaterMark: 1024 * 1024 });
  return {
    stream,
    async commit() {
      await mkdir(dirname(target), { recursive: true });
      await rename(temp, target);
    },
    async abort() {
      stream.destroy();
      await rm(temp, { force: true });
    },
  };
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
