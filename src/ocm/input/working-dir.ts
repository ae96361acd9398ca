import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { LadingError } from '../../oci/index.js';

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

/**
 * Resolves an input path against the working directory, refusing any path that leaves it — by
 * `..`, by being absolute elsewhere, or through a symbolic link (upstream opens it with Go's
 * os.OpenInRoot, which has the same effect). The file must exist.
 */
export async function resolveInWorkingDirectory(
  path: string,
  workingDirectory: string,
  field = 'path',
): Promise<string> {
  if (typeof path !== 'string' || path === '') throw new LadingError('INVALID_ARGUMENT', `${field} must not be empty`);
  const root = resolve(workingDirectory);
  const lexical = resolve(root, path);
  if (!inside(root, lexical)) {
    throw new LadingError(
      'PATH_TRAVERSAL',
      `${field} ${JSON.stringify(path)} is outside the working directory ${root}`,
    );
  }
  try {
    await stat(lexical);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new LadingError(
      code === 'ENOENT' || code === 'ENOTDIR' ? 'NOT_FOUND' : 'IO_ERROR',
      `${field} ${JSON.stringify(path)}: ${code === 'ENOENT' ? 'no such file or directory' : (error as Error).message} (in ${root})`,
      { cause: error },
    );
  }
  const [realRoot, real] = await Promise.all([realpath(root), realpath(lexical)]);
  if (!inside(realRoot, real)) {
    throw new LadingError(
      'PATH_TRAVERSAL',
      `${field} ${JSON.stringify(path)} leads outside the working directory ${root} through a symbolic link`,
    );
  }
  return lexical;
}
