import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import {
  BlobFolder,
  type BlobPlace,
  DirFiles,
  type StoreFiles,
  sweepStaleTemps,
  withLock,
  writeFileAtomic,
  writeNewFile,
} from '../archive/index.js';
import {
  type BlobFill,
  type BytesFetcher,
  type Content,
  cancellablePush,
  type Deleter,
  fetchAll,
  type Op,
  type OpenMode,
  OpenModes,
  type PredecessorFinder,
  PredecessorIndex,
  type ReferencePusher,
  readAll,
  successorsOf,
  type TagLister,
  type Target,
  toReadable,
  VerifyStream,
  verifyBytes,
} from '../content/index.js';
import { makeDirectorySync } from '../content/make-directory.js';
import {
  cancellable,
  checkRefName,
  type Descriptor,
  isManifestMediaType,
  isValidDigest,
  LadingError,
  MaxManifestBytes,
  MediaType,
  parseDigest,
  plainDescriptor,
  throwIfAborted,
} from '../oci/index.js';
import {
  checkLayoutFile,
  encodeIndexJson,
  type IndexState,
  layoutFileBytes,
  MaxIndexBytes,
  readState,
  recordTag,
  resolveIndexed,
} from './index-json.js';

/** Options of {@link OciLayout.open}. */
export interface OpenLayoutOptions {
  /**
   * `readonly` (default): an existing layout, a directory or a tar file. `readwrite`: an existing
   * layout directory, written into. `create`: a layout directory, created when it does not exist.
   * Only directories can be written.
   */
  mode?: OpenMode;
  /**
   * With `create`: a missing directory is made by the first write instead of by `open`. Nothing is
   * left behind when nothing is written (a copy that fails before it has anything to store), and a
   * copy's first request need not wait for the folder. Until then the layout reads as empty.
   */
  createOnWrite?: boolean;
  /**
   * `false`: a symbolic link inside a layout directory reads as absent, never as what it points
   * to (for a view that shows the layout to others). Default true.
   */
  followLinks?: boolean;
}

function blobPlace(digest: string): BlobPlace {
  const { algorithm, hex } = parseDigest(digest);
  return { folder: ['blobs', algorithm], name: hex };
}

export function blobPath(digest: string): string {
  const { folder, name } = blobPlace(digest);
  return [...folder, name].join('/');
}

/**
 * An OCI image layout (image-spec image-layout.md) as a Target: a directory (read and write) or a
 * tar file (read only, random access). Every manifest pushed is recorded in index.json; tags are
 * `org.opencontainers.image.ref.name` annotations. index.json is updated under a lock by
 * re-reading it, so concurrent writers (threads or processes) never lose each other's entries.
 */
export class OciLayout implements Target, BytesFetcher, PredecessorFinder, TagLister, Deleter, ReferencePusher {
  /**
   * The files the layout is read from: the directory, or the entries of the tar file.
   *
   * @internal
   */
  readonly files: StoreFiles;
  /** Whether the layout was opened for writing (`readwrite` or `create`; never a tar file). */
  readonly writable: boolean;
  readonly #blobs: BlobFolder;
  #state: IndexState;
  #graph: Promise<PredecessorIndex> | undefined;
  readonly #writes = new Set<Promise<unknown>>();
  #closing: Promise<void> | undefined;
  /**
   * Whether index.json is fsynced before it replaces the old one: not in a layout this handle made
   * (it holds only this handle's writes, whose blobs are not fsynced either; an fsync is the
   * slowest step of a small pull into a new layout), always in one that was there before.
   */
  #syncIndex: boolean;
  /** A `create` layout not there yet: made by the first write (`#made`), read meanwhile as empty. */
  #missing: boolean;
  #making: Promise<void> | undefined;
  /** Manifests stored and known to this handle, not yet listed in index.json (see `pushChildManifest`). */
  readonly #unlisted = new Map<string, Descriptor>();
  /** Index updates waiting for the one under way (see `#update`). */
  readonly #pending: PendingUpdate[] = [];
  #flushing = false;
  /**
   * The bytes of the index.json this handle last wrote and the state they encode (see
   * `#unchangedState`): that state, not `#state`, which also holds child manifests not listed yet.
   */
  #written: { bytes: Uint8Array; state: IndexState } | undefined;

