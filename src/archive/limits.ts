/**
 * Decompressed bytes allowed per compressed byte before a gzip stream is taken for a bomb. Archived
 * content is mostly blobs that are already compressed (ratio near 1) plus small JSON and YAML
 * (about 10:1); deflate cannot exceed about 1032:1, so 100 leaves honest archives ample room and
 * still stops a bomb at a tenth of what it could expand to.
 */
export const DefaultMaxExpansionRatio = 100;
/** Below this much output the ratio is not applied: small archives never trip the check. */
export const DefaultMinExtractBytes = 1024 * 1024 * 1024;
/** Entries an archive from elsewhere may hold before it is taken for an inode flood. */
export const DefaultMaxArchiveEntries = 1_000_000;

/** The bound on decompressed bytes for `compressedSize` bytes of gzip input. */
export function extractionLimit(compressedSize: number): number {
  return Math.max(DefaultMinExtractBytes, DefaultMaxExpansionRatio * compressedSize);
}
