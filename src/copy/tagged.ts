import {
  hasTags,
  type Op,
  type ReadOnlyStorage,
  type ReadOnlyTarget,
  type Storage,
  type Target,
} from '../content/index.js';
import { type Descriptor, isValidTag, LadingError } from '../oci/index.js';
import { type CopyGraphOptions, GraphCopier } from './copy.js';
import { copyReferrersOf } from './referrers-copy.js';

/** A tag and the manifest it names. */
export interface TaggedRoot {
  tag: string;
  desc: Descriptor;
}

/** Options of {@link resolveTags}. */
export interface ResolveTagsOptions extends Op {
  /** Names the store in errors (`host/repo`, a layout path). */
  where?: string;
  /** Leave out the referrers tag schema's `sha256-<hex>` tags when listing all tags (their indexes are rebuilt by whoever stores the referrers). */
  skipReferrersTags?: boolean;
  /**
   * A tag that is not a valid tag, or that does not resolve to a manifest (not found, or refused as
   * content), is reported here and left out instead of failing the whole call. Other failures (an
   * abort, the network, credentials) still throw.
   */
  onTagFailed?: (tag: string, error: LadingError) => void;
}

/** Failures that belong to one tag's content, not to the store or the run: another tag may still copy. */
const tagCodes: ReadonlySet<string> = new Set([
  'NOT_FOUND',
  'INVALID_REFERENCE',
  'INVALID_DIGEST',
  'INVALID_MEDIA_TYPE',
  'INVALID_MANIFEST',
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'SIZE_EXCEEDS_LIMIT',
  'UNSUPPORTED',
]);

/** Whether `error` is about one tag's content (see {@link ResolveTagsOptions.onTagFailed}). */
export function isTagFailure(error: unknown): error is LadingError {
  return error instanceof LadingError && tagCodes.has(error.code);
}

const referrersTagPattern = /^sha256-[0-9a-f]{64}$/;

/**
 * The tags to copy out of `src` and what each names: `tags` when given (each resolved, in that
 * order), else every tag the store lists. A name that is not a valid tag is refused before
 * anything is copied, whichever side it came from: it would be written into the destination
 * (with `onTagFailed`, it and a tag that does not resolve are reported and left out).
 */
export async function resolveTags(
  src: ReadOnlyTarget,
  tags: readonly string[] | undefined,
  o: ResolveTagsOptions = {},
): Promise<TaggedRoot[]> {
  const where = o.where ?? 'the source';
  let names: string[];
  if (tags && tags.length > 0) {
    names = [...tags];
  } else {
    if (!hasTags(src)) throw new LadingError('UNSUPPORTED', `${where}: the store does not list its tags`);
    names = [];
    for await (const page of src.tags(o.signal ? { signal: o.signal } : {})) {
      for (const tag of page) if (!(o.skipReferrersTags && referrersTagPattern.test(tag))) names.push(tag);
      if (names.length > MaxTags) {
        throw new LadingError('SIZE_EXCEEDS_LIMIT', `${where}: more than ${MaxTags} tags; name the tags to copy`);
      }
    }
  }
  const valid: string[] = [];
  for (const tag of names) {
    if (isValidTag(tag)) {
      valid.push(tag);
      continue;
    }
    const error = new LadingError('INVALID_REFERENCE', `${where}: ${JSON.stringify(tag)} is not a valid tag`);
    if (!o.onTagFailed) throw error;
    o.onTagFailed(tag, error);
  }
  const out: TaggedRoot[] = [];
  for (const tag of valid) {
    try {
      out.push({ tag, desc: await src.resolve(tag, o.signal ? { signal: o.signal } : {}) });
    } catch (error) {
      if (!o.onTagFailed || !isTagFailure(error) || o.signal?.aborted) throw error;
      o.onTagFailed(tag, error);
    }
  }
  return out;
}

/** Tags one backup or restore takes at most; a registry can list without end. */
const MaxTags = 100_000;

/** Options of {@link copyTagged}. */
export interface CopyTaggedOptions extends CopyGraphOptions {
  /**
   * Also copy the referrers of the root, of the manifests an index root lists, and theirs in turn
   * (`oras backup --include-referrers`, `oras restore`).
   */
  includeReferrers?: boolean;
  /** Tag the root in the destination (default true; false for a destination that only checks). */
  tag?: boolean;
  /** Shares the walk of several copies into one destination (content they share moves once). */
  copier?: GraphCopier;
}

/** What {@link copyTagged} copied besides the root's own graph. */
export interface CopyTaggedResult {
  /** The referrers copied (each once), in the order found. */
  referrers: Descriptor[];
}

/**
 * Copies a tagged artifact with everything it references, then (with `includeReferrers`) its
 * referrers and theirs, and tags the root last: a destination never has the tag before the graph.
 * A store's referrer list is its claim; only a manifest whose own subject is the one asked about
 * is copied. Depth and count are bounded as for `cp -r`.
 */
export async function copyTagged(
  src: ReadOnlyStorage,
  dst: Storage | Target,
  root: TaggedRoot,
  opts: CopyTaggedOptions = {},
): Promise<CopyTaggedResult> {
  const copier = opts.copier ?? new GraphCopier(src, dst, opts);
  await copier.copy(root.desc);
  const referrers: Descriptor[] = [];
  if (opts.includeReferrers) {
    referrers.push(...(await copyReferrersOf(src, copier, root.desc, opts.signal)));
  }
  if (opts.tag !== false) {
    if (!('tag' in dst) || typeof dst.tag !== 'function') {
      throw new LadingError('UNSUPPORTED', `the destination cannot be tagged (${root.tag})`);
    }
    await dst.tag(root.desc, root.tag, opts.signal ? { signal: opts.signal } : {});
  }
  return { referrers };
}
