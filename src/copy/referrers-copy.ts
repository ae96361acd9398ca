import { listReferrers, type ReadOnlyStorage } from '../content/index.js';
import { type Descriptor, isManifestMediaType, LadingError, parseNode } from '../oci/index.js';
import { MaxGraphDepth, MaxReferrers } from './limits.js';

/** What the referrer walk needs of a graph copier. */
export interface ReferrerCopier {
  manifestBytes(desc: Descriptor): Promise<Buffer>;
  copy(desc: Descriptor, bytes?: Buffer): Promise<void>;
}

/**
 * Copies the referrers of `root` and, for an index, of the manifests it lists, then theirs, as
 * `oras cp -r` and `oras backup` do. A store's referrer list is its claim: only a manifest whose
 * own subject is the one asked about is copied. Depth and count are bounded. Returns the
 * referrers copied, in the order they were found.
 */
export async function copyReferrersOf(
  src: ReadOnlyStorage,
  copier: ReferrerCopier,
  root: Descriptor,
  signal?: AbortSignal,
): Promise<Descriptor[]> {
  const rootBytes = isManifestMediaType(root.mediaType) ? await copier.manifestBytes(root) : undefined;
  const subjects = [root, ...(rootBytes ? indexChildren(root, rootBytes) : [])];
  const seen = new Set<string>(subjects.map((s) => s.digest));
  const copied: Descriptor[] = [];
  const queue: [Descriptor, number][] = subjects.map((s) => [s, 0]);
  while (queue.length > 0) {
    const [subject, depth] = queue.shift() as [Descriptor, number];
    const found = await listReferrers(src, subject, signal ? { signal } : {});
    for (const r of found) {
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
      await copier.copy({ mediaType: r.mediaType, digest: r.digest, size: r.size }, bytes);
      copied.push(r);
      queue.push([r, depth + 1]);
    }
  }
  return copied;
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
