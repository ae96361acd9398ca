import { cp, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LadingError } from '../oci/index.js';

/** A file or unpacked folder written into the staging area, and where it goes once all is done. */
export interface StagedEntry {
  staged: string;
  target: string;
}

type Kind = 'dir' | 'other' | undefined;

async function kindOf(path: string): Promise<Kind> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return undefined;
  return info.isDirectory() ? 'dir' : 'other';
}

/**
 * What merging `staged` into `target` would run into: a file where a folder is, a folder where a
 * file (or a symlink) is, or, with `keepOldFiles`, any file already there. Reads only.
 */
async function conflicts(staged: string, target: string, keepOldFiles: boolean, out: string[]): Promise<void> {
  const [from, to] = await Promise.all([kindOf(staged), kindOf(target)]);
  if (to === undefined) return;
  if (from === 'dir' && to === 'dir') {
    for (const name of await readdir(staged))
      await conflicts(join(staged, name), join(target, name), keepOldFiles, out);
    return;
  }
  if (from === 'dir' || to === 'dir') out.push(`${target}: a ${to === 'dir' ? 'folder' : 'file'} is already there`);
  else if (keepOldFiles) out.push(`${target}: file already exists, overwrite disallowed (--keep-old-files)`);
}

async function merge(staged: string, target: string): Promise<void> {
  const [from, to] = await Promise.all([kindOf(staged), kindOf(target)]);
  if (from === 'dir' && to === 'dir') {
    for (const name of await readdir(staged)) await merge(join(staged, name), join(target, name));
    return;
  }
  try {
    await rename(staged, target); // a file replaces a file (or a symlink) in one step
  } catch (error) {
    // A folder of the output that is another file system's mount point: copy across.
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await cp(staged, target, { recursive: true, force: true, verbatimSymlinks: true });
    await rm(staged, { recursive: true, force: true });
  }
}

/**
 * Moves everything a pull staged into its final place, but only after checking that none of it
 * collides with what is there: a pull that fails, before or here, leaves the output folder as it
 * was. Folders merge into existing folders; files replace files.
 */
export async function commitStaged(entries: StagedEntry[], options: { keepOldFiles?: boolean } = {}): Promise<void> {
  const problems: string[] = [];
  for (const e of entries) await conflicts(e.staged, e.target, Boolean(options.keepOldFiles), problems);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new LadingError('ALREADY_EXISTS', `${problems[0]}${more}; nothing was written`);
  }
  for (const e of entries) {
    await mkdir(dirname(e.target), { recursive: true });
    await merge(e.staged, e.target);
  }
}
