import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import {
  fetchAll,
  hasBlobFill,
  hasChildManifestPush,
  hasFetchBytes,
  hasFillPush,
  hasManifestList,
  hasMount,
  hasPushReference,
  type Op,
  type ReadOnlyStorage,
  type ReadOnlyTarget,
  type Storage,
  successorsOf,
  type Target,
} from '../content/index.js';
import {
  cancellable,
  type Descriptor,
  isLadingError,
  isManifestMediaType,
  isValidDigest,
  LadingError,
  MaxManifestBytes,
  MediaType,
} from '../oci/index.js';
import { defaultCopyConcurrency, MaxGraphDepth } from './limits.js';
import { copyFoundReferrers, findReferrers } from './referrers-copy.js';
import { type ResolveOptions, resolveRootBytes } from './resolve.js';

/** Blobs up to this size move as bytes in memory between stores that read them whole (see BytesFetcher). */
const SmallBlobBytes = 64 * 1024;

/** Options of {@link copyGraph}: concurrency, cancellation, progress and the hooks around each node copied. */
export interface CopyGraphOptions {
  /** Blob transfers in flight at once; by default 3 (ORAS's), 6 (skopeo's) on 8 cores or more. */
  concurrency?: number;
  /** Cancels the copy: it rejects with ABORTED, the signal's reason as cause. */
  signal?: AbortSignal;
  /** Largest manifest accepted from the source. */
  maxMetadataBytes?: number;
  /** Copy manifests even when the destination has them, to reach missing children. */
  force?: boolean;
  /** Replaces the default successor lookup (e.g. to pull only titled layers). */
  findSuccessors?: (desc: Descriptor, bytes: Buffer | undefined) => Descriptor[] | Promise<Descriptor[]>;
  /**
   * Repositories on the destination's registry that may already hold a blob, to mount from. By
   * default, the source itself when it is another repository of the destination's registry.
   */
  mountFrom?: (desc: Descriptor) => readonly string[];
  /** Called before a node (blob or manifest) is copied. */
  preCopy?: (desc: Descriptor) => void | Promise<void>;
  /** Called once a node has been copied and verified. */
  postCopy?: (desc: Descriptor) => void | Promise<void>;
  /** Called for a node the destination already has (nothing moves). */
  onSkipped?: (desc: Descriptor) => void | Promise<void>;
  /** Called for a blob mounted from another repository of the destination's registry. */
  onMounted?: (desc: Descriptor, fromRepository: string) => void | Promise<void>;
  /**
   * Called as the content of a descriptor moves into the destination, with that descriptor and the
   * chunk's size in bytes (a delta, not a running total). Per descriptor and call the deltas add up
   * to its size when it was copied, never more (a retried upload is not counted twice), and to
   * nothing when it was skipped or mounted; a manifest counts once, when it is written, whichever
   * store it goes to (a registry's referrers index is not counted). Nothing is reported once the
   * signal has aborted.
   */
  onProgress?: (desc: Descriptor, bytes: number) => void;
  /**
   * Shares "this node is being copied" between several copies into the same destination, so that
   * content two graphs have in common moves once even when the copies run at the same time.
   */
  tracker?: Map<string, Promise<void>>;
}

/** Options of {@link copy}: those of {@link copyGraph}, plus platform selection and referrers. */
export interface CopyOptions extends CopyGraphOptions, ResolveOptions {
  /** Also copy the referrers of the root (and of the manifests an index lists), recursively, as `oras cp -r` does. */
  includeReferrers?: boolean;
}

function tooDeep(what: string): LadingError {
  return new LadingError('SIZE_EXCEEDS_LIMIT', `${what} nest deeper than ${MaxGraphDepth} levels; not copied`);
}

/** Layers that must not be redistributed are never copied, as oras-go and the image-spec ask. */
function isForeign(desc: Descriptor): boolean {
  return (
    desc.mediaType === MediaType.DockerForeignLayer ||
    desc.mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')
  );
}

/**
 * The progress callback of one descriptor's transfer, as {@link CopyGraphOptions.onProgress}
 * promises it: never more than the descriptor's size in all (a store that sends bytes again, a
 * retried upload, is not counted twice), and silent once `signal` has aborted (a worker thread's
 * or a stream's last chunks arrive after the abort).
 */
function progressOf(
  desc: Descriptor,
  onProgress: ((desc: Descriptor, bytes: number) => void) | undefined,
  signal: AbortSignal | undefined,
): ((bytes: number) => void) | undefined {
  if (!onProgress) return undefined;
  let total = 0;
  return (n) => {
    if (signal?.aborted) return;
    const counted = Math.min(n, desc.size - total);
    if (counted <= 0) return;
    total += counted;
    onProgress(desc, counted);
  };
}

