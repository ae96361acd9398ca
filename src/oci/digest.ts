import { createHash, type Hash } from 'node:crypto';
import { LadingError } from './errors.js';

/** The digest algorithms of the OCI image spec. */
export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };
const grammar = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** A digest split into its algorithm and hex value. */
export interface ParsedDigest {
  /** The algorithm (`sha256`, `sha512`). */
  algorithm: DigestAlgorithm;
  /** The lowercase hex encoding of the hash. */
  hex: string;
}

/**
 * Parses and validates a digest string. Only algorithms we can verify are accepted: a digest we
 * cannot check would let unverified bytes through.
 */
export function parseDigest(digest: string): ParsedDigest {
  const match = grammar.exec(digest);
  if (!match)
    throw new LadingError('INVALID_DIGEST', `invalid digest "${truncate(digest)}": expected <algorithm>:<hex>`);
  const algorithm = match[1] as string;
  const hex = match[2] as string;
  if (!(algorithm in hexLength)) {
    throw new LadingError(
      'INVALID_DIGEST',
      `unsupported digest algorithm "${truncate(algorithm)}" in "${truncate(digest)}"`,
    );
  }
  const alg = algorithm as DigestAlgorithm;
  if (hex.length !== hexLength[alg] || !/^[a-f0-9]+$/.test(hex)) {
    throw new LadingError(
      'INVALID_DIGEST',
      `invalid digest "${truncate(digest)}": ${alg} needs ${hexLength[alg]} lowercase hex characters`,
    );
  }
  return { algorithm: alg, hex };
}

/** Whether `digest` is a well-formed `<algorithm>:<hex>` digest of a known algorithm. */
export function isValidDigest(digest: string): boolean {
  try {
    parseDigest(digest);
    return true;
  } catch {
    return false;
  }
}

/** A streaming hash for `algorithm` (Node's `Hash`): `update()` it chunk by chunk, then `digest('hex')`. */
export function createDigester(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

/** The digest (`sha256:<hex>` by default) of bytes held in memory. */
export function digestBytes(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

/** The digest of zero bytes. */
export const EmptyDigest = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function truncate(text: string): string {
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}
