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
  /** The type, with its version (`OCIImage/v1`, `LocalBlob/v1`, …). */
  type: string;
  [field: string]: unknown;
}

/** How a label's value is merged when a version is transferred onto one that has the label. */
export interface LabelMerge {
  /** The merge algorithm's name. */
  algorithm?: string;
  /** The algorithm's configuration. */
  config?: unknown;
}

/** A label of a component or element: a name, any JSON value, and whether it is signed. */
export interface Label {
  /** The label's name. */
  name: string;
  /** The label's value: any JSON value. */
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
  /** The hash algorithm (`SHA-256`, `SHA-512`). */
  hashAlgorithm: string;
  /** How the content was normalised before hashing (`genericBlobDigest/v1`, `jsonNormalisation/v4alpha1`, …). */
  normalisationAlgorithm: string;
  /** The hash, lowercase hex. */
  value: string;
}

/** A reference from a resource to the sources it was built from. */
export interface SourceRef {
  /** The identity attributes the source must have. */
  identitySelector?: Record<string, string>;
  /** Labels of the reference. */
  labels?: Label[];
}

/** What identifies an element (resource, source or reference): name, version, extra identity, labels. */
export interface ElementMeta {
  /** The element's name, unique with its extra identity among its kind. */
  name: string;
  /** Always written, even when empty. */
  version: string;
  /** Labels of the element. */
  labels?: Label[];
  /** Identity attributes beside name and version (`architecture`, `os`, …). */
  extraIdentity?: Record<string, string>;
}

/** Whether a resource is part of the component (`local`) or made elsewhere (`external`). */
export type ResourceRelation = 'local' | 'external';

/** A resource of a component version: its identity, type, relation, access and digest. */
export interface Resource extends ElementMeta {
  /** The sources the resource was built from. */
  srcRefs?: SourceRef[];
  /** The resource type (`blob`, `ociImage`, `helmChart`, `plainText`, …). */
  type: string;
  /** Whether the resource is made by the component (`local`) or elsewhere (`external`). */
  relation: ResourceRelation | (string & {});
  /** Where the content is: the access specification, by type (`LocalBlob/v1`, `OCIImage/v1`, …). */
  access: TypedSpec;
  /** The digest a signature covers the content through; absent for an unsigned resource. */
  digest?: DigestSpec;
}

/** A source of a component version: its identity, type and access. */
export interface Source extends ElementMeta {
  /** The source type (`git`, `blob`, …). */
  type: string;
  /** Where the source is: the access specification. */
  access: TypedSpec;
}

/** A reference from a component version to another component version. */
export interface ComponentReference extends ElementMeta {
  /** The referenced component's name (the reference's own `name` names the reference). */
  componentName: string;
  /** Go writes an absent reference digest as three empty strings; see `encodeDescriptorJson`. */
  digest?: DigestSpec;
}

/**
 * The provider. The v2 wire form is a string: the bare name, or — with labels — the JSON text
 * `{"name":…,"labels":[…]}`. The model keeps the parsed form.
 */
export interface Provider {
  /** The provider's name. */
  name: string;
  /** Labels of the provider. */
  labels?: Label[];
}

/** A component version: name, version, provider, repository contexts, resources, sources and references. */
export interface Component {
  /** The component name (`acme.org/app`, a DNS-prefixed path). */
  name: string;
  /** The component version (semantic version). */
  version: string;
  /** Labels of the component. */
  labels?: Label[];
  /** When the version was created (RFC 3339). */
  creationTime?: string;
  /** The repositories the version was stored in (written by OCM v1 transfers; kept as read). */
  repositoryContexts: TypedSpec[];
  /** Who provides the component. */
  provider: Provider;
  /**
   * The resources, the artifacts the version delivers; empty when it has none (which may be `null` on the wire: see
   * `cloneDescriptor`).
   */
  resources: Resource[];
  /** The sources the resources were built from; empty when it has none. */
  sources: Source[];
  /** The other component versions this one references; empty when it has none. */
  componentReferences: ComponentReference[];
}

/** The signature value of a {@link Signature}: algorithm, value, media type and issuer. */
export interface SignatureInfo {
  /** The signature algorithm (`RSASSA-PSS`, `RSASSA-PKCS1-V1_5`). */
  algorithm: string;
  /** The signature, hex or PEM as the media type says. */
  value: string;
  /** The signature's encoding: `application/vnd.ocm.signature.rsa` (hex), `…rsa.pss`, or `application/x-pem-file`. */
  mediaType: string;
  /** Who issued the signing certificate (its distinguished name), when known. */
  issuer?: string;
}

/** A signature's timestamp: a timestamp authority's token and its time. */
export interface SignatureTimestamp {
  /** The timestamp token. */
  value?: string;
  /** When the timestamp was issued. */
  time?: string;
}

/** A signature of a component descriptor: its name, the digest it signs, and the signature itself. */
export interface Signature {
  /** The signature's name (`default`, a key's name). */
  name: string;
  /** The descriptor digest the signature signs (hash and normalisation). */
  digest: DigestSpec;
  /** The signature value. */
  signature: SignatureInfo;
  /** Allowed by the schema but absent from upstream's Go type, so never written. */
  timestamp?: SignatureTimestamp;
}

/** A resource's digest inside a {@link NestedDigest}. */
export interface ResourceDigest {
  /** The resource's name. */
  name: string;
  /** The resource's version. */
  version: string;
  /** The resource's extra identity. */
  extraIdentity?: Record<string, string>;
  /** The resource's digest. */
  digest?: DigestSpec | null;
}

/** The digests of a referenced component version and its resources (`nestedDigests`). */
export interface NestedDigest {
  /** The component's name. */
  name: string;
  /** The component's version. */
  version: string;
  /** The component version's digest. */
  digest?: DigestSpec;
  /** Its resources' digests. */
  resourceDigests?: ResourceDigest[];
}

/** An OCM component descriptor (schema v2): the metadata and the component. */
export interface ComponentDescriptor {
  /** The schema version. */
  meta: {
    /** `v2`. */
    schemaVersion: string;
  };
  /** The component version. */
  component: Component;
  /** The signatures over the descriptor digest. */
  signatures?: Signature[];
  /** Written by V1; upstream v2 keeps it on the wire type but drops it in its runtime model. */
  nestedDigests?: NestedDigest[];
}

/** `LocalBlob/v1` access, the access every input-built resource gets. */
export interface LocalBlobAccess extends TypedSpec {
  /** `LocalBlob/v1`. */
  type: string;
  /** The blob's digest (`sha256:…`) in the component version's repository. */
  localReference: string;
  /** The blob's media type. */
  mediaType: string;
  /** Where the same content is also reachable without the repository (an OCI image's reference). */
  globalAccess?: TypedSpec;
  /** The name the blob had as an OCI artifact (`acme.org/image:1.0`), used when it is uploaded as one. */
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
