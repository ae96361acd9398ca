import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { LadingError } from '../oci/index.js';

function escapes(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/**
 * Resolves a path named by an artifact (a layer title, a tar entry) inside `root`, refusing any
 * that leaves it: `..`, absolute paths, and symlinks already on disk that point outside. With
 * `allowTraversal` the caller has explicitly opted out (ORAS `-T`).
 */
export async function safeJoin(
  root: string,
  name: string,
  options: { allowTraversal?: boolean } = {},
): Promise<string> {
  if (name === '' || name.includes('\0'))
    throw new LadingError('PATH_TRAVERSAL', `invalid file name ${JSON.stringify(name)}`);
  const base = resolve(root);
  const target = isAbsolute(name) ? resolve(name) : resolve(base, name);
  if (options.allowTraversal) return target;
  if (escapes(base, target)) {
    throw new LadingError(
      'PATH_TRAVERSAL',
      `path traversal disallowed: "${name}" would be written outside ${root} (use --allow-path-traversal to permit it)`,
    );
  }
  // A symlink already in the tree could redirect the write; walk the existing parents.
  const realBase = await realpath(base).catch(() => base);
  let current = base;
  for (const part of relative(base, target).split(sep)) {
    if (!part) continue;
    current = join(current, part);
    let info: import('node:fs').Stats;
    try {
      info = await lstat(current);
    } catch {
      break; // does not exist yet: nothing below it can be a link
    }
    if (info.isSymbolicLink()) {
      const real = await realpath(current).catch(() => current);
      if (escapes(realBase, real)) {
        throw new LadingError(
          'PATH_TRAVERSAL',
          `path traversal disallowed: "${name}" passes a symlink that leaves ${root}`,
        );
      }
    }
  }
  return target;
}
