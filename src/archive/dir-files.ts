import { constants, lstatSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileReadBytes, readRegularFile, readRegularFileSync } from '../content/index.js';
import { isLadingError, LadingError } from '../oci/index.js';
import { DirectCallBytes } from './atomic.js';
import type { FileEntry, StoreFiles } from './files.js';
import { type Child, RealDir } from './real-dir.js';

/** Options of a {@link DirFiles}. */
export interface DirFilesOptions {
  /**
   * `false`: a symbolic link at a file's path reads as absent (no stat, open or read goes through
   * it), so a link planted in the folder (`blobs/sha256/<hex>` -> `/etc/shadow`) shows neither the
   * size nor the bytes of what it points to. Default true (links are followed).
   */
  followLinks?: boolean;
}

/** StoreFiles over a directory. Paths come from our own code (validated digests), never raw input. */
export class DirFiles implements StoreFiles {
  readonly location: string;
  readonly #follow: boolean;

  constructor(root: string, options: DirFilesOptions = {}) {
    this.location = root;
    this.#follow = options.followLinks !== false;
  }

  /**
   * Runs `fn` on a path that names `path`'s file, reached without following a link on the way:
   * undefined when a folder between the root and the file is a link, not a folder, or missing. (The
   * root is the user's to name and may be a link.) The folders are opened anew on every call, one
   * below the other with O_NOFOLLOW, and `fn` gets the file's name inside the last of them held
   * open (see RealDir.at): a folder swapped for a link while the store is open, even between this
   * check and `fn`, is not followed. Following links, `fn` gets the plain path.
   */
  async #reach<T>(path: string, fn: (at: string) => Promise<T> | T): Promise<{ value: T } | undefined> {
    if (this.#follow) return { value: await fn(join(this.location, path)) };
    const parts = path.split('/');
    const name = parts.pop() as string;
    if (parts.length === 0) return { value: await fn(join(this.location, name)) };
    let dir: RealDir;
    try {
      dir = RealDir.openNow(this.location);
    } catch (error) {
      if (absent(error)) return undefined;
      throw this.#ioError('open', path, error);
    }
    try {
      for (const part of parts) {
        let child: Child;
        try {
          child = dir.childNow(part);
        } catch (error) {
          throw this.#ioError('open', path, error);
        }
        if (!('dir' in child)) return undefined;
        dir.closeNow();
        dir = child.dir;
      }
      return { value: await fn(dir.at(name)) };
    } finally {
      dir.closeNow();
    }
  }

  #ioError(what: string, path: string, error: unknown): LadingError {
    return new LadingError('IO_ERROR', `${this.location}: cannot ${what} ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }

  localPath(path: string): string {
    return join(this.location, path);
  }

  async stat(path: string): Promise<FileEntry | undefined> {
    return (await this.#reach(path, (at) => this.#statAt(at, path)))?.value;
  }

  /**
   * A direct system call: a stat is too little work for a trip through the thread pool. A missing
   * file is an answer, not an error (asked before every blob is written, it is the common case):
   * no exception is made for it, which costs several times the call.
   */
  #statAt(at: string, path: string): FileEntry | undefined {
    try {
      const s = (this.#follow ? statSync : lstatSync)(at, { throwIfNoEntry: false });
      return s?.isFile() ? { path, size: s.size } : undefined;
    } catch (error) {
      if (absent(error)) return undefined;
      throw this.#ioError('stat', path, error);
    }
  }

  async open(path: string, size?: number): Promise<Readable> {
    // Open first so a missing file is reported now, not as a late stream error.
    const reached = await this.#reach(path, async (at) => {
      try {
        return await open(at, this.#follow ? 'r' : constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || (!this.#follow && code === 'ELOOP')) {
          throw new LadingError('NOT_FOUND', `${this.location}: ${path} not found`, { cause: error });
        }
        throw this.#ioError('open', path, error);
      }
    });
    if (!reached) {
      throw new LadingError(
        'NOT_FOUND',
        `${this.location}: ${path} not found (a folder on its way is missing or a link)`,
      );
    }
    const handle = reached.value;
    if (!this.#follow && !(await handle.stat().catch(() => undefined))?.isFile()) {
      await handle.close();
      throw new LadingError('NOT_FOUND', `${this.location}: ${path} not found (not a regular file)`);
    }
    return handle.createReadStream({ highWaterMark: fileReadBytes(size) });
  }

  async readSmall(path: string, limit: number): Promise<Buffer | undefined> {
    const reached = await this.#reach(path, async (at) => {
      const entry = this.#statAt(at, path);
      if (!entry) return undefined;
      if (entry.size > limit) {
        throw new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `${this.location}: ${path} is ${entry.size} bytes, over the ${limit}-byte limit`,
        );
      }
      // The size is the opened file's own (a writer may have renamed a new one into place since the
      // stat), and a file that grows meanwhile is cut at the limit and refused; a FIFO swapped in
      // cannot hang the open, and anything but a regular file reads as absent.
      const o = { limit, where: `${this.location}: ${path}`, noFollow: !this.#follow };
      // INVALID_ARGUMENT is "not a regular file" (or, without following links, "a link"): absent.
      const unless = (error: unknown) => {
        if (isLadingError(error, 'NOT_FOUND') || isLadingError(error, 'INVALID_ARGUMENT')) return undefined;
        throw error;
      };
      // A small file (a manifest, an index) is read with direct calls; a big one through the pool.
      if (entry.size > DirectCallBytes) return readRegularFile(at, o).catch(unless);
      try {
        return readRegularFileSync(at, o);
      } catch (error) {
        return unless(error);
      }
    });
    return reached?.value;
  }
}

/** A missing file, or a file where a folder was expected on its way. */
function absent(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
