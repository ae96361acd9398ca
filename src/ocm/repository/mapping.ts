import { type Descriptor, goStringify, LadingError, MediaType, type Platform } from '../../oci/index.js';
import type { Identity } from '../descriptor/identity.js';

/** How a component version is laid out in an OCI store (ocm-spec oci.md, upstream bindings/go/oci). */
export const OcmMediaType = {
  ComponentConfig: 'application/vnd.ocm.software.component.config.v1+json',
  LegacyComponentConfig: 'application/vnd.gardener.cloud.cnudie.component.config.v1+json',
  LegacyComponentConfigV2: 'application/vnd.oci.gardener.cloud.cnudie.component-descriptor-metadata.config.v2+json',
  ArtifactType: 'application/vnd.ocm.software.component-descriptor.v2',
  OciLayoutTar: 'application/vnd.ocm.software.oci.layout.v1+tar',
  OciLayoutTarGzip: 'application/vnd.ocm.software.oci.layout.v1+tar+gzip',
} as const;

export const OcmAnnotation = {
  ComponentVersion: 'software.ocm.componentversion',
  Creator: 'software.ocm.creator',
  Artifact: 'software.ocm.artifact',
} as const;

export const DefaultCreator = 'lading';
export const DescriptorRepositoryPrefix = 'component-descriptors';

export function isComponentConfigType(mediaType: string): boolean {
  return (
    mediaType === OcmMediaType.ComponentConfig ||
    mediaType === OcmMediaType.LegacyComponentConfig ||
    mediaType === OcmMediaType.LegacyComponentConfigV2
  );
}

export function isOciLayoutBlob(mediaType: string): boolean {
  return mediaType === OcmMediaType.OciLayoutTar || mediaType === OcmMediaType.OciLayoutTarGzip;
}

/**
 * Refuses an image reference (`host/path[:tag][@digest]`, a scheme allowed) whose repository lies
 * among the component versions of an OCM repository (a path component `component-descriptors`):
 * a standalone artifact copied there by value, named by a descriptor, could retag another
 * component's version.
 */
export function refuseComponentStore(imageReference: string, where: string): void {
  const withoutDigest = imageReference.replace(/^[a-z]+:\/\//i, '').split('@')[0] as string;
  const slash = withoutDigest.indexOf('/');
  const path = slash < 0 ? '' : withoutDigest.slice(slash + 1);
  const segments = path.split('/');
  // A tag follows the last path component.
  segments[segments.length - 1] = (segments.at(-1) as string).split(':')[0] as string;
  if (segments.includes(DescriptorRepositoryPrefix)) {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `${where}: ${path} lies where an OCM repository keeps component versions (${DescriptorRepositoryPrefix}/); an artifact copied by value may not go there`,
    );
  }
}

/** The OCI repository (below the OCM repository's base) that holds a component's versions. */
export function componentRepository(component: string): string {
  return `${DescriptorRepositoryPrefix}/${component}`;
}

/** The config blob: Go JSON of `{componentDescriptorLayer: <descriptor>}`. */
export function encodeComponentConfig(layer: Descriptor): Buffer {
  return Buffer.from(
    goStringify({ componentDescriptorLayer: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size } }),
  );
}

/** The annotations upstream puts on the manifest (and, with another title, on the index). */
export function versionAnnotations(
  name: string,
  version: string,
  options: { creator?: string; index?: boolean } = {},
): Record<string, string> {
  const creator = options.creator ?? DefaultCreator;
  return {
    [OcmAnnotation.ComponentVersion]: `${name}:${version}`,
    [OcmAnnotation.Creator]: creator,
    'org.opencontainers.image.authors': creator,
    'org.opencontainers.image.description': `The OCM component descriptor of ${name}:${version}, with its local resources.`,
    'org.opencontainers.image.documentation': 'https://ocm.software',
    'org.opencontainers.image.source': 'https://github.com/open-component-model/open-component-model',
    'org.opencontainers.image.title': `OCM Component Descriptor OCI Artifact Manifest${options.index ? ' Index' : ''} for ${name} in version ${version}`,
    'org.opencontainers.image.url': 'https://ocm.software',
    'org.opencontainers.image.version': version,
  };
}

/** `software.ocm.artifact`: which element of the descriptor a layer or manifest carries. */
export function artifactAnnotation(identity: Identity, kind: 'resource' | 'source'): string {
  return goStringify([{ identity: new Map(Object.entries(identity)), kind }]);
}

export interface ArtifactRef {
  identity: Identity;
  kind: string;
}

/** Reads both key orders (V1 wrote `kind` first) and an identity without a version. */
export function parseArtifactAnnotation(value: string | undefined): ArtifactRef[] {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (p): p is ArtifactRef => typeof p === 'object' && p !== null && typeof (p as ArtifactRef).identity === 'object',
    );
  } catch {
    return [];
  }
}

/** Platform fields that upstream derives from an element's extra identity. */
export function platformFromIdentity(extra: Record<string, string> | undefined): Platform | undefined {
  if (!extra?.architecture && !extra?.os) return undefined;
  const p: Platform = { architecture: extra.architecture ?? '', os: extra.os ?? '' };
  if (extra.variant) p.variant = extra.variant;
  if (extra['os.version']) p['os.version'] = extra['os.version'];
  if (extra['os.features']) p['os.features'] = extra['os.features'].split(',');
  return p;
}

export function isOciManifestType(mediaType: string): boolean {
  return (
    mediaType === MediaType.ImageManifest ||
    mediaType === MediaType.ImageIndex ||
    mediaType === MediaType.DockerManifest ||
    mediaType === MediaType.DockerManifestList
  );
}
