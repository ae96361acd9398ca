import type { Storage } from '../content/index.js';
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
  MediaType,
} from '../oci/index.js';

export interface PackOptions {
  /** Required unless a config is given (image-spec 1.1). */
  artifactType?: string;
  /** A config blob already in the store; the empty JSON config otherwise. */
  config?: Descriptor;
  subject?: Descriptor;
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
  const artifactType = options.artifactType ?? (options.config ? undefined : MediaType.UnknownArtifact);
  if (artifactType !== undefined && !isValidMediaType(artifactType)) {
    throw new LadingError('INVALID_MEDIA_TYPE', `invalid artifact type "${artifactType}"`);
  }
  const annotations = { ...(options.annotations ?? {}) };
  const created = annotations[Annotation.Created];
  if (created === undefined) {
    annotations[Annotation.Created] = (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  } else if (Number.isNaN(Date.parse(created))) {
    throw new LadingError('INVALID_ARGUMENT', `${Annotation.Created}: "${created}" is not an RFC 3339 time`);
  }
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
