import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { OpenedRepository } from '../../../ocm/open.js';
import type { RepositorySpec } from '../../../ocm/reference.js';
import { addRemoteOptions } from '../../options.js';
import type { TargetFlags } from '../../targets.js';

export const OcmFormats = ['table', 'yaml', 'json', 'ndjson', 'tree'] as const;

/**
 * Registry flags for OCM commands: plain HTTP, TLS, credentials and docker config files, as the
 * ORAS family has them but without short names (OCM's own short flags mean other things).
 */
export function addOcmRemoteOptions(cmd: Command): Command {
  return addRemoteOptions(cmd, '', { shortFlags: false });
}

export function checkFormat(value: string): (typeof OcmFormats)[number] {
  if (!(OcmFormats as readonly string[]).includes(value)) {
    throw new LadingError('INVALID_ARGUMENT', `-o/--output must be one of ${OcmFormats.join(', ')}, got "${value}"`);
  }
  return value as (typeof OcmFormats)[number];
}

/** Opens an OCM repository with the command's registry flags. */
export async function openRepository(
  spec: RepositorySpec,
  flags: TargetFlags,
  options: { write?: boolean } = {},
): Promise<OpenedRepository> {
  const { openComponentRepository } = await import('../../../ocm/open.js');
  const { registryOptions } = await import('../../targets.js');
  return openComponentRepository(spec, {
    ...(options.write ? { write: true } : {}),
    registryOptions: (host) => {
      const o = registryOptions(flags, host);
      // `http://` in the repository URL already chose plain HTTP; flags may still say so.
      return o;
    },
  });
}
