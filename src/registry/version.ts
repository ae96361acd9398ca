import { ladingPackage } from '../oci/index.js';

/** `lading/<version>`, read once from lading's package.json. */
export const defaultUserAgent: string = (() => {
  try {
    return `lading/${ladingPackage().version}`;
  } catch {
    return 'lading';
  }
})();
