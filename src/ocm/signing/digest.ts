import { createHash } from 'node:crypto';
import { LadingError } from '../../oci/index.js';
import type { ComponentDescriptor, DigestSpec } from '../descriptor/model.js';
import { DefaultNormalisation, normalise, resolveNormalisation } from './normalise.js';

export interface HashAlgorithmInfo {
  /** The name recorded in digest specs: `SHA-256` or `SHA-512`. */
  name: 'SHA-256' | 'SHA-512';
  /** The node:crypto name. */
  node: 'sha256' | 'sha512';
  /** Digest length in bytes. */
  size: number;
}

const hashes: Record<string, HashAlgorithmInfo> = {
  SHA256: { name: 'SHA-256', node: 'sha256', size: 32 },
  SHA512: { name: 'SHA-512', node: 'sha512', size: 64 },
};

export const DefaultHashAlgorithm = 'SHA-256';

/**
 * A descriptor hash algorithm from any spelling upstream has written or documented: `SHA-256`,
 * `sha-256`, `SHA256`, `sha256` (and the same for SHA-512).
 */
export function parseHashAlgorithm(name: string): HashAlgorithmInfo {
  const info = hashes[name.toUpperCase().replace(/[-_]/g, '')];
  if (!info) throw new LadingError('UNSUPPORTED', `unsupported hash algorithm "${name}" (use SHA-256 or SHA-512)`);
  return info;
}

/** How a component descriptor is digested: the hash and the normalisation. */
export interface DescriptorDigestOptions {
  /** Default SHA-256. */
  hash?: string;
  /** Default jsonNormalisation/v4alpha1; jsonNormalisation/v3 runs (and is recorded) as v4alpha1. */
  normalisation?: string;
}

export interface DescriptorDigest {
  digest: DigestSpec;
  /** The normalised descriptor the digest was computed over. */
  normalised: Buffer;
}

/** Normalises and hashes a descriptor: the digest spec a signature would carry. */
export function digestDescriptor(
  descriptor: ComponentDescriptor,
  options: DescriptorDigestOptions = {},
): DescriptorDigest {
  const hash = parseHashAlgorithm(options.hash ?? DefaultHashAlgorithm);
  const normalisation = resolveNormalisation(options.normalisation ?? DefaultNormalisation);
  const normalised = normalise(descriptor, normalisation);
  return {
    digest: {
      hashAlgorithm: hash.name,
      normalisationAlgorithm: normalisation,
      value: createHash(hash.node).update(normalised).digest('hex'),
    },
    normalised,
  };
}

/** The raw bytes of a digest spec's hex value, checked against the hash's length. */
export function digestValueBytes(spec: DigestSpec, where: string): Buffer {
  const hash = parseHashAlgorithm(spec.hashAlgorithm);
  if (!/^[0-9a-fA-F]*$/.test(spec.value) || spec.value.length !== hash.size * 2) {
    throw new LadingError(
      'INVALID_DIGEST',
      `${where}: digest value must be ${hash.size * 2} hex characters for ${hash.name}, got "${spec.value.slice(0, 140)}"`,
    );
  }
  return Buffer.from(spec.value, 'hex');
}
