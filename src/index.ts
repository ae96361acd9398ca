/**
 * lading: OCI artifacts and the Open Component Model, streaming.
 *
 * The root entry holds what every task shares: the {@link Target} interface every store implements
 * (and {@link MemoryStore}, the store in memory), {@link copy} and {@link packManifest}, the one
 * error type {@link LadingError}, digests, descriptors, manifests, media types, references and
 * platforms. The stores and tasks of each concern have their own entry:
 *
 * - `lading/registry`: OCI registries (`Registry`, credentials, TLS, retries);
 * - `lading/layout`: OCI image layouts, directories and tar files;
 * - `lading/ctf`: OCM Common Transport Format archives;
 * - `lading/files`: ORAS-style file artifacts (push and pull files and folders);
 * - `lading/ocm`: component descriptors, construction, repositories, transfer and signing.
 *
 * @packageDocumentation
 */
export type {
  BlobReferenceFetcher,
  BlobResolver,
  BytesFetcher,
  Content,
  Deleter,
  FetchedBlob,
  Fetcher,
  Ingester,
  ManifestLister,
  Mounter,
  Op,
  OpenMode,
  PredecessorFinder,
  Pusher,
  PushOp,
  ReadOnlyStorage,
  ReadOnlyTarget,
  ReferenceFetcher,
  ReferencePusher,
  ReferrerLister,
  Resolver,
  Storage,
  Tagger,
  TagLister,
  Target,
  TargetResolver,
} from './content/index.js';
export {
  type DescribeContentOptions,
  type DescribedContent,
  describeContent,
  hasBlobResolver,
  hasDelete,
  hasManifestList,
  hasMount,
  hasPredecessors,
  hasPushReference,
  hasReferenceFetcher,
  hasReferrers,
  hasTagger,
  hasTags,
  listReferrers,
  MemoryStore,
  successors,
} from './content/index.js';
export {
  type CopyGraphOptions,
  type CopyOptions,
  copy,
  copyGraph,
  type PackOptions,
  packManifest,
  type ReferrerNode,
  type ReferrerTreeOptions,
  referrerTree,
  selectPlatform,
} from './copy/index.js';
export {
  Annotation,
  type ArtifactManifest,
  createDigester,
  type Descriptor,
  type DigestAlgorithm,
  digestBytes,
  EmptyDigest,
  EmptyJsonDescriptor,
  type ErrorCode,
  type ErrorHint,
  formatPlatform,
  formatReference,
  type Index,
  isIndexMediaType,
  isLadingError,
  isManifestMediaType,
  isValidDigest,
  LadingError,
  type LadingErrorOptions,
  type Manifest,
  MediaType,
  type ParsedDigest,
  type Platform,
  parseDigest,
  parsePlatform,
  parseReference,
  platformMatches,
  type Reference,
} from './oci/index.js';
