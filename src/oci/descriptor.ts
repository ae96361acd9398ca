import { MediaType } from './media-type.js';

/** An OCI platform: operating system and architecture, with optional variant, OS version and features. */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  features?: string[];
}

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Embedded content, standard base64. */
  data?: string;
  platform?: Platform;
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
