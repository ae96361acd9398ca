/**
 * `lading/layout`: OCI image layouts (image-spec `image-layout.md`). {@link OciLayout} is a
 * directory (read and write) or a tar file (read) as a `Target`; {@link LayoutTarWriter} writes a
 * layout tar as the destination of a copy; {@link backupRepository} and {@link restoreRepository}
 * move a repository's tags, with their referrers, into a layout and back (`oras backup`, `oras restore`).
 *
 * @packageDocumentation
 */
export { type LayoutReference, parseLayoutReference } from '../oci/index.js';
export {
  type BackupOptions,
  type BackupResult,
  backupRepository,
  backupStagingPath,
  type CopiedTag,
  type FailedTag,
  type RestoreOptions,
  type RestoreResult,
  restoreRepository,
} from './backup.js';
export { OciLayout, type OpenLayoutOptions } from './layout.js';
export { LayoutTarWriter } from './layout-tar.js';
