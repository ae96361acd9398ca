import { type Descriptor, isManifestMediaType, parseNode } from '../oci/index.js';
import { hasPredecessors, hasReferrers, type Op, type ReadOnlyStorage } from './storage.js';
import { fetchAll } from './verify.js';

/**
 * The manifests whose `subject` is `subject`. Stores with a referrers capability answer directly;
 * otherwise predecessors are filtered by subject, since an index containing a manifest is its
 * predecessor but not its referrer.
 */
export async function listReferrers(
  store: ReadOnlyStorage,
  subject: Descriptor,
  o: Op & { artifactType?: string } = {},
): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  if (hasReferrers(store)) {
    for await (const page of store.referrers(subject, o)) out.push(...page);
    return out;
  }
  if (!hasPredecessors(store)) return out;
  for (const pred of await store.predecessors(subject, o)) {
    if (!isManifestMediaType(pred.mediaType)) continue;
    const node = parseNode(await fetchAll(store, pred, o), pred.mediaType, pred.digest);
    const value = node.kind === 'manifest' ? node.manifest : node.kind === 'index' ? node.index : node.artifact;
    if (value.subject?.digest !== subject.digest) continue;
    const artifactType = value.artifactType ?? (node.kind === 'manifest' ? node.manifest.config.mediaType : undefined);
    if (o.artifactType && artifactType !== o.artifactType) continue;
    const desc: Descriptor = { mediaType: pred.mediaType, digest: pred.digest, size: pred.size };
    if (artifactType) desc.artifactType = artifactType;
    if (value.annotations && Object.keys(value.annotations).length > 0) desc.annotations = value.annotations;
    out.push(desc);
  }
  return out;
}
