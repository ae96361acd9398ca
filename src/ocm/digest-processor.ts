import { LadingError } from '../oci/index.js';
import type { AccessDigest, ConstructOptions } from './construct.js';
import { genericBlobDigest, type TypedSpec } from './descriptor/model.js';
import { helmAccessDigest } from './helm-access.js';
import { registryImagePinner } from './image-access.js';
import type { HelmFetchOptions } from './input/helm-remote.js';
import type { RegistryPool } from './registry-pool.js';
import { AccessType, isAccessType } from './types.js';

/**
 * Upstream's digest processors for a constructor's resources given by access
 * ({@link ConstructOptions.digestAccess}): an `OCIImage/v1` reference is resolved in its registry
 * and pinned to the manifest digest, a `Helm/v1` chart gets the digest its repository's index.yaml
 * records (or its manifest digest in an `oci://` repository). Every other access type has none.
 */
export function registryDigestProcessor(o: {
  /** Reaches the images' registries (TLS, credentials, plain HTTP). */
  registries: RegistryPool;
  /** Reaches chart repositories. */
  helm?: Omit<HelmFetchOptions, 'signal'>;
}): (access: TypedSpec, options: { signal?: AbortSignal }) => Promise<AccessDigest | undefined> {
  const pin = registryImagePinner(o.registries);
  return async (access, options) => {
    if (isAccessType(access.type, AccessType.OCIImage)) {
      const reference = (access as { imageReference?: unknown }).imageReference;
      if (typeof reference !== 'string' || reference === '') {
        throw new LadingError('INVALID_DESCRIPTOR', 'imageReference: an OCIImage/v1 access needs one');
      }
      const { digest, pinned } = await pin(reference, options.signal ? { signal: options.signal } : {});
      return {
        digest: genericBlobDigest(digest),
        access: { ...access, imageReference: pinned },
      };
    }
    if (isAccessType(access.type, AccessType.Helm)) {
      return {
        digest: await helmAccessDigest(access, { ...o.helm, ...(options.signal ? { signal: options.signal } : {}) }),
      };
    }
    return undefined;
  };
}
