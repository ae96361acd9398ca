/**
 * `lading/layout`: OCI image layouts (image-spec `image-layout.md`). {@link OciLayout} is a
 * directory (read and write) or a tar file (read) as a `Target`; {@link LayoutTarWriter} writes a
 * layout tar as the destination of a copy.
 *
 * @packageDocumentation
 */
export { type LayoutReference, parseLayoutReference } from '../oci/index.js';
export { OciLayout, type OpenLayoutOptions } from './layout.js';
export { LayoutTarWriter } from './layout-tar.js';
