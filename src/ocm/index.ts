// Component descriptor model and codecs

// Repositories, construction, references
export * from './component-tree.js';
// OCM configuration (.ocmconfig): discovery, credentials, signing keys
export * from './config/index.js';
export * from './construct.js';
export { type AssembleOptions, assembleDescriptor, type InputResult } from './constructor/assemble.js';
export { envLookup, expandEnv } from './constructor/env-expand.js';
// Component constructor
export type * from './constructor/model.js';
export { formatLocation } from './constructor/model.js';
export { type ParseConstructorOptions, parseConstructor } from './constructor/parse.js';
export { runElementInput } from './constructor/run-input.js';
export { type DecodeDescriptorOptions, decodeDescriptor } from './descriptor/decode.js';
export {
  encodeDescriptor,
  encodeDescriptorJson,
  encodeDescriptorTar,
  encodeDescriptorYaml,
} from './descriptor/encode.js';
export { goYaml } from './descriptor/go-yaml.js';
export {
  assertUniqueIdentities,
  canonicalIdentity,
  type DuplicateIdentity,
  findDuplicateIdentities,
  formatIdentity,
  type IdentifiedElement,
  type Identity,
  identityOf,
  matchesIdentity,
  parseIdentity,
  selectByIdentity,
} from './descriptor/identity.js';
export {
  type DescriptorEncoding,
  DescriptorMediaType,
  DescriptorTarEntryName,
  descriptorEncoding,
} from './descriptor/media-types.js';
export type * from './descriptor/model.js';
export {
  ExcludeFromSignature,
  genericBlobDigest,
  HashAlgorithm,
  localBlobAccess,
  NoDigest,
  NormalisationAlgorithm,
  SchemaVersionV2,
} from './descriptor/model.js';
export { formatProvider, parseProvider } from './descriptor/provider.js';
export { formatPath, type SchemaProblem } from './descriptor/schema.js';
export { type SortedJsonOptions, sortedJson } from './descriptor/sorted-json.js';
export {
  assertValidDescriptor,
  formatProblems,
  validateDescriptor,
  validateDescriptorDocument,
} from './descriptor/validate.js';
export { isTaggableVersion, tagToVersion, versionToTag } from './descriptor/version-tag.js';
export { fromWire, toWire } from './descriptor/wire.js';
export * from './digest-processor.js';
// Helm charts: remote Helm/v1 inputs and the Helm/v1 access
export {
  fetchHelmAccessChart,
  type HelmAccess,
  type HelmAccessArtifact,
  helmAccessArtifact,
  helmAccessDigest,
  helmAccessLocation,
  helmChartArtifact,
  verifyHelmDigest,
} from './helm-access.js';
export * from './image-access.js';
export { dirInput } from './input/dir.js';
export { type DirTarOptions, dirTar } from './input/dir-tar.js';
export { fileInput } from './input/file.js';
export { goPathMatch } from './input/glob-match.js';
export { createHelmInput, type HelmInputOptions, HelmMediaType, helmArtifactBlobs, helmInput } from './input/helm.js';
export {
  MaxChartBytes,
  type PackagedChart,
  packageChartDirectory,
  parsePackagedChart,
  readPackagedChart,
} from './input/helm-chart.js';
export {
  type ChartLocation,
  fetchRemoteChart,
  type HelmFetchOptions,
  parseHelmRepository,
  type RemoteChart,
  resolveChartDigest,
  versionToOciTag,
} from './input/helm-remote.js';
export { OciLayoutTarGzipMediaType, OciLayoutTarMediaType } from './input/oci-layout-tar.js';
export { builtinInputMethods, runInput } from './input/registry.js';
export { sniffMediaType } from './input/sniff.js';
export { measureStream } from './input/spool.js';
// Input methods
export type { InputBlob, InputContext, InputMethod } from './input/types.js';
export { utf8Input } from './input/utf8.js';
export { resolveInWorkingDirectory } from './input/working-dir.js';
export * from './open.js';
export * from './reference.js';
export * from './registry-pool.js';
export * from './repository/index.js';
export * from './resolving-reader.js';
export * from './resource-content.js';
export * from './semver.js';
export * from './signing/index.js';
export * from './stored-reference-digest.js';
export * from './transfer.js';
export * from './transfer-spec.js';
// Type names
export {
  AccessType,
  canonicalAccessType,
  canonicalInputType,
  canonicalRepositoryType,
  InputType,
  isAccessType,
  isInputType,
  isKnownAccessType,
  isKnownInputType,
  parseTypeName,
  RepositoryType,
  type TypeName,
  typeSpellings,
} from './types.js';
