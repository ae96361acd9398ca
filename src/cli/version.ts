import { ladingPackage } from '../oci/package-root.js';

/** lading's version, written into the bundle by scripts/bundle.mjs; undefined when run from the sources. */
declare const LADING_VERSION: string | undefined;

/** lading's version: the one built in, else package.json's (a run from the sources). */
export function readVersion(): string {
  return typeof LADING_VERSION === 'string' ? LADING_VERSION : ladingPackage().version;
}
