import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readlink, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ErrorCode, LadingError } from '../oci/index.js';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

/**
 * Whether `/proc/self/fd/<n>/<name>` names `<name>` inside the very directory that descriptor n
 * holds open. On Linux it does: the kernel follows the descriptor, not a path, so a folder renamed
 * or swapped for a link after it was opened cannot redirect what is created in it. That gives
 * Node (which has no openat) the same guarantee. Elsewhere the folder's path is used, and the
 * checks made when it was opened hold only until someone else changes the tree.
 */
let pinnedByFd: boolean | undefined;

async function fdPathsWork(handle: FileHandle): Promise<boolean> {
  if (pinnedByFd === undefined) {
    try {
      const [held, viaProc] = await Promise.all([handle.stat(), stat(`/proc/self/fd/${handle.fd}`)]);
      pinnedByFd = held.dev === viaProc.dev && held.ino === viaProc.ino;
    } catch {
      pinnedByFd = false;
    }
  }
  return pinnedByFd;
}

/** What is at a name inside a folder when it is opened as a folder without following a link. */
export type Child = { dir: RealDir } | { missing: true } | { other: Stats };

/**
 * A folder held open, and names inside it that resolve from that folder itself (see above): the
 * building block for writing into a tree without ever following a link that was not vetted.
 */
export class RealDir {
  /** The folder's path as it was reached; for messages (and the fallback where fds cannot pin). */
  readonly path: string;
  readonly #handle: FileHandle;
  readonly #pinned: boolean;

  private constructor(path: string, handle: FileHandle, pinned: boolean) {
    this.path = path;
    this.#handle = handle;
    this.#pinned = pinned;
  }

  /** Opens `path` as a folder; with `follow: false` a final component that is a link is refused (ENOTDIR/ELOOP). */
  static async open(path: string, options: { follow?: boolean } = {}): Promise<RealDir> {
    const flags = O_RDONLY | O_DIRECTORY | (options.follow === false ? O_NOFOLLOW : 0);
    const handle = await open(path, flags);
    try {
      return new RealDir(path, handle, await fdPathsWork(handle));
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** A path for `name` inside this folder, for the fs calls that take paths (mkdir, rename, symlink, link, lutimes). */
  at(name: string): string {
    return this.#pinned ? `/proc/self/fd/${this.#handle.fd}/${name}` : join(this.path, name);
  }

  async lstat(name: string): Promise<Stats | undefined> {
    return lstat(this.at(name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
  }

  /**
   * Opens the folder `name` inside this one. A link there is not followed unless `follow` is
   * set; what is there instead (a link, a file) is returned for the caller to judge.
   */
  async child(name: string, options: { follow?: boolean } = {}): Promise<Child> {
    try {
      const flags = O_RDONLY | O_DIRECTORY | (options.follow ? 0 : O_NOFOLLOW);
      const handle = await open(this.at(name), flags);
      return { dir: new RealDir(join(this.path, name), handle, this.#pinned) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { missing: true };
      if (code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
      const info = await this.lstat(name);
      return info ? { other: info } : { missing: true };
    }
  }

  /** Where this folder really is now (the descriptor's own path on Linux, not the path it was opened by). */
  async realPath(): Promise<string> {
    if (this.#pinned) return readlink(`/proc/self/fd/${this.#handle.fd}`);
    return realpath(this.path);
  }

  async setTimes(mtime: Date): Promise<void> {
    await this.#handle.utimes(mtime, mtime);
  }

  async close(): Promise<void> {
    await this.#handle.close().catch(() => {});
  }
}

/**
 * Opens the folder `parts` below a store's root (an OCI layout, a CTF folder) one component at a
 * time without following a link, making missing folders unless `create` is false (then a missing
 * one gives undefined). The root itself is the user's to name and may be a link; the store's own
 * folders (`blobs/`, `blobs/sha256/`, `ingest/`) never are: a link planted there (a layout or CTF
 * checked out of git, unpacked by tar, or shared) would send every blob written, and every blob
 * removed, into the folder it names (a digest-named file in /etc/cron.d is a cron job). Writes
 * then go through the folder held open (see `at`), so a swap after this check does not redirect
 * them either. The caller closes the folder.
 */
export async function openStoreFolder(
  root: string,
  parts: readonly string[],
  o: { where: string; code?: ErrorCode; create?: true },
): Promise<RealDir>;
export async function openStoreFolder(
  root: string,
  parts: readonly string[],
  o: { where: string; code?: ErrorCode; create: false },
): Promise<RealDir | undefined>;
export async function openStoreFolder(
  root: string,
  parts: readonly string[],
  o: { where: string; code?: ErrorCode; create?: boolean },
): Promise<RealDir | undefined> {
  let dir = await RealDir.open(root);
  let sofar = '';
  try {
    for (const part of parts) {
      sofar = sofar ? `${sofar}/${part}` : part;
      let child = await dir.child(part);
      if ('missing' in child) {
        if (o.create === false) {
          await dir.close();
          return undefined;
        }
        await mkdir(dir.at(part), 0o755).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
        child = await dir.child(part);
      }
      if (!('dir' in child)) {
        const what = 'other' in child && child.other.isSymbolicLink() ? 'a symlink' : 'not a folder';
        throw new LadingError(
          o.code ?? 'PATH_TRAVERSAL',
          `${o.where}: ${join(root, sofar)} is ${what}; refusing to write through it`,
        );
      }
      await dir.close();
      dir = child.dir;
    }
    return dir;
  } catch (error) {
    await dir.close();
    throw error;
  }
}
