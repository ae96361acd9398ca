import { listReferrers, type ReadOnlyStorage } from '../content/index.js';
import { type Descriptor, isManifestMediaType, LadingError, parseNode } from '../oci/index.js';
import { MaxGraphDepth, MaxReferrers } from './limits.js';

/** What the referrer walk needs of a graph copier. */
export interface ReferrerCopier {
  manifestBytes(desc: Descriptor): Promise<Buffer>;
  copy(desc: Descriptor, bytes?: Buffer): Promise<void>;
}

/** A referrer found in the source, with the manifest bytes it was checked on. */
export interface FoundReferrer {
  desc: Descriptor;
  bytes: Buffer;
}

/**
 * Finds the referrers of `root` and, for an index, of the manifests it lists, then theirs, as
 * `oras cp -r` and `oras backup` copy them; reads the source only. A store's referrer list is its
 * claim: only a manifest whose own subject is the one asked about is kept. Depth and count are
 * bounded. Returns them in the order they were found, each after its subject.
 */
export async function findReferrers(
  src: ReadOnlyStorage,
  copier: Pick<ReferrerCopier, 'manifestBytes'>,
  root: Descriptor,
  signal?: AbortSignal,
): Promise<FoundReferrer[]> {
  const rootBytes = isManifestMediaType(root.mediaType) ? await copier.manifestBytes(root) : undefined;
  const subjects = [root, ...(rootBytes ? indexChildren(root, rootBytes) : [])];
  const seen = new Set<string>(subjects.map((s) => s.digest));
  const found: FoundReferrer[] = [];
  const queue: [Descriptor, number][] = subjects.map((s) => [s, 0]);
  while (queue.length > 0) {
    const [subject, depth] = queue.shift() as [Descriptor, number];
    const listed = await listReferrers(src, subject, signal ? { signal } : {});
    for (const r of listed) {
      if (seen.has(r.digest)) continue;
      if (depth >= MaxGraphDepth) {
        throw new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `referrers of ${root.digest} nest deeper than ${MaxGraphDepth} levels; not copied`,
        );
      }
      if (seen.size > MaxReferrers) {
        throw new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `more than ${MaxReferrers} referrers of ${root.digest}; not copied`,
        );
      }
      seen.add(r.digest);
      const bytes = isManifestMediaType(r.mediaType) ? await copier.manifestBytes(r) : undefined;
      if (!bytes || subjectOf(bytes, r) !== subject.digest) continue;
      found.push({ desc: { mediaType: r.mediaType, digest: r.digest, size: r.size }, bytes });
      queue.push([r, depth + 1]);
    }
  }
  return found;
}

/** Copies referrers {@link findReferrers} found, each after its subject. Returns their descriptors. */
export async function copyFoundReferrers(copier: ReferrerCopier, found: FoundReferrer[]): Promise<Descriptor[]> {
  for (const r of found) await copier.copy(r.desc, r.bytes);
  return found.map((r) => r.desc);
}

/**
 * Finds the referrers of `root` ({@link findReferrers}), all of them before the first is copied,
 * so that a broken one in the source stops the copy before it writes any. Returns those copied.
 */
export async function copyReferrersOf(
  src: ReadOnlyStorage,
  copier: ReferrerCopier,
  root: Descriptor,
  signal?: AbortSignal,
): Promise<Descriptor[]> {
  return copyFoundReferrers(copier, await findReferrers(src, copier, root, signal));
}

/** The manifests an index lists; their referrers travel with the index. */
function indexChildren(desc: Descriptor, bytes: Buffer): Descriptor[] {
  const node = parseNode(bytes, desc.mediaType, desc.digest);
  return node.kind === 'index' ? node.index.manifests.filter((m) => isManifestMediaType(m.mediaType)) : [];
}

function subjectOf(bytes: Buffer, desc: Descriptor): string | undefined {
  const node = parseNode(bytes, desc.mediaType, desc.digest);
  const value = node.kind === 'manifest' ? node.manifest : node.kind === 'index' ? node.index : node.artifact;
  return value.subject?.digest;
}
