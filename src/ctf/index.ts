export * from './archive.js';
export * from './archive-writer.js';
export * from './artifact-index.js';
export * from './artifact-set.js';
export {
  DefaultMaxExpansionRatio,
  DefaultMinExtractBytes,
  extractionLimit,
} from './extract.js';
export {
  ArtifactIndexFileName,
  BlobsDirectoryName,
  blobFileName,
  type CtfFormat,
  ctfFormatFromPath,
  digestFromBlobFileName,
} from './format.js';
export { changeReferrers, encodeReferrersIndex, referrersTag } from './referrers.js';
export { CtfRepository, isIndexedMediaType } from './repository.js';
export { MaxArtifactIndexBytes } from './store.js';
