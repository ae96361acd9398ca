import { statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobFolder, type StoreFiles, TarFiles, withLock, writeFileAtomic } from '../archive/index.js';
import type { BlobFill, Content, Op } from '../content/index.js';
import { type Descriptor, LadingError } from '../oci/index.js';
import {
  type ArtifactIndex,
  type ArtifactMetadata,
  emptyArtifactIndex,
  encodeArtifactIndex,
  parseArtifactIndex,
} from './artifact-index.js';
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
  /**
   * The folder is this process's own (a tar or tgz unpacked into a private folder): no other
   * process reads or writes it, so the index is kept in memory and written by {@link
   * CtfStore.flush}, once, rather than after every change.
   */
  private?: boolean;
  /**
   * A folder CTF's index changes are kept in memory and written by {@link CtfStore.flush} (on
   * close), once, rather than after every change; see OpenCtfOptions.batchIndex.
   */
  batchIndex?: boolean;
}

type IndexChange = (index: ArtifactIndex) => ArtifactIndex | Promise<ArtifactIndex>;

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
  readonly #private: boolean;
  /** Index changes wait in memory for `flush`: in a private folder, or a folder opened with batchIndex. */
  readonly #deferred: boolean;
  /** The cached index has changes not yet in the file (see `flush`). */
  #unwritten = false;
  /**
   * In a folder with batchIndex: the changes not yet written, in order, and the file's index they
   * apply to (the cache holds the result). When another writer changes the file, they are applied
   * again to what it holds now, as an update under the lock would apply them.
   */
  #pending: IndexChange[] = [];
  #base: ArtifactIndex | undefined;
  readonly #blobs: BlobFolder;
  /** Set by any write; tells the archive that a tar or tgz has to be written back. */
  dirty = false;
  closed = false;
  #cache: { stamp: string; index: ArtifactIndex } | undefined;
  /**
   * Whether `added` and the blobs relied on are kept: for a folder others may write. A private
   * folder (a tar or tgz unpacked) is discarded whole, and nobody else writes it: keeping the
   * digests of its tens of thousands of blobs cost some 6 MB for 15,000 components.
   */
  get #tracks(): boolean {
    return this.writable && !this.#private;
  }
  /** Blobs this session created (they did not exist before), so that a discarded session can remove them. */
  readonly added = new Set<string>();
  /**
   * Blobs this session found there and relies on (it skipped writing them), not yet checked at an
   * index update. Another session that made one may discard itself and remove it meanwhile; the
   * next update checks they are all still there before it records anything (see `rollback`).
   */
  readonly #relied = new Set<string>();
  /** The index file before this session's first change (null: there was none), and after its last. */
  #indexBefore: Buffer | null | undefined;
  #indexWritten: Buffer | undefined;
  /** The index file's stamp as this session last saw it: when its first write began, then after each update. */
  #seen: string | undefined;
  /** How many times this session wrote the index. */
  #updates = 0;
  /**
   * The last of this session's index writes after which another writer wrote it (-1: none; 0:
   * before this session's first). That writer saw the index as it was then, and may have recorded
   * the same entries itself (a second `add cv` of the same version): a rollback leaves the changes
   * made until then.
   */
  #foreignAfter = -1;
  /** The index entries this session's updates added and removed, by entryKey, with the update that did it. */
  readonly #entriesAdded = new Map<string, { entry: ArtifactMetadata; at: number }>();
  readonly #entriesRemoved = new Map<string, { entry: ArtifactMetadata; at: number }>();

  constructor(init: CtfStoreInit) {
    this.location = init.location;
    this.files = init.files;
    this.root = init.root;
    this.writable = init.writable;
    this.#private = init.private === true && init.root !== undefined;
    this.#deferred = this.#private || (init.batchIndex === true && init.root !== undefined);
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

  /** The index as it is on disk now (cached while the file is unchanged), with changes not yet written. */
  async index(): Promise<ArtifactIndex> {
    this.assertOpen();
    await letLoopTurn();
    if (this.#private && this.#cache) return this.#cache.index;
    const stamp = await this.#stamp();
    if (this.#cache?.stamp === stamp) return this.#cache.index;
    const base = await this.#read();
    let index = base;
    for (const change of this.#pending) index = await change(index);
    this.#cache = { stamp, index };
    this.#base = base;
    return index;
  }

  /**
   * Applies `change` to the index under the lock, re-reading the file first so that concurrent
   * writers (other processes included) compose; writes only when `change` returns a new index.
   * Where changes are deferred (see {@link CtfStoreInit.batchIndex}), it is applied in memory and
   * written by {@link flush}, unless `now` (a change whose outcome decides what the caller does
   * next, such as removing a blob).
   */
  update(change: IndexChange, o: { now?: boolean } = {}): Promise<ArtifactIndex> {
    const root = this.assertWritable();
    if (this.#deferred) return this.#queued(() => this.#updateDeferred(change, o.now === true));
    return this.#queued(async () => {
      await this.#firstWrite();
      return withLock(join(root, `${ArtifactIndexFileName}.lock`), () => this.#writeUnderLock(root, [change]));
    });
  }

  /** Runs index work one piece at a time, in the order it was asked for. */
  #queued<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  #queue: Promise<void> = Promise.resolve();

  /** Under the lock: the file now (or the index this session last wrote there), `changes` applied, written. */
  async #writeUnderLock(root: string, changes: readonly IndexChange[]): Promise<ArtifactIndex> {
    if (this.#indexBefore === undefined) {
      this.#indexBefore = (await this.files.readSmall(ArtifactIndexFileName, MaxArtifactIndexBytes)) ?? null;
    }
    const before = await this.#stamp();
    if (before !== this.#seen) this.#foreignAfter = this.#updates;
    await this.#checkRelied();
    // The file as this session last wrote or read it: parsing every entry again would make each
    // update cost as much as the whole index (quadratic over an `add cv` of many versions).
    const unchanged = this.#cache?.stamp === before && before !== 'missing' && this.#base !== undefined;
    const current = unchanged ? (this.#base as ArtifactIndex) : await this.#read();
    let next = current;
    // The changes were applied to this very index already (in memory): their result stands.
    if (unchanged && changes === this.#pending) next = (this.#cache as { index: ArtifactIndex }).index;
    else for (const change of changes) next = await change(next);
    if (next !== current) {
      const bytes = encodeArtifactIndex(next);
      await writeFileAtomic(join(root, ArtifactIndexFileName), bytes);
      this.#indexWritten = bytes;
      this.#updates++;
      this.#noteChange(current, next);
      this.dirty = true;
    }
    this.#seen = await this.#stamp();
    this.#cache = { stamp: this.#seen, index: next };
    this.#base = next;
    return next;
  }

  /** {@link update} where changes are deferred: applied in memory now, written by `flush`. */
  async #updateDeferred(change: IndexChange, now: boolean): Promise<ArtifactIndex> {
    if (!this.#private) await this.#firstWrite();
    const current = await this.index();
    const next = await change(current);
    if (next !== current) {
      this.#cache = { stamp: this.#cache?.stamp ?? 'in-memory', index: next };
      if (!this.#private) this.#pending.push(change);
      this.#unwritten = true;
      this.dirty = true;
    }
    if (now) await this.#flushNow();
    return next;
  }

  /**
   * Writes the changes kept in memory to the index file, when there are any. A folder's are
   * applied under the lock to the file as it is now (another writer's entries kept); a private
   * folder's index is written as it is.
   */
  flush(): Promise<void> {
    if (!this.#deferred) return this.#queue;
    return this.#queued(() => this.#flushNow());
  }

  async #flushNow(): Promise<void> {
    const root = this.root;
    if (!this.#unwritten || root === undefined) return;
    if (this.#private) {
      // No fsync: the private folder is packed into the archive, which is what is made durable.
      const index = (this.#cache as { index: ArtifactIndex }).index;
      await writeFileAtomic(join(root, ArtifactIndexFileName), encodeArtifactIndex(index), 0o644, { sync: false });
    } else {
      await withLock(join(root, `${ArtifactIndexFileName}.lock`), () => this.#writeUnderLock(root, this.#pending));
      this.#pending = [];
    }
    this.#unwritten = false;
  }

  /** Notes the index as it is when this session's first write begins (see `rollback`). */
  async #firstWrite(): Promise<void> {
    if (this.#seen === undefined) this.#seen = await this.#stamp();
  }

  /** Fails when a blob this session relies on is gone: what it would record would name a missing blob. */
  async #checkRelied(): Promise<void> {
    for (const digest of this.#relied) {
      if ((await this.#blobs.size(digest)) === undefined) {
        throw new LadingError(
          'NOT_FOUND',
          `${this.location}: blob ${digest}, there when this writer found it, was removed by another writer since; nothing recorded`,
        );
      }
    }
    this.#relied.clear();
  }

  #noteChange(current: ArtifactIndex, next: ArtifactIndex): void {
    // Entries are shared between an index and the next unless changed: only those that differ are
    // compared by value (an entry removed and made again the same is no change).
    const gone = new Map<string, ArtifactMetadata>();
    const came = new Map<string, ArtifactMetadata>();
    for (const [from, to] of changedEntries(current.artifacts ?? [], next.artifacts ?? [])) {
      if (from) gone.set(entryKey(from), from);
      if (to) came.set(entryKey(to), to);
    }
    for (const [key, entry] of came) {
      if (gone.delete(key)) continue;
      if (!this.#entriesRemoved.delete(key)) this.#entriesAdded.set(key, { entry, at: this.#updates });
    }
    for (const [key, entry] of gone) {
      if (!this.#entriesAdded.delete(key)) this.#entriesRemoved.set(key, { entry, at: this.#updates });
    }
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
    const size = await this.#blobs.size(digest);
    // Found there: a write of this session may rely on it from now on.
    if (size !== undefined && this.#tracks && !this.added.has(digest)) this.#relied.add(digest);
    return size;
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
    // Small blobs are written by direct calls: thousands of inputs in a row would hold the loop.
    await letLoopTurn();
    await this.#firstWrite();
    const added = await this.#blobs.write(expected, content, o);
    if (this.#tracks) (added ? this.added : this.#relied).add(expected.digest);
    this.dirty = true;
  }

  /** Closes the blob folders kept open between writes (see BlobFolder.close). */
  releaseFolders(): Promise<void> {
    return this.#blobs.close();
  }

  /** Stores a blob of not yet known digest, hashed as it is written (see BlobFolder.ingest). */
  async ingestBlob(mediaType: string, content: Readable, o: Op = {}): Promise<Descriptor> {
    this.assertWritable();
    await letLoopTurn();
    await this.#firstWrite();
    const { desc, added } = await this.#blobs.ingest(mediaType, content, o);
    if (this.#tracks) (added ? this.added : this.#relied).add(desc.digest);
    this.dirty = true;
    return desc;
  }

  /**
   * Undoes this session in a folder CTF. When no other writer changed the index since this
   * session's first write, the index goes back to what it was, byte for byte, and the blobs this
   * session created are removed (a writer that found one there and relies on it notices at its
   * next index update: see `update`). When another writer did, this session's changes to the
   * index made after that writer's last write are undone, and the rest stays: theirs, and ours
   * that they saw (they may have recorded the same entries, or manifests that use our blobs), and
   * its blobs stay too. Returns whether the store is as it was before the session.
   */
  async rollback(): Promise<boolean> {
    const root = this.assertWritable();
    await this.#queue;
    // Changes never written are simply dropped.
    this.#pending = [];
    this.#unwritten = false;
    this.#cache = undefined;
    this.#base = undefined;
    let restored = false;
    await withLock(join(root, `${ArtifactIndexFileName}.lock`), async () => {
      if (this.#seen !== undefined && (await this.#stamp()) !== this.#seen) this.#foreignAfter = this.#updates;
      const foreign = this.#foreignAfter >= 0;
      if (!foreign) {
        if (this.#indexWritten !== undefined) {
          if (this.#indexBefore) await writeFileAtomic(join(root, ArtifactIndexFileName), this.#indexBefore);
          else await rm(join(root, ArtifactIndexFileName), { force: true });
        }
        await this.#blobs.remove(this.added);
        restored = true;
      } else if (this.#entriesAdded.size > 0 || this.#entriesRemoved.size > 0) {
        const current = await this.#read();
        const undone = undoEntries(current, this.#since(this.#entriesAdded), this.#since(this.#entriesRemoved));
        if (undone !== current) await writeFileAtomic(join(root, ArtifactIndexFileName), encodeArtifactIndex(undone));
      }
      this.#cache = undefined;
    });
    this.added.clear();
    this.#relied.clear();
    this.#entriesAdded.clear();
    this.#entriesRemoved.clear();
    return restored;
  }

  /** The entries of `changes` made after the last foreign write (see #foreignAfter). */
  #since(changes: ReadonlyMap<string, { entry: ArtifactMetadata; at: number }>): Map<string, ArtifactMetadata> {
    const out = new Map<string, ArtifactMetadata>();
    for (const [key, { entry, at }] of changes) if (at > this.#foreignAfter) out.set(key, entry);
    return out;
  }

  async removeBlob(digest: string): Promise<void> {
    this.assertWritable();
    await this.#firstWrite();
    await this.#blobs.remove([digest]);
    this.#relied.delete(digest);
    this.added.delete(digest);
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

  /**
   * The index file's identity now: a change by anyone (always a rename of a new file) changes it.
   * Asked before every read of the index (several times a version recorded): a direct call, where
   * a trip through the thread pool costs ~50 times the stat itself.
   */
  async #stamp(): Promise<string> {
    if (this.root === undefined) return 'in-place';
    try {
      const s = statSync(join(this.root, ArtifactIndexFileName), { throwIfNoEntry: false });
      return s ? `${s.ino}:${s.size}:${s.mtimeMs}` : 'missing';
    } catch {
      return 'missing';
    }
  }
}

/** When a store last let the event loop turn (see letLoopTurn). */
let lastTurn = performance.now();

/** How long a store's work may hold the event loop before it lets it turn. */
const LoopTurnMs = 20;

/**
 * Lets the event loop turn (timers, signals, I/O callbacks) when it has not for {@link LoopTurnMs}.
 * A store's small reads and writes are direct system calls, and a CTF kept in memory (a tar or
 * tgz, a batched index) answers without any: an `add cv` of thousands of versions would otherwise
 * hold the loop for its whole run, and a Ctrl-C (whose handler aborts the work) would wait for the
 * end. Every version recorded reads the index, so this is asked often; it costs a turn of the loop
 * every 20 ms. Blob writes ask too: the inputs of thousands of components are all stored before
 * the first version is, without an index read between them.
 */
async function letLoopTurn(): Promise<void> {
  if (performance.now() - lastTurn < LoopTurnMs) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  lastTurn = performance.now();
}

/**
 * The entries (by identity) of `was` not in `now`, and of `now` not in `was`, as [gone, came]
 * pairs; a superset is fine (pairs of equal entries cancel out by value in #noteChange). An update
 * that replaces entries in place or appends (every addition) is compared position by position;
 * one that drops entries, with sets.
 */
function changedEntries(
  was: readonly ArtifactMetadata[],
  now: readonly ArtifactMetadata[],
): [ArtifactMetadata | undefined, ArtifactMetadata | undefined][] {
  const out: [ArtifactMetadata | undefined, ArtifactMetadata | undefined][] = [];
  if (now.length >= was.length) {
    for (let i = 0; i < now.length; i++) if (was[i] !== now[i]) out.push([was[i], now[i]]);
    return out;
  }
  const before = new Set(was);
  const after = new Set(now);
  for (const a of was) if (!after.has(a)) out.push([a, undefined]);
  for (const a of now) if (!before.has(a)) out.push([undefined, a]);
  return out;
}

/** An index entry as a whole, for telling this session's entries from others'. */
function entryKey(a: ArtifactMetadata): string {
  return JSON.stringify([a.repository, a.tag ?? '', a.digest ?? '', a.mediaType ?? '']);
}

/**
 * `index` without the entries `added` and with the entries `removed` back, unless another writer
 * has since given that tag to something else; `index` itself when nothing changes.
 */
function undoEntries(
  index: ArtifactIndex,
  added: ReadonlyMap<string, ArtifactMetadata>,
  removed: ReadonlyMap<string, ArtifactMetadata>,
): ArtifactIndex {
  const kept = (index.artifacts ?? []).filter((a) => !added.has(entryKey(a)));
  let changed = kept.length !== (index.artifacts ?? []).length;
  const present = new Set(kept.map(entryKey));
  for (const [key, entry] of removed) {
    if (present.has(key)) continue;
    if (entry.tag && kept.some((a) => a.repository === entry.repository && a.tag === entry.tag)) continue;
    kept.push(entry);
    changed = true;
  }
  return changed ? { ...index, artifacts: kept } : index;
}