/**
 * One graph copy for every pair of stores. Children land before their parents, so a destination
 * never holds a manifest whose content is missing; what the destination has is skipped with its
 * whole sub-graph; each node moves once; and only leaf transfers hold a concurrency slot, so a
 * parent waiting for children can never starve them.
 */
export class GraphCopier {
  readonly #src: ReadOnlyStorage;
  readonly #dst: Storage;
  readonly #opts: CopyGraphOptions;
  readonly #limit: ReturnType<typeof pLimit>;
  /** Children of one manifest under way at once (see siblingWindow). */
  readonly #window: number;
  readonly #tracker: Map<string, Promise<void>>;
  readonly #abort = new AbortController();
  readonly #signal: AbortSignal;
  readonly #mountFrom: ((desc: Descriptor) => readonly string[]) | undefined;
  #rootTag: { digest: string; tag: string } | undefined;
  #rootTagged = false;

  constructor(src: ReadOnlyStorage, dst: Storage, opts: CopyGraphOptions = {}) {
    this.#src = src;
    this.#dst = dst;
    this.#opts = opts;
    const sibling = hasMount(dst) ? dst.mountSourceFor?.(src) : undefined;
    this.#mountFrom = opts.mountFrom ?? (sibling ? () => [sibling] : undefined);
    const concurrency = opts.concurrency ?? defaultCopyConcurrency();
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new LadingError('INVALID_ARGUMENT', `concurrency must be a positive integer, got ${concurrency}`);
    }
    this.#limit = pLimit(concurrency);
    this.#window = siblingWindow(concurrency);
    this.#tracker = opts.tracker ?? new Map();
    this.#signal = opts.signal ? AbortSignal.any([opts.signal, this.#abort.signal]) : this.#abort.signal;
    // Every transfer in flight listens for the abort (its request, its pipeline): more than
    // Node's default warning threshold of 10 once concurrency passes 4, and none of it a leak.
    setMaxListeners(10 + 4 * concurrency, this.#signal);
  }

  /**
   * Copies everything under `root`, and `root` itself. On failure the rest is cancelled, and the
   * call rejects only once every transfer it started has stopped: a caller that then removes what
   * it wrote into never races a write still under way.
   *
   * Every call of one copier rejects with the first failure, whichever call saw it first: the
   * transfers the copier cancelled because of it (an `ABORTED` whose cause is that failure, a
   * backoff sleep cut short) are its consequences, never what the caller is told.
   */
  async copy(root: Descriptor, rootBytes?: Buffer): Promise<void> {
    try {
      await this.#node(root, rootBytes);
    } catch (error) {
      if (!this.#abort.signal.aborted) this.#abort.abort(error);
      while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
      throw this.#abort.signal.reason;
    }
  }

  /** The nodes this copier is copying now (a shared tracker may hold other copiers' too). */
  readonly #running = new Set<Promise<void>>();

  /**
   * {@link GraphCopier.copy}, and a destination that takes a manifest with its tag in one call (a
   * ReferencePusher, such as an OCI layout: one write of index.json instead of two) gets the root
   * with `tag` that way. Resolves to whether it did; when not (the root was there already, or the
   * destination cannot), the caller tags it.
   */
  async copyTagged(root: Descriptor, rootBytes: Buffer | undefined, tag: string): Promise<boolean> {
    this.#rootTag = hasPushReference(this.#dst) ? { digest: root.digest, tag } : undefined;
    await this.copy(root, rootBytes);
    return this.#rootTagged;
  }

  /** Fetches (once) a manifest's bytes from the source. */
  async manifestBytes(desc: Descriptor): Promise<Buffer> {
    return this.#limit(() =>
      fetchAll(this.#src, desc, { signal: this.#signal, limit: this.#opts.maxMetadataBytes ?? MaxManifestBytes }),
    );
  }

  #node(desc: Descriptor, knownBytes?: Buffer, depth = 0): Promise<void> {
    let pending = this.#tracker.get(desc.digest);
    if (!pending) {
      if (depth > MaxGraphDepth) return Promise.reject(tooDeep(`manifests above ${desc.digest}`));
      const started = this.#copyNode(desc, knownBytes, depth);
      pending = started;
      this.#running.add(started);
      // Sibling failures surface through Promise.all; avoid an unhandled rejection here.
      started.then(
        () => this.#running.delete(started),
        () => this.#running.delete(started),
      );
      this.#tracker.set(desc.digest, pending);
    }
    return pending;
  }

