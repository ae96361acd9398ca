import { isLadingError, LadingError } from '../oci/index.js';
import type { DigestSpec } from './descriptor/model.js';
import type { ComponentVersionReader } from './resolving-reader.js';
import { digestDescriptor } from './signing/digest.js';

/**
 * Pins a reference to a version already in `repository` (or, with a resolving reader, found through
 * the configuration's resolvers) by its normalised digest, as upstream does when it builds a
 * constructor (`constructComponentVersions`' `referenceDigest`). `file` (the constructor) and
 * `repositoryName` name the places in the error for a version in none of them.
 */
export function storedReferenceDigest(
  repository: ComponentVersionReader,
  o: { file: string; repositoryName: string; resolvers?: boolean },
): (component: string, version: string) => Promise<DigestSpec> {
  return async (component, version) => {
    const stored = await repository.getComponentVersion(component, version).catch((error: unknown) => {
      if (isLadingError(error, 'NOT_FOUND')) {
        throw new LadingError(
          'NOT_FOUND',
          `${o.file}: referenced component version ${component}:${version} is neither in the constructor nor in ${o.repositoryName}${o.resolvers ? " nor through the configuration's resolvers" : ''}`,
        );
      }
      throw error;
    });
    return digestDescriptor(stored.descriptor).digest;
  };
}
