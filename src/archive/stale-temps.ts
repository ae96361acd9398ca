import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { tempStem } from './atomic.js';
import { isAlive } from './process-alive.js';

/**
 * Every temp file or folder lading leaves beside an archive or inside a CTF folder is named by
 * `tempPathFor`: `.<name>.<pid>.<12 hex>.tmp`, optionally followed by a second `.<12 hex>.tmp`
 * (writeTar's own temp file). The pid lets a later run tell abandoned temps from live ones.
 */
const tempName = /^\..+?\.(\d+)\.[0-9a-f]{12}\.tmp(?:\.[0-9a-f]{12}\.tmp)?$/;

/**
 * Removes temps in `dir` left by processes that no longer run (a killed commit, a crash during
 * extraction). With `forName`, only temps derived from that file name are touched, so that a
 * shared folder such as os.tmpdir() is swept only for our own leftovers. With `olderThanMs`, only
 * temps unchanged for that long (a folder shared with another machine, whose process ids mean
 * nothing here, keeps the temps of its live runs). Nothing is followed: a link of that name is
 * removed as a link. Best effort: a folder we cannot list or an entry we cannot remove is left alone.
 */
export async function sweepStaleTemps(
  dir: string,
  forName?: string,
  options: { olderThanMs?: number } = {},
): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const prefix = forName === undefined ? undefined : `.${tempStem(basename(forName))}.`;
  const removed: string[] = [];
  for (const name of names) {
    if (prefix !== undefined && !name.startsWith(prefix)) continue;
    const match = tempName.exec(name);
    if (!match || isAlive(Number(match[1]))) continue;
    try {
      if (options.olderThanMs !== undefined) {
        const info = await lstat(join(dir, name));
        if (Date.now() - info.mtimeMs < options.olderThanMs) continue;
      }
      await rm(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // another sweeper got there first, or we lack permission: harmless either way
    }
  }
  return removed;
}
