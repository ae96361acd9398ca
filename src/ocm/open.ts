import { CtfArchive } from '../ctf/index.js';
import { Registry, type RegistryOptions } from '../registry/index.js';
import type { RepositorySpec } from './reference.js';
import { type ComponentRepositoryOptions, ComponentVersionRepository } from './repository/repository.js';
import { registryResolver } from './repository/resolvers.js';

export interface OpenedRepository {
  repository: ComponentVersionRepository;
  /** `ctf ./transport-archive` or `oci http://127.0.0.1:5000/sub`, for messages. */
  display: string;
  /**
   * Commits a CTF written in tar/tgz form (or discards it with `commit: false`) and closes
   * connections. An aborted `signal` stops the write-back and leaves the archive as it was.
   */
  close(options?: { commit?: boolean; signal?: AbortSignal }): Promise<void>;
}

export interface OpenRepositoryOptions extends ComponentRepositoryOptions {
  /** Open for writing: a missing CTF archive is created, unless `'existing'` (signing never creates one). */
  write?: boolean | 'existing';
  /** Options for registries (credentials, TLS, plain HTTP); the host is passed for per-host choices. */
  registryOptions?: (host: string) => RegistryOptions;
}

/** Opens the repository a spec names, as a ComponentVersionRepository over its targets. */
export async function openComponentRepository(
  spec: RepositorySpec,
  options: OpenRepositoryOptions = {},
): Promise<OpenedRepository> {
  if (spec.kind === 'CommonTransportFormat') {
    const mode = options.write === 'existing' ? 'readwrite' : options.write ? 'create' : 'readonly';
    const archive = await CtfArchive.open(spec.filePath, { mode });
    return {
      repository: new ComponentVersionRepository(archive.resolver(), options),
      display: spec.filePath,
      close: (o = {}) => archive.close({ commit: o.commit ?? true, ...(o.signal ? { signal: o.signal } : {}) }),
    };
  }
  const host = spec.baseUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const registry = new Registry(spec.baseUrl, options.registryOptions?.(host) ?? {});
  return {
    repository: new ComponentVersionRepository(
      registryResolver(registry, {
        ...(spec.subPath ? { subPath: spec.subPath } : {}),
        ...(options.write ? { write: true } : {}),
      }),
      options,
    ),
    display: `${spec.baseUrl}${spec.subPath ? `/${spec.subPath}` : ''}`,
    close: () => registry.close(),
  };
}
