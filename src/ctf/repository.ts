import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import {
  type BlobFill,
  type BytesFetcher,
  type Content,
  cancellablePush,
  type Deleter,
  destroyContent,
  type Ingester,
  type Op,
  type PredecessorFinder,
  type ReferrerLister,
  readAll,
  type TagLister,
  type Target,
  verifiedCopy,
  verifyBytes,
} from '../content/index.js';
import {
  cancellable,
  checkTagOrDigest,
  type Descriptor,
  isDigestReference,
  isManifestMediaType,
  LadingError,
  MaxManifestBytes,
  MediaType,
  type ParsedNode,
  parseDigest,
  parseNode,
  throwIfAborted,
} from '../oci/index.js';
import {
  type ArtifactIndex,
  type ArtifactMetadata,
  addArtifact,
  removeDigest,
  removeTag,
  repositoryEntries,
} from './artifact-index.js';
import { changeReferrers, encodeReferrersIndex, parseReferrersIndex, referrerOf, referrersTag } from './referrers.js';
import type { CtfStore } from './store.js';

/**
 * The manifest media types upstream records in artifact-index.json when pushed. Other content,
 * the retired OCI artifact manifest included, is a plain blob to a CTF.
 */
const indexedMediaTypes: readonly string[] = [
  MediaType.ImageManifest,
  MediaType.ImageIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
];

export function isIndexedMediaType(mediaType: string): boolean {
  return indexedMediaTypes.includes(mediaType);
}

/**
 * One repository of a CTF (for example `component-descriptors/acme.org/hello`) as a Target, the
 * way upstream's CTF store presents it to oras: blobs are shared by every repository of the
 * archive, manifests belong to a repository through their entries in artifact-index.json. A
 * manifest counts as present here only when this repository has an entry for it, so that a copy
 * into a second repository records its manifests there too.
 */
