import { hasManifestList, hasPushReference, type Op, type Target } from '../content/index.js';
import { type Descriptor, isValidDigest } from '../oci/index.js';

/**
 * Stores a manifest's bytes and points `reference` at it (oras-go's oras.TagBytes): one request
 * where the store takes both at once (a registry's PUT by tag), else a push, unless the store has
 * the manifest, and a tag. A digest, or no reference, stores the manifest by its digest only.
 */
export async function tagBytes(
  dst: Target,
  desc: Descriptor,
  bytes: Uint8Array,
  reference: string,
  o: Op = {},
): Promise<void> {
  const tag = reference && !isValidDigest(reference) ? reference : '';
  if (hasPushReference(dst)) {
    if (tag) await dst.pushReference(desc, bytes, tag, o);
    // A store that records its manifests (an OCI layout) stores this one unless it has it, and records it.
    else if (hasManifestList(dst)) await dst.pushReference(desc, bytes, desc.digest, o);
    else await dst.push(desc, bytes, o);
    return;
  }
  if (!(await dst.exists(desc, o))) await dst.push(desc, bytes, o);
  // Tagging by digest makes sure a manifest that was already there as a plain blob is recorded.
  await dst.tag(desc, tag || desc.digest, o);
}

export interface TagAllOptions extends Op {
  /** Tags applied at once (oras-go's default for TagN is 5). */
  concurrency?: number;
  /** The manifest's bytes, when the caller has them: each tag stores them (no fetch before a registry's PUT). */
  bytes?: Uint8Array;
  onTagged?: (tag: string) => void;
}

/** Gives `desc` every tag in `tags`, a bounded number at a time, reporting each (oras-go's TagN and TagBytesN). */
export async function tagAll(
  dst: Target,
  desc: Descriptor,
  tags: readonly string[],
  o: TagAllOptions = {},
): Promise<void> {
  const { concurrency = 5, bytes, onTagged, ...op } = o;
  const queue = [...tags];
  const worker = async () => {
    for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
      if (bytes) await tagBytes(dst, desc, bytes, t, op);
      else await dst.tag(desc, t, op);
      onTagged?.(t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tags.length) }, worker));
}