  async #copyNode(desc: Descriptor, knownBytes: Buffer | undefined, depth: number): Promise<void> {
    this.#signal.throwIfAborted();
    const manifest = isManifestMediaType(desc.mediaType);
    const o: Op = { signal: this.#signal };
    // A blob the destination's registry may mount from a sibling repository is asked for with the
    // mount itself: its 201 says the blob is there (one request where a HEAD and a mount are two),
    // and only a refused mount is followed by the existence check (see #transfer).
    const mountFirst = !manifest && this.#mountCandidates(desc).length > 0;
    if (!(manifest && this.#opts.force) && !mountFirst) {
      const present = await this.#limit(() => this.#dst.exists(desc, o));
      if (present) {
        await this.#opts.onSkipped?.(desc);
        return;
      }
    }
    const bytes = manifest ? (knownBytes ?? (await this.manifestBytes(desc))) : undefined;
    const children = this.#opts.findSuccessors
      ? await this.#opts.findSuccessors(desc, bytes)
      : bytes
        ? successorsOf(desc, bytes)
        : [];
    await eachWindowed(
      children.filter((c) => !isForeign(c)),
      this.#window,
      (child) => this.#node(child, undefined, depth + 1),
    );
    await this.#limit(() => this.#transfer(desc, bytes, depth));
  }

  /** The repositories of the destination's registry `desc` may be mounted from (none where it cannot mount). */
  #mountCandidates(desc: Descriptor): readonly string[] {
    return this.#mountFrom && hasMount(this.#dst) ? this.#mountFrom(desc) : [];
  }

