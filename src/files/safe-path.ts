import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { isWithin } from '../content/index.js';
import { LadingError } from '../oci/index.js';

/**
 * Refuses layer titles that a pull cannot write as a file or folder of its own: one that names
 * the output folder itself (`.`, `./`, `sub/..`: written in place of the output, such a layer
 * skipped the staging and replaced what was there), and, unless traversal is allowed, any with a
 * `.` or `..` component (a title names a path inside the output plainly, or not at all).
 */
export function checkTitle(output: string, title: string, options: { allowTraversal?: boolean } = {}): void {
  // A lone surrogate (a `\ud800` escape in the manifest) is written to disk as U+FFFD: two titles
  // that differ only there would name one file, and one layer would silently replace the other.
  if (/[\uD800-\uDFFF]/u.test(title)) {
    throw new LadingError(
      'INVALID_MANIFEST',
      `layer title ${JSON.stringify(title)} is not well-formed Unicode (a lone surrogate); it cannot name a file`,
    );
  }
  const parts = title.split('/').filter((p) => p !== '');
  if (parts.length === 0 || resolve(output, title) === resolve(output)) {
    throw new LadingError('PATH_TRAVERSAL', `layer title ${JSON.stringify(title)} names the output folder itself`);
  }
  checkLength(output, title, parts);
  if (options.allowTraversal) return;
  if (!isWithin(resolve(output), resolve(output, title))) {
    throw leavesOutput(title, output);
  }
  if (parts.some((p) => p === '.' || p === '..')) {
    throw new LadingError(
      'PATH_TRAVERSAL',
      `layer title ${JSON.stringify(title)} has a "." or ".." component; a title names a path inside the output folder`,
    );
  }
}

/** The longest file name (NAME_MAX) of the file systems a pull writes to, in bytes. */
const NameMax = 255;
/**
 * The longest path a pull writes by name (PATH_MAX less its NUL), less room for the staging
 * folder the pull writes in first (`/.lading-pull.<pid>.<hex>.tmp/<n>`).
 */
const PathMax = (process.platform === 'darwin' ? 1024 : 4096) - 1 - 64;

/** A title cut short for an error message: the start says which one. */
function shortTitle(title: string): string {
  return JSON.stringify(title.length > 64 ? `${title.slice(0, 64)}…` : title);
}

/**
 * Refuses, before anything is fetched, a title the file system could not take: a component over
 * NAME_MAX bytes or a whole path over PATH_MAX (ENAMETOOLONG once the blob was downloaded).
 */
function checkLength(output: string, title: string, parts: string[]): void {
  const long = parts.find((p) => Buffer.byteLength(p) > NameMax);
  if (long !== undefined) {
    throw new LadingError(
      'INVALID_MANIFEST',
      `layer title ${shortTitle(title)} has a name of ${Buffer.byteLength(long)} bytes; a file name is at most ${NameMax} bytes`,
    );
  }
  const path = Buffer.byteLength(resolve(output, title));
  if (path > PathMax) {
    throw new LadingError(
      'INVALID_MANIFEST',
      `layer title ${shortTitle(title)} makes a path of ${path} bytes under ${output}; a pull writes paths of at most ${PathMax} bytes`,
    );
  }
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
  if (!isWithin(base, target)) {
    throw leavesOutput(name, root);
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
      if (!isWithin(realBase, real)) {
        throw new LadingError(
          'PATH_TRAVERSAL',
          `path traversal disallowed: "${name}" passes a symlink that leaves ${root}`,
        );
      }
    }
  }
  return target;
}

/** The error for a name that would be written outside `root` (checkTitle and safeJoin say it alike). */
function leavesOutput(name: string, root: string): LadingError {
  return new LadingError('PATH_TRAVERSAL', `path traversal disallowed: "${name}" would be written outside ${root}`);
}
