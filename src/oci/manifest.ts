import type { Descriptor, Platform } from './descriptor.js';
import { parseDigest } from './digest.js';
import { LadingError } from './errors.js';
import { goStringify } from './go-json.js';
import { isIndexMediaType, isValidMediaType, MediaType } from './media-type.js';
import { valueText } from './value-text.js';

/** An OCI image manifest: a config and layers, with optional artifact type, subject and annotations. */
export interface Manifest {
  /** Always 2. */
  schemaVersion: 2;
  /** The manifest's own media type (written by lading; optional on read). */
  mediaType?: string;
  /** The type of artifact this is (image-spec 1.1). */
  artifactType?: string;
  /** The config blob (the empty JSON `{}` for most artifacts). */
  config: Descriptor;
  /** The layers (the files of an artifact), in order. */
  layers: Descriptor[];
  /** The manifest this one refers to (a signature, an SBOM): it is one of that manifest's referrers. */
  subject?: Descriptor;
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
}

/** An OCI image index: a list of manifests, one per platform or artifact. */
export interface Index {
  /** Always 2. */
  schemaVersion: 2;
  /** The manifest's own media type (written by lading; optional on read). */
  mediaType?: string;
  /** The type of artifact this is (image-spec 1.1). */
  artifactType?: string;
  /** The manifests of the index (one per platform for a multi-platform image). */
  manifests: Descriptor[];
  /** The manifest this one refers to (a signature, an SBOM): it is one of that manifest's referrers. */
  subject?: Descriptor;
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
}

/** The retired image-spec 1.1 rc artifact manifest; read for compatibility, never written. */
export interface ArtifactManifest {
  /** `application/vnd.oci.artifact.manifest.v1+json`. */
  mediaType: string;
  /** The type of artifact this is. */
  artifactType?: string;
  /** The blobs of the artifact. */
  blobs?: Descriptor[];
  /** The manifest this one refers to. */
  subject?: Descriptor;
  /** Arbitrary metadata. */
  annotations?: Record<string, string>;
}

/** Manifests and indexes larger than this are refused, as registries and oras-go do. */
export const MaxManifestBytes = 4 * 1024 * 1024;

function sortedMap(record: Record<string, string> | undefined): Map<string, string> | undefined {
  if (!record || Object.keys(record).length === 0) return undefined;
  return new Map(Object.entries(record));
}

function goPlatform(platform: Platform | undefined): object | undefined {
  if (!platform) return undefined;
  return {
    architecture: platform.architecture,
    os: platform.os,
    'os.version': platform['os.version'] || undefined,
    'os.features': platform['os.features']?.length ? platform['os.features'] : undefined,
    variant: platform.variant || undefined,
    features: platform.features?.length ? platform.features : undefined,
  };
}

/** A descriptor laid out as Go's ocispec.Descriptor marshals it (field order and omitempty). */
export function goDescriptor(desc: Descriptor): object {
  return {
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    urls: desc.urls?.length ? desc.urls : undefined,
    annotations: sortedMap(desc.annotations),
    data: desc.data || undefined,
    platform: goPlatform(desc.platform),
    artifactType: desc.artifactType || undefined,
  };
}

/** Serialises a manifest byte-identically to oras-go / image-spec's Go types. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return Buffer.from(
    goStringify({
      schemaVersion: manifest.schemaVersion,
      mediaType: manifest.mediaType || undefined,
      artifactType: manifest.artifactType || undefined,
      config: goDescriptor(manifest.config),
      layers: manifest.layers.map(goDescriptor),
      subject: manifest.subject ? goDescriptor(manifest.subject) : undefined,
      annotations: sortedMap(manifest.annotations),
    }),
  );
}

export function encodeIndex(index: Index): Uint8Array {
  return Buffer.from(
    goStringify({
      schemaVersion: index.schemaVersion,
      mediaType: index.mediaType || undefined,
      artifactType: index.artifactType || undefined,
      manifests: index.manifests.map(goDescriptor),
      subject: index.subject ? goDescriptor(index.subject) : undefined,
      annotations: sortedMap(index.annotations),
    }),
  );
}

/** Parses JSON content of at most MaxManifestBytes, naming `where` in the error. */
export function parseJson(bytes: Uint8Array, where: string): unknown {
  if (bytes.byteLength > MaxManifestBytes) {
    throw new LadingError(
      'SIZE_EXCEEDS_LIMIT',
      `${where}: ${bytes.byteLength} bytes exceeds the ${MaxManifestBytes}-byte limit`,
    );
  }
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new LadingError('INVALID_MANIFEST', `${where}: not valid JSON (${(error as Error).message})`, {
      cause: error,
    });
  }
}

function fail(where: string, what: string): never {
  throw new LadingError('INVALID_MANIFEST', `${where}: ${what}`);
}

/** Whether `value` is an object whose every value is a string (an annotations map). */
export function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

