import { listReferrers, type ReadOnlyStorage } from '../content/index.js';
import { type Descriptor, LadingError } from '../oci/index.js';
import { MaxGraphDepth, MaxReferrers } from './limits.js';

/** A referrer and the referrers below it. */
export interface ReferrerNode {
  /** The manifest. */
  desc: Descriptor;
  /** The manifests that refer to it, each with its own referrers. */
  referrers: ReferrerNode[];
}

/** Options of {@link referrerTree}. */
export interface ReferrerTreeOptions {
  /** Levels to walk; 0 (default) for all, up to MaxGraphDepth. */
  depth?: number;
  /** Only referrers of this artifact type. */
  artifactType?: string;
  /** Cancels the walk (rejects with ABORTED). */
  signal?: AbortSignal;
  /** Names the subject in errors (`host/repo@digest`); its digest by default. */
  where?: string;
  /** Advice added to the error when a bound is reached (how the caller can ask for less). */
  advice?: (bound: 'depth' | 'count') => string;
}

/**
 * The referrers of `subject` as a tree (`oras discover`). A store can serve a chain without end
 * (each referrer referred to by a new one) or a cycle, and every node costs a listing, so each node
 * appears once and the walk is bounded in depth and in nodes (SIZE_EXCEEDS_LIMIT past either).
 */
export async function referrerTree(
  store: ReadOnlyStorage,
  subject: Descriptor,
  o: ReferrerTreeOptions = {},
): Promise<ReferrerNode[]> {
  const wanted = o.depth ? o.depth : Number.POSITIVE_INFINITY;
  const where = o.where ?? subject.digest;
  const seen = new Set<string>();
  const advice = (bound: 'depth' | 'count') => (o.advice ? `; ${o.advice(bound)}` : '');
  const walk = async (node: Descriptor, level: number): Promise<ReferrerNode[]> => {
    seen.add(node.digest);
    const found = await listReferrers(store, node, {
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.artifactType ? { artifactType: o.artifactType } : {}),
    });
    const out: ReferrerNode[] = [];
    for (const desc of found) {
      if (seen.has(desc.digest)) continue; // a referrer cycle, or a node shared by two: each once
      if (level > MaxGraphDepth) {
        throw new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `referrers of ${where} nest deeper than ${MaxGraphDepth} levels (${desc.digest} at level ${level})${advice('depth')}`,
        );
      }
      if (seen.size > MaxReferrers) {
        throw new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `referrers of ${where} number more than ${MaxReferrers}${advice('count')}`,
        );
      }
      seen.add(desc.digest);
      out.push({ desc, referrers: level < wanted ? await walk(desc, level + 1) : [] });
    }
    return out;
  };
  return walk(subject, 1);
}
