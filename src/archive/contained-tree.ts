import { closeSync, constants, futimesSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { type FileHandle, link, lutimes, mkdir, open, rename, symlink, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { type ErrorCode, LadingError } from '../oci/index.js';
import { containedLinkTarget } from './link-target.js';
import { RealDir } from './real-dir.js';
import { shortTempName } from './temp-name.js';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

export interface ContainedTreeOptions {
  /**
   * What may already be at an entry's name: `replace` swaps a file or link for the new entry
   * (never writing through it), `refuse` fails (an archive that names a file twice).
   */
  existing: 'replace' | 'refuse';
  /** The code for an entry that would leave the root or pass a link (PATH_TRAVERSAL for pulls, INVALID_ARCHIVE for stores). */
  escapeCode: ErrorCode;
  /**
   * A new file is written at its name, not as a temp file renamed there: for a folder nobody reads
   * until the unpacking is over (a staging or temp folder), where a file cut short by a crash is
   * never taken for a whole one. Elsewhere a file is only ever seen whole.
   */
  newFilesInPlace?: boolean;
}

/** Names an entry in errors, e.g. `tar entry "a/b"`. */
export type Where = string;

/**
 * Writes files, folders and links under one root folder so that all of them stay inside it on the
 * real file system, whatever the names and link targets say (see link-target.ts for why links
 * made here cannot lead out). Every name is reached by opening its parent folders one by one
 * without following links; a link on the way is refused. A file is created exclusively, without
 * following links: at its name when nothing is there, else as a temp file in its final folder
 * renamed into place, so an existing file or link at the name is replaced, never written through. Folder times are set
 * at the end, so that later entries do not undo them.
 *
 * Paths given to it are clean, `/`-separated and relative to the root (`''` is the root).
 *
 * Names are bytes on Linux file systems. Where the file system folds case or normalises Unicode
 * (macOS, Windows), two spellings can name one file: every check here still looks at what is on
 * disk (lstat, open without following), and the name sets that recognise this tree's own links
 * and files only ever make it refuse more (a link reached under another spelling is not known
 * as made here, so it is not passed).
 */
export class ContainedTree {
  readonly root: string;
  readonly #top: RealDir;
  readonly #options: ContainedTreeOptions;
  /** Links made here (relative paths): the only links a link target may resolve through. */
  readonly #links = new Set<string>();
  /** Regular files made here: the only things a hard link may point to. */
  readonly #files = new Set<string>();
  readonly #folderTimes: [string, Date][] = [];
  /** The parent folder of the last entry, kept open: archives list a folder's entries together. */
  #cached: { rel: string; dir: RealDir } | undefined;

  private constructor(root: string, top: RealDir, options: ContainedTreeOptions) {
    this.root = root;
    this.#top = top;
    this.#options = options;
  }

  /**
   * Opens an existing folder as the root (a link naming the root itself is followed, once, here),
   * or takes a folder already open; the tree closes it when it is finished or closed.
   */
  static async open(root: string | RealDir, options: ContainedTreeOptions): Promise<ContainedTree> {
    if (typeof root !== 'string') return new ContainedTree(root.path, root, options);
    return new ContainedTree(root, await RealDir.open(root), options);
  }

  /** The links made so far, relative to the root, in the order made. */
  get links(): string[] {
    return [...this.#links];
  }

  async directory(rel: string, where: Where, o: { mode?: number; mtime?: Date } = {}): Promise<void> {
    if (rel !== '') {
      const [dir, name] = await this.#parent(rel, where);
      const child = await dir.child(name);
      if ('dir' in child) await child.dir.close();
      else if ('missing' in child) await mkdirHere(dir, name, (o.mode ?? 0o755) | 0o700);
      else if (child.other.isSymbolicLink()) this.#escape(where, `"${rel}" is a symlink, not a folder`);
      else invalid(where, `a file of the same name is already there ("${rel}")`);
    }
    if (o.mtime) this.#folderTimes.push([rel, o.mtime]);
  }

  /** `size`, when known: a small file is written with a few direct calls, not through the thread pool. */
  async file(
    rel: string,
    body: Readable | AsyncIterable<Buffer> | readonly Buffer[],
    where: Where,
    o: { mode?: number; mtime?: Date; size?: number } = {},
  ): Promise<void> {
    const [dir, name] = await this.#parent(rel, where);
    const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
    const inPlace = this.#options.newFilesInPlace === true;
    if (o.size !== undefined && o.size <= SmallFileBytes) {
      // An archive of many small files spends its time handing calls to the thread pool and back
      // (~4 per file, each ~0.1 ms on a busy machine; tar makes them directly). A small file's
      // calls are quick and cannot block on a pipe (the name is new, or refused): made directly.
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      if (o.size !== bytes.length) invalid(where, `holds ${bytes.length} bytes, not the ${o.size} it declares`);
      if (inPlace && writeSmallFile(dir.at(name), flags, bytes, o)) {
        this.#links.delete(rel);
        this.#files.add(rel);
        return;
      }
      if (!inPlace) {
        await this.#checkExisting(dir, name, rel, where);
        const temp = dir.at(shortTempName());
        writeSmallFile(temp, flags, bytes, o);
        try {
          renameSync(temp, dir.at(name));
        } catch (error) {
          try {
            unlinkSync(temp);
          } catch {
            // gone already
          }
          throw error;
        }
        this.#links.delete(rel);
        this.#files.add(rel);
        return;
      }
      body = [bytes];
    }
    // In a folder nobody reads meanwhile (newFilesInPlace), a name nothing holds yet is written in
    // place: created exclusively, so that nothing there (a file, a link, even a dangling one) is
    // ever written through, and two file-system calls fewer per file than a temp file and a rename.
    const fresh = !inPlace
      ? undefined
      : await open(dir.at(name), flags, o.mode ?? 0o644).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'EEXIST') return undefined;
          throw error;
        });
    if (fresh) {
      try {
        try {
          await writeBody(fresh, body, o.size, where);
          if (o.mtime) await fresh.utimes(o.mtime, o.mtime);
        } finally {
          await fresh.close();
        }
      } catch (error) {
        await unlink(dir.at(name)).catch(() => {});
        throw error;
      }
      this.#links.delete(rel);
      this.#files.add(rel);
      return;
    }
    await this.#checkExisting(dir, name, rel, where);
    const temp = shortTempName();
    const handle = await open(dir.at(temp), flags, o.mode ?? 0o644);
    try {
      try {
        // Written chunk by chunk: tar-stream's entries are streamx streams, which node's
        // pipeline() does not always see to their end (an empty one never finishes).
        await writeBody(handle, body, o.size, where);
        if (o.mtime) await handle.utimes(o.mtime, o.mtime);
      } finally {
        await handle.close();
      }
      await rename(dir.at(temp), dir.at(name));
    } catch (error) {
      await unlink(dir.at(temp)).catch(() => {});
      throw error;
    }
    this.#links.delete(rel);
    this.#files.add(rel);
  }

  async symlink(rel: string, target: string, where: Where, o: { mtime?: Date } = {}): Promise<void> {
    if (rel === '') this.#escape(where, 'a symlink in place of the folder it is unpacked in');
    const checked = containedLinkTarget(rel, target);
    if ('refused' in checked) this.#escape(where, `symlink ${checked.refused}`);
    await this.#refusePlantedLinks(checked.rel, target, where);
    const [dir, name] = await this.#parent(rel, where);
    await this.#checkExisting(dir, name, rel, where, true);
    // Made under a temp name and renamed: an existing file or link at the name is replaced in one step.
    const temp = shortTempName();
    this.#links.add(rel);
    this.#files.delete(rel);
    await symlink(target, dir.at(temp));
    try {
      await rename(dir.at(temp), dir.at(name));
    } catch (error) {
      await unlink(dir.at(temp)).catch(() => {});
      throw error;
    }
    if (o.mtime) await lutimes(dir.at(name), o.mtime, o.mtime).catch(() => {});
  }

  /** A hard link to `existing`, which must be a regular file this tree made (never a link, never anything outside). */
  async hardlink(rel: string, existing: string, where: Where): Promise<void> {
    if (!this.#files.has(existing)) {
      this.#escape(where, `hard link to "${existing}", which is not a file unpacked before it in the same folder`);
    }
    const from = await this.#walk(parentOf(existing), where, { create: false });
    if (!from) this.#escape(where, `hard link to "${existing}", which is not there`);
    try {
      const name = baseOf(existing);
      const info = await from.lstat(name);
      if (!info?.isFile()) this.#escape(where, `hard link to "${existing}", which is not a regular file`);
      const [dir, own] = await this.#parent(rel, where);
      await this.#checkExisting(dir, own, rel, where);
      const temp = shortTempName();
      await link(from.at(name), dir.at(temp));
      try {
        await rename(dir.at(temp), dir.at(own));
      } catch (error) {
        await unlink(dir.at(temp)).catch(() => {});
        throw error;
      }
    } finally {
      if (from !== this.#top) await from.close();
    }
    this.#links.delete(rel);
    this.#files.add(rel);
  }

  /** Sets the folder times recorded on the way (deepest first) and closes the tree. */
  async finish(): Promise<void> {
    try {
      const byDepth = [...this.#folderTimes].sort((a, b) => depth(b[0]) - depth(a[0]));
      for (const [rel, mtime] of byDepth) {
        const dir =
          rel === '' ? this.#top : await this.#walk(rel, 'folder times', { create: false }).catch(() => undefined);
        if (!dir) continue;
        await dir.setTimes(mtime).catch(() => {});
        if (dir !== this.#top) await dir.close();
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.#uncache();
    await this.#top.close();
  }

  async #uncache(): Promise<void> {
    const cached = this.#cached;
    this.#cached = undefined;
    if (cached && cached.dir !== this.#top) await cached.dir.close();
  }

  /** The open parent folder of `rel` (made where missing) and the last component. */
  async #parent(rel: string, where: Where): Promise<[RealDir, string]> {
    const parent = parentOf(rel);
    if (this.#cached?.rel !== parent) {
      await this.#uncache();
      const dir = (await this.#walk(parent, where, { create: true })) as RealDir;
      this.#cached = { rel: parent, dir };
    }
    return [this.#cached.dir, baseOf(rel)];
  }

  /**
   * Opens the folder `rel` by walking from the root without following links; missing folders are
   * made when `create` is set, and otherwise end the walk with undefined. The caller closes what
   * it gets (unless it is the root).
   */
  async #walk(rel: string, where: Where, o: { create: boolean }): Promise<RealDir | undefined> {
    if (rel === '') return this.#top;
    let dir = this.#top;
    let sofar = '';
    try {
      for (const part of rel.split('/')) {
        checkComponent(part, where);
        sofar = sofar ? `${sofar}/${part}` : part;
        let child = await dir.child(part);
        if ('missing' in child) {
          if (!o.create) return undefined;
          await mkdirHere(dir, part, 0o755);
          child = await dir.child(part);
        }
        if ('other' in child) {
          if (child.other.isSymbolicLink()) this.#escape(where, `passes through the symlink "${sofar}"`);
          invalid(where, `needs "${sofar}" as a folder, but it is a file`);
        }
        if ('missing' in child) invalid(where, `"${sofar}" vanished while it was unpacked`);
        if (dir !== this.#top) await dir.close();
        dir = child.dir;
      }
      return dir;
    } catch (error) {
      if (dir !== this.#top) await dir.close();
      throw error;
    }
  }

  async #checkExisting(dir: RealDir, name: string, rel: string, where: Where, link = false): Promise<void> {
    const info = await dir.lstat(name);
    if (!info) return;
    if (info.isDirectory()) {
      // A folder swapped for a link is how later entries would be sent elsewhere.
      if (link) this.#escape(where, `would replace the folder "${rel}" with a symlink`);
      invalid(where, `would replace the folder "${rel}"`);
    }
    if (this.#options.existing === 'refuse') invalid(where, `names "${rel}" a second time`);
  }

  /**
   * A link target is walked as the kernel would walk it, from the root, through folders that
   * exist now: a link found there must be one this tree made (contained by construction); one
   * that was already there (the user's, or an outside process's) is refused.
   */
  async #refusePlantedLinks(targetRel: string, text: string, where: Where): Promise<void> {
    if (targetRel === '') return;
    let dir = this.#top;
    let sofar = '';
    try {
      for (const part of targetRel.split('/')) {
        sofar = sofar ? `${sofar}/${part}` : part;
        const child = await dir.child(part);
        if ('missing' in child) return;
        if ('other' in child) {
          if (child.other.isSymbolicLink() && !this.#links.has(sofar)) {
            this.#escape(where, `symlink to "${text}" passes through "${sofar}", a link that was already there`);
          }
          return;
        }
        if (dir !== this.#top) await dir.close();
        dir = child.dir;
      }
    } finally {
      if (dir !== this.#top) await dir.close();
    }
  }

  #escape(where: Where, what: string): never {
    throw new LadingError(this.#options.escapeCode, `${where}: ${what} (in ${this.root})`);
  }
}

/** Files up to this size are written with direct calls (see ContainedTree.file). */
const SmallFileBytes = 64 * 1024;

/**
 * Creates `path` exclusively (never through what is there) and writes `bytes` with direct calls;
 * false when something is at the name already. A file written part-way is removed.
 */
function writeSmallFile(path: string, flags: number, bytes: Buffer, o: { mode?: number; mtime?: Date }): boolean {
  let fd: number;
  try {
    fd = openSync(path, flags, o.mode ?? 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      if (o.mtime) futimesSync(fd, o.mtime, o.mtime);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
    throw error;
  }
  return true;
}

/** Writes `body` whole; with `size`, a body of another length (an archive cut short while read) fails. */
async function writeBody(
  handle: FileHandle,
  body: Readable | AsyncIterable<Buffer> | readonly Buffer[],
  size: number | undefined,
  where: Where,
): Promise<void> {
  let total = 0;
  for await (const chunk of body) {
    await writeAll(handle, chunk as Buffer);
    total += (chunk as Buffer).length;
  }
  if (size !== undefined && total !== size) invalid(where, `holds ${total} bytes, not the ${size} it declares`);
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let done = 0;
  while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
}

function invalid(where: Where, what: string): never {
  throw new LadingError('INVALID_ARCHIVE', `${where}: ${what}`);
}

function checkComponent(part: string, where: Where): void {
  if (part === '' || part === '.' || part === '..' || part.includes('\0'))
    invalid(where, `has an unusable path component ${JSON.stringify(part)}`);
}

async function mkdirHere(dir: RealDir, name: string, mode: number): Promise<void> {
  await mkdir(dir.at(name), mode).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}

function parentOf(rel: string): string {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
}

function baseOf(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}
