import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The upstream test vectors live in shared/reference beside the project (CI clones the project
 * with shared/ next to it). A missing folder is an error, never a silent skip.
 */
const candidates = [
  process.env.LADING_REFERENCE,
  resolve(fileURLToPath(new URL('../../../shared/reference', import.meta.url))),
].filter((p): p is string => Boolean(p));

export const referenceDir: string = (() => {
  for (const c of candidates) if (existsSync(join(c, 'vectors'))) return c;
  throw new Error(`upstream vectors not found (looked in ${candidates.join(', ')}); set LADING_REFERENCE`);
})();

export const orasVectors = join(referenceDir, 'vectors/oras');
export const ocmVectors = join(referenceDir, 'vectors/ocm');
export const zotLayouts = join(orasVectors, 'oras-project/oras/test/e2e/testdata/zot/command');
