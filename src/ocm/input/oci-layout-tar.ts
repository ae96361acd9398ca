import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileHeader, tarBytes, withFolders } from '../../archive/index.js';
import { type Descriptor, encodeIndex, encodeManifest, MediaType } from '../../oci/index.js';

export const OciLayoutTarMediaType = 'application/vnd.ocm.software.oci.layout.v1+tar';
export const OciLayoutTarGzipMediaType = 'application/vnd.ocm.software.oci.layout.v1+tar+gzip';

export interface LayoutBlob {
  mediaType: string;
  bytes: Buffer;
}

export function describe(blob: LayoutBlob): Descriptor {
  return {
    mediaType: blob.mediaType,
    digest: `sha256:${createHash('sha256').update(blob.bytes).digest('hex')}`,
    size: blob.bytes.length,
  };
}

/**
 * A gzipped OCI image layout (`oci-layout`, `blobs/sha256/<hex>`, `index.json`) holding one image
 * manifest over `config` and `layers`, tagged `tag` (`org.opencontainers.image.ref.name`). The
 * manifest is Go-canonical JSON; its annotations are exactly `annotations` (none by default:
 * oras adds a creation time, which would make every build differ).
 */
export function ociLayoutTarGzip(options: {
  config: LayoutBlob;
  layers: LayoutBlob[];
  tag: string;
  annotations?: Record<string, string>;
}): { bytes: Buffer; manifest: Descriptor } {
  const manifestBytes = Buffer.from(
    encodeManifest({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      config: describe(options.config),
      layers: options.layers.map(describe),
      ...(options.annotations && Object.keys(options.annotations).length > 0
        ? { annotations: options.annotations }
        : {}),
    }),
  );
  const manifest = describe({ mediaType: MediaType.ImageManifest, bytes: manifestBytes });
  const index = Buffer.from(
    encodeIndex({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': options.tag } }],
    }),
  );
  const files: [string, Buffer][] = [['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')]];
  const seen = new Set<string>();
  for (const blob of [
    options.config,
    ...options.layers,
    { mediaType: MediaType.ImageManifest, bytes: manifestBytes },
  ]) {
    const hex = describe(blob).digest.slice('sha256:'.length);
    if (seen.has(hex)) continue;
    seen.add(hex);
    files.push([`blobs/sha256/${hex}`, blob.bytes]);
  }
  files.push(['index.json', index]);
  const tar = tarBytes(withFolders(files.map(([name, body]) => ({ header: fileHeader(name, body.length), body }))));
  return { bytes: gzipSync(tar), manifest };
}
