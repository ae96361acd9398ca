import { hasTags, type Op } from '../../content/index.js';
import { type Descriptor, isLadingError, isValidDigest, LadingError } from '../../oci/index.js';
import { DescriptorRepositoryPrefix } from '../../ocm/repository/index.js';
import type { UiStore } from './store.js';

/** Repository names a search reads at most. */
export const SearchRepositoryScan = 5000;
/** Repositories whose tags (or manifests, for a digest) a search reads at most. */
export const SearchTagScan = 100;
/**
 * Pages of one repository's tag list a search reads at most: a registry whose `Link` chain never
 * ends would otherwise have every search walk the client's own page limit for each repository.
 */
export const SearchTagPages = 20;
/** Hits of each kind a search answers at most. */
export const SearchHits = 50;

export interface SearchResult {
  query: string;
  repositories: string[];
  components: string[];
  tags: { repository: string; tag: string }[];
  digests: { repository: string; descriptor: Descriptor }[];
  /** True when a bound stopped the scan: there may be more. */
  partial: boolean;
  /** Why repositories could not be listed (a registry without a catalog). */
  error?: string;
}

const prefix = `${DescriptorRepositoryPrefix}/`;

/**
 * Finds repositories, components and tags whose names contain the query (case-insensitive), and
 * with a digest for a query, the repositories that hold it. Bounded: a large registry is scanned
 * only so far (`partial`).
 */
export async function search(store: UiStore, raw: string, o: Op): Promise<SearchResult> {
  const query = raw.trim();
  if (query.length === 0 || query.length > 256) {
    throw new LadingError('INVALID_ARGUMENT', 'a search is 1 to 256 characters long');
  }
  const needle = query.toLowerCase();
  const result: SearchResult = { query, repositories: [], components: [], tags: [], digests: [], partial: false };
  const names: string[] = [];
  try {
    if (!store.resolver.repositories) throw new LadingError('UNSUPPORTED', `${store.display} cannot list repositories`);
    scan: for await (const page of store.resolver.repositories(o)) {
      for (const name of page) {
        if (names.length >= SearchRepositoryScan) {
          result.partial = true;
          break scan;
        }
        names.push(name);
      }
    }
  } catch (error) {
    if (!isLadingError(error) || error.code === 'ABORTED') throw error;
    result.error = error.message;
  }
  const add = <T>(list: T[], value: T) => {
    if (list.length < SearchHits) list.push(value);
    else result.partial = true;
  };
  for (const name of names) {
    if (!name.toLowerCase().includes(needle)) continue;
    if (name.startsWith(prefix)) add(result.components, name.slice(prefix.length));
    else add(result.repositories, name);
  }
  const digest = isValidDigest(query) ? query : undefined;
  const scanned = names.slice(0, SearchTagScan);
  if (names.length > SearchTagScan) result.partial = true;
  for (const repository of scanned) {
    let target: Awaited<ReturnType<typeof store.resolver.targetFor>>;
    try {
      target = await store.resolver.targetFor(repository, o);
      if (digest) {
        try {
          add(result.digests, { repository, descriptor: await target.resolve(digest, o) });
        } catch (error) {
          if (!isLadingError(error, 'NOT_FOUND')) throw error;
        }
        continue;
      }
      if (!hasTags(target)) continue;
      let pages = 0;
      for await (const page of target.tags(o)) {
        for (const tag of page) if (tag.toLowerCase().includes(needle)) add(result.tags, { repository, tag });
        if (++pages >= SearchTagPages) {
          // Leaving the loop stops the listing: the next page is not asked for.
          result.partial = true;
          break;
        }
      }
    } catch (error) {
      if (!isLadingError(error) || error.code === 'ABORTED') throw error;
      // One unreadable repository (or page) does not spoil the search, but what it held is missing.
      result.partial = true;
    }
  }
  return result;
}
