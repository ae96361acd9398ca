import { constants } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileReadBytes, readRegularFile } from '../content/index.js';
import { isLadingError, LadingError } from '../oci/index.js';
import type { FileEntry, StoreFiles } from './files.js';

/** Options of a {@link DirFiles}. */
export interface DirFilesOptions {
  /**
   * `false`: a symbolic link at a file's path reads as absent (no stat, open or read goes through
   * it), so a link planted in the folder (`blobs/sha256/<hex>` -> `/etc/shadow`) shows neither the
   * size nor the bytes of what it points to. Default true (links are followed).
   */
  followLinks?: boolean;
}

/** Whether a folder on the way to a file is a real folder (not a link): the answer of an lstat. */
type FolderCheck = Promise<boolean>;

/** StoreFiles over a directory. Paths come from our own code (validated digests), never raw input. */
export class DirFiles implements StoreFiles {
  readonly location: string;
  readonly #follow: boolean;

  constructor(root: string, options: DirFilesOptions = {}) {
    this.location = root;
    this.#follow = options.followLinks !== false;
  }

  /** The folders below the root already found to be real folders (without following links). */
  readonly #folders = new Map<string, FolderCheck>();

  /**
   * Without following links, whether every folder between the root and `path` is a real folder:
   * a link planted as `blobs/` would otherwise lead every read below it elsewhere. (The root is
   * the user's to name and may be a link.)
   */
  async #folderPathOk(path: string): Promise<boolean> {
    if (this.#follow) return true;
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const folder = parts.slice(0, i).join('/');
      let check = this.#folders.get(folder);
      if (!check) {
        check = lstat(join(this.location, folder)).then(
          (s) => s.isDirectory(),
          () => false,
        );
        this.#folders.set(folder, check);
        // Only a real folder is remembered: one missing now may be made later.
        void check.then((ok) => {
          if (!ok) this.#folders.delete(folder);
        });
      }
      if (!(await check)) return false;
    }
    return true;
  }

  localPath(path: string): string {
    return join(this.location, path);
  }

  async stat(path: string): Promise<FileEntry | undefined> {
    if (!(await this.#folderPathOk(path))) return undefined;
    try {
      const s = await (this.#follow ? stat : lstat)(join(this.location, path));
      return s.isFile() ? { path, size: s.size } : undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') {
        return undefined;
      }
      throw new LadingError('IO_ERROR', `${this.location}: cannot stat ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async open(path: string, size?: number): Promise<Readable> {
    const full = join(this.location, path);
    // Open first so a missing file is reported now, not as a late stream error.
    let handle: import('node:fs/promises').FileHandle;
    if (!(await this.#folderPathOk(path))) {
      throw new LadingError('NOT_FOUND', `${this.location}: ${path} not found (a folder on its way is a link)`);
    }
    try {
      handle = await open(full, this.#follow ? 'r' : constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || (!this.#follow && code === 'ELOOP')) {
        throw new LadingError('NOT_FOUND', `${this.location}: ${path} not found`, { cause: error });
      }
      throw new LadingError('IO_ERROR', `${this.location}: cannot open ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!this.#follow && !(await handle.stat().catch(() => undefined))?.isFile()) {
      await handle.close();
      throw new LadingError('NOT_FOUND', `${this.location}: ${path} not found (not a regular file)`);
    }
    return handle.createReadStream({ highWaterMark: fileReadBytes(size) });
  }

  async readSmall(path: string, limit: number): Promise<Buffer | undefined> {
    const entry = await this.stat(path);
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
    return readRegularFile(join(this.location, path), {
      limit,
      where: `${this.location}: ${path}`,
      noFollow: !this.#follow,
    }).catch((error: unknown) => {
      // INVALID_ARGUMENT is "not a regular file" (or, without following links, "a link"): absent.
      if (isLadingError(error, 'NOT_FOUND') || isLadingError(error, 'INVALID_ARGUMENT')) return undefined;
      throw error;
    });
  }
}
