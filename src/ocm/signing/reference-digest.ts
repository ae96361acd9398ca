import { LadingError } from '../../oci/index.js';
import { isNoDigest } from '../content-digest.js';
import type { ComponentDescriptor, ComponentReference } from '../descriptor/model.js';
import { digestDescriptor, digestValueBytes } from './digest.js';

/**
 * Checks that a referenced component version is the one its reference pins: the reference's
 * digest (hash and normalisation of the referenced descriptor) must be the descriptor's. A
 * reference without a digest (or with three empty strings, as Go writes an absent one) pins
 * nothing and passes; NO-DIGEST too. The name and version are the repository's check.
 */
export function verifyReferenceDigest(ref: ComponentReference, child: ComponentDescriptor, where: string): void {
  const d = ref.digest;
  if (!d || (!d.hashAlgorithm && !d.normalisationAlgorithm && !d.value) || isNoDigest(d)) return;
  const at = `${where}: component reference ${ref.name} (${ref.componentName}:${ref.version})`;
  const expected = digestValueBytes(d, at).toString('hex');
  const actual = digestDescriptor(child, { hash: d.hashAlgorithm, normalisation: d.normalisationAlgorithm }).digest
    .value;
  if (actual !== expected) {
    throw new LadingError(
      'DIGEST_MISMATCH',
      `${at}: the referenced descriptor hashes to ${actual} (${d.hashAlgorithm}, ${d.normalisationAlgorithm}), the reference records ${expected}`,
    );
  }
}
