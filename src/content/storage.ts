import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/index.js';

/** Per-call options: cancellation and progress. */
export interface Op {
  /**
   * Stops the call: it then rejects with a `LadingError` of code `ABORTED` whose `cause` is the
   * signal's reason (a stream it returned ends with that error).
   */
  signal?: AbortSignal;
  /**
   * Called each time a chunk of the content has moved, with that chunk's size in bytes (a delta,
   * not a running total: add them up for the bytes moved so far). The deltas of one call add up to
   * at most the descriptor's size, and to exactly it when the content was moved: a manifest counts
   * once, when it is written, whatever the store does with it on the way (reads it whole, writes
   * its file, updates an index).
   */
  onProgress?: (bytes: number) => void;
}

/**
 * How a store is opened, the same for every store that lives in files: `readonly` (the default)
 * reads an existing one; `readwrite` writes into an existing one (it must exist); `create` writes,
 * creating it when it does not exist yet (and the folders leading to it, as `mkdir -p` would).
 */
export type OpenMode = 'readonly' | 'readwrite' | 'create';

/** The modes of {@link OpenMode}, to check a mode that came from outside the type system. */
export const OpenModes: readonly OpenMode[] = ['readonly', 'readwrite', 'create'];

/** Content to push: a stream, bytes in memory, or any async iterable of chunks. */
export type Content = Readable | Uint8Array | AsyncIterable<Uint8Array>;

/** Reads content by descriptor. */
export interface Fetcher {
  /** A stream of exactly `desc.size` verified bytes; the caller must consume or destroy it. */
  fetch(desc: Descriptor, o?: Op): Promise<Readable>;
}

/** Options of a push beyond Op. */
export interface PushOp extends Op {
  /**
   * Opens the content again from a byte offset: a store that can resume a broken upload (a
   * registry) does so instead of failing. Content that cannot be read twice (stdin) has none.
   */
  reopen?: (offset: number) => Promise<Readable>;
}

/** Writes content by descriptor, verified as it streams. */
export interface Pusher {
  /** Stores content, verifying its size and digest while it streams; a mismatch stores nothing. */
  push(expected: Descriptor, content: Content, o?: PushOp): Promise<void>;
}

/** A content-addressed store to read from: fetch and existence checks. */
export interface ReadOnlyStorage extends Fetcher {
  /** Whether the store holds the content `desc` names (by digest). */
  exists(desc: Descriptor, o?: Op): Promise<boolean>;
}

/** A content-addressed store to read from and write to. */
export interface Storage extends ReadOnlyStorage, Pusher {}

/** Turns a reference (a tag or a digest) into a descriptor. */
export interface Resolver {
  /** The descriptor of the manifest (or blob) a tag or digest names; NOT_FOUND when there is none. */
  resolve(reference: string, o?: Op): Promise<Descriptor>;
}

/** Points a tag at a manifest. */
export interface Tagger {
  /** Points the tag `reference` at the manifest `desc`, which the store must hold. */
  tag(desc: Descriptor, reference: string, o?: Op): Promise<void>;
}

/** A store to copy from: content and references, read only. */
export interface ReadOnlyTarget extends ReadOnlyStorage, Resolver {}

/**
 * What every store implements (memory, OCI layout, registry repository, CTF repository): content by descriptor,
 * references, tags. `copy` moves graphs between any two.
 */
export interface Target extends Storage, Resolver, Tagger {}

// Optional capabilities, detected at run time with the guards below.

/** A store that knows which manifests point at a descriptor (for referrers without an API). */
export interface PredecessorFinder {
  /** Manifests known to point at `node` (referrers among them). */
  predecessors(node: Descriptor, o?: Op): Promise<Descriptor[]>;
}

/** A store that lists its tags. */
export interface TagLister {
  /** The tags, sorted, page by page; after `last` when given. */
  tags(o?: Op & { last?: string }): AsyncIterable<string[]>;
}

/** A store that deletes content. */
export interface Deleter {
  /** Removes the manifest or blob `desc` names; NOT_FOUND when the store does not hold it. */
  delete(desc: Descriptor, o?: Op): Promise<void>;
}

/**
 * A store that reads a blob whole in one call (a file read) where a stream would cost more than the
 * bytes: `fetchAll` reads manifests and small blobs of such a store this way.
 */
export interface BytesFetcher {
  /** `desc`'s whole content, verified against its size and digest. Only for content small enough to hold. */
  fetchBytes(desc: Descriptor, o?: Op): Promise<Buffer>;
}

/** A store that can take a blob from another repository of the same registry without moving the bytes. */
export interface Mounter {
  /** Makes a blob of `fromRepository` (same registry) available here without moving its bytes. */
  mount(desc: Descriptor, fromRepository: string, o?: Op): Promise<boolean>;
  /**
   * The repository to mount from when copying out of `source`: its name when it is another
   * repository of this same registry, otherwise undefined (bytes have to travel).
   */
  mountSourceFor?(source: object): string | undefined;
}

/**
 * A store that takes a blob whose digest is not known yet: the bytes are hashed as they are
 * written (one pass), and the blob lands under the digest they hash to.
 */
export interface Ingester {
  /** Stores what `content` streams, hashed with sha256 on the way; the descriptor it got. */
  ingest(mediaType: string, content: Readable, o?: Op): Promise<Descriptor>;
}

/** A store with a referrers API: the manifests whose `subject` is a descriptor. */
export interface ReferrerLister {
  /** The manifests whose `subject` is `subject`, page by page; only those of `artifactType` when given. */
  referrers(subject: Descriptor, o?: Op & { artifactType?: string }): AsyncIterable<Descriptor[]>;
}

