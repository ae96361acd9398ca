import {
  type Descriptor,
  digestBytes,
  encodeIndex,
  MediaType,
  type ParsedNode,
  parseDigest,
  parseNode,
} from '../oci/index.js';

/**
 * A CTF has no referrers API, so upstream keeps referrers the way distribution-spec asks of
 * registries without one: an image index of the referrers, tagged `<alg>-<hex>` of the subject.
 * We keep the same index so that upstream sees the referrers we write and the other way round.
 */
export function referrersTag(subject: string): string {
  const { algorithm, hex } = parseDigest(subject);
  return `${algorithm}-${hex}`;
}

/**
 * The subject of a pushed manifest and the descriptor it is listed under in the subject's
 * referrers index (artifactType falling back to the config media type, the manifest's
 * annotations). Only OCI image manifests and indexes are indexed, as upstream does.
 */
export function referrerOf(
  desc: Descriptor,
  node: ParsedNode,
): { subject: Descriptor; referrer: Descriptor } | undefined {
  if (desc.mediaType !== MediaType.ImageManifest && desc.mediaType !== MediaType.ImageIndex) return undefined;
  const value = node.kind === 'manifest' ? node.manifest : node.kind === 'index' ? node.index : undefined;
  if (!value?.subject) return undefined;
  const referrer: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  const artifactType = value.artifactType || (node.kind === 'manifest' ? node.manifest.config.mediaType : '');
  if (value.annotations && Object.keys(value.annotations).length > 0) referrer.annotations = value.annotations;
  if (artifactType) referrer.artifactType = artifactType;
  return { subject: value.subject, referrer };
}

const sameKey = (a: Descriptor, b: Descriptor) =>
  a.mediaType === b.mediaType && a.digest === b.digest && a.size === b.size;

/** oras' applyReferrerChanges: drop empty and duplicate entries, add or remove one referrer. */
export function changeReferrers(
  list: readonly Descriptor[],
  change: { add?: Descriptor; remove?: Descriptor },
): { list: Descriptor[]; changed: boolean } {
  const out: Descriptor[] = [];
  let changed = false;
  for (const r of list) {
    if (!r.digest || out.some((o) => sameKey(o, r)) || (change.remove && sameKey(r, change.remove))) {
      changed = true;
      continue;
    }
    out.push(r);
  }
  if (change.add && !out.some((o) => sameKey(o, change.add as Descriptor))) {
    out.push(change.add);
    changed = true;
  }
  return { list: out, changed };
}

/** The referrers index as oras and upstream encode it (Go field order, `manifests` never null). */
export function encodeReferrersIndex(list: Descriptor[]): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(encodeIndex({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: list }));
  return { desc: { mediaType: MediaType.ImageIndex, digest: digestBytes(bytes), size: bytes.length }, bytes };
}

export function parseReferrersIndex(bytes: Uint8Array, where: string): Descriptor[] {
  const node = parseNode(bytes, MediaType.ImageIndex, where);
  return node.kind === 'index' ? node.index.manifests : [];
}
