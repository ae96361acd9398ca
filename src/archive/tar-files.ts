import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { LadingError } from '../oci/index.js';
import type { FileEntry, StoreFiles } from './files.js';
import { cleanArchivePath, indexTar, type TarEntry } from './tar-index.js';

/**
 * StoreFiles over an uncompressed tar archive, read in place: the headers are indexed once and
 * each file is served as a byte range of the archive. Links are never followed, so a crafted
 * archive cannot point a store path at another entry or outside the archive.
 */
export class TarFiles implements StoreFiles {
  readonly location: string;
  readonly #entries: ReadonlyMap<string, TarEntry>;

  private constructor(file: string, entries: ReadonlyMap<string, TarEntry>) {
    this.location = file;
    this.#entries = entries;
  }

  static async open(file: string, options: { signal?: AbortSignal } = {}): Promise<TarFiles> {
    const index = await indexTar(file, options);
    return new TarFiles(file, index.entries);
  }

  /** Every entry of the archive (including directories and links), in archive order. */
  entries(): IterableIterator<TarEntry> {
    return this.#entries.values();
  }

  async stat(path: string): Promise<FileEntry | undefined> {
    const entry = this.#entries.get(this.#clean(path));
    return entry?.type === 'file' ? { path: entry.path, size: entry.size } : undefined;
  }

  async open(path: string): Promise<Readable> {
    const entry = this.#readable(path);
    // createReadStream refuses end < start, which is what an empty file's range would be.
    if (entry.size === 0) return Readable.from([]);
    return createReadStream(this.location, {
      start: entry.offset,
      end: entry.offset + entry.size - 1,
      highWaterMark: 1024 * 1024,
    });
  }

  async readSmall(path: string, limit: number): Promise<Buffer | undefined> {
    const clean = this.#clean(path);
    const found = this.#entries.get(clean);
    if (!found || found.type === 'directory') return undefined;
    const entry = this.#readable(clean);
    if (entry.size > limit) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${this.location}: ${entry.path} is ${entry.size} bytes, over the ${limit}-byte limit`,
      );
    }
    const buffer = Buffer.alloc(entry.size);
    const handle = await openFile(this.location, 'r');
    try {
      let done = 0;
      while (done < entry.size) {
        const { bytesRead } = await handle.read(buffer, done, entry.size - done, entry.offset + done);
        if (bytesRead === 0) {
          throw new LadingError('INVALID_ARCHIVE', `${this.location}: ${entry.path} is cut short; the tar changed`);
        }
        done += bytesRead;
      }
      return buffer;
    } finally {
      await handle.close();
    }
  }

  #readable(path: string): TarEntry {
    const clean = this.#clean(path);
    const entry = this.#entries.get(clean);
    if (!entry || entry.type === 'directory') {
      throw new LadingError('NOT_FOUND', `${this.location}: ${path} not found`);
    }
    if (entry.type === 'symlink' || entry.type === 'hardlink') {
      throw new LadingError(
        'UNSUPPORTED',
        `${this.location}: ${path} is a ${entry.type === 'symlink' ? 'symbolic' : 'hard'} link; links in tar layouts are not followed`,
      );
    }
    if (entry.type !== 'file') {
      throw new LadingError('UNSUPPORTED', `${this.location}: ${path} is a ${entry.type}, not a regular file`);
    }
    return entry;
  }

  #clean(path: string): string {
    const cleaned = cleanArchivePath(path);
    if ('refused' in cleaned) {
      throw new LadingError('PATH_TRAVERSAL', `${this.location}: path ${JSON.stringify(path)} ${cleaned.refused}`);
    }
    return cleaned.path;
  }
}
