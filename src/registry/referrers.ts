import { type Descriptor, encodeIndex, type Index, MediaType, parseDigest, parseNode } from '../oci/index.js';

/**
 * Whether a registry answers the referrers API: `unknown` (probe on first use), `supported`, or
 * `unsupported` (use the referrers tag schema).
 */
export type ReferrersState = 'unknown' | 'supported' | 'unsupported';

/** The tag-schema fallback tag for a subject: `<alg>-<hex>` (distribution-spec "Referrers Tag Schema"). */
export function referrersTag(subject: string): string {
  const { algorithm, hex } = parseDigest(subject);
  return `${algorithm}-${hex}`;
}

/**
 * The descriptor a referrers list carries for a manifest, and the subject it refers to: the
 * artifact type falls back to the config media type for images, and all manifest annotations
 * come along (distribution-spec, Listing Referrers).
 */
export function referrerOf(desc: Descriptor, bytes: Uint8Array): { subject?: Descriptor; entry: Descriptor } {
  const node = parseNode(bytes, desc.mediaType, desc.digest);
  const value = node.kind === 'manifest' ? node.manifest : node.kind === 'index' ? node.index : node.artifact;
  const artifactType = value.artifactType || (node.kind === 'manifest' ? node.manifest.config.mediaType : undefined);
  const entry: Descriptor = { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (artifactType) entry.artifactType = artifactType;
  if (value.annotations && Object.keys(value.annotations).length > 0) entry.annotations = { ...value.annotations };
  return value.subject ? { subject: value.subject, entry } : { entry };
}

export function sameEntry(a: Descriptor, b: Descriptor): boolean {
  return a.digest === b.digest && a.size === b.size && a.mediaType === b.mediaType;
}

export function filterByArtifactType(list: Descriptor[], artifactType: string | undefined): Descriptor[] {
  return artifactType ? list.filter((d) => d.artifactType === artifactType) : list;
}

/** The fallback index holding `manifests`, encoded as oras-go writes it. */
export function encodeReferrersIndex(manifests: Descriptor[]): Uint8Array {
  const index: Index = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests };
  return encodeIndex(index);
}
