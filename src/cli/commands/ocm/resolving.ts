import type { ComponentVersionRepository } from '../../../ocm/repository/repository.js';
import type { ResolvingReader } from '../../../ocm/resolving-reader.js';
import { type OcmRemoteFlags, ocmConfigFor, openRepository } from './common.js';

/** A reader over a command's repository and the OCM configuration's resolvers; close it when done. */
export interface OpenedResolvingReader {
  reader: ResolvingReader;
  /** How many resolvers the configuration names. */
  resolvers: number;
  close(): Promise<void>;
}

/**
 * The one way `get cv -r`, `transfer cv -r` and `verify cv -r` find referenced component versions:
 * the command's repository first, then the configuration's resolvers (both upstream config
 * types), each resolver repository opened with the command's flags when first asked.
 */
export async function resolvingReader(
  primary: ComponentVersionRepository,
  flags: OcmRemoteFlags,
): Promise<OpenedResolvingReader> {
  const { resolversFromConfig } = await import('../../../ocm/config/resolvers.js');
  const { ResolvingReader } = await import('../../../ocm/resolving-reader.js');
  const resolvers = resolversFromConfig(await ocmConfigFor(flags));
  const others: { close(): Promise<void> }[] = [];
  const reader = new ResolvingReader(primary, resolvers, async (r) => {
    const other = await openRepository(r.repository, flags);
    others.push(other);
    return other.repository;
  });
  return {
    reader,
    resolvers: resolvers.length,
    close: async () => {
      for (const o of others) await o.close();
    },
  };
}
