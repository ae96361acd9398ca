/** The OCI media types lading reads and writes. */
export const MediaType = {
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  ImageLayer: 'application/vnd.oci.image.layer.v1.tar',
  ImageLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ImageLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ImageLayout: 'application/vnd.oci.layout.header.v1+json',
  Empty: 'application/vnd.oci.empty.v1+json',
  ArtifactManifest: 'application/vnd.oci.artifact.manifest.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  OctetStream: 'application/octet-stream',
  UnknownConfig: 'application/vnd.unknown.config.v1+json',
  UnknownArtifact: 'application/vnd.unknown.artifact.v1',
} as const;

/** Media types whose content is a manifest or index: they are graph nodes with successors. */
export const manifestMediaTypes: readonly string[] = [
  MediaType.ImageManifest,
  MediaType.ImageIndex,
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.ArtifactManifest,
];

/** Whether a media type is a manifest or an index (content that points at other content). */
export function isManifestMediaType(mediaType: string): boolean {
  return manifestMediaTypes.includes(mediaType);
}

/** Whether a media type is an image index (or a Docker manifest list). */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ImageIndex || mediaType === MediaType.DockerManifestList;
}

const mediaTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

/** RFC 6838 media type as the image-spec and ORAS validate it (no parameters). */
export function isValidMediaType(mediaType: string): boolean {
  return mediaTypePattern.test(mediaType);
}

/** The well-known OCI annotation keys. */
export const Annotation = {
  Title: 'org.opencontainers.image.title',
  Created: 'org.opencontainers.image.created',
  RefName: 'org.opencontainers.image.ref.name',
  OrasContentDigest: 'io.deis.oras.content.digest',
  OrasContentUnpack: 'io.deis.oras.content.unpack',
} as const;