  private constructor(
    files: StoreFiles,
    writable: boolean,
    state: IndexState,
    o: { made?: boolean; missing?: boolean } = {},
  ) {
    this.files = files;
    this.writable = writable;
    this.#state = state;
    this.#syncIndex = !o.made;
    this.#missing = o.missing ?? false;
    this.#blobs = new BlobFolder({
      location: files.location,
      files,
      place: blobPlace,
      missing: (digest) => digest,
      ...(writable
        ? { writes: { root: files.location, staging: ['ingest'], mode: 0o644, code: 'INVALID_LAYOUT' } }
        : {}),
    });
  }

  /** The layout's path: its directory or tar file, as given to {@link OciLayout.open}. */
  get location(): string {
    return this.files.location;
  }

  /** Opens a layout directory or tar file. With `create`, a missing directory becomes a new layout. */
  static async open(path: string, options: OpenLayoutOptions = {}): Promise<OciLayout> {
    const mode = options.mode ?? 'readonly';
    if (!OpenModes.includes(mode)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `unknown OCI layout open mode ${JSON.stringify(mode)}; use ${OpenModes.join(', ')}`,
      );
    }
    let kind: 'dir' | 'file' | 'missing' = 'missing';
    try {
      // Direct calls here and where a new layout is made: metadata work is not worth a trip through
      // the thread pool (see archive/atomic.ts).
      const info = statSync(path);
      kind = info.isDirectory() ? 'dir' : 'file';
    } catch (error) {
      // ENOTDIR: a file on the way (`file/layout`); EACCES: a folder on the way we may not enter.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new LadingError('IO_ERROR', `${path}: cannot open the OCI layout: ${(error as Error).message}`, {
          cause: error,
        });
      }
    }
    if (kind === 'file') {
      if (mode !== 'readonly') {
        throw new LadingError(
          'UNSUPPORTED',
          `${path}: writing into a tar OCI layout is not supported; use a directory`,
        );
      }
      // The tar reader (and tar-stream) loads only for a layout that is a tar file.
      const { TarFiles } = await import('../archive/tar-files.js');
      const files = await TarFiles.open(path);
      return new OciLayout(files, false, await readState(files));
    }
    const files = new DirFiles(path, options.followLinks === false ? { followLinks: false } : {});
    if (kind === 'missing') {
      if (mode !== 'create') throw new LadingError('NOT_FOUND', `${path}: no OCI layout (directory or tar file) there`);
      const layout = new OciLayout(files, true, emptyState(), { missing: true });
      if (!options.createOnWrite) await layout.#made();
      return layout;
    }
    const writable = mode !== 'readonly';
    const created = writable ? await initialise(files) : undefined;
    // Blobs a killed writer was staging: its temps (named with its pid) go at the next write. Only
    // in the layout's own ingest/ folder: one planted as a link would have us remove elsewhere.
    if (writable && lstatSync(join(path, 'ingest'), { throwIfNoEntry: false })?.isDirectory()) {
      await sweepStaleTemps(join(path, 'ingest'));
    }
    return new OciLayout(files, writable, created ?? (await readState(files)));
  }

  /** Makes the layout a `create` open did not find, once, before its first write. */
  #made(): Promise<void> {
    if (!this.#missing) return Promise.resolve();
    this.#making ??= (async () => {
      // One call makes the folder and blobs/sha256/ in it; the folder is ours when it was made here
      // (the first folder made is it or one above it, not blobs/ or blobs/sha256/ alone).
      const path = this.location;
      const blobs = join(path, 'blobs');
      const first = makeDirectorySync(join(blobs, 'sha256'));
      const made = first !== undefined && !resolvePath(first).startsWith(resolvePath(blobs));
      // A layout made here holds only this handle's writes (no manifests yet): nothing to read back.
      const fresh = made ? await initialiseNew(path) : undefined;
      if (fresh) this.#syncIndex = false;
      else {
        // Someone else made it meanwhile: it is read as any layout that was there.
        const files = this.files as DirFiles;
        this.#state = (await initialise(files)) ?? (await readState(files));
        this.#graph = undefined;
      }
      this.#missing = false;
    })();
    return this.#making;
  }

  /** Opens a blob or manifest of the layout as a stream, verified against `desc` as it is read. */
  fetch(desc: Descriptor, o: Op = {}): Promise<Readable> {
    return cancellable(o.signal, async () => {
      this.#assertOpen();
      return this.#blobs.open(desc, o);
    });
  }

  /** The whole blob or manifest `desc` names, verified, in one read (a BytesFetcher: no stream). */
  fetchBytes(desc: Descriptor, o: Op = {}): Promise<Buffer> {
    return cancellable(o.signal, async () => {
      this.#assertOpen();
      return this.#blobs.read(desc);
    });
  }

  /**
   * Whether the layout holds the blob or manifest `desc` names: a file of its digest and its size
   * (one of another size is not it, and a copy replaces it).
   */
  async exists(desc: Descriptor, o: Op = {}): Promise<boolean> {
    throwIfAborted(o.signal);
    this.#assertOpen();
    return this.#holds(desc);
  }

  /**
   * {@link OciLayout.exists} for a write under way: a write that started before `close` may look
   * after it (close waits for it), so this does not refuse a closing handle.
   */
  async #holds(desc: Descriptor): Promise<boolean> {
    if (this.#missing) return false;
    return (await this.#blobs.size(desc.digest)) === desc.size;
  }

  /**
   * Stores `content` as `expected`, verified before it lands (a manifest is also recorded in
   * index.json). Rejects with ALREADY_EXISTS when the layout has it.
   */
  push(expected: Descriptor, content: Content, o: Op = {}): Promise<void> {
    if (this.#closing) {
      discard(content);
      return Promise.reject(this.#closedError());
    }
    return this.#write(cancellablePush(content, o, () => this.#push(expected, content, o)));
  }

  /**
   * {@link OciLayout.push} of a manifest a copy moves as another's child: it is listed in index.json
   * with the next update (the parent's, at the latest on close), not with a write of its own, so a
   * copy of an index of N manifests writes index.json once, not N times. Until then it resolves by
   * digest from this handle. @internal
   */
  pushChildManifest(expected: Descriptor, content: Content, o: Op = {}): Promise<void> {
    if (this.#closing) {
      discard(content);
      return Promise.reject(this.#closedError());
    }
    return this.#write(cancellablePush(content, o, () => this.#push(expected, content, o, { later: true })));
  }

  /** Stores a blob (never a manifest) as `fill` writes it, verified; see {@link BlobFill}. @internal */
  pushFill(expected: Descriptor, fill: BlobFill, o: Op = {}): Promise<void> {
    if (this.#closing) return Promise.reject(this.#closedError());
    return this.#write(
      cancellable(o.signal, async () => {
        this.#assertWritable();
        if (isManifestMediaType(expected.mediaType)) {
          throw new LadingError('UNSUPPORTED', `${this.location}: a manifest is pushed whole, not filled`);
        }
        if (await this.exists(expected)) {
          throw new LadingError('ALREADY_EXISTS', `${this.location}: ${expected.digest} already exists`);
        }
        await this.#made();
        await this.#blobs.write(expected, fill, o);
      }),
    );
  }

  /**
   * Ends the work with the layout: waits for the writes under way (pushes, tags, deletes) to
   * settle, so that no staged file is left behind them, and refuses every later call. Nothing
   * needs writing back (a layout directory is written in place; a tar layout is read only), and
   * calling close again returns the first call's promise.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      while (this.#writes.size > 0) await Promise.allSettled([...this.#writes]);
      try {
        if (this.#unlisted.size > 0) await this.#update(() => {});
      } finally {
        // Closed also when that last index update fails: its error is the one to report.
        this.#graph = undefined;
        await this.#blobs.close();
        await this.files.close?.();
      }
    })();
    return this.#closing;
  }

  /** {@link OciLayout.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #write<T>(work: Promise<T>): Promise<T> {
    this.#writes.add(work);
    const forget = () => this.#writes.delete(work);
    work.then(forget, forget);
    return work;
  }

  #assertOpen(): void {
    if (this.#closing) throw this.#closedError();
  }

  #closedError(): LadingError {
    return new LadingError('UNSUPPORTED', `${this.location}: this OCI layout is closed`);
  }

  async #push(expected: Descriptor, content: Content, o: Op, how: { later?: boolean } = {}): Promise<void> {
    this.#assertWritable();
    if (await this.exists(expected)) {
      discard(content);
      throw new LadingError('ALREADY_EXISTS', `${this.location}: ${expected.digest} already exists`);
    }
    try {
      await this.#made();
    } catch (error) {
      discard(content);
      throw error;
    }
    if (isManifestMediaType(expected.mediaType)) {
      const bytes = await this.#storeManifest(expected, content);
      if (how.later) {
        this.#unlisted.set(expected.digest, plainDescriptor(expected));
        if (!this.#state.manifests.has(expected.digest)) {
          this.#state.manifests.set(expected.digest, plainDescriptor(expected));
        }
      } else {
        await this.#update(async (state) => {
          await this.#keepManifest(expected, bytes);
          if (!state.manifests.has(expected.digest)) state.manifests.set(expected.digest, plainDescriptor(expected));
        });
      }
      this.#graph = undefined;
      // A manifest counts once, when it is written (see Op.onProgress).
      o.onProgress?.(expected.size);
    } else {
      await this.#blobs.write(expected, content, o);
    }
  }

  /** Manifests are small and checked before they land: a layout never records a broken one. Resolves to its bytes. */
  async #storeManifest(expected: Descriptor, content: Content): Promise<Buffer> {
    const where = `${this.location}@${expected.digest}`;
    if (expected.size > MaxManifestBytes) {
      discard(content);
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${where}: manifest of ${expected.size} bytes is over the ${MaxManifestBytes}-byte limit`,
      );
    }
    let manifestBytes: Buffer;
    if (content instanceof Uint8Array) {
      verifyBytes(expected, content, where);
      manifestBytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    } else {
      const verifier = new VerifyStream(expected, { where });
      manifestBytes = await readAll(toReadable(content).pipe(verifier), MaxManifestBytes, where);
    }
    successorsOf(expected, manifestBytes);
    await this.#blobs.writeSmall(expected.digest, manifestBytes);
    return manifestBytes;
  }

  /**
   * Under the index lock, before a manifest is recorded: another process may have deleted it since
   * this one stored it or found it there. It is stored again from `bytes` (verified already), or,
   * without them, nothing is recorded: index.json never names a manifest that is not there.
   */
  async #keepManifest(expected: Descriptor, bytes: Buffer | undefined): Promise<void> {
    if ((await this.#blobs.size(expected.digest)) === expected.size) return;
    if (!bytes) {
      throw new LadingError(
        'NOT_FOUND',
        `${this.location}: ${expected.digest} was removed by another process meanwhile; nothing recorded`,
      );
    }
    await this.#blobs.writeSmall(expected.digest, bytes);
  }

  /**
   * Stores the manifest `expected` (verified, unless the layout has it) and records it with its tag
   * in one update of index.json, where a push and then a tag would write index.json twice. A digest
   * `reference` (it must be the manifest's) only records the manifest, as {@link OciLayout.tag} does.
   */
  pushReference(expected: Descriptor, content: Content, reference: string, o: Op = {}): Promise<void> {
    if (this.#closing) {
      discard(content);
      return Promise.reject(this.#closedError());
    }
    return this.#write(cancellablePush(content, o, () => this.#pushReference(expected, content, reference, o)));
  }

  async #pushReference(expected: Descriptor, content: Content, reference: string, o: Op): Promise<void> {
    this.#assertWritable();
    try {
      checkTagReference(expected, reference);
      if (!isManifestMediaType(expected.mediaType)) {
        throw new LadingError(
          'INVALID_ARGUMENT',
          `${this.location}:${reference}: ${expected.mediaType} is not a manifest type`,
        );
      }
    } catch (error) {
      discard(content);
      throw error;
    }
    try {
      await this.#made();
    } catch (error) {
      discard(content);
      throw error;
    }
    const written = !(await this.#holds(expected));
    let bytes: Buffer | undefined;
    if (written) bytes = await this.#storeManifest(expected, content);
    else if (content instanceof Uint8Array) bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    else discard(content);
    await this.#update(async (state) => {
      // Bytes given but not written were not checked: only written again after they are.
      if (bytes && !written && (await this.#blobs.size(expected.digest)) !== expected.size) {
        bytes = await this.#storeManifest(expected, bytes);
      }
      await this.#keepManifest(expected, bytes);
      recordTag(state, expected, reference);
    });
    this.#graph = undefined;
    if (written) o.onProgress?.(expected.size);
  }

  /** The descriptor a tag or digest names: from index.json, or a bare blob found by digest. */
  async resolve(reference: string, o: Op = {}): Promise<Descriptor> {
    throwIfAborted(o.signal);
    this.#assertOpen();
    if (!reference) throw new LadingError('INVALID_REFERENCE', `${this.location}: no tag or digest given`);
    const indexed = resolveIndexed(this.#state, reference);
    if (indexed) return indexed;
    if (isValidDigest(reference) && !this.#missing) {
      const size = await this.#blobs.size(reference);
      if (size !== undefined) return { mediaType: MediaType.OctetStream, digest: reference, size };
    }
    throw new LadingError('NOT_FOUND', `${this.location}: ${reference} not found`);
  }

  /** Tags the manifest `desc` in index.json (a digest `reference` only records the manifest). */
  tag(desc: Descriptor, reference: string, o: Op = {}): Promise<void> {
    return this.#write(this.#tag(desc, reference, o));
  }

  async #tag(desc: Descriptor, reference: string, o: Op): Promise<void> {
    throwIfAborted(o.signal);
    this.#assertOpen();
    this.#assertWritable();
    checkTagReference(desc, reference);
    if (!(await this.exists(desc))) throw new LadingError('NOT_FOUND', `${this.location}: ${desc.digest} not found`);
    await this.#update(async (state) => {
      // Checked again under the lock: another process may have deleted it meanwhile.
      if (!(await this.#holds(desc))) throw new LadingError('NOT_FOUND', `${this.location}: ${desc.digest} not found`);
      recordTag(state, desc, reference);
    });
  }

  /** Removes a tag from index.json (the manifest stays); NOT_FOUND when there is no such tag. */
  untag(reference: string): Promise<void> {
    return this.#write(this.#untag(reference));
  }

  async #untag(reference: string): Promise<void> {
    this.#assertOpen();
    this.#assertWritable();
    if (this.#missing) throw new LadingError('NOT_FOUND', `${this.location}: tag ${reference} not found`);
    await this.#update((state) => {
      if (!state.tags.delete(reference))
        throw new LadingError('NOT_FOUND', `${this.location}: tag ${reference} not found`);
    });
  }

  /** Removes a manifest (and its tags) or a blob. */
  delete(desc: Descriptor): Promise<void> {
    return this.#write(this.#delete(desc));
  }

  async #delete(desc: Descriptor): Promise<void> {
    this.#assertOpen();
    this.#assertWritable();
    // By digest, whatever the file's size: a damaged copy is deleted as readily as a good one.
    if (this.#missing || (await this.#blobs.size(desc.digest)) === undefined) {
      throw new LadingError('NOT_FOUND', `${this.location}: ${desc.digest} not found`);
    }
    // The file goes under the lock too, after index.json: a writer that tags or records it checks
    // under the lock that it is there, and so never sees it between the two steps.
    await this.#update(
      (state) => {
        state.manifests.delete(desc.digest);
        for (const [ref, d] of state.tags) if (d.digest === desc.digest) state.tags.delete(ref);
      },
      () => this.#blobs.remove([desc.digest]),
    );
    this.#graph = undefined;
  }

  /** The layout's tags, sorted, in one page (after `last` when given). */
  async *tags(o: Op & { last?: string } = {}): AsyncIterable<string[]> {
    throwIfAborted(o.signal);
    this.#assertOpen();
    const all = [...this.#state.tags.keys()].sort();
    yield o.last ? all.filter((t) => t > (o.last as string)) : all;
  }

  /** Every manifest the layout records, tagged or not. */
  manifests(): Descriptor[] {
    this.#assertOpen();
    return [...this.#state.manifests.values()];
  }

  /** The manifests of the layout that refer to `node` (its parents in the graph). */
  async predecessors(node: Descriptor): Promise<Descriptor[]> {
    this.#assertOpen();
    this.#graph ??= this.#buildGraph();
    return (await this.#graph).get(node.digest);
  }

  async #buildGraph(): Promise<PredecessorIndex> {
    const index = new PredecessorIndex();
    const seen = new Set<string>();
    const queue = [...this.#state.manifests.values()];
    while (queue.length > 0) {
      const node = queue.pop() as Descriptor;
      if (seen.has(node.digest) || !isManifestMediaType(node.mediaType)) continue;
      seen.add(node.digest);
      if (!(await this.exists(node))) continue;
      const children = successorsOf(node, await fetchAll(this, node));
      index.add(node, children);
      queue.push(...children);
    }
    return index;
  }

  #assertWritable(): void {
    if (!this.writable) throw new LadingError('UNSUPPORTED', `${this.location}: this OCI layout is opened read-only`);
  }

  /**
   * Applies `change` to the index.json on disk under the lock, then adopts the result; `then` runs
   * after the write, still under the lock. Changes that arrive while an update is under way (a
   * copy's concurrent manifest pushes) are applied together in the next one: one lock, one read,
   * one write for the lot. A change that throws fails only its own call; it must throw before it
   * changes anything.
   */
  #update(change: (state: IndexState) => void | Promise<void>, then?: () => Promise<void>): Promise<void> {
    const done = new Promise<void>((resolve, reject) =>
      this.#pending.push({ change, ...(then ? { then } : {}), resolve, reject }),
    );
    if (!this.#flushing) {
      this.#flushing = true;
      void this.#flush();
    }
    return done;
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      const failures = new Map<PendingUpdate, unknown>();
      try {
        await withLock(join(this.location, 'index.json.lock'), async () => {
          const state = (await this.#unchangedState()) ?? (await readState(this.files, { indexOnly: true }));
          // Child manifests pushed since the last write are listed first (see pushChildManifest).
          // Each checked to be there still: another process may have deleted one meanwhile.
          const unlisted = [...this.#unlisted];
          for (const [digest, desc] of unlisted) {
            if (!state.manifests.has(digest) && (await this.#blobs.size(digest)) === desc.size) {
              state.manifests.set(digest, desc);
            }
          }
          for (const update of batch) {
            try {
              await update.change(state);
            } catch (error) {
              failures.set(update, error);
            }
          }
          if (failures.size === batch.length && unlisted.length === 0) return;
          const bytes = encodeIndexJson(state);
          this.#written = undefined;
          await writeFileAtomic(join(this.location, 'index.json'), bytes, 0o644, { sync: this.#syncIndex });
          this.#written = { bytes, state: copyState(state) };
          for (const [digest] of unlisted) this.#unlisted.delete(digest);
          // Pushed while this write was under way: known to this handle until the next one lists them.
          for (const [digest, desc] of this.#unlisted)
            if (!state.manifests.has(digest)) state.manifests.set(digest, desc);
          this.#state = state;
          for (const update of batch) {
            if (!update.then || failures.has(update)) continue;
            try {
              await update.then();
            } catch (error) {
              failures.set(update, error);
            }
          }
        });
      } catch (error) {
        for (const update of batch) if (!failures.has(update)) failures.set(update, error);
      }
      for (const update of batch) {
        if (failures.has(update)) update.reject(failures.get(update));
        else update.resolve();
      }
    }
    this.#flushing = false;
  }

  /**
   * A copy of the state this handle last wrote, when index.json still holds exactly those bytes (no
   * other writer replaced it since): parsing and checking every entry again is then skipped.
   */
  async #unchangedState(): Promise<IndexState | undefined> {
    const written = this.#written;
    if (!written) return undefined;
    const now = await this.files.readSmall('index.json', MaxIndexBytes).catch(() => undefined);
    if (!now?.equals(written.bytes)) return undefined;
    // What was written, not `#state`: a child manifest known to this handle but not listed yet must
    // still be checked to be there before it is listed (another process may have deleted it).
    return copyState(written.state);
  }
}

function copyState(state: IndexState): IndexState {
  return { tags: new Map(state.tags), manifests: new Map(state.manifests) };
}

interface PendingUpdate {
  change: (state: IndexState) => void | Promise<void>;
  then?: () => Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A tag, or a digest reference to `desc` itself: tagging by digest only records the manifest, as oras-go does. */
function checkTagReference(desc: Descriptor, reference: string): void {
  checkRefName(reference);
  if (isValidDigest(reference) && reference !== desc.digest) {
    throw new LadingError('INVALID_REFERENCE', `${reference}: a digest reference must match ${desc.digest}`);
  }
}

function discard(content: Content): void {
  if (content instanceof Object && 'destroy' in content && typeof content.destroy === 'function') content.destroy();
}

/**
 * The two files of a layout in a folder this call made (and its ingest/ folder): each file linked into place, so that a
 * concurrent writer's file is never replaced, with no lock and no fsync (an empty layout has
 * nothing to lose). Undefined when either was there already or the file system cannot link: then
 * {@link initialise} finishes the job.
 */
function emptyState(): IndexState {
  return { tags: new Map(), manifests: new Map() };
}

async function initialiseNew(root: string): Promise<IndexState | undefined> {
  const empty = emptyState();
  // ingest/ too, where blobs are staged: the first write then finds every folder it needs.
  let ingest = true;
  try {
    mkdirSync(join(root, 'ingest'));
  } catch {
    ingest = false;
  }
  const wrote = await Promise.all([
    writeNewFile(join(root, 'oci-layout'), layoutFileBytes()),
    writeNewFile(join(root, 'index.json'), encodeIndexJson(empty)),
  ]);
  return ingest && wrote.every(Boolean) ? empty : undefined;
}

/**
 * Writes what a writable layout lacks: oci-layout, blobs/ and an empty index.json. Returns the
 * state when this call wrote both files (a new layout: nothing else to read), else undefined.
 */
async function initialise(files: DirFiles): Promise<IndexState | undefined> {
  const root = files.location;
  const layoutFile = await files.readSmall('oci-layout', 64 * 1024);
  // What is there is checked before anything is added: a folder whose index.json is not a layout's
  // (a web project's), or whose oci-layout is of another version, is refused as it was found.
  if (layoutFile) await checkLayoutFile(files);
  const existing = (await files.stat('index.json')) ? await readState(files, { indexOnly: true }) : undefined;
  if (!layoutFile) await writeFileAtomic(join(root, 'oci-layout'), layoutFileBytes());
  makeDirectorySync(join(root, 'blobs'));
  if (existing) return existing;
  const empty: IndexState = { tags: new Map(), manifests: new Map() };
  const wrote = await withLock(join(root, 'index.json.lock'), async () => {
    if (await files.stat('index.json')) return false;
    await writeFileAtomic(join(root, 'index.json'), encodeIndexJson(empty));
    return true;
  });
  return wrote && !layoutFile ? empty : undefined;
}
