import { isDigestReference, LadingError } from '../oci/index.js';
import type { PlainHttpPolicy } from './access-transport.js';
import { type RepositorySpec, repositoryBase } from './reference.js';
import type { RegistryPool } from './registry-pool.js';
import type { ArtifactDestination, ImageSource } from './transfer.js';

/** `OCIImage/v1` references read from their registries; `http://` only where the policy allows it. */
export function registryImageSource(
  registries: RegistryPool,
  o: { allowPlainHttp?: PlainHttpPolicy | undefined } = {},
): ImageSource {
  return async (imageReference) =>
    registries.repository(imageReference, { allowPlainHttp: o.allowPlainHttp, where: imageReference });
}

/**
 * Where `uploadAs: ociArtifact` puts standalone copies: `<repository>/<referenceName>` in the target
 * registry (below its sub path). None for a CTF archive, which keeps artifacts as local blobs. The
 * name comes from the descriptor (a local blob's referenceName, an image reference's path, a
 * chart's name): transferComponentVersion refuses one among the component versions.
 */
export function registryArtifactDestination(
  target: RepositorySpec,
  registries: RegistryPool,
): ArtifactDestination | undefined {
  if (target.kind !== 'OCIRepository') return undefined;
  return async (referenceName) => {
    // The access names the artifact as upstream does: the target's base URL (its scheme kept, so
    // that an `http://` registry is read back over plain HTTP), sub path and reference name.
    const imageReference = `${repositoryBase(target)}/${referenceName}`;
    // The target repository is the user's own choice, `http://` included.
    const { target: repository, reference } = registries.repository(imageReference, {
      allowPlainHttp: () => true,
      where: target.baseUrl,
      push: true,
    });
    return { target: repository, reference: isDigestReference(reference) ? '' : reference, imageReference };
  };
}

/**
 * Resolves an `OCIImage/v1` reference of a constructor to its manifest digest and pins it as
 * upstream does: the tag stays for readers, the digest makes it immutable. A constructor is the
 * user's own instruction, so its `http://` needs no permission.
 */
export function registryImagePinner(
  registries: RegistryPool,
): (imageReference: string, o?: { signal?: AbortSignal }) => Promise<{ digest: string; pinned: string }> {
  return async (imageReference, o = {}) => {
    const image = registries.repository(imageReference, { allowPlainHttp: () => true, where: imageReference });
    if (!image.reference) {
      throw new LadingError('INVALID_REFERENCE', `${imageReference}: no tag or digest to resolve`);
    }
    const desc = await image.target.resolve(image.reference, o.signal ? { signal: o.signal } : {});
    const at = imageReference.lastIndexOf('@');
    const withoutDigest = at >= 0 ? imageReference.slice(0, at) : imageReference;
    return { digest: desc.digest, pinned: `${withoutDigest}@${desc.digest}` };
  };
}
