import type { Op } from '../content/index.js';
import { isLadingError } from '../oci/index.js';
import type { ComponentResolver } from './config/resolvers.js';
import type { ComponentVersionRepository, StoredVersion } from './repository/repository.js';

/** What reads component versions: a repository, or one that also asks resolvers. */
export interface ComponentVersionReader {
  /** The stored component version `name:version`; NOT_FOUND when no repository has it. */
  getComponentVersion(name: string, version: string, o?: Op): Promise<StoredVersion>;
}

/** A component version and the repository that holds it (its local blobs are read from there). */
export interface LocatedVersion {
  /** The component version as stored. */
  stored: StoredVersion;
  /** The repository it was read from. */
  repository: ComponentVersionRepository;
  /** The resolver it was found through; absent when the primary repository has it. */
  resolver?: ComponentResolver;
}

/** What finds component versions and says where each one lives: transfer and verification use it. */
export interface ComponentVersionLocator extends ComponentVersionReader {
  /** The stored component version `name:version` and the repository that holds it. */
  locate(name: string, version: string, o?: Op): Promise<LocatedVersion>;
}

/** Whether a reader can say which repository holds a version. */
export function isLocator(reader: ComponentVersionReader): reader is ComponentVersionLocator {
  return typeof (reader as Partial<ComponentVersionLocator>).locate === 'function';
}

/**
 * Reads component versions from a repository, and a version it does not have from the resolvers
 * whose pattern or prefix matches the component name, in their order. Each resolver repository
 * is opened once, when first asked.
 */
export class ResolvingReader implements ComponentVersionLocator {
  readonly #primary: ComponentVersionRepository;
  readonly #resolvers: ComponentResolver[];
  readonly #open: (resolver: ComponentResolver) => Promise<ComponentVersionRepository>;
  readonly #opened = new Map<ComponentResolver, Promise<ComponentVersionRepository>>();

  /**
   * A reader over `primary` and `resolvers`.
   * @param primary asked first, always
   * @param resolvers asked in order for a version `primary` lacks (see `resolversFromConfig`)
   * @param open opens a resolver's repository (the caller brings credentials and TLS settings)
   */
  constructor(
    primary: ComponentVersionRepository,
    resolvers: ComponentResolver[],
    open: (resolver: ComponentResolver) => Promise<ComponentVersionRepository>,
  ) {
    this.#primary = primary;
    this.#resolvers = resolvers;
    this.#open = open;
  }

  /** The stored component version `name:version`, from the primary repository or a resolver's. */
  async getComponentVersion(name: string, version: string, o: Op = {}): Promise<StoredVersion> {
    return (await this.locate(name, version, o)).stored;
  }

  /** Like getComponentVersion, and also which repository (and resolver) had the version. */
  async locate(name: string, version: string, o: Op = {}): Promise<LocatedVersion> {
    let firstError: unknown;
    try {
      return { stored: await this.#primary.getComponentVersion(name, version, o), repository: this.#primary };
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
        const opened = await repository;
        return { stored: await opened.getComponentVersion(name, version, o), repository: opened, resolver };
      } catch (error) {
        if (!isLadingError(error, 'NOT_FOUND')) throw error;
      }
    }
    throw firstError;
  }
}
