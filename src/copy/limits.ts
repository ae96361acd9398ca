/**
 * How deep a graph, or a chain of referrers, is followed. Real graphs are a few levels (index →
 * manifest → blob, an index of indexes at most). Content addressing rules out cycles, not depth:
 * a hostile source can precompute a chain of manifests a million deep, and every level holds its
 * bytes (up to 4 MiB) while its children copy.
 */
export const MaxGraphDepth = 64;

/** Referrers one walk takes, over all levels (each costs a listing, and a copy or a line of output). */
export const MaxReferrers = 10_000;