export class CtfRepository
  implements Target, BytesFetcher, TagLister, PredecessorFinder, ReferrerLister, Deleter, Ingester
{
  /** The repository's name within the archive (`component-descriptors/acme.org/app`). */
  readonly name: string;
  readonly #store: CtfStore;

  /** @internal Made by {@link CtfArchive.repository}. */
  constructor(store: CtfStore, name: string) {
    this.#store = store;
    this.name = name;
  }

  /** Where the repository is, for messages: `<archive>//<name>`. */
  get location(): string {
    return `${this.#store.location}//${this.name}`;
  }

  fetch(desc: Descriptor, o: Op = {}): Promise<Readable> {
    return cancellable(o.signal, () => this.#store.openBlob(desc, o));
  }

  /** The whole blob or manifest, verified, in one read (a BytesFetcher: no stream). */
  fetchBytes(desc: Descriptor, o: Op = {}): Promise<Buffer> {
    return cancellable(o.signal, () => this.#store.readBlob(desc));
  }

  /**
   * Whether the CTF holds `desc`: a blob file of its digest and its size (one of another size is
   * not it, and a copy replaces it), and for a manifest its entry in the index.
   */
  async exists(desc: Descriptor, o: Op = {}): Promise<boolean> {
    throwIfAborted(o.signal);
    if ((await this.#store.blobSize(desc.digest)) !== desc.size) return false;
    if (!isIndexedMediaType(desc.mediaType)) return true;
    return this.#entries(await this.#store.index()).some((a) => a.digest === desc.digest);
  }

  push(expected: Descriptor, content: Content, o: Op = {}): Promise<void> {
    return cancellablePush(content, o, () => this.#push(expected, content, o));
  }

  /**
   * Stores the manifest `expected` (unless this repository has it) and tags it, in one update of
   * artifact-index.json where a push and then a tag would write it twice; the same entries either
   * way. A digest `reference` (it must be the manifest's) only records the manifest.
   */
  pushReference(expected: Descriptor, content: Content, reference: string, o: Op = {}): Promise<void> {
    return cancellablePush(content, o, async () => {
      try {
        this.#checkReference(expected, reference);
      } catch (error) {
        destroyContent(content);
        throw error;
      }
      if (!isIndexedMediaType(expected.mediaType)) {
        await this.#push(expected, content, o).catch((error: unknown) => {
          if (!(error instanceof LadingError && error.code === 'ALREADY_EXISTS')) throw error;
        });
        await this.tag(expected, reference, o);
        return;
      }
      await this.#push(expected, content, o, isDigestReference(reference) ? undefined : reference);
    });
  }

  /** Stores a blob (never a manifest) as `fill` writes it, verified; see {@link BlobFill}. @internal */
  pushFill(expected: Descriptor, fill: BlobFill, o: Op = {}): Promise<void> {
    return cancellable(o.signal, async () => {
      this.#store.assertWritable();
      parseDigest(expected.digest);
      if (isManifestMediaType(expected.mediaType)) {
        throw new LadingError('UNSUPPORTED', `${this.location}: a manifest is pushed whole, not filled`);
      }
      // A file of the digest and another size is not the blob: it is replaced.
      if ((await this.#store.blobSize(expected.digest)) === expected.size) {
        throw new LadingError('ALREADY_EXISTS', `${this.location}: ${expected.digest} already exists`);
      }
      await this.#store.writeBlob(expected, fill, o);
    });
  }

  /**
   * Stores a blob (never a manifest: nothing is indexed) whose digest is not known yet, hashing it
   * as it is written; the descriptor it got.
   */
  async ingest(mediaType: string, content: Readable, o: Op = {}): Promise<Descriptor> {
    if (isIndexedMediaType(mediaType)) {
      destroyContent(content);
      throw new LadingError('UNSUPPORTED', `${this.location}: a manifest (${mediaType}) needs its digest up front`);
    }
    let desc: Descriptor | undefined;
    await cancellablePush(content, o, async () => {
      desc = await this.#store.ingestBlob(mediaType, content, o);
    });
    return desc as Descriptor;
  }

  /** `#push` with `tag`: a manifest already here is tagged, not refused. */
  async #push(expected: Descriptor, content: Content, o: Op, tag?: string): Promise<void> {
    try {
      this.#store.assertWritable();
      parseDigest(expected.digest);
    } catch (error) {
      destroyContent(content);
      throw error;
    }
    const stored = (await this.#store.blobSize(expected.digest)) === expected.size;
    const indexed = isIndexedMediaType(expected.mediaType);
    if (stored && (!indexed || (await this.exists(expected)))) {
      destroyContent(content);
      if (tag !== undefined) return this.tag(expected, tag, o);
      throw new LadingError('ALREADY_EXISTS', `${this.location}: ${expected.digest} already exists`);
    }
    if (!isManifestMediaType(expected.mediaType)) {
      await this.#store.writeBlob(expected, content, o);
      return;
    }
    // Manifests are read whole (they are small), verified and checked before they land, so the
    // CTF never records a manifest that cannot be walked.
    if (expected.size > MaxManifestBytes) {
      destroyContent(content);
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${this.location}: manifest ${expected.digest} of ${expected.size} bytes is over the ${MaxManifestBytes}-byte limit`,
      );
    }
    // A manifest counts once, when it is written (see Op.onProgress): not as it is read, and
    // again as its file is written.
    const quiet: Op = o.signal ? { signal: o.signal } : {};
    const where = `${this.location}: ${expected.digest}`;
    let bytes: Buffer;
    if (content instanceof Uint8Array) {
      // In memory already (as `add cv` and a copy push them): checked in one call, without the
      // stream machinery a copy through a pipeline costs per manifest.
      verifyBytes(expected, content, where);
      bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
    } else {
      const chunks: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      });
      await verifiedCopy(content, expected, sink, { where, op: quiet });
      bytes = Buffer.concat(chunks);
    }
    const node = parseNode(bytes, expected.mediaType, `${this.location}: ${expected.digest}`);
    // A blob already stored (by another repository) has been verified; only the entry is new.
    if (!stored) await this.#store.writeBlob(expected, bytes, quiet);
    if (indexed) await this.#store.update(this.#manifestChange(expected, referrerOf(expected, node), tag));
    o.onProgress?.(bytes.length);
  }

  async resolve(reference: string, o: Op = {}): Promise<Descriptor> {
    throwIfAborted(o.signal);
    this.#store.assertOpen();
    if (!reference) throw new LadingError('INVALID_REFERENCE', `${this.location}: no tag or digest given`);
    checkTagOrDigest(reference, `${this.name}:${reference}`);
    const index = await this.#store.index();
    const entry = this.#entries(index).find((a) => a.tag === reference || a.digest === reference);
    if (entry?.digest) {
      const size = await this.#store.blobSize(entry.digest);
      if (size === undefined) {
        throw new LadingError(
          'NOT_FOUND',
          `${this.location}: ${reference} names ${entry.digest}, which is not in the archive`,
        );
      }
      // OCM v1 wrote no media type; everything it indexed was an image manifest.
      return { mediaType: entry.mediaType || MediaType.ImageManifest, digest: entry.digest, size };
    }
    if (isDigestReference(reference)) {
      const size = await this.#store.blobSize(reference);
      if (size !== undefined) return { mediaType: MediaType.OctetStream, digest: reference, size };
    }
    const shown = isDigestReference(reference) ? `@${reference}` : `:${reference}`;
    throw new LadingError('NOT_FOUND', `${this.#store.location}: ${this.name}${shown} not found`);
  }

  /** Tags `desc` (a digest reference only records an untagged entry), as upstream's Tag. */
  async tag(desc: Descriptor, reference: string, o: Op = {}): Promise<void> {
    throwIfAborted(o.signal);
    this.#checkReference(desc, reference);
    const byDigest = isDigestReference(reference);
    if ((await this.#store.blobSize(desc.digest)) === undefined) {
      throw new LadingError('NOT_FOUND', `${this.location}: ${desc.digest} not found`);
    }
    await this.#store.update((index) =>
      addArtifact(index, {
        repository: this.name,
        ...(byDigest ? {} : { tag: reference }),
        digest: desc.digest,
        mediaType: desc.mediaType,
      }),
    );
  }

  #checkReference(desc: Descriptor, reference: string): void {
    this.#store.assertWritable();
    if (!reference) throw new LadingError('INVALID_REFERENCE', `${this.location}: empty tag`);
    checkTagOrDigest(reference, `${this.name}:${reference}`);
    if (isDigestReference(reference) && reference !== desc.digest) {
      throw new LadingError('INVALID_REFERENCE', `${reference}: a digest reference must match ${desc.digest}`);
    }
  }

  /** Removes a tag's entry; the manifest and its blobs stay (upstream's Untag). */
  async untag(reference: string): Promise<void> {
    this.#store.assertWritable();
    // Written at once: a change that may fail is not one to apply again later.
    await this.#store.update(
      (index) => {
        const next = removeTag(index, this.name, reference);
        if (!next) throw new LadingError('NOT_FOUND', `${this.location}: tag ${reference} not found`);
        return next;
      },
      { now: true },
    );
  }

  /**
   * Deletes a manifest from this repository (its entries, and its referrer listing), and its blob
   * once no repository has an entry for it; or deletes a plain blob. As in a registry, deleting a
   * blob that manifests still use breaks them: that is the caller's decision.
   */
  async delete(desc: Descriptor): Promise<void> {
    this.#store.assertWritable();
    const size = await this.#store.blobSize(desc.digest);
    if (size === undefined) throw new LadingError('NOT_FOUND', `${this.location}: ${desc.digest} not found`);
    let node: ParsedNode | undefined;
    if (isIndexedMediaType(desc.mediaType) && size <= MaxManifestBytes) {
      const bytes = await readAll(
        await this.#store.openBlob({ ...desc, size }),
        MaxManifestBytes,
        `${this.location}@${desc.digest}`,
      );
      node = parseNode(bytes, desc.mediaType, `${this.location}: ${desc.digest}`);
    }
    // Written at once: whether the blob goes depends on what the file holds now.
    const index = await this.#store.update(
      async (current) => {
        let next = removeDigest(current, this.name, desc.digest);
        const link = node && referrerOf({ ...desc, size }, node);
        if (link) next = await this.#changeReferrers(next, link.subject, { remove: link.referrer });
        return next;
      },
      { now: true },
    );
    if (!(index.artifacts ?? []).some((a) => a.digest === desc.digest)) await this.#store.removeBlob(desc.digest);
  }

  async *tags(o: Op & { last?: string } = {}): AsyncIterable<string[]> {
    throwIfAborted(o.signal);
    const tags = new Set<string>();
    for (const a of this.#entries(await this.#store.index())) if (a.tag) tags.add(a.tag);
    const all = [...tags].sort();
    yield o.last ? all.filter((t) => t > (o.last as string)) : all;
  }

  /** This repository's entries of artifact-index.json, in file order. */
  async artifacts(): Promise<ArtifactMetadata[]> {
    return this.#entries(await this.#store.index()).map((a) => ({ ...a }));
  }

  async *referrers(subject: Descriptor, o: Op & { artifactType?: string } = {}): AsyncIterable<Descriptor[]> {
    throwIfAborted(o.signal);
    const list = await this.#referrersOf(await this.#store.index(), subject.digest);
    yield o.artifactType ? list.filter((r) => r.artifactType === o.artifactType) : list;
  }

  /** The referrers of `node`: upstream's CTF answers predecessors from its referrers index. */
  async predecessors(node: Descriptor): Promise<Descriptor[]> {
    return this.#referrersOf(await this.#store.index(), node.digest);
  }

  #entries(index: ArtifactIndex): readonly ArtifactMetadata[] {
    return repositoryEntries(index, this.name);
  }

  /**
   * The index change that records a manifest (and its tag, and its place in its subject's referrers).
   * Made here, apart from the push that reads the manifest: a change may be kept until the index is
   * written (see CtfStore.update), and should hold on to its few fields, not to the manifest's bytes.
   */
  #manifestChange(
    desc: Descriptor,
    link: { subject: Descriptor; referrer: Descriptor } | undefined,
    tag: string | undefined,
  ): (index: ArtifactIndex) => Promise<ArtifactIndex> {
    const entry = { repository: this.name, digest: desc.digest, mediaType: desc.mediaType };
    return async (index) => {
      let next = addArtifact(index, entry);
      if (link) next = await this.#changeReferrers(next, link.subject, { add: link.referrer });
      return tag === undefined ? next : addArtifact(next, { ...entry, tag });
    };
  }

  async #referrersOf(index: ArtifactIndex, subject: string): Promise<Descriptor[]> {
    const tag = referrersTag(subject);
    const entry = this.#entries(index).find((a) => a.tag === tag);
    if (!entry?.digest) return [];
    const size = await this.#store.blobSize(entry.digest);
    // A dangling entry is an empty list; the next push repairs it, as upstream does.
    if (size === undefined) return [];
    const desc: Descriptor = { mediaType: MediaType.ImageIndex, digest: entry.digest, size };
    const bytes = await readAll(await this.#store.openBlob(desc), MaxManifestBytes, `referrers index ${tag}`);
    return parseReferrersIndex(bytes, `${this.location}: referrers index ${tag}`);
  }

  /** Rewrites the subject's referrers index (blob, untagged entry, moved tag) when its list changes. */
  async #changeReferrers(
    index: ArtifactIndex,
    subject: Descriptor,
    change: { add?: Descriptor; remove?: Descriptor },
  ): Promise<ArtifactIndex> {
    const { list, changed } = changeReferrers(await this.#referrersOf(index, subject.digest), change);
    if (!changed) return index;
    const tag = referrersTag(subject.digest);
    if (list.length === 0) return removeTag(index, this.name, tag) ?? index;
    const { desc, bytes } = encodeReferrersIndex(list);
    if ((await this.#store.blobSize(desc.digest)) === undefined) await this.#store.writeBlob(desc, bytes);
    const meta = { repository: this.name, digest: desc.digest, mediaType: desc.mediaType };
    return addArtifact(addArtifact(index, meta), { ...meta, tag });
  }
}