  async #transfer(desc: Descriptor, bytes: Buffer | undefined, depth: number): Promise<void> {
    this.#signal.throwIfAborted();
    const onProgress = progressOf(desc, this.#opts.onProgress, this.#signal);
    const o: Op = { signal: this.#signal, ...(onProgress ? { onProgress } : {}) };
    if (!bytes && hasMount(this.#dst)) {
      const candidates = this.#mountCandidates(desc);
      // A mount the registry answered with an error status (no mounts there: 405, 400; a 500): the
      // existence check it stood in for still decides, as ORAS asks it first; a blob there already
      // is skipped, one not there fails with the mount's error. Anything else (an abort, a
      // credential helper's failure, a 201 that named another digest) ends the copy as it was.
      let failed: { error: unknown } | undefined;
      for (const from of candidates) {
        let mounted: boolean;
        try {
          mounted = await this.#dst.mount(desc, from, o);
        } catch (error) {
          if (this.#signal.aborted || !isLadingError(error, 'REGISTRY_ERROR')) throw error;
          failed = { error };
          break;
        }
        if (mounted) {
          await this.#opts.onMounted?.(desc, from);
          return;
        }
      }
      // No mount: the existence check #copyNode left to it.
      if (candidates.length > 0) {
        const present = await this.#dst.exists(desc, o).catch((error: unknown) => {
          throw failed ? failed.error : error;
        });
        if (present) {
          await this.#opts.onSkipped?.(desc);
          return;
        }
        if (failed) throw failed.error;
      }
    }
    await this.#opts.preCopy?.(desc);
    const small = desc.size <= SmallBlobBytes && hasFetchBytes(this.#src);
    const fill =
      !bytes && desc.data === undefined && !small && hasFillPush(this.#dst) && hasBlobFill(this.#src)
        ? this.#src.blobFill(desc, { signal: this.#signal })
        : undefined;
    try {
      const rootTag = this.#rootTag;
      if (bytes && rootTag?.digest === desc.digest && hasPushReference(this.#dst)) {
        await this.#dst.pushReference(desc, bytes, rootTag.tag, o);
        this.#rootTagged = true;
      } else if (bytes && depth > 0 && hasChildManifestPush(this.#dst)) {
        // A child: listed with its parent's write of the index (the parent lands after it).
        await this.#dst.pushChildManifest(desc, bytes, o);
      } else if (bytes) {
        await this.#dst.push(desc, bytes, o);
      } else if (desc.data !== undefined) {
        await this.#dst.push(desc, Buffer.from(desc.data, 'base64'), o);
      } else if (small) {
        // A small blob of a store that reads it in one call (a file): read whole, verified, and
        // handed over as bytes, without two streams and a pipeline for a few kilobytes.
        const small = await fetchAll(this.#src, desc, { signal: this.#signal, limit: SmallBlobBytes });
        // A sibling may have failed meanwhile: its clean-up must not race a write that starts now.
        this.#signal.throwIfAborted();
        await this.#dst.push(desc, small, o);
      } else if (fill && hasFillPush(this.#dst)) {
        // A registry blob into a file: fetched, hashed and written as the bytes arrive, on this
        // thread or another one; its request may be on its way already.
        try {
          await this.#dst.pushFill(desc, fill, o);
        } finally {
          fill.release?.();
        }
      } else {
        // The destination counts the bytes as it takes them; the source must not count them again.
        const stream = await this.#src.fetch(desc, { signal: this.#signal });
        try {
          this.#signal.throwIfAborted();
          await this.#dst.push(desc, stream, o);
        } finally {
          // A destination that refused the blob before reading it (a title outside the output, a
          // store that exists already) leaves the source open: a file handle, a socket.
          if (!stream.destroyed) stream.destroy();
        }
      }
    } catch (error) {
      // Another writer may have stored it meanwhile: if the content is there, that is all we need.
      if (!(error instanceof LadingError && error.code === 'ALREADY_EXISTS' && (await this.#dst.exists(desc, o)))) {
        throw error;
      }
    }
    await this.#opts.postCopy?.(desc);
  }
}

/**
 * How many children of one manifest are under way at once: enough to keep every transfer slot
 * busy (a child waits for its own children and its slot), few enough that an index of 10,000
 * manifests does not hold 10,000 pending copies, each with its manifest and requests, at once.
 */
function siblingWindow(concurrency: number): number {
  return Math.max(16, 4 * concurrency);
}

/**
 * Runs `fn` on each item, at most `window` at a time, in order; rejects with the first failure
 * (starting no more), as Promise.all would, once those under way have been started. A window per
 * parent, not one shared limit: a parent never waits for a slot its own children hold.
 */
async function eachWindowed<T>(items: readonly T[], window: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (items.length <= window) {
    await Promise.all(items.map(fn));
    return;
  }
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
}

/** Copies the graph rooted at `root` from `src` to `dst`. */
export async function copyGraph(
  src: ReadOnlyStorage,
  dst: Storage,
  root: Descriptor,
  opts: CopyGraphOptions = {},
): Promise<void> {
  await cancellable(opts.signal, () => new GraphCopier(src, dst, opts).copy(root));
}

/**
 * Resolves `srcRef` in `src`, copies its graph to `dst` and tags the root there as `dstRef`
 * (default: the same reference; none when it is a digest). Returns the root descriptor.
 */
export async function copy(
  src: ReadOnlyTarget,
  srcRef: string,
  dst: Target,
  dstRef: string = srcRef,
  opts: CopyOptions = {},
): Promise<Descriptor> {
  return cancellable(opts.signal, () => copyReference(src, srcRef, dst, dstRef, opts));
}

async function copyReference(
  src: ReadOnlyTarget,
  srcRef: string,
  dst: Target,
  dstRef: string,
  opts: CopyOptions,
): Promise<Descriptor> {
  const { root, bytes: rootBytes } = await resolveRootBytes(src, srcRef, opts);
  const copier = new GraphCopier(src, dst, opts);
  const tagWith = dstRef && !isValidDigest(dstRef) ? dstRef : '';
  if (opts.includeReferrers) {
    // As oras-go's ExtendedCopy: the referrers are found (all read before anything is written),
    // the root and then they are copied, and the tag comes last, so that a referrer that cannot
    // be read or copied leaves the destination's tags as they were.
    const found = await findReferrers(src, copier, root, opts.signal);
    await copier.copy(root, rootBytes);
    await copyFoundReferrers(copier, found);
    if (tagWith) await dst.tag(root, tagWith, opts.signal ? { signal: opts.signal } : {});
    return root;
  }
  if (tagWith && hasPushReference(dst) && !hasManifestList(dst) && isManifestMediaType(root.mediaType)) {
    // A registry can take the root and its tag in one PUT; children first, as always. (A store that
    // lists its own manifests, an OCI layout, answers exists() without a request: the root goes
    // through the copier, which skips it when it is there.)
    const bytes = rootBytes ?? (await copier.manifestBytes(root));
    const children = opts.findSuccessors ? await opts.findSuccessors(root, bytes) : successorsOf(root, bytes);
    await eachWindowed(
      children.filter((c) => !isForeign(c)),
      siblingWindow(opts.concurrency ?? defaultCopyConcurrency()),
      (c) => copier.copy(c),
    );
    await opts.preCopy?.(root);
    const onProgress = progressOf(root, opts.onProgress, opts.signal);
    await dst.pushReference(root, bytes, tagWith, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(onProgress ? { onProgress } : {}),
    });
    await opts.postCopy?.(root);
  } else if (tagWith) {
    const tagged = await copier.copyTagged(root, rootBytes, tagWith);
    if (!tagged) await dst.tag(root, tagWith, opts.signal ? { signal: opts.signal } : {});
  } else {
    await copier.copy(root, rootBytes);
  }
  return root;
}
