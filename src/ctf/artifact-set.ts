import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobFolder, DirFiles, sweepStaleTemps, tempPathFor } from '../archive/index.js';
import { type Content, type Op, type ReadOnlyTarget, type TagLister, toReadable } from '../content/index.js';
import { makeDirectory } from '../content/make-directory.js';
import {
  Annotation,
  checkTagOrDigest,
  type Descriptor,
  type Index,
  isDigestReference,
  LadingError,
  MaxManifestBytes,
  MediaType,
  parseNode,
  plainDescriptor,
} from '../oci/index.js';
import { extractionLimit, extractTarStream } from './extract.js';
import { BlobsDirectoryName, blobPlace, digestFromBlobFileName } from './format.js';

/** The local-blob media type OCM v1 gave a resource copied by value: an "artifact set". */
export const ArtifactSetMediaType = 'application/vnd.oci.image.manifest.v1+tar+gzip';

/**
 * The local-blob media types OCM v1 gave an OCI artifact copied by value: an "artifact set", a
 * (gzipped) tar of an image index and its blobs. Its digest is the artifact's (ociArtifactDigest/v1,
 * the main manifest's), not the tar's.
 */
export function isArtifactSetMediaType(mediaType: string | undefined): boolean {
  return (
    mediaType === ArtifactSetMediaType ||
    mediaType === 'application/vnd.oci.image.index.v1+tar+gzip' ||
    mediaType === 'application/vnd.oci.image.manifest.v1+tar' ||
    mediaType === 'application/vnd.oci.image.index.v1+tar'
  );
}

export const ArtifactSetAnnotation = {
  /** On a manifest entry: its tags, comma-separated (ref.name holds only the resource version). */
  Tags: 'software.ocm/tags',
  /** On the index: the digest of the artifact the set is about. */
  Main: 'software.ocm/main',
} as const;

/** OCM v1 wrote `index.json` (its OCI flavour); the OCM spec names `artifact-descriptor.json`. */
const indexFiles = ['index.json', 'artifact-descriptor.json'] as const;

/** Options of {@link readArtifactSet}. */
export interface ReadArtifactSetOptions {
  /** Names the blob in errors (default "artifact set"). */
  where?: string;
  /** Where the set is unpacked (default os.tmpdir()). */
  tempDir?: string;
  /** Most bytes the set may expand to (default: extractionLimit of the bytes read so far). */
  maxExtractedBytes?: number;
  /** Cancels the read (rejects with ABORTED). */
  signal?: AbortSignal;
}

function selectArtifactSetEntry(path: string): string | undefined {
  if ((indexFiles as readonly string[]).includes(path) || path === 'oci-layout') return path;
  const slash = path.indexOf('/');
  if (path.slice(0, slash) === BlobsDirectoryName && digestFromBlobFileName(path.slice(slash + 1)) !== undefined) {
    return path;
  }
  return undefined;
}

/**
 * An OCM v1 artifact set, read-only: an OCI image index plus blobs stored flat as
 * `blobs/<alg>.<hex>` (not an OCI layout's `blobs/<alg>/<hex>`). Tags come from the
 * `software.ocm/tags` annotation as well as ref.name; `main` is the manifest the set is about.
 * The set lives in a private folder until `close()`.
 */
export class ArtifactSet implements ReadOnlyTarget, TagLister {
  /** The set's image index, as read. */
  readonly index: Index;
  /** The manifest named by `software.ocm/main`, or the only one. */
  readonly main: Descriptor | undefined;
  readonly #blobs: BlobFolder;
  readonly #where: string;
  readonly #dir: string;
  #closed = false;

