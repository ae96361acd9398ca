import { type Descriptor, isManifestMediaType, nodeSuccessors, parseNode } from '../oci/index.js';
import type { Fetcher, Op } from './storage.js';
import { fetchAll } from './verify.js';

/** The nodes a manifest or index points at; plain blobs have none. */
export async function successors(fetcher: Fetcher, node: Descriptor, o?: Op): Promise<Descriptor[]> {
  if (!isManifestMediaType(node.mediaType)) return [];
  const bytes = await fetchAll(fetcher, node, o);
  return nodeSuccessors(parseNode(bytes, node.mediaType, node.digest));
}

/** Successors from bytes already in hand (saves a second fetch when the caller has them). */
export function successorsOf(node: Descriptor, bytes: Uint8Array): Descriptor[] {
  if (!isManifestMediaType(node.mediaType)) return [];
  return nodeSuccessors(parseNode(bytes, node.mediaType, node.digest));
}

/** An in-memory predecessor index: which manifests point at a digest. */
export class PredecessorIndex {
  readonly #byDigest = new Map<string, Map<string, Descriptor>>();

  add(node: Descriptor, children: readonly Descriptor[]): void {
    for (const child of children) {
      let set = this.#byDigest.get(child.digest);
      if (!set) {
        set = new Map();
        this.#byDigest.set(child.digest, set);
      }
      set.set(node.digest, node);
    }
  }

  get(digest: string): Descriptor[] {
    return [...(this.#byDigest.get(digest)?.values() ?? [])];
  }
}
