import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { CheckingSink, fetchAll, hashContent, type Op, type Target } from '../../content/index.js';
import { GraphCopier } from '../../copy/index.js';
import { isArtifactSetMediaType } from '../../ctf/index.js';
import { type Descriptor, isLadingError, LadingError } from '../../oci/index.js';
import { verifyArtifactSetContent } from '../content-digest.js';
import { formatIdentity, identityOf } from '../descriptor/identity.js';
import {
  type ComponentDescriptor,
  type DigestSpec,
  type LocalBlobAccess,
  NoDigest,
  NormalisationAlgorithm,
  type Resource,
} from '../descriptor/model.js';
import { isOciManifestType } from '../repository/mapping.js';
import type { ComponentVersionRepository, StoredVersion } from '../repository/repository.js';
import { isAccessType } from '../types.js';
import { parseHashAlgorithm } from './digest.js';
import { isNoneAccess } from './normalise.js';

/** One resource's digest check by {@link verifyComponentVersion} with `verifyDigests`. */
export interface ResourceDigestCheck {
  /** `name=…,version=…` plus extra identity. */
  identity: string;
  /** `verified`: its content has the digest the descriptor records; `skipped`: not checked (see `reason`). */
  status: 'verified' | 'skipped';
  /** Why a resource was skipped. */
  reason?: string;
}

function describe(r: Resource): string {
  return formatIdentity(identityOf(r));
}

function complete(d: DigestSpec | undefined): d is DigestSpec {
  return Boolean(d?.hashAlgorithm && d.normalisationAlgorithm && d.value);
}

/** Resources that cannot be covered by a signature: upstream warns; lading refuses to sign them. */
export function digestProblems(descriptor: ComponentDescriptor): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const r of descriptor.component.resources) {
    const d = r.digest;
    if (isNoneAccess(r.access)) {
      if (d) warnings.push(`resource ${describe(r)} has no access, so its digest is not signed`);
      continue;
    }
    if (!complete(d)) {
      errors.push(`resource ${describe(r)} has no digest`);
    } else if (d.value === NoDigest || d.hashAlgorithm === NoDigest) {
      warnings.push(
        `resource ${describe(r)} is excluded from signing (NO-DIGEST): the signature does not cover its content`,
      );
    }
  }
  for (const ref of descriptor.component.componentReferences) {
    if (!complete(ref.digest)) {
      warnings.push(
        `component reference ${formatIdentity(identityOf(ref))} (${ref.componentName}:${ref.version}) has no digest, so the signature does not pin it`,
      );
    }
  }
  return { errors, warnings };
}

function mismatch(r: Resource, why: string, cause?: unknown): LadingError {
  return new LadingError(
    'DIGEST_MISMATCH',
    `resource ${describe(r)}: content digest mismatch: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Store-side verification failures are the same finding: the content is not what was recorded. */
function contentError(error: unknown): boolean {
  return isLadingError(error, 'DIGEST_MISMATCH') || isLadingError(error, 'SIZE_MISMATCH');
}

async function checkResource(
  target: Target,
  stored: StoredVersion,
  r: Resource,
  checked: CheckingSink,
  o: Op,
  onProgress: ((desc: Descriptor, bytes: number) => void) | undefined,
): Promise<ResourceDigestCheck> {
  const identity = describe(r);
  if (!isAccessType(r.access.type, 'LocalBlob/v1')) {
    return { identity, status: 'skipped', reason: `access ${r.access.type} is not a local blob` };
  }
  const d = r.digest;
  if (!d?.value) throw mismatch(r, 'the resource has no digest, so nothing covers its content');
  if (d.value === NoDigest || d.hashAlgorithm === NoDigest) {
    return { identity, status: 'skipped', reason: 'excluded from signing (NO-DIGEST)' };
  }
  const access = r.access as LocalBlobAccess;
  const hash = parseHashAlgorithm(d.hashAlgorithm);
  const native = isOciManifestType(access.mediaType);
  if (
    isArtifactSetMediaType(access.mediaType) &&
    d.normalisationAlgorithm === NormalisationAlgorithm.OciArtifactDigest
  ) {
    // An OCI artifact OCM v1 copied by value: the digest is its main manifest's (every blob below is read too).
    const layer = stored.layers.get(access.localReference);
    if (!layer) {
      throw new LadingError(
        'NOT_FOUND',
        `resource ${identity}: local blob ${access.localReference} is not in the version's manifest`,
      );
    }
    const { name, version } = stored.descriptor.component;
    await verifyArtifactSetContent(r, layer, target, { ...o, where: `${name}:${version}` });
    onProgress?.(layer, layer.size);
    return { identity, status: 'verified' };
  }
  if (
    d.normalisationAlgorithm !== NormalisationAlgorithm.GenericBlobDigest &&
    !(native && d.normalisationAlgorithm === NormalisationAlgorithm.OciArtifactDigest)
  ) {
    return {
      identity,
      status: 'skipped',
      reason: `the ${d.normalisationAlgorithm} digest of a ${access.mediaType || 'local'} blob is not recomputed`,
    };
  }
  let actual: string;
  try {
    if (native) {
      // An OCI artifact stored natively: its digest is the manifest's; every blob below is checked too.
      const top = await target.resolve(access.localReference, o);
      const bytes = await fetchAll(target, top, o);
      actual = createHash(hash.node).update(bytes).digest('hex');
      // Every blob below is read through verification by a graph copy into a sink that keeps nothing
      // (which reports the progress, the manifest's included).
      if (actual === d.value) {
        await new GraphCopier(target, checked, {
          ...(o.signal ? { signal: o.signal } : {}),
          ...(onProgress ? { onProgress } : {}),
        }).copy(top, bytes);
      }
    } else {
      const layer = stored.layers.get(access.localReference);
      if (!layer) {
        throw new LadingError(
          'NOT_FOUND',
          `resource ${identity}: local blob ${access.localReference} is not in the version's manifest`,
        );
      }
      actual = await hashContent(target, layer, hash.node, {
        ...o,
        ...(onProgress ? { onProgress: (n: number) => onProgress(layer, n) } : {}),
      });
    }
  } catch (error) {
    if (contentError(error)) throw mismatch(r, (error as Error).message, error);
    throw error;
  }
  if (actual !== d.value.toLowerCase()) {
    throw mismatch(r, `the content hashes to ${actual} (${hash.name}), the descriptor records ${d.value}`);
  }
  return { identity, status: 'verified' };
}

/**
 * Recomputes the digest of every local-blob resource from the stored content (beyond upstream,
 * which never does): a blob's digest is the hash of its bytes, an OCI artifact's that of its
 * manifest, whose blobs are streamed and checked as well. Other resources are reported as skipped.
 */
export async function verifyResourceDigests(
  repo: ComponentVersionRepository,
  stored: StoredVersion,
  options: {
    concurrency?: number;
    signal?: AbortSignal;
    onProgress?: ((desc: Descriptor, bytes: number) => void) | undefined;
  } = {},
): Promise<ResourceDigestCheck[]> {
  const o: Op = options.signal ? { signal: options.signal } : {};
  const target = await repo.target(stored.descriptor.component.name, o);
  const limit = pLimit(options.concurrency ?? 4);
  const checked = new CheckingSink();
  const settled = await Promise.allSettled(
    stored.descriptor.component.resources.map((r) =>
      limit(() => checkResource(target, stored, r, checked, o, options.onProgress)),
    ),
  );
  // The first failure in resource order, whichever finished first: the same run reports the same error.
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<ResourceDigestCheck>).value);
}
