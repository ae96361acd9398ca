import { isLadingError, LadingError } from '../oci/index.js';
import type { DigestSpec } from './descriptor/model.js';
import type { ComponentVersionRepository } from './repository/repository.js';
import { digestDescriptor } from './signing/digest.js';

/**
 * Pins a reference to a version already in `repository` by its normalised digest, as upstream does
 * when it builds a constructor (`constructComponentVersions`' `referenceDigest`). `file` (the
 * constructor) and `repositoryName` name both places in the error for a version in neither.
 */
export function storedReferenceDigest(
  repository: ComponentVersionRepository,
  o: { file: string; repositoryName: string },
): (component: string, version: string) => Promise<DigestSpec> {
  return async (component, version) => {
    const stored = await repository.getComponentVersion(component, version).catch((error: unknown) => {
      if (isLadingError(error, 'NOT_FOUND')) {
        throw new LadingError(
          'NOT_FOUND',
          `${o.file}: referenced component version ${component}:${version} is neither in the constructor nor in ${o.repositoryName}`,
        );
      }
      throw error;
    });
    return digestDescriptor(stored.descriptor).digest;
  };
}
