import { ladingPackage } from '../oci/package-root.js';

export function readVersion(): string {
  return ladingPackage().version;
}
