import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobFolder, type StoreFiles, TarFiles, withLock, writeFileAtomic } from '../archive/index.js';
import type { BlobFill, Content, Op } from '../content/index.js';
import { type Descriptor, LadingError } from '../oci/index.js';
import { type ArtifactIndex, emptyArtifactIndex, encodeArtifactIndex, parseArtifactIndex } from './artifact-index.js';
import { ArtifactIndexFileName, BlobsDirectoryName, blobPlace, digestFromBlobFileName } from './format.js';

/** artifact-index.json lists every manifest of every repository: generous, but bounded. */
export const MaxArtifactIndexBytes = 64 * 1024 * 1024;

export interface CtfStoreInit {
  /** The path the user gave: what errors name, whatever folder the files are in. */
  location: string;
  files: StoreFiles;
  /** The folder holding the CTF files; absent when they are read in place from a tar. */
  root?: string;
  writable: boolean;
}

/**
 * The shared state of one open CTF: its files, its index and its blobs. Every repository Target
 * of the archive works through one store. The index is cached and re-read when the file changes
 * on disk, and every change is made under a lock by re-reading the file, so two processes
 * writing one CTF folder lose nothing.
 */
export class CtfStore {
  readonly location: string;
  readonly files: StoreFiles;
  readonly root: string | undefined;
  readonly writable: boolean;
  readonly #blobs: BlobFolder;
  /** Set by any write; tells the archive that a tar or tgz has to be written back. */
  dirty = false;
  closed = false;
  /** The folder did not exist before this session opened it. */
  createdHere = false;
  #cache: { stamp: string; index: ArtifactIndex } | undefined;
  /** Blobs this session created (they did not exist before), so that a discarded session can remove them. */
  readonly added = new Set<string>();
  /** The index file before this session's first change (null: there was none), and after its last. */
  #indexBefore: Buffer | null | undefined;
  #indexWritten: Buffer | undefined;

