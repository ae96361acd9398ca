import type { Op, Target, TargetResolver } from '../../content/index.js';
import type { CtfArchive } from '../../ctf/index.js';
import type { OciLayout } from '../../layout/index.js';
import { LadingError } from '../../oci/index.js';
import { registryResolver } from '../../ocm/repository/index.js';
import type { Registry } from '../../registry/index.js';

/** What the browser view shows: the repositories of one store, read through the library's Targets. */
export interface UiStore {
  kind: 'ctf' | 'oci-layout' | 'registry';
  /** The archive or layout path, or the registry URL, for the page header. */
  display: string;
  /** Repositories by name; `repositories` lists them where the store can (a registry's catalog). */
  resolver: TargetResolver;
}

/** A CTF archive (opened read-only by the caller, who also closes it). */
export function ctfStore(archive: CtfArchive, display: string): UiStore {
  return { kind: 'ctf', display, resolver: archive.resolver() };
}

/** A registry, optionally below a sub path (the repositories the view names are relative to it). */
export function registryStore(registry: Registry, display: string, options: { subPath?: string } = {}): UiStore {
  return {
    kind: 'registry',
    display,
    resolver: registryResolver(registry, options.subPath ? { subPath: options.subPath } : {}),
  };
}

/** An OCI layout: one repository, named `name` in the view. */
export function layoutStore(layout: OciLayout, display: string, name: string): UiStore {
  return {
    kind: 'oci-layout',
    display,
    resolver: {
      async targetFor(repository: string, _o?: Op): Promise<Target> {
        if (repository !== name) {
          throw new LadingError('NOT_FOUND', `repository ${repository} is not in the OCI layout ${display}`);
        }
        return layout;
      },
      async *repositories(_o?: Op): AsyncIterable<string[]> {
        yield [name];
      },
    },
  };
}
