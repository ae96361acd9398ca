import { LadingError } from '../oci/index.js';

export function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new LadingError('INVALID_ARGUMENT', `--concurrency must be a whole number from 1 to 256, got "${value}"`);
  }
  return n;
}
