import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Upstream test vectors, copied into the repository (see test/fixtures/upstream/PROVENANCE.md) so
 * that a fresh clone tests with nothing beside it. A missing folder is an error, never a skip.
 */
export const upstreamDir: string = fileURLToPath(new URL('../fixtures/upstream', import.meta.url));
if (!existsSync(join(upstreamDir, 'oras')) || !existsSync(join(upstreamDir, 'ocm'))) {
  throw new Error(`upstream vectors not found in ${upstreamDir}`);
}

export const orasVectors = join(upstreamDir, 'oras');
export const ocmVectors = join(upstreamDir, 'ocm');
export const zotLayouts = join(orasVectors, 'oras-project/oras/test/e2e/testdata/zot/command');
