import { renameSync } from 'node:fs';
import { chmod, type FileHandle, open, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  type BlobFill,
  type Content,
  isBlobFill,
  markFileOrigin,
  type Op,
  verifiedStream,
  verifyBytes,
} from '../content/index.js';
import { type Descriptor, type ErrorCode, LadingError, throwIfAborted } from '../oci/index.js';
import { tempPathFor, writeFileAtomic, writeNewBytesNow, writesDirectly } from './atomic.js';
import type { StoreFiles } from './files.js';
import { openStoreFolder, type RealDir, systemMessage } from './real-dir.js';
import { writeFilled, writeHashed, writeVerified } from './write-verified.js';

/** Where a store keeps a blob: a folder below its root and a file name there, both from the digest. */
export interface BlobPlace {
  folder: readonly string[];
  name: string;
}

export interface BlobFolderOptions {
  /** The store as the user named it: errors name it. */
  location: string;
  /** How the store is read (a directory, or a tar read in place). */
  files: StoreFiles;
  place(digest: string): BlobPlace;
  /** How a missing blob is named in NOT_FOUND errors (`sha256:…`, `blob sha256:…`). */
  missing(digest: string): string;
  /** Where and how blobs are written; absent for a store that is only read. */
  writes?: BlobWrites;
}

export interface BlobWrites {
  /** The folder the store's files are written in. */
  root: string;
  /** The folder below the root where blobs are written before they are renamed into place. */
  staging: readonly string[];
  /** The mode of a stored blob. */
  mode: number;
  /** The code for a store folder that is a link or not a folder. */
  code: ErrorCode;
}

/**
 * The digest-named files of a store (an OCI layout's `blobs/<alg>/<hex>`, a CTF's
 * `blobs/<alg>.<hex>`): every read is verified against the descriptor, every write is staged,
 * verified whole and then renamed into place, and the store's own folders are opened one by one
 * without following a link (see openStoreFolder), so nothing planted there redirects a write or
 * a removal.
 */
export class BlobFolder {
  readonly #o: BlobFolderOptions;

  constructor(options: BlobFolderOptions) {
    this.#o = options;
  }

  /** The blob's path relative to the store. */
  path(digest: string): string {
    const { folder, name } = this.#o.place(digest);
    return [...folder, name].join('/');
  }

