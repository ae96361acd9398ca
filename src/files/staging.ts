import { cp, lstat, open, readdir, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { RealDir, shortTempName } from '../archive/index.js';
import { isWithin } from '../content/index.js';
import { type ErrorHint, isLadingError, LadingError } from '../oci/index.js';
import { inodeKey, type OutputFolder, openOutputFolder, physicalPath, resolveMade } from './output-folder.js';

/** A file or unpacked folder written into the staging area, and where it goes once all is done. */
export interface StagedEntry {
  staged: string;
  target: string;
  /** The symlinks the unpacked folder holds (staged paths): links the artifact itself makes. */
  links?: string[];
}

/**
 * Names the user's path in an error that names a staged one (`o/.lading-pull.…/0/d/x` is `o/d/x`):
 * the staging folder is lading's own business. Only lading's errors are reworded; their code,
 * hint and cause stay.
 */
export function inUserTerms(error: unknown, staged: string, target: string): unknown {
  if (!isLadingError(error) || !error.message.includes(staged)) return error;
  // The message may name the staged path as given or resolved (`o/.lading-pull…` from a relative
  // output, `/cwd/o/.lading-pull…` from the extractor): the whole of either is the user's path.
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const forms = [...new Set([resolve(staged), staged])].map(literal).join('|');
  const at = new RegExp(`(?:${forms})(?=/|[^\\w.-]|$)`, 'g');
  error.message = error.message.replace(at, () => target);
  return error;
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
    if (!isWithin(realRoot, real))
      return (await stat(real).catch(() => undefined))?.isDirectory() ? 'escapes' : 'other';
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
 * file or a link to no folder is, a folder where a link leaves the output, or, with
 * `keepOldFiles`, any file or link already there. Reads only.
 */
async function conflicts(staged: string, target: string, o: CommitOptions, out: Problem[]): Promise<void> {
  const [from, there] = await Promise.all([kindOf(staged), lstat(target).catch(() => undefined)]);
  if (there === undefined) return;
  const isLink = there.isSymbolicLink();
  // A file or link of the artifact replaces a link there (to a folder, a file, outside or
  // nothing), as it replaces a file: the rename swaps the link itself, never what it points to.
  const to = from !== 'dir' && isLink ? 'other' : await kindOf(target, o.realRoot);
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
    const what = isLink ? 'link' : to === 'dir' ? 'folder' : 'file';
    out.push({ code: 'ALREADY_EXISTS', text: `${target}: a ${what} is already there` });
  } else if (o.keepOldFiles) {
    out.push({
      code: 'ALREADY_EXISTS',
      text: `${target}: file already exists, overwrite disallowed`,
      hint: { key: 'keepOldFiles', text: 'keepOldFiles is set' },
    });
  }
}

/** Whether two regular files hold the same bytes (the same file of an artifact, named twice). */
async function sameBytes(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([lstat(a), lstat(b)]);
  if (!x.isFile() || !y.isFile() || x.size !== y.size) return false;
  const [ha, hb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const size = Math.min(x.size, 1024 * 1024);
    const [ba, bb] = [Buffer.alloc(size), Buffer.alloc(size)];
    for (let at = 0; at < x.size; ) {
      const [ra, rb] = await Promise.all([ha.read(ba, 0, size, at), hb.read(bb, 0, size, at)]);
      if (ra.bytesRead === 0 || ra.bytesRead !== rb.bytesRead) return false;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      at += ra.bytesRead;
    }
    return true;
  } finally {
    await Promise.all([ha.close(), hb.close()]);
  }
}

/** What one final path of the pull is, by the first entry that claimed it. */
interface Claim {
  folder: boolean;
  /** The staged path; undefined for a folder that only holds an entry (its title's parent). */
  staged?: string;
  /** The entry's path under the output, to name the layer in errors. */
  layer: string;
}

/**
 * Every final path that the entries will make, compared across entries before anything moves:
 * a folder may come from several layers (they merge), but a path that is a file (or link) in one
 * layer and a folder in another, or a file in two layers, has no single outcome — ORAS writes
 * both concurrently and the last write wins, which is refused here instead. A file that two
 * layers hold with the same bytes is the same outcome either way, and allowed. Walks the staged
 * trees without following links.
 */
async function overlaps(entries: StagedEntry[], root: string, out: Problem[]): Promise<void> {
  const claims = new Map<string, Claim>();
  const claim = async (path: string, mine: Claim): Promise<void> => {
    const seen = claims.get(path);
    if (seen === undefined) {
      claims.set(path, mine);
      return;
    }
    if (seen.folder && mine.folder) return;
    if (!seen.folder && !mine.folder) {
      if (!(await sameBytes(seen.staged as string, mine.staged as string))) {
        out.push({
          code: 'ALREADY_EXISTS',
          text: `${path}: a file of two layers ("${seen.layer}" and "${mine.layer}")`,
        });
      }
      return;
    }
    const [file, folder] = seen.folder ? [mine, seen] : [seen, mine];
    out.push({
      code: 'ALREADY_EXISTS',
      text: `${path}: a file of layer "${file.layer}", and a folder of layer "${folder.layer}"`,
    });
  };
  // What a folder holds comes with its listing (one call per folder, not one per entry: an
  // artifact may unpack a million files); links are not followed either way.
  const walk = async (staged: string, target: string, layer: string, folder?: boolean): Promise<void> => {
    const isFolder = folder ?? (await lstat(staged)).isDirectory();
    await claim(target, { folder: isFolder, staged, layer });
    if (!isFolder) return;
    const children = (await readdir(staged, { withFileTypes: true })).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const child of children) {
      await walk(join(staged, child.name), join(target, child.name), layer, child.isDirectory());
    }
  };
  // Only entries whose targets nest (one is, or holds, the other's) can meet below their targets:
  // the others' trees are claimed at their top alone, so that a pull of one folder of a million
  // files does not hold a million paths here (300,000 files: 330 MB resident, now flat).
  const resolved = new Set(entries.map((e) => resolve(e.target)));
  const nesting = new Set<string>();
  for (const target of resolved) {
    for (let up = dirname(target); up !== dirname(up); up = dirname(up)) {
      if (resolved.has(up)) nesting.add(up).add(target);
    }
  }
  const targets = new Set<string>();
  for (const e of entries) {
    if (targets.has(e.target)) {
      out.push({ code: 'ALREADY_EXISTS', text: `${e.target}: named twice in the artifact` });
      continue;
    }
    targets.add(e.target);
    const layer = relative(root, e.target).split(sep).join('/');
    // The folders an entry's title passes through are folders of the output too.
    for (let parent = dirname(e.target); isWithin(root, parent) && parent !== root; parent = dirname(parent)) {
      await claim(parent, { folder: true, layer });
    }
    if (nesting.has(resolve(e.target))) await walk(e.staged, e.target, layer);
    else await claim(e.target, { folder: (await lstat(e.staged)).isDirectory(), staged: e.staged, layer });
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
      if (link === undefined || (at === final && isWithin(e.staged, link))) continue;
      problems.push({
        code: 'PATH_TRAVERSAL',
        text: `${e.target}: would be written through ${at}, a link that the artifact itself makes`,
      });
      break;
    }
  }
  for (const [at, link] of made) {
    const leads = await resolveMade(dirname(at), await readlink(link), made);
    if (!isWithin(out.realRoot, leads)) {
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
  const made = await plannedLinks(entries, { root, realRoot, made: new Set(), madeInodes: new Set() });
  // A rename keeps the inode: the staged links are known by it once they are in the output.
  const madeInodes = new Set<string>();
  for (const link of made.values()) madeInodes.add(inodeKey(await lstat(link)));
  const out: OutputFolder = { root, realRoot, made: new Set(made.keys()), madeInodes };
  await linkProblems(entries, out, made, problems);
  // A link of the artifact where another layer needs a folder is also an overlap: told once, as the link.
  if (problems.length === 0) await overlaps(entries, resolve(root), problems);
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
      } catch (error) {
        throw inUserTerms(error, e.staged, e.target);
      } finally {
        if (into !== top) await into?.close();
      }
    }
  } finally {
    await top.close();
  }
}
