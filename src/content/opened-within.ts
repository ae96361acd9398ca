import { readlink, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative, sep } from 'node:path';
import { LadingError } from '../oci/index.js';

/** Whether `path` is `root` or below it (both absolute, resolved). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}

/**
 * Checks that the file open as `fd` lies below `realRoot` (a real path, no link in it), as the
 * system says after the open (`/proc/self/fd`, Linux): a path checked first and opened after can
 * have had a folder swapped for a link in between, by another process. Without /proc (not Linux)
 * the checks by path before the open are all there is. `where` names the file in the error.
 */
export async function assertOpenedWithin(fd: number, realRoot: string, where: string): Promise<void> {
  let real: string;
  try {
    real = await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return;
  }
  if (!isWithin(realRoot, real) && !(await belowSameFolder(realRoot, real))) {
    throw new LadingError(
      'PATH_TRAVERSAL',
      `${where} was opened as ${real}, outside ${realRoot}: something replaced part of its path with a link`,
    );
  }
}

/**
 * Whether a folder above `path` is the folder `root` names, by device and inode: on a file system
 * that ignores case, the path the system reports can be spelt otherwise than the one resolved.
 */
async function belowSameFolder(root: string, path: string): Promise<boolean> {
  const want = await stat(root).catch(() => undefined);
  if (!want) return false;
  for (let up = dirname(path); ; up = dirname(up)) {
    const got = await stat(up).catch(() => undefined);
    if (got && got.dev === want.dev && got.ino === want.ino) return true;
    if (dirname(up) === up) return false;
  }
}
