import { randomBytes } from 'node:crypto';

/**
 * A temp file name for a folder that will hold a final name of any length: fixed and short
 * (28 bytes), so that a final name of up to NAME_MAX (255 bytes) still has room for its temp.
 */
export function shortTempName(): string {
  return `.lading-${randomBytes(8).toString('hex')}.tmp`;
}
