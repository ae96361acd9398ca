import { cp, lstat, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { LadingError } from '../oci/index.js';

/** A file or unpacked folder written into the staging area, and where it goes once all is done. */
export interface StagedEntry {
  staged: string;
  target: string;
}

/** What is at a path: a folder (or a link to a folder inside the output), anything else, nothing, or a link leaving the output. */
type Kind = 'dir' | 'other' | 'escapes' | undefined;

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

async function kindOf(path: string, realRoot?: string): Promise<Kind> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return undefined;
  if (info.isDirectory()) return 'dir';
  if (info.isSymbolicLink() && realRoot !== undefined) {
    // The user's own link to a folder of the output is followed, as a direct write would; one
    // that leaves the output is never written through.
    const real = await realpath(path).catch(() => undefined);
    if (real === undefined) return 'other';
    if (!inside(realRoot, real)) return (await stat(real).catch(() => undefined))?.isDirectory() ? 'escapes' : 'other';
    return (await stat(real)).isDirectory() ? 'dir' : 'other';
  }
  return 'other';
}

interface Problem {
  code: 'ALREADY_EXISTS' | 'PATH_TRAVERSAL';
  text: string;
}

/**
 * What merging `staged` into `target` would run into: a file where a folder is, a folder where a
 * file is, a link that leaves the output, or, with `keepOldFiles`, any file already there. Reads only.
 */
async function conflicts(staged: string, target: string, o: CommitOptions, out: Problem[]): Promise<void> {
  const [from, to] = await Promise.all([kindOf(staged), kindOf(target, o.realRoot)]);
  if (to === undefined) return;
  if (to === 'escapes') {
    out.push({ code: 'PATH_TRAVERSAL', text: `${target}: a symlink that leaves the output folder` });
    return;
  }
  if (from === 'dir' && to === 'dir') {
    for (const name of await readdir(staged)) await conflicts(join(staged, name), join(target, name), o, out);
    return;
  }
  if (from === 'dir' || to === 'dir') {
    out.push({ code: 'ALREADY_EXISTS', text: `${target}: a ${to === 'dir' ? 'folder' : 'file'} is already there` });
  } else if (o.keepOldFiles) {
    out.push({
      code: 'ALREADY_EXISTS',
      text: `${target}: file already exists, overwrite disallowed (--keep-old-files)`,
    });
  }
}

/** Two entries of one artifact for one path, or a file that another entry needs as a folder. */
async function collisions(entries: StagedEntry[], out: Problem[]): Promise<void> {
  const files = new Set<string>();
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.target)) out.push({ code: 'ALREADY_EXISTS', text: `${e.target}: named twice in the artifact` });
    seen.add(e.target);
    if ((await kindOf(e.staged)) !== 'dir') files.add(e.target);
  }
  // A file entry that is a parent folder of another entry: walk each entry's parents (linear in
  // entries × depth, for artifacts of thousands of files).
  for (const e of entries) {
    for (let parent = dirname(e.target); parent !== dirname(parent); parent = dirname(parent)) {
      if (files.has(parent)) {
        out.push({ code: 'ALREADY_EXISTS', text: `${parent}: a file of the artifact, and the folder of ${e.target}` });
        break;
      }
    }
  }
}

async function merge(staged: string, target: string, realRoot: string): Promise<void> {
  const [from, to] = await Promise.all([kindOf(staged), kindOf(target, realRoot)]);
  if (from === 'dir' && to === 'dir') {
    for (const name of await readdir(staged)) await merge(join(staged, name), join(target, name), realRoot);
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

interface CommitOptions {
  keepOldFiles?: boolean;
  /** The output folder with its links resolved. */
  realRoot: string;
}

/**
 * Moves everything a pull staged into its final place under `root`, but only after checking that
 * none of it collides with what is there or with itself: a pull that fails, before or here, leaves
 * the output folder as it was. Folders merge into existing folders; files replace files.
 */
export async function commitStaged(
  entries: StagedEntry[],
  root: string,
  options: { keepOldFiles?: boolean } = {},
): Promise<void> {
  const o: CommitOptions = { ...options, realRoot: await realpath(root) };
  const problems: Problem[] = [];
  await collisions(entries, problems);
  for (const e of entries) await conflicts(e.staged, e.target, o, problems);
  const [first] = problems;
  if (first) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new LadingError(first.code, `${first.text}${more}; nothing was written`);
  }
  for (const e of entries) {
    await mkdir(dirname(e.target), { recursive: true });
    await merge(e.staged, e.target, o.realRoot);
  }
}