  /** The size of the stored file, or undefined when there is none. */
  async size(digest: string): Promise<number | undefined> {
    return (await this.#o.files.stat(this.path(digest)))?.size;
  }

  /** A stream of the blob that fails unless it delivers exactly `desc`'s size and digest. */
  async open(desc: Descriptor, o: Op = {}): Promise<Readable> {
    const { location, files } = this.#o;
    const path = this.path(desc.digest);
    const entry = await files.stat(path);
    if (!entry) throw new LadingError('NOT_FOUND', `${location}: ${this.#o.missing(desc.digest)} not found`);
    if (entry.size !== desc.size) {
      throw new LadingError('SIZE_MISMATCH', `${location}: ${path} is ${entry.size} bytes, expected ${desc.size}`);
    }
    const stream = verifiedStream(await files.open(path, desc.size), desc, {
      where: `${location}: ${path}`,
      ...(o.onProgress ? { onBytes: o.onProgress } : {}),
    });
    const local = files.localPath?.(path);
    return local ? markFileOrigin(stream, local) : stream;
  }

  /**
   * The blob whole, verified, in one read: for manifests and small blobs, where a stream would cost
   * more than the bytes. The caller bounds `desc.size`.
   */
  async read(desc: Descriptor): Promise<Buffer> {
    const { location, files } = this.#o;
    const path = this.path(desc.digest);
    const where = `${location}: ${path}`;
    let bytes: Buffer | undefined;
    try {
      bytes = await files.readSmall(path, desc.size);
    } catch (error) {
      if (!(error instanceof LadingError && error.code === 'SIZE_EXCEEDS_LIMIT')) throw error;
      throw new LadingError('SIZE_MISMATCH', `${where}: larger than the expected ${desc.size} bytes`);
    }
    if (!bytes) throw new LadingError('NOT_FOUND', `${location}: ${this.#o.missing(desc.digest)} not found`);
    verifyBytes(desc, bytes, where);
    return bytes;
  }

  /**
   * Stores a blob once every byte of it has been verified; a mismatch or a failure leaves
   * nothing behind. Returns whether the blob is new (was not there before).
   */
  async write(expected: Descriptor, content: Content | BlobFill, o: Op = {}): Promise<boolean> {
    const { location } = this.#o;
    const { folder, name } = this.#o.place(expected.digest);
    try {
      const { staging: stagingFolder, mode } = this.#writes();
      // Both folders are held open from the first byte to the rename: a swap meanwhile redirects
      // nothing. They are opened side by side, and the blob's folder need not be open before the
      // first byte is written: only the rename waits for it.
      return await this.#in([stagingFolder, folder], async ([staging, opening]) => {
        const temp = tempPathFor(name, (await staging).at('.'));
        const where = `${location}: ${expected.digest}`;
        let handle: FileHandle | undefined;
        try {
          if (content instanceof Uint8Array && writesDirectly(content)) {
            // A small blob read whole: checked, then written with direct calls (no trip through the
            // thread pool for each of open, write, close), unless the work was called off meanwhile.
            throwIfAborted(o.signal, where);
            verifyBytes(expected, content, where);
            writeNewBytesNow(temp, content, mode);
            o.onProgress?.(content.length);
          } else {
            // A fill may read back what a blob thread wrote before a break (to resume): read and write.
            handle = await open(temp, isBlobFill(content) ? 'wx+' : 'wx', 0o644);
            if (isBlobFill(content)) await writeFilled(handle, content, expected, { where, op: o });
            else await writeVerified(handle, content, expected, { where, op: o });
            if (mode !== 0o644) await chmod(temp, mode);
          }
          const blobs = await opening;
          const existed = (await this.size(expected.digest)) !== undefined;
          // A direct call: a rename is metadata work, not worth a trip through the thread pool.
          renameSync(temp, blobs.at(name));
          return !existed;
        } catch (error) {
          await handle?.close().catch(() => {});
          await rm(temp, { force: true });
          throw error;
        }
      });
    } catch (error) {
      if (!isBlobFill(content)) discard(content);
      if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
      throw new LadingError('IO_ERROR', `${location}: cannot write ${expected.digest}: ${systemMessage(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Stores what `content` streams as a blob of the digest it hashes to (sha256), hashing while it
   * writes: staged, then renamed into place once the last byte is written, so a failure leaves
   * nothing behind. Returns the descriptor and whether the blob is new.
   */
  async ingest(mediaType: string, content: Readable, o: Op = {}): Promise<{ desc: Descriptor; added: boolean }> {
    const { location } = this.#o;
    try {
      const { staging: stagingFolder, mode } = this.#writes();
      return await this.#in([stagingFolder], async ([opening]) => {
        const temp = tempPathFor('ingest', (await opening).at('.'));
        let handle: FileHandle | undefined;
        try {
          handle = await open(temp, 'wx', 0o644);
          const opened = handle;
          handle = undefined;
          const { digest, size } = await writeHashed(opened, content, o);
          if (mode !== 0o644) await chmod(temp, mode);
          const { folder, name } = this.#o.place(digest);
          // The blob folder is opened without following links, as for any write.
          const added = await this.#in([folder], async ([opening]) => {
            const blobs = await opening;
            const existed = (await this.size(digest)) !== undefined;
            renameSync(temp, blobs.at(name));
            return !existed;
          });
          return { desc: { mediaType, digest, size }, added };
        } catch (error) {
          await handle?.close().catch(() => {});
          await rm(temp, { force: true });
          throw error;
        }
      });
    } catch (error) {
      content.destroy();
      if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
      throw new LadingError('IO_ERROR', `${location}: cannot write a blob: ${systemMessage(error)}`, {
        cause: error,
      });
    }
  }

  /** Stores a small blob already verified in memory (a manifest), atomically. */
  async writeSmall(digest: string, bytes: Uint8Array): Promise<void> {
    const { folder, name } = this.#o.place(digest);
    await this.#in([folder], async ([blobs]) => writeFileAtomic((await blobs).at(name), bytes, 0o644, { sync: false }));
  }

  /** Removes blobs; one that is not there is no error. */
  async remove(digests: Iterable<string>): Promise<void> {
    for (const digest of digests) {
      const { folder, name } = this.#o.place(digest);
      const { root, code } = this.#writes();
      const blobs = await openStoreFolder(root, folder, { where: this.#o.location, code, create: false });
      if (!blobs) continue;
      try {
        await rm(blobs.at(name), { force: true });
      } finally {
        await blobs.close();
      }
    }
  }

  /**
   * Runs `fn` with store folders held open (made when missing), all opened at once; `fn` gets each
   * opening to await when it needs that folder. Writes under way at the same time share one
   * opening of each folder, and a folder stays open a moment after the last of them ends
   * (`FOLDER_LINGER_MS`): a copy of many blobs or manifests opens the folders once, not once per
   * blob (opening `blobs/sha256/` without following a link is three opens and three closes). A
   * folder taken up again after such a pause is used only when it is still in place (not removed,
   * and its path names it still); otherwise it is opened anew. A folder that cannot be opened
   * fails `fn` where it awaits it.
   */
  async #in<T, F extends readonly (readonly string[])[]>(
    folders: readonly [...F],
    fn: (dirs: { [K in keyof F]: Promise<RealDir> }) => Promise<T>,
  ): Promise<T> {
    const { root, code } = this.#writes();
    const held = folders.map((parts) => {
      const key = parts.join('/');
      const open = () => {
        const dir = openStoreFolder(root, parts, { where: this.#o.location, code });
        dir.catch(() => {});
        return dir;
      };
      let entry = this.#held.get(key);
      if (!entry) {
        entry = { dir: open(), users: 0 };
        this.#held.set(key, entry);
      } else if (entry.idle) {
        // Taken up again after a pause: someone may have moved or removed the folder meanwhile.
        clearTimeout(entry.idle);
        entry.idle = undefined;
        const kept = entry.dir;
        entry.dir = kept.then(
          (dir) => {
            if (dir.isStillInPlace(parts.length)) return dir;
            dir.closeNow();
            return open();
          },
          () => open(),
        );
        entry.dir.catch(() => {});
      }
      entry.users++;
      return { key, entry };
    });
    try {
      return await fn(held.map((h) => h.entry.dir) as { [K in keyof F]: Promise<RealDir> });
    } finally {
      for (const { key, entry } of held) {
        if (--entry.users > 0) continue;
        const timer = setTimeout(() => {
          if (entry.users === 0) void this.#drop(key, entry);
        }, FOLDER_LINGER_MS);
        timer.unref();
        entry.idle = timer;
      }
    }
  }

  async #drop(key: string, entry: HeldFolder): Promise<void> {
    if (entry.idle) clearTimeout(entry.idle);
    entry.idle = undefined;
    if (this.#held.get(key) === entry) this.#held.delete(key);
    (await entry.dir.catch(() => undefined))?.closeNow();
  }

  /**
   * Closes the folders kept open between writes (see `#in`) now rather than a moment later; writes
   * still under way keep theirs. The store's close calls it; a later write opens its folders again.
   */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#held].filter(([, entry]) => entry.users === 0).map(([key, entry]) => this.#drop(key, entry)),
    );
  }

  /** The store folders writes hold open now, by path below the root. */
  readonly #held = new Map<string, HeldFolder>();

  #writes(): BlobWrites {
    if (!this.#o.writes) throw new LadingError('UNSUPPORTED', `${this.#o.location}: opened read-only`);
    return this.#o.writes;
  }
}

/** How long a store folder stays open after the last write that used it (see `BlobFolder#in`). */
const FOLDER_LINGER_MS = 250;

interface HeldFolder {
  dir: Promise<RealDir>;
  users: number;
  /** While no write uses the folder: the timer that closes it. */
  idle?: NodeJS.Timeout | undefined;
}

function discard(content: Content): void {
  if (content instanceof Object && 'destroy' in content && typeof content.destroy === 'function') content.destroy();
}
