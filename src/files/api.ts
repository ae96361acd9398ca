/**
 * `lading/files`: ORAS-style file artifacts. {@link pushFiles} packs files and folders (a folder
 * becomes a tar+gzip layer) into a manifest on any `Target`; {@link pullFiles} writes them back into
 * a folder, checking every title against path traversal.
 *
 * @packageDocumentation
 */
export { readAnnotationFile } from './annotation-file.js';
export { type PulledFile, type PullFilesOptions, type PullResult, pullFiles } from './pull.js';
export { type FileSpec, type PushFilesOptions, pushFiles } from './push.js';