function checkAnnotations(annotations: unknown, where: string): void {
  if (annotations !== undefined && annotations !== null && !isStringMap(annotations)) {
    fail(where, 'annotations must map strings to strings');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Structural check of one descriptor; the field path goes into the error. */
export function checkDescriptor(value: unknown, where: string): Descriptor {
  if (!isRecord(value)) fail(where, 'descriptor must be an object');
  // Parameters (`text/plain; charset=utf-8`) are outside the image-spec pattern, but upstream OCM
  // writes them on layers and registries store them; accept them here, the schema check is stricter.
  if (typeof value.mediaType !== 'string' || !isValidMediaType(value.mediaType.split(';')[0]?.trim() ?? '')) {
    fail(
      where,
      value.mediaType === undefined
        ? 'mediaType is missing'
        : typeof value.mediaType === 'string'
          ? `mediaType ${valueText(value.mediaType)} is not a valid media type`
          : `mediaType must be a string, got ${valueText(value.mediaType)}`,
    );
  }
  if (typeof value.digest !== 'string') fail(where, 'digest must be a string');
  try {
    parseDigest(value.digest);
  } catch (error) {
    fail(where, (error as Error).message);
  }
  if (typeof value.size !== 'number' || !Number.isSafeInteger(value.size) || value.size < 0) {
    fail(
      where,
      value.size === undefined
        ? 'size is missing'
        : `size must be a non-negative integer, got ${valueText(value.size)}`,
    );
  }
  checkAnnotations(value.annotations, where);
  if (value.data !== undefined) {
    if (
      typeof value.data !== 'string' ||
      !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(value.data)
    ) {
      fail(where, 'data must be standard base64');
    }
  }
  if (value.urls !== undefined && value.urls !== null) {
    if (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === 'string'))
      fail(where, 'urls must be strings');
  }
  return value as unknown as Descriptor;
}

export type ParsedNode =
  | { kind: 'manifest'; manifest: Manifest }
  | { kind: 'index'; index: Index }
  | { kind: 'artifact'; artifact: ArtifactManifest };

/**
 * Parses a manifest or index whose media type the descriptor gave, with a structural check of
 * every field we follow (the graph walk must never trust an unchecked digest).
 */
export function parseNode(bytes: Uint8Array, mediaType: string, where: string): ParsedNode {
  const value = parseJson(bytes, where);
  if (!isRecord(value)) fail(where, 'manifest must be a JSON object');
  if (value.mediaType !== undefined && value.mediaType !== mediaType) {
    fail(where, `mediaType ${valueText(value.mediaType)} does not match the descriptor's "${mediaType}"`);
  }
  if (mediaType === MediaType.ArtifactManifest) {
    const blobs = value.blobs ?? [];
    if (!Array.isArray(blobs)) fail(where, 'blobs must be an array');
    for (const [i, b] of blobs.entries()) checkDescriptor(b, `${where}: blobs[${i}]`);
    if (value.subject !== undefined) checkDescriptor(value.subject, `${where}: subject`);
    checkAnnotations(value.annotations, where);
    return { kind: 'artifact', artifact: value as unknown as ArtifactManifest };
  }
  if (value.schemaVersion !== 2) fail(where, `schemaVersion must be 2, got ${valueText(value.schemaVersion)}`);
  if (value.subject !== undefined && value.subject !== null) checkDescriptor(value.subject, `${where}: subject`);
  checkAnnotations(value.annotations, where);
  // A document that is both an index and an image manifest reads as either, depending on who
  // reads it (CVE-2021-41190): refused, as distribution and containerd refuse it.
  const index = isIndexMediaType(mediaType);
  const has = (field: string) => value[field] !== undefined && value[field] !== null;
  if (index ? has('config') || has('layers') : has('manifests')) {
    fail(
      where,
      index
        ? 'an index must not have config or layers (it would read as an image manifest)'
        : 'an image manifest must not have manifests (it would read as an index)',
    );
  }
  if (index) {
    // oras-go tolerates `manifests: null` (seen in the wild); treat it as empty.
    const manifests = value.manifests ?? [];
    if (!Array.isArray(manifests)) fail(where, 'manifests must be an array');
    for (const [i, m] of manifests.entries()) checkDescriptor(m, `${where}: manifests[${i}]`);
    return { kind: 'index', index: { ...(value as unknown as Index), manifests: manifests as Descriptor[] } };
  }
  checkDescriptor(value.config, `${where}: config`);
  const layers = value.layers ?? [];
  if (!Array.isArray(layers)) fail(where, 'layers must be an array');
  for (const [i, l] of layers.entries()) checkDescriptor(l, `${where}: layers[${i}]`);
  return { kind: 'manifest', manifest: { ...(value as unknown as Manifest), layers: layers as Descriptor[] } };
}

/** The nodes a manifest points at, in the order a copy must push them (subject first, as oras). */
export function nodeSuccessors(node: ParsedNode): Descriptor[] {
  switch (node.kind) {
    case 'manifest': {
      const out: Descriptor[] = [];
      if (node.manifest.subject) out.push(node.manifest.subject);
      out.push(node.manifest.config, ...node.manifest.layers);
      return out;
    }
    case 'index':
      return [...(node.index.subject ? [node.index.subject] : []), ...node.index.manifests];
    case 'artifact':
      return [...(node.artifact.subject ? [node.artifact.subject] : []), ...(node.artifact.blobs ?? [])];
  }
}
