import { createReadStream } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { goTarSeconds, readdirUtf8, type TarWriteHeader, tarEntry, tarTrailer } from '../../archive/index.js';
import { compareBytes, LadingError } from '../../oci/index.js';
import { goPathMatch } from './glob-match.js';
import { groupName, userName } from './user-names.js';
import { readInside } from './working-dir.js';

export interface DirTarOptions {
  preserveDir?: boolean;
  reproducible?: boolean;
  includeFiles?: readonly string[];
  excludeFiles?: readonly string[];
  signal?: AbortSignal;
  /**
   * The real path every file read must lie in after its open (the working directory, worked out
   * when the input was checked); the folder's own real path when unset.
   */
  within?: string;
}

/** Upstream strips `./` and `/` from both sides before matching. */
function normalize(s: string): string {
  let out = s.replaceAll('\\', '/');
  if (out.startsWith('./')) out = out.slice(2);
  if (out.startsWith('/')) out = out.slice(1);
  return out;
}

function included(path: string, include: readonly string[], exclude: readonly string[]): boolean {
  const name = normalize(path);
  if (exclude.some((p) => goPathMatch(normalize(p), name))) return false;
  if (include.length === 0) return true;
  return include.some((p) => goPathMatch(normalize(p), name));
}

/**
 * The tar upstream's Dir/v1 input builds, streamed: a walk in Go's fs.WalkDir order (entries of
 * each directory sorted bytewise, a directory before its contents) rooted at `./` — or at
 * `<basename>/` with `preserveDir` — with a header for the root and every directory (trailing
 * `/`), file contents as they are, and an error for symbolic links. Excluded directories are
 * skipped whole; with `includeFiles` a directory is still walked but only written when it
 * matches. Headers follow Go's tar.FileInfoHeader (permission and set-id bits, uid/gid, user and
 * group names, mtime rounded to the second); `reproducible` zeroes times and ids and keeps only the
 * permission bits (which therefore still depend on the files).
 */
export function dirTar(dir: string, options: DirTarOptions = {}): Readable {
  return Readable.from(entries(dir, options), { objectMode: false, highWaterMark: 1 });
}

async function* entries(dir: string, options: DirTarOptions): AsyncGenerator<Buffer> {
  const include = options.includeFiles ?? [];
  const exclude = options.excludeFiles ?? [];
  const base = options.preserveDir ? dirname(dir) : dir;
  const root = options.preserveDir ? basename(dir) : '.';

  // Every file is opened without following a link, and checked to lie where it was checked to.
  const fs = readInside(options.within ?? (await realpath(dir)), { noFollow: true });

  async function* visit(path: string): AsyncGenerator<Buffer> {
    options.signal?.throwIfAborted();
    const full = path === '.' ? base : join(base, path);
    const info = await lstat(full, { bigint: true });
    // An entry the patterns leave out is never read: whatever it is (a link, a FIFO, a device),
    // it is skipped, not refused. The root is what the input names, never left out.
    if (path !== root && !info.isDirectory() && !included(path, include, exclude)) return;
    if (info.isSymbolicLink()) throw symlinkError(path, base);
    if (info.isDirectory()) {
      if (exclude.length > 0 && !included(path, [], exclude)) return;
      if (included(path, include, exclude)) {
        const name = path.endsWith('/') ? path : `${path}/`;
        yield* tarEntry(header(name, info, 0n, '5', options.reproducible), undefined, { where: full });
      }
      const names = (await readdirUtf8(full)).sort(compareBytes);
      for (const name of names) yield* visit(path === '.' ? name : `${path}/${name}`);
      return;
    }
    if (!info.isFile()) throw notFileError(path, base);
    const size = Number(info.size);
    // Read no further than the size the header states: a file that grows meanwhile is cut there.
    const body =
      size > 0 ? createReadStream(full, { fs, start: 0, end: size - 1, highWaterMark: 1024 * 1024 }) : undefined;
    yield* tarEntry(header(path, info, info.size, '0', options.reproducible), body, {
      where: full,
      sizeError: (got) =>
        new LadingError('IO_ERROR', `${full} changed while it was archived: read ${got} of ${size} bytes`),
    });
  }

  yield* visit(root);
  yield tarTrailer;
}

/**
 * Refuses, as {@link dirTar} of the whole of `dir` would, a folder whose tree holds anything but
 * regular files and folders (a link, a FIFO, a device), reading no file: a consumer that takes
 * the files themselves instead of their tar gets the same tree the tar would have held.
 */
export async function assertPlainTree(dir: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  async function visit(path: string): Promise<void> {
    options.signal?.throwIfAborted();
    const full = path === '.' ? dir : join(dir, path);
    const info = await lstat(full);
    if (info.isSymbolicLink()) throw symlinkError(path, dir);
    if (info.isDirectory()) {
      const names = (await readdirUtf8(full)).sort(compareBytes);
      for (const name of names) await visit(path === '.' ? name : `${path}/${name}`);
      return;
    }
    if (!info.isFile()) throw notFileError(path, dir);
  }
  await visit('.');
}

function symlinkError(path: string, base: string): LadingError {
  return new LadingError(
    'UNSUPPORTED',
    `symlinks are not supported yet: found symlink ${JSON.stringify(path)} in ${base}`,
  );
}

function notFileError(path: string, base: string): LadingError {
  return new LadingError('UNSUPPORTED', `${JSON.stringify(path)} in ${base} is neither a regular file nor a directory`);
}

function header(
  name: string,
  info: { mode: bigint; uid: bigint; gid: bigint; mtimeNs: bigint },
  size: bigint,
  typeflag: '0' | '5',
  reproducible: boolean | undefined,
): TarWriteHeader {
  if (reproducible) {
    return {
      name,
      mode: Number(info.mode & 0o777n),
      uid: 0,
      gid: 0,
      size: Number(size),
      mtime: 0,
      typeflag,
      uname: '',
      gname: '',
    };
  }
  const uid = Number(info.uid);
  const gid = Number(info.gid);
  return {
    name,
    mode: Number(info.mode & 0o7777n),
    uid,
    gid,
    size: Number(size),
    mtime: goTarSeconds(info.mtimeNs),
    typeflag,
    uname: userName(uid),
    gname: groupName(gid),
  };
}
