import {
  closeSync,
  constants,
  fstatSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { join, sep } from 'node:path';
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

function fdPathsWork(fd: number): boolean {
  if (pinnedByFd === undefined) {
    try {
      const held = fstatSync(fd);
      const viaProc = statSync(`/proc/self/fd/${fd}`);
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
 *
 * Its own calls (open a folder, look at a name, close) are direct system calls, not trips through
 * libuv's thread pool: each is a few microseconds of metadata work, where a trip costs 0.1–0.3 ms
 * of hand-offs between threads (measured: writing a blob into a layout opens three folders and
 * closes two). Opening with O_DIRECTORY never waits on what it finds (a FIFO is refused, not
 * opened). The methods stay asynchronous for their callers.
 */
export class RealDir {
  /** The folder's path as it was reached; for messages (and the fallback where fds cannot pin). */
  readonly path: string;
  #fd: number;
  readonly #pinned: boolean;

  private constructor(path: string, fd: number, pinned: boolean) {
    this.path = path;
    this.#fd = fd;
    this.#pinned = pinned;
  }

  /** Opens `path` as a folder; with `follow: false` a final component that is a link is refused (ENOTDIR/ELOOP). */
  static async open(path: string, options: { follow?: boolean } = {}): Promise<RealDir> {
    return RealDir.openNow(path, options);
  }

  /** {@link RealDir.open}, answered at once. @internal */
  static openNow(path: string, options: { follow?: boolean } = {}): RealDir {
    const flags = O_RDONLY | O_DIRECTORY | (options.follow === false ? O_NOFOLLOW : 0);
    const fd = openSync(path, flags);
    return new RealDir(path, fd, fdPathsWork(fd));
  }

  /** A path for `name` inside this folder, for the fs calls that take paths (mkdir, rename, symlink, link, lutimes). */
  at(name: string): string {
    return this.#pinned ? `/proc/self/fd/${this.#fd}/${name}` : join(this.path, name);
  }

  async lstat(name: string): Promise<Stats | undefined> {
    return this.#lstat(name);
  }

  #lstat(name: string): Stats | undefined {
    try {
      return lstatSync(this.at(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /**
   * Opens the folder `name` inside this one. A link there is not followed unless `follow` is
   * set; what is there instead (a link, a file) is returned for the caller to judge.
   */
  async child(name: string, options: { follow?: boolean } = {}): Promise<Child> {
    return this.childNow(name, options);
  }

  /** {@link RealDir.child}, answered at once. @internal */
  childNow(name: string, options: { follow?: boolean } = {}): Child {
    try {
      const flags = O_RDONLY | O_DIRECTORY | (options.follow ? 0 : O_NOFOLLOW);
      const fd = openSync(this.at(name), flags);
      return { dir: new RealDir(join(this.path, name), fd, this.#pinned) };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { missing: true };
      if (code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
      const info = this.#lstat(name);
      return info ? { other: info } : { missing: true };
    }
  }

  /** Where this folder really is now (the descriptor's own path on Linux, not the path it was opened by). */
  async realPath(): Promise<string> {
    if (this.#pinned) return readlinkSync(`/proc/self/fd/${this.#fd}`);
    return realpathSync.native(this.path);
  }

  /**
   * Whether the folder is still where it was reached and still there: not removed (a removed folder
   * has no links), and its path names this very folder again. The last `depth` components of the
   * path (the folders opened one at a time without following a link, below a store's root) must
   * each be a folder, not a link: a parent moved away and a link to it put in its place names the
   * same folder, but opening it anew would refuse that link. A system call per component, where
   * opening the folder again takes an open and a close each. @internal
   */
  isStillInPlace(depth = 1): boolean {
    if (this.#fd < 0) return false;
    try {
      const held = fstatSync(this.#fd);
      if (held.nlink === 0) return false;
      const parts = this.path.split(sep);
      for (let up = depth - 1; up >= 1; up--) {
        if (!lstatSync(parts.slice(0, parts.length - up).join(sep)).isDirectory()) return false;
      }
      const there = lstatSync(this.path);
      return there.isDirectory() && there.dev === held.dev && there.ino === held.ino;
    } catch {
      return false;
    }
  }

  async setTimes(mtime: Date): Promise<void> {
    futimesSync(this.#fd, mtime, mtime);
  }

  async close(): Promise<void> {
    this.closeNow();
  }

  /** {@link RealDir.close}, at once; closing twice is harmless. @internal */
  closeNow(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      closeSync(fd);
    } catch {
      // nothing to do: the descriptor is gone either way
    }
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
  return openStoreFolderNow(root, parts, o);
}

/** {@link openStoreFolder}, answered at once (its calls are direct system calls, as RealDir's). */
function openStoreFolderNow(
  root: string,
  parts: readonly string[],
  o: { where: string; code?: ErrorCode; create?: boolean },
): RealDir | undefined {
  let dir = RealDir.openNow(root);
  let sofar = '';
  try {
    for (const part of parts) {
      sofar = sofar ? `${sofar}/${part}` : part;
      let child = dir.childNow(part);
      if ('missing' in child) {
        if (o.create === false) {
          dir.closeNow();
          return undefined;
        }
        try {
          mkdirSync(dir.at(part), 0o755);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        child = dir.childNow(part);
      }
      if (!('dir' in child)) {
        const what = 'other' in child && child.other.isSymbolicLink() ? 'a symlink' : 'not a folder';
        throw new LadingError(
          o.code ?? 'PATH_TRAVERSAL',
          `${o.where}: ${join(root, sofar)} is ${what}; refusing to write through it`,
        );
      }
      dir.closeNow();
      dir = child.dir;
    }
    return dir;
  } catch (error) {
    dir.closeNow();
    throw error;
  }
}

/**
 * A file-system error's message without the `/proc/self/fd/<n>/…` path of a file reached through a
 * held folder (`EACCES: permission denied, open '/proc/self/fd/20/.x.tmp'` becomes `EACCES:
 * permission denied, open`): that path means nothing to the user, whose error names the store.
 */
export function systemMessage(error: unknown): string {
  return String((error as Error)?.message ?? error).replace(
    /, (\w+) '\/proc\/self\/fd\/\d+\/[^']*'(?: -> '[^']*')?/g,
    ', $1',
  );
}
