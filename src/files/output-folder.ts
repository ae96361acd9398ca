import { lstat, mkdir, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import type { RealDir } from '../archive/index.js';
import { isWithin } from '../content/index.js';
import { LadingError } from '../oci/index.js';

/**
 * A pull's output folder: its real path, and the links the pull itself makes there, by real path
 * and by inode (`dev:ino`, which a case-folding or normalising file system cannot alias).
 */
export interface OutputFolder {
  root: string;
  realRoot: string;
  made: Set<string>;
  madeInodes: Set<string>;
}

export function inodeKey(info: { dev: number; ino: number }): string {
  return `${info.dev}:${info.ino}`;
}

/**
 * Opens the folder at `parts` below the output (made where missing when `create` is set) by
 * walking it one folder at a time from the output itself. The user's own links to folders of the
 * output are followed, as a write by path would; a link that leads out of the output, a dangling
 * one, or one that this pull made, never is. The caller closes the folder it gets.
 */
export async function openOutputFolder(
  out: OutputFolder,
  top: RealDir,
  parts: string[],
  o: { create: boolean; where: string },
): Promise<RealDir | undefined> {
  let dir = top;
  const close = async () => {
    if (dir !== top) await dir.close();
  };
  try {
    for (const part of parts) {
      let child = await dir.child(part);
      if ('missing' in child) {
        if (!o.create) {
          await close();
          return undefined;
        }
        await mkdir(dir.at(part)).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
        child = await dir.child(part);
      }
      if ('other' in child && child.other.isSymbolicLink()) {
        const link = join(await dir.realPath(), part);
        if (out.made.has(link) || out.madeInodes.has(inodeKey(child.other)))
          throw new LadingError('PATH_TRAVERSAL', `${o.where}: passes through ${link}, a link that this pull made`);
        child = await dir.child(part, { follow: true });
        if ('dir' in child && !isWithin(out.realRoot, await child.dir.realPath())) {
          await child.dir.close();
          throw new LadingError('PATH_TRAVERSAL', `${link}: a symlink that leaves the output folder`);
        }
        if (!('dir' in child))
          throw new LadingError('PATH_TRAVERSAL', `${link}: a symlink that does not lead to a folder of the output`);
      }
      if ('other' in child) throw new LadingError('ALREADY_EXISTS', `${join(dir.path, part)}: a file is already there`);
      if ('missing' in child)
        throw new LadingError('IO_ERROR', `${join(dir.path, part)}: vanished while it was written`);
      await close();
      dir = child.dir;
    }
    return dir;
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Where `path` (below the output) is on the real file system once the links already in the
 * output are followed; the last component is not followed. Reads only.
 */
export async function physicalPath(out: OutputFolder, path: string): Promise<string> {
  const parts = relative(out.root, path).split(sep).filter(Boolean);
  const last = parts.pop();
  let cur = out.realRoot;
  for (const [i, part] of parts.entries()) {
    const next = join(cur, part);
    const info = await lstat(next).catch(() => undefined);
    if (!info) return join(next, ...parts.slice(i + 1), last ?? '');
    cur = info.isSymbolicLink() ? await realpath(next).catch(() => next) : next;
  }
  return last === undefined ? cur : join(cur, last);
}

/** Hops through links before a resolution is taken for a loop (the kernel's own limit). */
const MaxHops = 40;

/**
 * Where a link that the pull is about to make will lead once everything is in place: resolved
 * like the kernel would, through the links already in the output and the links the pull makes
 * (`made`: real path of the link → where its target text can be read), without any of the
 * latter existing yet. Names that exist nowhere yet continue lexically (they will be folders or
 * files of the artifact). Reads only.
 */
export async function resolveMade(
  start: string,
  target: string,
  made: Map<string, string>,
  hops = { n: 0 },
): Promise<string> {
  let cur = isAbsolute(target) ? '/' : start;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, part);
    const planned = made.get(next);
    const info = planned ? undefined : await lstat(next).catch(() => undefined);
    if (planned !== undefined || info?.isSymbolicLink()) {
      if (++hops.n > MaxHops) throw new LadingError('PATH_TRAVERSAL', `${next}: too many levels of symlinks`);
      cur = await resolveMade(cur, await readlink(planned ?? next), made, hops);
    } else {
      cur = next;
    }
  }
  return cur;
}
