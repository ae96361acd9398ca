import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/index.js';

/** Per-call options: cancellation and progress. */
export interface Op {
  /**
   * Stops the call: it then rejects with a `LadingError` of code `ABORTED` whose `cause` is the
   * signal's reason (a stream it returned ends with that error).
   */
  signal?: AbortSignal;
  /** Called with the byte count each time a chunk of the content has moved. */
  onProgress?: (bytes: number) => void;
}

/**
 * How a store is opened, the same for every store that lives in files: `readonly` (the default)
 * reads an existing one; `readwrite` writes into an existing one (it must exist); `create` writes,
 * creating it when it does not exist yet.
 */
export type OpenMode = 'readonly' | 'readwrite' | 'create';

/** The modes of {@link OpenMode}, to check a mode that came from outside the type system. */
export const OpenModes: readonly OpenMode[] = ['readonly', 'readwrite', 'create'];

export type Content = Readable | Uint8Array | AsyncIterable<Uint8Array>;

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

export interface Pusher {
  /** Stores content, verifying its size and digest while it streams; a mismatch stores nothing. */
  push(expected: Descriptor, content: Content, o?: PushOp): Promise<void>;
}

export interface ReadOnlyStorage extends Fetcher {
  exists(desc: Descriptor, o?: Op): Promise<boolean>;
}

export interface Storage extends ReadOnlyStorage, Pusher {}

export interface Resolver {
  resolve(reference: string, o?: Op): Promise<Descriptor>;
}

export interface Tagger {
  tag(desc: Descriptor, reference: string, o?: Op): Promise<void>;
}

export interface ReadOnlyTarget extends ReadOnlyStorage, Resolver {}

export interface Target extends Storage, Resolver, Tagger {}

// Optional capabilities, detected at run time with the guards below.

export interface PredecessorFinder {
  /** Manifests known to point at `node` (referrers among them). */
  predecessors(node: Descriptor, o?: Op): Promise<Descriptor[]>;
}

export interface TagLister {
  tags(o?: Op & { last?: string }): AsyncIterable<string[]>;
}

export interface Deleter {
  delete(desc: Descriptor, o?: Op): Promise<void>;
}

export interface Mounter {
  /** Makes a blob of `fromRepository` (same registry) available here without moving its bytes. */
  mount(desc: Descriptor, fromRepository: string, o?: Op): Promise<boolean>;
  /**
   * The repository to mount from when copying out of `source`: its name when it is another
   * repository of this same registry, otherwise undefined (bytes have to travel).
   */
  mountSourceFor?(source: object): string | undefined;
}

export interface ReferrerLister {
  referrers(subject: Descriptor, o?: Op & { artifactType?: string }): AsyncIterable<Descriptor[]>;
}

export function hasPredecessors(t: object): t is PredecessorFinder {
  return typeof (t as Partial<PredecessorFinder>).predecessors === 'function';
}

export function hasTags(t: object): t is TagLister {
  return typeof (t as Partial<TagLister>).tags === 'function';
}

export function hasDelete(t: object): t is Deleter {
  return typeof (t as Partial<Deleter>).delete === 'function';
}

export function hasMount(t: object): t is Mounter {
  return typeof (t as Partial<Mounter>).mount === 'function';
}

export function hasReferrers(t: object): t is ReferrerLister {
  return typeof (t as Partial<ReferrerLister>).referrers === 'function';
}

export function hasTagger(t: object): t is Tagger {
  return typeof (t as Partial<Tagger>).tag === 'function';
}

export interface ReferencePusher {
  /** Pushes a manifest and tags it in one step (a registry PUT by tag). */
  pushReference(expected: Descriptor, content: Content, reference: string, o?: Op): Promise<void>;
}

export function hasPushReference(t: object): t is ReferencePusher {
  return typeof (t as Partial<ReferencePusher>).pushReference === 'function';
}

/**
 * Resolves a reference and reads the manifest in one request (a registry's GET by tag), as oras-go's
 * registry.ReferenceFetcher; `accept` replaces the manifest types asked for.
 */
export interface ReferenceFetcher {
  fetchManifest(
    reference: string,
    o?: Op & { accept?: readonly string[] },
  ): Promise<{ descriptor: Descriptor; bytes: Buffer }>;
}

export function hasReferenceFetcher(t: object): t is ReferenceFetcher {
  return typeof (t as Partial<ReferenceFetcher>).fetchManifest === 'function';
}

/**
 * Describes a blob by its digest. A registry answers blobs and manifests at different endpoints,
 * so its `resolve` cannot describe a blob; a store that keeps both in one place resolves either.
 */
export interface BlobResolver {
  resolveBlob(digest: string, o?: Op): Promise<Descriptor>;
}

export function hasBlobResolver(t: object): t is BlobResolver {
  return typeof (t as Partial<BlobResolver>).resolveBlob === 'function';
}

/** Every manifest the store records, tagged or not (an OCI layout's index.json). */
export interface ManifestLister {
  manifests(): Descriptor[];
}

export function hasManifestList(t: object): t is ManifestLister {
  return typeof (t as Partial<ManifestLister>).manifests === 'function';
}
