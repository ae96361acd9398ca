import type { OpenMode } from '../content/index.js';
import { CtfArchive } from '../ctf/index.js';
import { Registry, type RegistryOptions } from '../registry/index.js';
import { parseRepository, type RepositorySpec } from './reference.js';
import { type ComponentRepositoryOptions, ComponentVersionRepository } from './repository/repository.js';
import { registryResolver } from './repository/resolvers.js';

/** A component repository opened by {@link openComponentRepository}; close it when done. */
export interface OpenedRepository extends AsyncDisposable {
  /** The component version repository. */
  repository: ComponentVersionRepository;
  /** `ctf ./transport-archive` or `oci http://127.0.0.1:5000/sub`, for messages. */
  display: string;
  /**
   * Commits a CTF written in tar/tgz form (or discards it with `commit: false`) and closes
   * connections. An aborted `signal` stops the write-back and leaves the archive as it was.
   */
  close(options?: { commit?: boolean; signal?: AbortSignal }): Promise<void>;
  /** `close()` with its defaults (a changed CTF tar or tgz is written back), for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link openComponentRepository}. */
export interface OpenRepositoryOptions extends ComponentRepositoryOptions {
  /**
   * `readonly` (default); `readwrite`: write into an existing CTF archive (or a registry);
   * `create`: write, creating a missing CTF archive. The {@link OpenMode} of every file store.
   */
  mode?: OpenMode;
  /**
   * A CTF folder written through this repository writes its artifact-index.json once, on close,
   * rather than after every version (see OpenCtfOptions.batchIndex); a tar or tgz always does.
   */
  batchIndex?: boolean;
  /** Options for registries (credentials, TLS, plain HTTP); the host is passed for per-host choices. */
  registryOptions?: (host: string) => RegistryOptions;
}

/**
 * Opens the component repository `location` names, a CTF archive or an OCI registry (a string as
 * {@link parseRepository} reads it: `./archive.tgz`, `http://127.0.0.1:5000/sub`, `ghcr.io/acme`),
 * as a {@link ComponentVersionRepository} over its targets.
 */
export async function openComponentRepository(
  location: RepositorySpec | string,
  options: OpenRepositoryOptions = {},
): Promise<OpenedRepository> {
  const spec = typeof location === 'string' ? parseRepository(location) : location;
  const mode = options.mode ?? 'readonly';
  if (spec.kind === 'CommonTransportFormat') {
    const archive = await CtfArchive.open(spec.filePath, {
      mode,
      ...(options.batchIndex ? { batchIndex: true } : {}),
    });
    const close = (o: { commit?: boolean; signal?: AbortSignal } = {}) =>
      archive.close({ commit: o.commit ?? true, ...(o.signal ? { signal: o.signal } : {}) });
    return {
      repository: new ComponentVersionRepository(archive.resolver(), { location: spec.filePath, ...options }),
      display: spec.filePath,
      close,
      [Symbol.asyncDispose]: () => close(),
    };
  }
  const host = spec.baseUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const registry = new Registry(spec.baseUrl, options.registryOptions?.(host) ?? {});
  const display = `${spec.baseUrl}${spec.subPath ? `/${spec.subPath}` : ''}`;
  return {
    repository: new ComponentVersionRepository(
      registryResolver(registry, {
        ...(spec.subPath ? { subPath: spec.subPath } : {}),
        ...(mode !== 'readonly' ? { write: true } : {}),
      }),
      { location: display, ...options },
    ),
    display,
    close: () => registry.close(),
    [Symbol.asyncDispose]: () => registry.close(),
  };
}
