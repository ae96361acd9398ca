import { fetchAll, type Op, type ReadOnlyStorage, type Storage } from '../content/index.js';
import {
  Annotation,
  type Descriptor,
  digestBytes,
  EmptyJsonBytes,
  EmptyJsonDescriptor,
  encodeManifest,
  isValidMediaType,
  LadingError,
  type Manifest,
  MaxManifestBytes,
  MediaType,
  parseNode,
  plainDescriptor,
} from '../oci/index.js';
import { configPlatform } from './platform.js';

/** Options of {@link packManifest}: the manifest's kind, artifact type, config, subject and annotations. */
export interface PackOptions {
  /** image-spec 1.1 (default: artifactType, empty config with data) or 1.0 (config media type as the type). */
  imageSpec?: 'v1.0' | 'v1.1';
  /** Required unless a config is given (image-spec 1.1). */
  artifactType?: string;
  /** A config blob already in the store; the empty JSON config otherwise. */
  config?: Descriptor;
  /** The manifest the new one refers to (it becomes one of its referrers). */
  subject?: Descriptor;
  /** Annotations of the manifest (`org.opencontainers.image.created` is added unless given). */
  annotations?: Record<string, string>;
  /** The `org.opencontainers.image.created` value; now, in RFC 3339 seconds, when not given. */
  created?: Date;
}

/**
 * Builds and stores an image-spec 1.1 manifest over layers already in `store`, as oras-go's
 * PackManifest does: empty config with its `data`, an empty layer when there are none, and the
 * created annotation. Returns the manifest's descriptor.
 */
export async function packManifest(
  store: Storage,
  layers: Descriptor[],
  options: PackOptions = {},
): Promise<Descriptor> {
  if (options.imageSpec === 'v1.0') return packManifestV10(store, layers, options);
  // image-spec 1.1: a manifest whose config is the empty JSON must say its type (ORAS's default
  // type also covers an empty config that carries `$config` annotations).
  const emptyConfig = options.config === undefined || options.config.mediaType === MediaType.Empty;
  const artifactType = options.artifactType ?? (emptyConfig ? MediaType.UnknownArtifact : undefined);
  if (artifactType !== undefined && !isValidMediaType(artifactType)) {
    throw new LadingError('INVALID_MEDIA_TYPE', `invalid artifact type "${artifactType}"`);
  }
  const annotations = withCreated(options);
  const config = options.config ?? EmptyJsonDescriptor;
  if (config.digest === EmptyJsonDescriptor.digest || layers.length === 0) {
    if (!(await store.exists(EmptyJsonDescriptor))) await store.push(EmptyJsonDescriptor, EmptyJsonBytes);
  }
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    ...(artifactType ? { artifactType } : {}),
    config,
    layers: layers.length > 0 ? layers : [EmptyJsonDescriptor],
    ...(options.subject ? { subject: options.subject } : {}),
    annotations,
  };
  return storeManifest(store, manifest, artifactType, annotations);
}

function withCreated(options: PackOptions): Record<string, string> {
  const annotations = { ...(options.annotations ?? {}) };
  const created = annotations[Annotation.Created];
  if (created === undefined) {
    annotations[Annotation.Created] = (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  } else if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(created)) {
    throw new LadingError('INVALID_ARGUMENT', `${Annotation.Created}: "${created}" is not an RFC 3339 time`);
  }
  return annotations;
}

/** image-spec 1.0: no artifactType field; the config's media type carries the type. */
async function packManifestV10(store: Storage, layers: Descriptor[], options: PackOptions): Promise<Descriptor> {
  if (options.subject) throw new LadingError('UNSUPPORTED', 'a subject needs image-spec v1.1');
  if (options.artifactType && options.config) {
    throw new LadingError('INVALID_ARGUMENT', 'image-spec v1.0 takes either an artifact type or a config, not both');
  }
  let config = options.config;
  if (!config) {
    const mediaType = options.artifactType ?? MediaType.UnknownConfig;
    if (!isValidMediaType(mediaType))
      throw new LadingError('INVALID_MEDIA_TYPE', `invalid artifact type "${mediaType}"`);
    config = { mediaType, digest: EmptyJsonDescriptor.digest, size: 2 };
    if (!(await store.exists(config))) await store.push(config, EmptyJsonBytes);
  }
  const annotations = withCreated(options);
  const manifest: Manifest = { schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers, annotations };
  // The descriptor names the config's media type as the artifact type, as oras-go's PackManifest
  // returns it (and as the referrers API reports an image-spec 1.0 manifest).
  return storeManifest(store, manifest, config.mediaType, annotations);
}

async function storeManifest(
  store: Storage,
  manifest: Manifest,
  artifactType: string | undefined,
  annotations: Record<string, string>,
): Promise<Descriptor> {
  const bytes = encodeManifest(manifest);
  const desc: Descriptor = {
    mediaType: MediaType.ImageManifest,
    digest: digestBytes(bytes),
    size: bytes.byteLength,
    ...(artifactType ? { artifactType } : {}),
    annotations,
  };
  if (!(await store.exists(desc))) await store.push(desc, bytes);
  return desc;
}

/**
 * The entry of an image index for a manifest whose bytes the caller has read (`oras manifest index
 * create`): its plain descriptor, with the platform its image config declares and its artifact type.
 */
export async function indexEntry(
  src: ReadOnlyStorage,
  desc: Descriptor,
  bytes: Uint8Array,
  o: Op & { where?: string } = {},
): Promise<Descriptor> {
  const where = o.where ?? desc.digest;
  const entry = plainDescriptor(desc);
  const node = parseNode(bytes, desc.mediaType, where);
  if (
    node.kind === 'manifest' &&
    (desc.mediaType === MediaType.ImageManifest || desc.mediaType === MediaType.DockerManifest)
  ) {
    const config = node.manifest.config;
    if (config.size > MaxManifestBytes) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${where}: config of ${config.size} bytes exceeds ${MaxManifestBytes}`,
      );
    }
    const platform = configPlatform(await fetchAll(src, config, o.signal ? { signal: o.signal } : {}));
    // A config that cannot be read as a platform, or names none, leaves the entry without one (as oras).
    if (platform && (platform.os || platform.architecture)) entry.platform = platform;
    if (node.manifest.artifactType) entry.artifactType = node.manifest.artifactType;
  } else if (node.kind === 'index' && node.index.artifactType) {
    entry.artifactType = node.index.artifactType;
  }
  return entry;
}
