import { closeSync, lstatSync, lutimesSync, openSync, type Stats, unlinkSync, writeSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { readRegularFileSync } from '../content/index.js';
import { isLadingError, LadingError } from '../oci/index.js';
import { isAlive } from './process-alive.js';

const lockPollMs = 10;
const lockStaleMs = 120_000;

/**
 * Runs `fn` holding an exclusive lock file. Two processes updating one index.json serialise here;
 * a lock left by a dead process (or older than two minutes) is broken.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const release = await acquireLock(lockPath, { timeoutMs });
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * Takes the lock file {@link withLock} takes, for work that does not fit in one callback; resolves
 * to the function that releases it. `busy` makes the error thrown when the lock stays held past
 * `timeoutMs` (default: one that names the lock file).
 */
export async function acquireLock(
  lockPath: string,
  o: { timeoutMs?: number; busy?: () => Error; held?: 'long' } = {},
): Promise<() => void> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const started = Date.now();
  for (;;) {
    try {
      // Direct system calls: taking and dropping the lock are tiny, and on the way of every index
      // update (a trip through the thread pool costs more than the call; see atomic.ts).
      const fd = openSync(lockPath, 'wx', 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } catch (error) {
        // A lock file without its owner's pid would hold others off until it is two minutes old.
        closeSync(fd);
        try {
          unlinkSync(lockPath);
        } catch {
          // the write's error is the one to report
        }
        throw error;
      }
      closeSync(fd);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await isStale(lockPath)) {
        await breakLock(lockPath);
        continue;
      }
      if (Date.now() - started >= timeoutMs) {
        if (o.busy) throw o.busy();
        throw new LadingError(
          'IO_ERROR',
          `timed out waiting for lock ${lockPath}; remove it if no lading process is running`,
        );
      }
      await new Promise((r) => setTimeout(r, lockPollMs + Math.random() * lockPollMs));
    }
  }
  // A lock held for minutes (a whole backup) is touched now and then: others break one that is old.
  const touch =
    o.held === 'long'
      ? setInterval(() => {
          const now = new Date();
          try {
            // Not through a link planted under the lock's name: that would touch the file it names.
            lutimesSync(lockPath, now, now);
          } catch {
            // broken by another process meanwhile: nothing to keep fresh
          }
        }, lockStaleMs / 4).unref()
      : undefined;
  return () => {
    clearInterval(touch);
    try {
      unlinkSync(lockPath);
    } catch {
      // removed already (broken as stale by another process)
    }
  };
}

/** Removes a lock file left by a process that no longer runs (or one older than two minutes). */
export async function removeStaleLock(lockPath: string): Promise<void> {
  if (await isStale(lockPath)) await unlink(lockPath).catch(() => {});
}

/**
 * Removes a stale lock so that it can be taken. One that cannot be removed (another user's file in
 * a sticky folder such as /tmp, a read-only folder) fails now: retried, it would spin for ever,
 * every try finding it stale again and no wait in between.
 */
async function breakLock(lockPath: string): Promise<void> {
  try {
    await unlink(lockPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    throw new LadingError(
      'IO_ERROR',
      `${lockPath} was left by a process that no longer runs and cannot be removed (${code ?? String(error)}); remove it if no lading process is running`,
      { cause: error },
    );
  }
}

async function isStale(lockPath: string): Promise<boolean> {
  let text: string;
  let info: Stats;
  try {
    info = lstatSync(lockPath);
    // Opened without blocking or following a link, and read only if it is a regular file: a FIFO or
    // a link planted under the lock's name would otherwise hang this read for ever.
    text = readRegularFileSync(lockPath, { limit: 64, noFollow: true }).toString('latin1');
  } catch (error) {
    if (isLadingError(error, 'INVALID_ARGUMENT') || isLadingError(error, 'SIZE_EXCEEDS_LIMIT')) {
      throw new LadingError(
        'IO_ERROR',
        `${lockPath} is not a lock file lading wrote; remove it if no lading process is running`,
      );
    }
    return false; // vanished or half-written: try again
  }
  const pid = Number.parseInt(text, 10);
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !isAlive(pid)) return true;
  return Date.now() - info.mtimeMs > lockStaleMs;
}
