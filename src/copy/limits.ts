/**
 * How deep a graph, or a chain of referrers, is followed. Real graphs are a few levels (index →
 * manifest → blob, an index of indexes at most). Content addressing rules out cycles, not depth:
 * a hostile source can precompute a chain of manifests a million deep, and every level holds its
 * bytes (up to 4 MiB) while its children copy.
 */
export const MaxGraphDepth = 64;

/** Referrers one walk takes, over all levels (each costs a listing, and a copy or a line of output). */
export const MaxReferrers = 10_000;

/**
 * Blob transfers in flight when the caller names no number: ORAS's 3, or skopeo's 6 on a machine
 * of 8 cores or more. Each transfer is a request whose latency the others hide; many cores move
 * the bytes of more at once (the hashing thread takes their digests), and each costs ~5 MB of
 * buffers (200 blobs of 5 MiB at 6: ~121 MB peak RSS, at 3: ~110 MB).
 */
export function defaultCopyConcurrency(): number {
  return process.getBuiltinModule('node:os').availableParallelism() >= 8 ? 6 : 3;
}
