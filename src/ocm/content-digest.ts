import { createHash } from 'node:crypto';
import { CheckingSink, type Fetcher, fetchAll, hashContent, type Op } from '../content/index.js';
import { GraphCopier } from '../copy/index.js';
import { readArtifactSet } from '../ctf/index.js';
import { type Descriptor, isLadingError, LadingError } from '../oci/index.js';
import { formatIdentity, identityOf } from './descriptor/identity.js';
import { type DigestSpec, NoDigest, NormalisationAlgorithm, type Resource } from './descriptor/model.js';
import { digestValueBytes, type HashAlgorithmInfo, parseHashAlgorithm } from './signing/digest.js';

/**
 * What content a resource digest can be checked against:
 * - `blob`: bytes (a local blob, an OCI layer, a chart archive); genericBlobDigest/v1 hashes them;
 * - `artifact`: an OCI manifest or index; genericBlobDigest/v1 (what lading and upstream record for
 *   OCI artifacts stored as local blobs) and ociArtifactDigest/v1 both hash the manifest's bytes,
 *   and every blob below it is verified by its own digest as it is copied.
 * docs/ocm-digests.md lists, per access type, what is hashed and when.
 */
export type ContentShape = 'blob' | 'artifact';

/** What a resource digest claims about the content, once checked to be a claim lading can test. */
export interface ContentClaim {
  hash: HashAlgorithmInfo;
  normalisation: string;
  /** Lower-case hex. */
  value: string;
}

/** What a digest check needs of an element: its identity and digest (sources have none). */
export type DigestedElement = Pick<Resource, 'name' | 'version' | 'extraIdentity'> & {
  digest?: DigestSpec | undefined;
};

function describe(r: DigestedElement): string {
  return `resource ${formatIdentity(identityOf(r))}`;
}

/** A digest explicitly left out of signing (`NO-DIGEST`): it makes no claim about the content. */
export function isNoDigest(d: DigestSpec): boolean {
  return d.value === NoDigest || d.hashAlgorithm === NoDigest;
}

/**
 * The claim of a resource's digest (`where` names the resource) for content of the given shape;
 * undefined when there is no digest (or NO-DIGEST). A digest lading cannot check (unknown hash, a
 * normalisation that does not fit the content) is an error: unverifiable content is not delivered.
 */
export function contentClaim(d: DigestSpec | undefined, shape: ContentShape, where: string): ContentClaim | undefined {
  if (!d || (!d.hashAlgorithm && !d.normalisationAlgorithm && !d.value) || isNoDigest(d)) return undefined;
  const fits =
    d.normalisationAlgorithm === NormalisationAlgorithm.GenericBlobDigest ||
    (shape === 'artifact' && d.normalisationAlgorithm === NormalisationAlgorithm.OciArtifactDigest);
  if (!fits) {
    throw new LadingError(
      'UNSUPPORTED',
      `${where}: its digest (normalisation ${JSON.stringify(d.normalisationAlgorithm)}) cannot be checked against ${shape === 'blob' ? 'a blob' : 'an OCI artifact'}, so its content is not delivered`,
    );
  }
  const hash = parseHashAlgorithm(d.hashAlgorithm);
  digestValueBytes(d, where);
  return { hash, normalisation: d.normalisationAlgorithm, value: d.value.toLowerCase() };
}

/**
 * The hex digest of `desc`'s content under `hash`. When the descriptor's own digest uses that hash
 * it is the answer: whatever reads the content is verified against it as it streams. Otherwise the
 * content is streamed once through the hash, never held whole.
 */
async function contentHex(desc: Descriptor, hash: HashAlgorithmInfo, source: Fetcher, o: Op): Promise<string> {
  const colon = desc.digest.indexOf(':');
  if (desc.digest.slice(0, colon) === hash.node) return desc.digest.slice(colon + 1).toLowerCase();
  return hashContent(source, desc, hash.node, o);
}

/**
 * Checks a resource's digest against the content about to be delivered (`desc`: the blob, or the
 * top manifest of an artifact) before any byte of it is written. DIGEST_MISMATCH names both values
 * (only the recorded one for `private` content).
 */
export async function verifyResourceContent(
  r: DigestedElement,
  desc: Descriptor,
  shape: ContentShape,
  source: Fetcher,
  options: Op & { where: string; private?: boolean },
): Promise<void> {
  const { where, private: secret, ...o } = options;
  const claim = contentClaim(r.digest, shape, `${where}: ${describe(r)}`);
  if (!claim) return;
  const actual = await contentHex(desc, claim.hash, source, o);
  if (actual !== claim.value) {
    // `private`: content a descriptor pointed at on this machine (a local file), whose digest the
    // descriptor's author must not learn from the message.
    const content = secret ? 'the content does not match' : `the content ${desc.digest} hashes to ${actual}`;
    throw new LadingError(
      'DIGEST_MISMATCH',
      `${where}: ${describe(r)}: content digest mismatch: the descriptor records ${claim.hash.name} ${claim.value} (${claim.normalisation}), ${content}`,
    );
  }
}

/**
 * Checks a resource's digest against an OCM v1 artifact set blob (`blob`, read from `source`). A
 * genericBlobDigest/v1 digest is the blob's own, checked as {@link verifyResourceContent} does;
 * an ociArtifactDigest/v1 one is that of the set's main manifest (`software.ocm/main`, or its
 * only one): the set is unpacked, the manifest hashed, and every blob below it read through its
 * own digest, so content that the digest does not vouch for is not delivered.
 */
export async function verifyArtifactSetContent(
  r: DigestedElement,
  blob: Descriptor,
  source: Fetcher,
  options: Op & { where: string },
): Promise<void> {
  const { where, ...o } = options;
  const claim = contentClaim(r.digest, 'artifact', `${where}: ${describe(r)}`);
  if (!claim) return;
  if (claim.normalisation !== NormalisationAlgorithm.OciArtifactDigest) {
    await verifyResourceContent(r, blob, 'blob', source, options);
    return;
  }
  const set = await readArtifactSet(await source.fetch(blob, o), {
    where: `${where}: ${describe(r)}: artifact set ${blob.digest}`,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  try {
    const main = set.main;
    const mismatch = (why: string, cause?: unknown) =>
      new LadingError(
        'DIGEST_MISMATCH',
        `${where}: ${describe(r)}: content digest mismatch: the descriptor records ${claim.hash.name} ${claim.value} (${claim.normalisation}), ${why}`,
        cause === undefined ? undefined : { cause },
      );
    if (!main) throw mismatch(`the artifact set ${blob.digest} names no main artifact`);
    // A blob of the set that is missing or not what its descriptor says: the set does not hold the
    // artifact the digest vouches for.
    const broken = (error: unknown): unknown =>
      isLadingError(error, 'DIGEST_MISMATCH') ||
      isLadingError(error, 'SIZE_MISMATCH') ||
      isLadingError(error, 'NOT_FOUND')
        ? mismatch(`the artifact set ${blob.digest} does not hold it intact: ${(error as Error).message}`, error)
        : error;
    const bytes = await fetchAll(set, main, o).catch((error: unknown) => {
      throw broken(error);
    });
    const actual = createHash(claim.hash.node).update(bytes).digest('hex');
    if (actual !== claim.value) throw mismatch(`its main artifact ${main.digest} hashes to ${actual}`);
    await new GraphCopier(set, new CheckingSink(), o.signal ? { signal: o.signal } : {})
      .copy(main, bytes)
      .catch((error: unknown) => {
        throw broken(error);
      });
  } finally {
    await set.close();
  }
}
