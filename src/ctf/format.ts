import type { BlobPlace } from '../archive/index.js';
import { parseDigest } from '../oci/index.js';

/** How a CTF is stored. The three forms hold the same content and convert without loss. */
export type CtfFormat = 'directory' | 'tar' | 'tgz';

export const ArtifactIndexFileName = 'artifact-index.json';
export const BlobsDirectoryName = 'blobs';

/**
 * The format upstream OCM picks for a path: by extension only, never by content, so that a
 * path names the same format whether or not it exists yet.
 */
export function ctfFormatFromPath(path: string): CtfFormat {
  const name = path.replace(/[\\/]+$/, '');
  if (name.endsWith('.tgz') || name.endsWith('.tar.gz')) return 'tgz';
  if (name.endsWith('.tar')) return 'tar';
  return 'directory';
}

/** `sha256:abc…` → `sha256.abc…`: blobs lie flat in `blobs/`, unlike an OCI layout's `blobs/sha256/abc…`. */
export function blobFileName(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}.${hex}`;
}

/** The digest a blob file name stands for, or undefined when the name is not one of ours. */
export function digestFromBlobFileName(name: string): string | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const digest = `${name.slice(0, dot)}:${name.slice(dot + 1)}`;
  try {
    parseDigest(digest);
    return digest;
  } catch {
    return undefined;
  }
}

export function blobPlace(digest: string): BlobPlace {
  return { folder: [BlobsDirectoryName], name: blobFileName(digest) };
}