  /** @internal An artifact set unpacked into `dir`; made by {@link readArtifactSet}. */
  constructor(dir: string, index: Index, where: string) {
    this.#dir = dir;
    this.#blobs = new BlobFolder({
      location: where,
      files: new DirFiles(dir),
      place: blobPlace,
      missing: (digest) => `blob ${digest}`,
    });
    this.#where = where;
    this.index = index;
    const mainDigest = index.annotations?.[ArtifactSetAnnotation.Main];
    this.main = mainDigest
      ? index.manifests.find((m) => m.digest === mainDigest)
      : index.manifests.length === 1
        ? index.manifests[0]
        : undefined;
  }

  async fetch(desc: Descriptor, o: Op = {}): Promise<Readable> {
    this.#assertOpen();
    return this.#blobs.open(desc, o);
  }

  async exists(desc: Descriptor): Promise<boolean> {
    this.#assertOpen();
    return (await this.#blobs.size(desc.digest)) !== undefined;
  }

  async resolve(reference: string): Promise<Descriptor> {
    this.#assertOpen();
    checkTagOrDigest(reference);
    const byDigest = isDigestReference(reference);
    const found = this.index.manifests.find((m) => (byDigest ? m.digest === reference : tagsOf(m).includes(reference)));
    if (found) return plainDescriptor(found);
    if (byDigest) {
      const size = await this.#blobs.size(reference);
      if (size !== undefined) return { mediaType: MediaType.OctetStream, digest: reference, size };
    }
    throw new LadingError('NOT_FOUND', `${this.#where}: ${reference} not found`);
  }

  async *tags(): AsyncIterable<string[]> {
    yield [...new Set(this.index.manifests.flatMap(tagsOf))].sort();
  }

  /** Digests of every blob in the set. */
  async blobs(): Promise<string[]> {
    this.#assertOpen();
    const names = await readdir(join(this.#dir, BlobsDirectoryName)).catch(() => [] as string[]);
    return names
      .map(digestFromBlobFileName)
      .filter((d): d is string => d !== undefined)
      .sort();
  }

  /** Removes the private folder the set was unpacked into; the set cannot be read afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** {@link ArtifactSet.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new LadingError('INVALID_ARGUMENT', `${this.#where}: the artifact set is closed`);
  }
}

function tagsOf(desc: Descriptor): string[] {
  const out: string[] = [];
  const name = desc.annotations?.[Annotation.RefName];
  if (name) out.push(name);
  for (const t of desc.annotations?.[ArtifactSetAnnotation.Tags]?.split(',') ?? []) {
    const tag = t.trim();
    if (tag && !out.includes(tag)) out.push(tag);
  }
  return out;
}

/** Splits the first chunk off a stream to look at it, and gives back a stream of all of it. */
async function sniff(source: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const iterator = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head: Buffer = first.done ? Buffer.alloc(0) : first.value;
  async function* all(): AsyncGenerator<Buffer> {
    try {
      if (!first.done) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      source.destroy();
    }
  }
  const stream = Readable.from(all(), { objectMode: false });
  stream.on('close', () => source.destroy());
  return { head, stream };
}

/**
 * Reads an OCM v1 artifact set blob (media type ArtifactSetMediaType, found as a local blob in
 * CTFs that v1 wrote with resources copied by value) into a read-only Target. gzip is detected by
 * its magic number, as upstream does; a plain tar is accepted too. The content is unpacked as a
 * stream with the same checks as a CTF archive (no escaping paths, no links, bounded expansion).
 */
export async function readArtifactSet(content: Content, options: ReadArtifactSetOptions = {}): Promise<ArtifactSet> {
  const where = options.where ?? 'artifact set';
  const parent = options.tempDir ?? tmpdir();
  await sweepStaleTemps(parent, 'artifact-set');
  const dir = tempPathFor(join(parent, 'artifact-set'));
  await makeDirectory(dir);
  try {
    const { head, stream } = await sniff(toReadable(content));
    await extractTarStream(stream, dir, {
      where,
      gzip: head[0] === 0x1f && head[1] === 0x8b,
      select: selectArtifactSetEntry,
      maxBytes: options.maxExtractedBytes ?? extractionLimit,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const files = new DirFiles(dir);
    let index: Index | undefined;
    for (const name of indexFiles) {
      const bytes = await files.readSmall(name, MaxManifestBytes);
      if (!bytes) continue;
      const node = parseNode(bytes, MediaType.ImageIndex, `${where}: ${name}`);
      if (node.kind === 'index') index = node.index;
      break;
    }
    if (!index) {
      throw new LadingError('INVALID_ARCHIVE', `${where}: not an artifact set (no ${indexFiles.join(' or ')})`);
    }
    return new ArtifactSet(dir, index, where);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