  constructor(init: CtfStoreInit) {
    this.location = init.location;
    this.files = init.files;
    this.root = init.root;
    this.writable = init.writable;
    this.#blobs = new BlobFolder({
      location: init.location,
      files: init.files,
      place: blobPlace,
      missing: (digest) => `blob ${digest}`,
      // Temps go to the CTF root, not blobs/, where upstream takes every file for a blob.
      ...(init.root !== undefined
        ? { writes: { root: init.root, staging: [], mode: 0o444, code: 'INVALID_ARCHIVE' } }
        : {}),
    });
  }

  get indexWhere(): string {
    return `${this.location}: ${ArtifactIndexFileName}`;
  }

  assertOpen(): void {
    if (this.closed) throw new LadingError('INVALID_ARGUMENT', `${this.location}: the CTF archive is closed`);
  }

  assertWritable(): string {
    this.assertOpen();
    if (!this.writable || this.root === undefined) {
      throw new LadingError('UNSUPPORTED', `${this.location}: this CTF is opened read-only`);
    }
    return this.root;
  }

  /** The index as it is on disk now (cached while the file is unchanged). */
  async index(): Promise<ArtifactIndex> {
    this.assertOpen();
    const stamp = await this.#stamp();
    if (this.#cache?.stamp === stamp) return this.#cache.index;
    const index = await this.#read();
    this.#cache = { stamp, index };
    return index;
  }

  /**
   * Applies `change` to the index under the lock, re-reading the file first so that concurrent
   * writers (other processes included) compose; writes only when `change` returns a new index.
   */
  async update(change: (index: ArtifactIndex) => ArtifactIndex | Promise<ArtifactIndex>): Promise<ArtifactIndex> {
    const root = this.assertWritable();
    return withLock(join(root, `${ArtifactIndexFileName}.lock`), async () => {
      if (this.#indexBefore === undefined) {
        this.#indexBefore = (await this.files.readSmall(ArtifactIndexFileName, MaxArtifactIndexBytes)) ?? null;
      }
      const current = await this.#read();
      const next = await change(current);
      if (next !== current) {
        const bytes = encodeArtifactIndex(next);
        await writeFileAtomic(join(root, ArtifactIndexFileName), bytes);
        this.#indexWritten = Buffer.from(bytes);
        this.dirty = true;
      }
      this.#cache = { stamp: await this.#stamp(), index: next };
      return next;
    });
  }

  /** Writes an empty index when there is none (a new CTF), so the folder is a CTF from the start. */
  async initialise(): Promise<void> {
    const root = this.assertWritable();
    if ((await this.files.stat(ArtifactIndexFileName)) !== undefined) return;
    await withLock(join(root, `${ArtifactIndexFileName}.lock`), async () => {
      if ((await this.files.stat(ArtifactIndexFileName)) !== undefined) return;
      await writeFileAtomic(join(root, ArtifactIndexFileName), encodeArtifactIndex(emptyArtifactIndex()));
      this.dirty = true;
    });
  }

  async blobSize(digest: string): Promise<number | undefined> {
    this.assertOpen();
    return this.#blobs.size(digest);
  }

  /** A stream of the blob that fails unless it delivers exactly `desc`'s size and digest. */
  async openBlob(desc: Descriptor, o: Op = {}): Promise<Readable> {
    this.assertOpen();
    return this.#blobs.open(desc, o);
  }

  /** The whole blob, verified, in one read (manifests and small blobs). */
  async readBlob(desc: Descriptor): Promise<Buffer> {
    this.assertOpen();
    return this.#blobs.read(desc);
  }

  /**
   * Stores a blob as upstream does (a temp file in the CTF root, mode 0444, a rename), but only
   * once every byte has been verified: a mismatch leaves nothing behind.
   */
  async writeBlob(expected: Descriptor, content: Content | BlobFill, o: Op = {}): Promise<void> {
    this.assertWritable();
    if (await this.#blobs.write(expected, content, o)) this.added.add(expected.digest);
    this.dirty = true;
  }

  /** Stores a blob of not yet known digest, hashed as it is written (see BlobFolder.ingest). */
  async ingestBlob(mediaType: string, content: Readable, o: Op = {}): Promise<Descriptor> {
    this.assertWritable();
    const { desc, added } = await this.#blobs.ingest(mediaType, content, o);
    if (added) this.added.add(desc.digest);
    this.dirty = true;
    return desc;
  }

  /**
   * Undoes this session in a folder CTF: the index goes back to what it was (unless another process
   * changed it since our last write, in which case our entries stay rather than lose theirs), and
   * the blobs this session created go too when nothing can refer to them any more.
   */
  async rollback(): Promise<boolean> {
    const root = this.assertWritable();
    let restored = this.#indexWritten === undefined;
    await withLock(join(root, `${ArtifactIndexFileName}.lock`), async () => {
      if (this.#indexWritten !== undefined) {
        const now = await this.files.readSmall(ArtifactIndexFileName, MaxArtifactIndexBytes);
        if (now?.equals(this.#indexWritten)) {
          if (this.#indexBefore) await writeFileAtomic(join(root, ArtifactIndexFileName), this.#indexBefore);
          else await rm(join(root, ArtifactIndexFileName), { force: true });
          restored = true;
        }
      }
      if (restored) await this.#blobs.remove(this.added);
      this.#cache = undefined;
    });
    this.added.clear();
    return restored;
  }

  async removeBlob(digest: string): Promise<void> {
    this.assertWritable();
    await this.#blobs.remove([digest]);
    this.dirty = true;
  }

  /** Digests of every blob, in file-name order (upstream's ListBlobs). */
  async listBlobs(): Promise<string[]> {
    this.assertOpen();
    let names: string[];
    if (this.files instanceof TarFiles) {
      names = [];
      for (const entry of this.files.entries()) {
        const slash = entry.path.indexOf('/');
        if (entry.type === 'file' && entry.path.slice(0, slash) === BlobsDirectoryName) {
          names.push(entry.path.slice(slash + 1));
        }
      }
    } else {
      const dirents = await readdir(join(this.root ?? this.files.location, BlobsDirectoryName), {
        withFileTypes: true,
      }).catch((error) => {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      });
      names = dirents.filter((d) => d.isFile()).map((d) => d.name);
    }
    return names
      .map(digestFromBlobFileName)
      .filter((d): d is string => d !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async #read(): Promise<ArtifactIndex> {
    const bytes = await this.files.readSmall(ArtifactIndexFileName, MaxArtifactIndexBytes).catch((error) => {
      if (error instanceof LadingError && error.code === 'SIZE_EXCEEDS_LIMIT') {
        throw new LadingError('SIZE_EXCEEDS_LIMIT', `${this.indexWhere}: over the ${MaxArtifactIndexBytes}-byte limit`);
      }
      throw error;
    });
    // Upstream reads a missing or empty index as an empty one.
    return bytes ? parseArtifactIndex(bytes, this.indexWhere) : emptyArtifactIndex();
  }

  async #stamp(): Promise<string> {
    if (this.root === undefined) return 'in-place';
    try {
      const s = await stat(join(this.root, ArtifactIndexFileName));
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }
}
