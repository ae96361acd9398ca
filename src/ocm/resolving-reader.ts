import type { Op } from '../content/index.js';
import { isLadingError } from '../oci/index.js';
import type { ComponentResolver } from './config/resolvers.js';
import type { ComponentVersionRepository, StoredVersion } from './repository/repository.js';

/** What reads component versions: a repository, or one that also asks resolvers. */
export interface ComponentVersionReader {
  getComponentVersion(name: string, version: string, o?: Op): Promise<StoredVersion>;
}

/**
 * Reads component versions from a repository, and a version it does not have from the resolvers
 * whose pattern or prefix matches the component name, in their order. Each resolver repository
 * is opened once, when first asked.
 */
export class ResolvingReader implements ComponentVersionReader {
  readonly #primary: ComponentVersionRepository;
  readonly #resolvers: ComponentResolver[];
  readonly #open: (resolver: ComponentResolver) => Promise<ComponentVersionRepository>;
  readonly #opened = new Map<ComponentResolver, Promise<ComponentVersionRepository>>();

  constructor(
    primary: ComponentVersionRepository,
    resolvers: ComponentResolver[],
    open: (resolver: ComponentResolver) => Promise<ComponentVersionRepository>,
  ) {
    this.#primary = primary;
    this.#resolvers = resolvers;
    this.#open = open;
  }

  async getComponentVersion(name: string, version: string, o: Op = {}): Promise<StoredVersion> {
    let firstError: unknown;
    try {
      return await this.#primary.getComponentVersion(name, version, o);
    } catch (error) {
      if (!isLadingError(error, 'NOT_FOUND')) throw error;
      firstError = error;
    }
    for (const resolver of this.#resolvers) {
      if (!resolver.matches(name)) continue;
      let repository = this.#opened.get(resolver);
      if (!repository) {
        repository = this.#open(resolver);
        this.#opened.set(resolver, repository);
      }
      try {
        return await (await repository).getComponentVersion(name, version, o);
      } catch (error) {
        if (!isLadingError(error, 'NOT_FOUND')) throw error;
      }
    }
    throw firstError;
  }
}
