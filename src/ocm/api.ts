/**
 * `lading/ocm`: the Open Component Model (OCM v2). Component descriptors (model, Go-exact YAML and
 * JSON codecs, schema validation, identities), building component versions from a
 * `component-constructor.yaml`, component repositories over CTF archives and OCI registries
 * ({@link openComponentRepository}), transfer with or without resources, signing and verification,
 * and the `.ocmconfig` file (credentials and signing keys).
 *
 * @packageDocumentation
 */

export type { PlainHttpPolicy } from './access-transport.js';
export { type ComponentTree, componentVersionTree, findComponentVersions } from './component-tree.js';
export {
  type ConfigCredentialOptions,
  type ConfigDiscoveryOptions,
  type ConfigEntry,
  type ConsumerIdentity,
  type CredentialConsumer,
  credentialProviderFromConfig,
  type DockerConfigRepository,
  type LoadedOcmConfig,
  type LoadOcmConfigOptions,
  loadOcmConfig,
  type OcmConfig,
  parseOcmConfig,
  type SigningKey,
  type SigningSettings,
  signingConfigFromConfig,
  signingKeyFromConfig,
} from './config/index.js';
export { type ComponentResolver, resolversFromConfig } from './config/resolvers.js';
export {
  type AccessDigest,
  type ConstructEvent,
  type ConstructOptions,
  constructComponentVersions,
} from './construct.js';
export type {
  ComponentConstructor,
  ConstructorComponent,
  ConstructorReference,
  ConstructorResource,
  ConstructorSource,
  InputSpec,
  SourceLocation,
} from './constructor/model.js';
export { type ParseConstructorOptions, parseConstructor } from './constructor/parse.js';
export { type DecodeDescriptorOptions, decodeDescriptor } from './descriptor/decode.js';
export { encodeDescriptorJson, encodeDescriptorYaml } from './descriptor/encode.js';
export {
  formatIdentity,
  type IdentifiedElement,
  type Identity,
  identityOf,
  matchesIdentity,
  parseIdentity,
  selectByIdentity,
} from './descriptor/identity.js';
export type {
  Component,
  ComponentDescriptor,
  ComponentReference,
  DigestSpec,
  ElementMeta,
  JsonValue,
  Label,
  LabelMerge,
  LocalBlobAccess,
  NestedDigest,
  Provider,
  Resource,
  ResourceDigest,
  ResourceRelation,
  Signature,
  SignatureInfo,
  SignatureTimestamp,
  Source,
  SourceRef,
  TypedSpec,
} from './descriptor/model.js';
export { cloneDescriptor } from './descriptor/null-lists.js';
export type { SchemaProblem } from './descriptor/schema.js';
export { validateDescriptor } from './descriptor/validate.js';
export { registryDigestProcessor } from './digest-processor.js';
export type { HelmFetchOptions } from './input/helm-remote.js';
export { builtinInputMethods } from './input/registry.js';
export type { InputBlob, InputContext, InputMethod } from './input/types.js';
export { type OpenedRepository, type OpenRepositoryOptions, openComponentRepository } from './open.js';
export {
  type ComponentVersionReference,
  parseComponentReference,
  parseRepository,
  type RepositorySpec,
} from './reference.js';
export { RegistryPool, type RegistryPoolOptions } from './registry-pool.js';
export {
  type ComponentRepositoryOptions,
  ComponentVersionRepository,
  type ConflictPolicy,
  type LocalBlob,
  registryResolver,
  type StoredVersion,
} from './repository/index.js';
export {
  type ComponentVersionLocator,
  type ComponentVersionReader,
  type LocatedVersion,
  ResolvingReader,
} from './resolving-reader.js';
export { type ResourceContent, type ResourceContentOptions, resourceContent } from './resource-content.js';
export {
  type CertificatesInput,
  DefaultSignatureName,
  type DescriptorDigestOptions,
  type HashResult,
  hashComponentVersion,
  type KeyInput,
  loadCertificates,
  loadPrivateKey,
  loadPublicKey,
  type PublicKeyMaterial,
  type ReferenceCheck,
  type ResourceDigestCheck,
  type SignatureEncoding,
  type SignatureSigner,
  type SignComponentVersionOptions,
  type SignResult,
  signComponentVersion,
  type VerifyComponentVersionOptions,
  type VerifyResult,
  type VerifySignatureOptions,
  verifyComponentVersion,
} from './signing/index.js';
export {
  type ArtifactDestination,
  type ImageSource,
  type PlannedComponent,
  type PlannedElement,
  type TransferAction,
  type TransferEvent,
  type TransferOptions,
  type TransferResult,
  transferComponentVersion,
} from './transfer.js';
export { AccessType, InputType } from './types.js';
