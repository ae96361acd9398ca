import { constants } from 'node:fs';
import { lstat, open, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
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
 * nothing here, keeps the temps of its live runs), unless the temp is a folder whose
 * {@link HostFileName} names this machine (written by {@link claimForThisHost}): then its dead
 * process id is the whole answer. Nothing is followed: a link of that name is removed as a link.
 * Best effort: a folder we cannot list or an entry we cannot remove is left alone.
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
        const young = Date.now() - info.mtimeMs < options.olderThanMs;
        if (young && !(info.isDirectory() && (await madeOnThisHost(join(dir, name))))) continue;
      }
      await rm(join(dir, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // another sweeper got there first, or we lack permission: harmless either way
    }
  }
  return removed;
}

/** The file inside a temp folder that names the machine whose process made it. */
export const HostFileName = '.host';

/**
 * Marks the temp folder `folder` (just made, by this process) as this machine's, so that a sweep
 * here may remove it as soon as this process is gone, however recent it is. Best effort.
 */
export async function claimForThisHost(folder: string): Promise<void> {
  const mark = await processSpace();
  if (mark === undefined) return;
  await writeFile(join(folder, HostFileName), mark, { flag: 'wx', mode: 0o600 }).catch(() => {});
}

/**
 * Where a process ID means this process: the host name, the boot, and the PID namespace. Two
 * containers sharing the host's name (`--network host`) have PID spaces of their own, where a
 * live pull's ID looks dead. Undefined where the kernel does not say (not Linux): no marker, and
 * the age rule alone decides.
 */
export async function processSpace(): Promise<string | undefined> {
  try {
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const pids = await readlink('/proc/self/ns/pid');
    return `${hostname()}\n${boot}\n${pids}\n`;
  } catch {
    return undefined;
  }
}

async function madeOnThisHost(folder: string): Promise<boolean> {
  const mine = await processSpace();
  if (mine === undefined) return false;
  try {
    // Not followed: a link planted at the marker's name is not read through; and read no further
    // than a marker can be long (anyone who can write in the folder could plant a big one).
    const handle = await open(join(folder, HostFileName), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      const buffer = Buffer.alloc(1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      return buffer.subarray(0, bytesRead).toString('utf8') === mine;
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}
