import { cp, lstat, readdir, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { RealDir, shortTempName } from '../archive/index.js';
import { type ErrorHint, LadingError } from '../oci/index.js';
import { inodeKey, inside, type OutputFolder, openOutputFolder, physicalPath, resolveMade } from './output-folder.js';

/** A file or unpacked folder written into the staging area, and where it goes once all is done. */
export interface StagedEntry {
  staged: string;
  target: string;
  /** The symlinks the unpacked folder holds (staged paths): links the artifact itself makes. */
  links?: string[];
}

/** What is at a path: a folder (or a link to a folder inside the output), anything else, nothing, or a link leaving the output. */
type Kind = 'dir' | 'other' | 'escapes' | undefined;

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
  hint?: ErrorHint;
}

interface CommitOptions {
  keepOldFiles?: boolean;
  /** The output folder with its links resolved. */
  realRoot: string;
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
      text: `${target}: file already exists, overwrite disallowed`,
      hint: { key: 'keepOldFiles', text: 'keepOldFiles is set' },
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

/**
 * The links that unpacked folders of the artifact will put into the output, by where they will
 * really be (the output's own links followed), each with the staged link that holds its target.
 */
async function plannedLinks(entries: StagedEntry[], out: OutputFolder): Promise<Map<string, string>> {
  const made = new Map<string, string>();
  for (const e of entries) {
    for (const link of e.links ?? []) {
      made.set(await physicalPath(out, join(e.target, relative(e.staged, link))), link);
    }
  }
  return made;
}

/**
 * Links that the artifact makes must neither carry another part of the same pull (layer A unpacks
 * `d/` holding the link `d/x`, layer B is titled `d/x/evil`: B would be written wherever `d/x`
 * points) nor lead out of the output once merged with what is already there.
 */
async function linkProblems(entries: StagedEntry[], out: OutputFolder, made: Map<string, string>, problems: Problem[]) {
  for (const e of entries) {
    const final = await physicalPath(out, e.target);
    for (let at = final; at !== out.realRoot && at !== dirname(at); at = dirname(at)) {
      const link = made.get(at);
      if (link === undefined || (at === final && inside(e.staged, link))) continue;
      problems.push({
        code: 'PATH_TRAVERSAL',
        text: `${e.target}: would be written through ${at}, a link that the artifact itself makes`,
      });
      break;
    }
  }
  for (const [at, link] of made) {
    const leads = await resolveMade(dirname(at), await readlink(link), made);
    if (!inside(out.realRoot, leads)) {
      problems.push({
        code: 'PATH_TRAVERSAL',
        text: `${at}: a symlink of the artifact that would lead out of the output folder (to ${leads})`,
      });
    }
  }
}

/**
 * Moves a staged file, link or folder into the open folder `into` under `name`: a folder merges
 * into a folder there (or a link of the user's to a folder of the output), anything else replaces
 * a file or link there in one rename, never writing through it.
 */
async function merge(staged: string, into: RealDir, name: string, out: OutputFolder): Promise<void> {
  const from = await lstat(staged);
  if (from.isDirectory()) {
    const sub = await openOutputFolder(out, into, [name], { create: false, where: staged });
    if (sub) {
      try {
        for (const child of await readdir(staged)) await merge(join(staged, child), sub, child, out);
      } finally {
        await sub.close();
      }
      return;
    }
  } else if ((await into.lstat(name))?.isDirectory()) {
    throw new LadingError('ALREADY_EXISTS', `${join(into.path, name)}: a folder is already there`);
  }
  try {
    await rename(staged, into.at(name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    // A folder of the output that is another file system's mount point: copy across to a new
    // temp name there (a copy onto the final name would write through a link already there),
    // then rename it into place on that file system.
    const temp = into.at(shortTempName());
    try {
      await cp(staged, temp, { recursive: true, errorOnExist: true, force: false, verbatimSymlinks: true });
      await rename(temp, into.at(name));
    } catch (copyError) {
      await rm(temp, { recursive: true, force: true });
      throw copyError;
    }
    await rm(staged, { recursive: true, force: true });
  }
}

/**
 * Moves everything a pull staged into its final place under `root`, but only after checking that
 * none of it collides with what is there or with itself, and that no part of it would be written
 * through, or left as, a link leading out: a pull that fails, before or here, leaves the output
 * folder as it was. Folders merge into existing folders; files replace files. Every folder on the
 * way is opened without following links the pull made (see openOutputFolder), so a link that
 * appears after the checks still cannot redirect a write.
 */
export async function commitStaged(
  entries: StagedEntry[],
  root: string,
  options: { keepOldFiles?: boolean; realRoot?: string } = {},
): Promise<void> {
  const realRoot = await realpath(root);
  if (options.realRoot !== undefined && realRoot !== options.realRoot) {
    throw new LadingError(
      'PATH_TRAVERSAL',
      `${root}: the output folder is now ${realRoot}, no longer ${options.realRoot}, where the pull began; nothing was written`,
    );
  }
  const o: CommitOptions = { ...options, realRoot };
  const problems: Problem[] = [];
  await collisions(entries, problems);
  const made = await plannedLinks(entries, { root, realRoot, made: new Set(), madeInodes: new Set() });
  // A rename keeps the inode: the staged links are known by it once they are in the output.
  const madeInodes = new Set<string>();
  for (const link of made.values()) madeInodes.add(inodeKey(await lstat(link)));
  const out: OutputFolder = { root, realRoot, made: new Set(made.keys()), madeInodes };
  await linkProblems(entries, out, made, problems);
  for (const e of entries) await conflicts(e.staged, e.target, o, problems);
  const [first] = problems;
  if (first) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    throw new LadingError(
      first.code,
      `${first.text}${more}; nothing was written`,
      first.hint ? { hint: first.hint } : {},
    );
  }
  const top = await RealDir.open(root);
  try {
    // Held open from here on: the output cannot be swapped between the checks and the writes.
    if ((await top.realPath()) !== realRoot)
      throw new LadingError('PATH_TRAVERSAL', `${root}: moved during the commit`);
    for (const e of entries) {
      const parts = relative(root, e.target).split(sep).filter(Boolean);
      const into = await openOutputFolder(out, top, parts.slice(0, -1), { create: true, where: e.target });
      try {
        await merge(e.staged, into as RealDir, basename(e.target), out);
      } finally {
        if (into !== top) await into?.close();
      }
    }
  } finally {
    await top.close();
  }
}
