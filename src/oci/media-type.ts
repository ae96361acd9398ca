/** The OCI media types lading reads and writes. */
export const MediaType = {
  /** An OCI image manifest. */
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  /** An OCI image index. */
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  /** An OCI image config. */
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  /** An uncompressed OCI layer (a tar). */
  ImageLayer: 'application/vnd.oci.image.layer.v1.tar',
  /** A gzip-compressed OCI layer. */
  ImageLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  /** A zstd-compressed OCI layer. */
  ImageLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  /** The `oci-layout` file of an image layout. */
  ImageLayout: 'application/vnd.oci.layout.header.v1+json',
  /** The empty JSON object `{}` (config and layer of pure artifacts). */
  Empty: 'application/vnd.oci.empty.v1+json',
  /** The OCI artifact manifest of image-spec 1.1-rc (read, never written). */
  ArtifactManifest: 'application/vnd.oci.artifact.manifest.v1+json',
  /** A Docker image manifest (schema 2). */
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  /** A Docker manifest list. */
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  /** A Docker image config. */
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  /** A Docker (gzip) layer. */
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** A Docker foreign layer (downloaded from its URLs, never copied). */
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** Bytes of no particular type. */
  OctetStream: 'application/octet-stream',
  /** The config type ORAS uses when none is given. */
  UnknownConfig: 'application/vnd.unknown.config.v1+json',
  /** The artifact type ORAS uses when none is given. */
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
  /** The file name of a layer (ORAS, `lading push`) or the title of an artifact. */
  Title: 'org.opencontainers.image.title',
  /** When the manifest was made (RFC 3339). */
  Created: 'org.opencontainers.image.created',
  /** The tag of a manifest in an OCI image layout's index.json. */
  RefName: 'org.opencontainers.image.ref.name',
  /** ORAS: the digest of the files of a directory layer, before it was tarred. */
  OrasContentDigest: 'io.deis.oras.content.digest',
  /** ORAS: `true` when a layer is a directory tar to unpack on pull. */
  OrasContentUnpack: 'io.deis.oras.content.unpack',
} as const;
