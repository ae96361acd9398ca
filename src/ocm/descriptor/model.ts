/**
 * The OCM component descriptor, schema v2, as it travels on the wire. Field names are the JSON
 * names. The component's four lists are plain arrays; where upstream writes one of them as `null`
 * (absent) rather than `[]`, the decoder remembers it beside the object (`null-lists.ts`), so that
 * a descriptor read and written again keeps its bytes.
 */

/** Any JSON value, kept as parsed. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A typed object (`{type, ...}`): access specifications and repository contexts, kept raw. */
export interface TypedSpec {
  type: string;
  [field: string]: unknown;
}

export interface LabelMerge {
  algorithm?: string;
  config?: unknown;
}

/** A label of a component or element: a name, any JSON value, and whether it is signed. */
export interface Label {
  name: string;
  value: unknown;
  /** Whether the label takes part in signing (omitted when false). */
  signing?: boolean;
  /** Label schema version `v<N>`; upstream's runtime model drops it on every read. */
  version?: string;
  /** Allowed by the schema but absent from upstream's Go type, so never written. */
  merge?: LabelMerge;
}

/** A digest as OCM writes it: hash algorithm, normalisation algorithm and value. */
export interface DigestSpec {
  hashAlgorithm: string;
  normalisationAlgorithm: string;
  value: string;
}

/** A reference from a resource to the sources it was built from. */
export interface SourceRef {
  identitySelector?: Record<string, string>;
  labels?: Label[];
}

/** What identifies an element (resource, source or reference): name, version, extra identity, labels. */
export interface ElementMeta {
  name: string;
  /** Always written, even when empty. */
  version: string;
  labels?: Label[];
  extraIdentity?: Record<string, string>;
}

/** Whether a resource is part of the component (`local`) or made elsewhere (`external`). */
export type ResourceRelation = 'local' | 'external';

/** A resource of a component version: its identity, type, relation, access and digest. */
export interface Resource extends ElementMeta {
  srcRefs?: SourceRef[];
  type: string;
  relation: ResourceRelation | (string & {});
  access: TypedSpec;
  digest?: DigestSpec;
}

/** A source of a component version: its identity, type and access. */
export interface Source extends ElementMeta {
  type: string;
  access: TypedSpec;
}

/** A reference from a component version to another component version. */
export interface ComponentReference extends ElementMeta {
  componentName: string;
  /** Go writes an absent reference digest as three empty strings; see `encodeDescriptorJson`. */
  digest?: DigestSpec;
}

/**
 * The provider. The v2 wire form is a string: the bare name, or — with labels — the JSON text
 * `{"name":…,"labels":[…]}`. The model keeps the parsed form.
 */
export interface Provider {
  name: string;
  labels?: Label[];
}

/** A component version: name, version, provider, repository contexts, resources, sources and references. */
export interface Component {
  name: string;
  version: string;
  labels?: Label[];
  creationTime?: string;
  repositoryContexts: TypedSpec[];
  provider: Provider;
  resources: Resource[];
  sources: Source[];
  componentReferences: ComponentReference[];
}

/** The signature value of a {@link Signature}: algorithm, value, media type and issuer. */
export interface SignatureInfo {
  algorithm: string;
  value: string;
  mediaType: string;
  issuer?: string;
}

export interface SignatureTimestamp {
  value?: string;
  time?: string;
}

/** A signature of a component descriptor: its name, the digest it signs, and the signature itself. */
export interface Signature {
  name: string;
  digest: DigestSpec;
  signature: SignatureInfo;
  /** Allowed by the schema but absent from upstream's Go type, so never written. */
  timestamp?: SignatureTimestamp;
}

export interface ResourceDigest {
  name: string;
  version: string;
  extraIdentity?: Record<string, string>;
  digest?: DigestSpec | null;
}

export interface NestedDigest {
  name: string;
  version: string;
  digest?: DigestSpec;
  resourceDigests?: ResourceDigest[];
}

/** An OCM component descriptor (schema v2): the metadata and the component. */
export interface ComponentDescriptor {
  meta: { schemaVersion: string };
  component: Component;
  signatures?: Signature[];
  /** Written by V1; upstream v2 keeps it on the wire type but drops it in its runtime model. */
  nestedDigests?: NestedDigest[];
}

/** `LocalBlob/v1` access, the access every input-built resource gets. */
export interface LocalBlobAccess extends TypedSpec {
  localReference: string;
  mediaType: string;
  globalAccess?: TypedSpec;
  referenceName?: string;
}

export const SchemaVersionV2 = 'v2';

/** Digest constants of elements excluded from signing. */
export const NoDigest = 'NO-DIGEST';
export const ExcludeFromSignature = 'EXCLUDE-FROM-SIGNATURE';

export const HashAlgorithm = { SHA256: 'SHA-256', SHA512: 'SHA-512' } as const;
export const NormalisationAlgorithm = {
  GenericBlobDigest: 'genericBlobDigest/v1',
  OciArtifactDigest: 'ociArtifactDigest/v1',
  JsonNormalisationV4alpha1: 'jsonNormalisation/v4alpha1',
} as const;

/** The resource digest upstream records for a blob it stored: SHA-256 over the blob bytes. */
export function genericBlobDigest(digest: string): DigestSpec {
  const hex = digest.startsWith('sha256:') ? digest.slice('sha256:'.length) : digest;
  return {
    hashAlgorithm: HashAlgorithm.SHA256,
    normalisationAlgorithm: NormalisationAlgorithm.GenericBlobDigest,
    value: hex,
  };
}

export function localBlobAccess(options: {
  localReference: string;
  mediaType: string;
  referenceName?: string;
  globalAccess?: TypedSpec;
}): LocalBlobAccess {
  const access: LocalBlobAccess = {
    type: 'LocalBlob/v1',
    localReference: options.localReference,
    mediaType: options.mediaType,
  };
  if (options.globalAccess) access.globalAccess = options.globalAccess;
  if (options.referenceName) access.referenceName = options.referenceName;
  return access;
}