/** Whether a store finds the predecessors of a descriptor (a {@link PredecessorFinder}). */
export function hasPredecessors(t: object): t is PredecessorFinder {
  return typeof (t as Partial<PredecessorFinder>).predecessors === 'function';
}

/** Whether a store lists its tags (a {@link TagLister}). */
export function hasTags(t: object): t is TagLister {
  return typeof (t as Partial<TagLister>).tags === 'function';
}

/** Whether a store can delete content (a {@link Deleter}). */
export function hasDelete(t: object): t is Deleter {
  return typeof (t as Partial<Deleter>).delete === 'function';
}

/** Whether a store takes blobs of unknown digest in one pass (an {@link Ingester}). */
export function hasIngest(t: object): t is Ingester {
  return typeof (t as Partial<Ingester>).ingest === 'function';
}

/** Whether a store reads small blobs whole without a stream (a {@link BytesFetcher}). */
export function hasFetchBytes(t: object): t is BytesFetcher {
  return typeof (t as Partial<BytesFetcher>).fetchBytes === 'function';
}

/** Whether a store can mount a blob from another repository of its registry (a {@link Mounter}). */
export function hasMount(t: object): t is Mounter {
  return typeof (t as Partial<Mounter>).mount === 'function';
}

/** Whether a store lists the referrers of a manifest itself (a {@link ReferrerLister}). */
export function hasReferrers(t: object): t is ReferrerLister {
  return typeof (t as Partial<ReferrerLister>).referrers === 'function';
}

/** Whether a store can tag (a {@link Tagger}). */
export function hasTagger(t: object): t is Tagger {
  return typeof (t as Partial<Tagger>).tag === 'function';
}

/** A store that takes a manifest and its tag in one call (a registry's `PUT /manifests/<tag>`). */
export interface ReferencePusher {
  /** Pushes a manifest and tags it in one step (a registry PUT by tag). */
  pushReference(expected: Descriptor, content: Content, reference: string, o?: Op): Promise<void>;
}

/** Whether a store pushes a manifest and its tag in one call (a {@link ReferencePusher}). */
export function hasPushReference(t: object): t is ReferencePusher {
  return typeof (t as Partial<ReferencePusher>).pushReference === 'function';
}

/**
 * A store that lists the manifests it holds in one index file (an OCI layout's index.json) and can
 * list a manifest a copy moves as another's child with a later write of that file (the parent's),
 * rather than one write each. @internal
 */
export interface ChildManifestPusher {
  pushChildManifest(expected: Descriptor, content: Content, o?: Op): Promise<void>;
}

/** Whether a store lists child manifests later (a {@link ChildManifestPusher}). @internal */
export function hasChildManifestPush(t: object): t is ChildManifestPusher {
  return typeof (t as Partial<ChildManifestPusher>).pushChildManifest === 'function';
}

/**
 * Resolves a reference and reads the manifest in one request (a registry's GET by tag), as oras-go's
 * registry.ReferenceFetcher; `accept` replaces the manifest types asked for.
 */
export interface ReferenceFetcher {
  /** The descriptor and bytes of the manifest `reference` names (verified), in one request. */
  fetchManifest(
    reference: string,
    o?: Op & { accept?: readonly string[] },
  ): Promise<{
    /** The manifest's descriptor (its media type as the store answered it). */
    descriptor: Descriptor;
    /** The manifest's bytes, checked against the descriptor. */
    bytes: Buffer;
  }>;
}

/** Whether a store fetches a manifest by reference in one call (a {@link ReferenceFetcher}). */
export function hasReferenceFetcher(t: object): t is ReferenceFetcher {
  return typeof (t as Partial<ReferenceFetcher>).fetchManifest === 'function';
}

/**
 * Describes a blob by its digest. A registry answers blobs and manifests at different endpoints,
 * so its `resolve` cannot describe a blob; a store that keeps both in one place resolves either.
 */
export interface BlobResolver {
  /** The descriptor of the blob with this digest; NOT_FOUND when the store does not hold it. */
  resolveBlob(digest: string, o?: Op): Promise<Descriptor>;
}

/** Whether a store can describe a blob from its digest alone (a {@link BlobResolver}). */
export function hasBlobResolver(t: object): t is BlobResolver {
  return typeof (t as Partial<BlobResolver>).resolveBlob === 'function';
}

/**
 * Describes and reads a blob by its digest in one request (a registry's GET, whose Content-Length
 * is the size; oras-go's blob FetchReference), where a {@link BlobResolver} and a fetch are two.
 */
export interface BlobReferenceFetcher {
  /** The blob's descriptor and its content, verified against it as it is read; NOT_FOUND when the store does not hold it. */
  fetchBlob(digest: string, o?: Op): Promise<FetchedBlob>;
}

/** A blob described and opened by one request (see {@link BlobReferenceFetcher}). */
export interface FetchedBlob {
  /** The blob's descriptor: its digest, and its size as the store answered it. */
  descriptor: Descriptor;
  /** Its bytes, checked against the descriptor as they are read. */
  content: Readable;
}

/** Whether a store describes and reads a blob in one call (a {@link BlobReferenceFetcher}). */
export function hasBlobReferenceFetcher(t: object): t is BlobReferenceFetcher {
  return typeof (t as Partial<BlobReferenceFetcher>).fetchBlob === 'function';
}

/** Every manifest the store records, tagged or not (an OCI layout's index.json). */
export interface ManifestLister {
  /** Every manifest the store records, tagged or not. */
  manifests(): Descriptor[];
}

/** Whether a store lists every manifest it holds (a {@link ManifestLister}). */
export function hasManifestList(t: object): t is ManifestLister {
  return typeof (t as Partial<ManifestLister>).manifests === 'function';
}
