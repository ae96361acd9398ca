/**
 * `lading/ctf`: the OCM Common Transport Format. A {@link CtfArchive} is a directory, tar or tgz
 * archive of OCI repositories; each {@link CtfRepository} in it is a `Target`. OCM v1 artifact sets
 * (`application/vnd.oci.image.manifest.v1+tar+gzip` blobs) read as a target too ({@link readArtifactSet}).
 *
 * @packageDocumentation
 */

export {
  type CloseCtfOptions,
  CtfArchive,
  type OpenCtfOptions,
  withCtfArchive,
} from './archive.js';
export type { ArchiveEntryInfo } from './archive-writer.js';
export type { ArtifactMetadata } from './artifact-index.js';
export { ArtifactSet, ArtifactSetMediaType, type ReadArtifactSetOptions, readArtifactSet } from './artifact-set.js';
export { type CtfFormat, ctfFormatFromPath } from './format.js';
export { CtfRepository } from './repository.js';
