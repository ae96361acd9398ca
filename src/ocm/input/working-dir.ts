import fs from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { assertOpenedWithin, isWithin } from '../../content/index.js';
import { LadingError } from '../../oci/index.js';

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
  if (!isWithin(root, lexical)) {
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
  if (!isWithin(realRoot, real)) {
    throw new LadingError(
      'PATH_TRAVERSAL',
      `${field} ${JSON.stringify(path)} leads outside the working directory ${root} through a symbolic link`,
    );
  }
  return lexical;
}

/**
 * The `fs` of a read stream whose file must still lie inside `realRoot` when it is opened
 * ({@link assertOpenedWithin}): a folder or file checked by path and swapped for a link before the
 * open would otherwise have a file elsewhere read. `noFollow` also refuses a link as the last
 * component.
 */
export function readInside(
  realRoot: string,
  o: { noFollow?: boolean } = {},
): Pick<typeof fs, 'open' | 'read' | 'close'> {
  const flags = fs.constants.O_RDONLY | (o.noFollow ? fs.constants.O_NOFOLLOW : 0);
  const open = ((
    path: fs.PathLike,
    _flags: unknown,
    _mode: unknown,
    callback: (e: Error | null, fd?: number) => void,
  ) => {
    fs.open(path, flags, (error, fd) => {
      if (error) return callback(error);
      assertOpenedWithin(fd, realRoot, String(path)).then(
        () => callback(null, fd),
        (refused: Error) => fs.close(fd, () => callback(refused)),
      );
    });
  }) as unknown as typeof fs.open;
  return { open, read: fs.read, close: fs.close };
}

/** The real path of the working directory, for {@link readInside}. */
export function realWorkingDirectory(workingDirectory: string): Promise<string> {
  return realpath(resolve(workingDirectory));
}
