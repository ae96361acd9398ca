import { MediaType } from './media-type.js';

/** An OCI platform: operating system and architecture, with optional variant, OS version and features. */
export interface Platform {
  /** CPU architecture, as Go names it (`amd64`, `arm64`, …). */
  architecture: string;
  /** Operating system, as Go names it (`linux`, `windows`, …). */
  os: string;
  /** Operating system version (Windows builds, for instance). */
  'os.version'?: string;
  /** Required operating system features. */
  'os.features'?: string[];
  /** CPU variant (`v7` of `arm`, `v8` of `arm64`). */
  variant?: string;
  /** Reserved by the image spec; kept as read. */
  features?: string[];
}

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  /** The media type of the content. */
  mediaType: string;
  /** The digest of the content, `<algorithm>:<hex>`. */
  digest: string;
  /** The size of the content in bytes. */
  size: number;
  /** Where the content may also be downloaded from (foreign layers). */
  urls?: string[];
  /** Arbitrary metadata (`org.opencontainers.image.title` names a file, for instance). */
  annotations?: Record<string, string>;
  /** Embedded content, standard base64. */
  data?: string;
  /** The platform of the image a manifest of an index describes. */
  platform?: Platform;
  /** The artifact type of the manifest this descriptor points at (image-spec 1.1). */
  artifactType?: string;
}

/** The empty JSON object `{}` that image-spec 1.1 uses as config and layer of pure artifacts. */
export const EmptyJsonDescriptor: Descriptor = Object.freeze({
  mediaType: MediaType.Empty,
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
  data: 'e30=',
});

/** The bytes of `{}`, the content of {@link EmptyJsonDescriptor}. */
export const EmptyJsonBytes: Uint8Array = new Uint8Array([0x7b, 0x7d]);

/** The fields that identify content: two descriptors with these equal name the same bytes. */
export function sameContent(a: Descriptor, b: Descriptor): boolean {
  return a.digest === b.digest && a.size === b.size && a.mediaType === b.mediaType;
}

/** The descriptor without the informational fields (annotations, platform...). */
export function plainDescriptor(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}
