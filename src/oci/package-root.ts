import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let found: { root: string; version: string } | undefined;

/**
 * lading's own package folder and version, found by walking up from this module to the
 * package.json named `lading`: the same answer from src/ (tests), dist/ (the library) and the
 * bundled command line in dist/bin/, whose chunks sit at other depths.
 */
export function ladingPackage(): { root: string; version: string } {
  if (found) return found;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'lading') {
        found = { root: dir, version: pkg.version ?? 'unknown' };
        return found;
      }
    } catch {
      // no package.json here: keep walking
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`lading: no package.json named lading above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A path inside lading's package folder (`schemas/ocm/`, ...). */
export function packagePath(...segments: string[]): string {
  return join(ladingPackage().root, ...segments);
}
