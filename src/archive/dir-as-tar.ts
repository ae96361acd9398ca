import { constants } from 'node:fs';
import { lstat, open, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileReadBytes } from '../content/index.js';
import { LadingError } from '../oci/index.js';
import { writeTar } from './tar-writer.js';

/**
 * Writes a directory tree (for example an OCI layout directory) as a tar with `writeTar`: regular
 * files sorted by path, each folder named before its first file. Symbolic links and special
 * files are refused rather than skipped, so that the archive never silently differs from the
 * directory.
 */
export async function writeDirectoryAsTar(
  dir: string,
  out: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const root = resolve(dir);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR';
    throw new LadingError(code, `${dir}: cannot read directory: ${(error as Error).message}`, { cause: error });
  }
  if (!info.isDirectory()) throw new LadingError('INVALID_ARGUMENT', `${dir}: not a directory`);
  // The walk would otherwise pick up the archive itself (or a previous run's).
  const rel = relative(root, resolve(out));
  if (!(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))) {
    throw new LadingError('INVALID_ARGUMENT', `${out}: the tar cannot be written inside the directory it archives`);
  }
  const files = await listFiles(root, options.signal);
  const noFollow = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);
  await writeTar(
    out,
    files.map((file) => ({
      path: file.path,
      size: file.size,
      open: async () =>
        (await open(join(root, file.path), noFollow)).createReadStream({ highWaterMark: fileReadBytes(file.size) }),
    })),
    options,
  );
}

async function listFiles(root: string, signal: AbortSignal | undefined): Promise<{ path: string; size: number }[]> {
  const files: { path: string; size: number }[] = [];
  const walk = async (rel: string): Promise<void> => {
    signal?.throwIfAborted();
    const dirents = await readdir(rel === '' ? root : join(root, rel), { withFileTypes: true });
    for (const dirent of dirents) {
      const path = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      if (dirent.isDirectory()) {
        await walk(path);
      } else if (dirent.isFile()) {
        files.push({ path, size: (await lstat(join(root, path))).size });
      } else {
        const what = dirent.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
        throw new LadingError('UNSUPPORTED', `${join(root, path)} is ${what}; only regular files can be archived`);
      }
    }
  };
  try {
    await walk('');
  } catch (error) {
    if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
    throw new LadingError('IO_ERROR', `${root}: cannot list directory: ${(error as Error).message}`, { cause: error });
  }
  // Plain code-unit order: deterministic, independent of locale.
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files;
}
