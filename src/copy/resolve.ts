import {
  fetchAll,
  hasManifestList,
  hasReferenceFetcher,
  hasTags,
  type ReadOnlyStorage,
  type ReadOnlyTarget,
  storeName,
} from '../content/index.js';
import { type Descriptor, isValidDigest, LadingError, MaxManifestBytes, type Platform } from '../oci/index.js';
import { selectPlatform } from './platform.js';

export interface ResolveOptions {
  /** The manifest for this platform: a child of the index the reference names, or the manifest itself. */
  platform?: Platform;
  /** Picks another root once the reference is resolved (after the platform, when both are given). */
  mapRoot?: (src: ReadOnlyStorage, root: Descriptor) => Promise<Descriptor>;
  /** Cancels the call (rejects with ABORTED). */
  signal?: AbortSignal;
}

/** The root a reference names, as push, pull, copy and the commands that name an artifact find it (oras-go's oras.Resolve). */
export async function resolveRoot(src: ReadOnlyTarget, reference: string, o: ResolveOptions = {}): Promise<Descriptor> {
  const signal = o.signal ? { signal: o.signal } : {};
  let root = await src.resolve(reference, signal);
  if (o.platform) root = await selectPlatform(src, root, o.platform, signal);
  if (o.mapRoot) root = await o.mapRoot(src, root);
  return root;
}

/**
 * The root `reference` names and, from a store that answers both in one request (a registry's GET
 * by tag, as oras-go's copy does), its verified bytes: a HEAD and then a GET of the same manifest
 * would cost a round trip more. Elsewhere (and with `mapRoot`, which may pick another root) the
 * root alone, as {@link resolveRoot} finds it. `maxMetadataBytes` bounds the bytes read.
 */
export async function resolveRootBytes(
  src: ReadOnlyTarget,
  reference: string,
  o: ResolveOptions & { maxMetadataBytes?: number } = {},
): Promise<{ root: Descriptor; bytes?: Buffer }> {
  if (!hasReferenceFetcher(src) || o.mapRoot) return { root: await resolveRoot(src, reference, o) };
  const { desc, bytes } = await fetchReference(src, reference, {
    ...(o.platform ? { platform: o.platform } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const limit = o.maxMetadataBytes ?? MaxManifestBytes;
  if (bytes.length > limit) {
    throw new LadingError(
      'SIZE_EXCEEDS_LIMIT',
      `${referenceWhere(src, reference)}: ${bytes.length} bytes exceeds the ${limit}-byte limit`,
    );
  }
  return { root: desc, bytes };
}

/** `<store>:<tag>` or `<store>@<digest>` for messages (the reference alone for a store without a name). */
function referenceWhere(src: object, reference: string): string {
  const name = storeName(src);
  if (name === undefined) return reference;
  return `${name}${isValidDigest(reference) ? '@' : ':'}${reference}`;
}

/**
 * A manifest's descriptor and exact bytes by tag or digest (oras-go's oras.FetchBytes): one request
 * to a store that can answer both at once (a registry's GET), resolve and read elsewhere. `accept`
 * replaces the manifest types asked for where the store negotiates them (a registry).
 */
export async function fetchReference(
  src: ReadOnlyTarget,
  reference: string,
  o: { accept?: readonly string[]; platform?: Platform; signal?: AbortSignal } = {},
): Promise<{ desc: Descriptor; bytes: Buffer }> {
  const signal = o.signal ? { signal: o.signal } : {};
  let desc: Descriptor;
  let bytes: Buffer;
  if (hasReferenceFetcher(src)) {
    const fetched = await src.fetchManifest(reference, {
      ...signal,
      ...(o.accept?.length ? { accept: o.accept } : {}),
    });
    desc = fetched.descriptor;
    bytes = fetched.bytes;
  } else {
    desc = await src.resolve(reference, signal);
    bytes = await fetchAll(src, desc, signal);
  }
  if (!o.platform) return { desc, bytes };
  const chosen = await selectPlatform(src, desc, o.platform, { ...signal, bytes });
  if (chosen.digest === desc.digest) return { desc: chosen, bytes };
  return { desc: chosen, bytes: await fetchAll(src, chosen, signal) };
}

/**
 * What a store that lists its manifests means when no reference is given: its only tag, or with no
 * tag its only manifest (a single-image layout tar). Undefined when that is not one thing, and for
 * stores that cannot list (a registry repository is never guessed from its tags).
 */
export async function soleReference(src: object, o: { signal?: AbortSignal } = {}): Promise<string | undefined> {
  if (!hasManifestList(src) || !hasTags(src)) return undefined;
  const tags: string[] = [];
  for await (const page of src.tags(o.signal ? { signal: o.signal } : {})) tags.push(...page);
  if (tags.length === 1) return tags[0];
  const manifests = src.manifests();
  if (tags.length === 0 && manifests.length === 1) return manifests[0]?.digest;
  return undefined;
}
