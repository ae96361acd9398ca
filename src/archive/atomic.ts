import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  linkSync,
  lstatSync,
  openSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * The part of a file name that its temp names repeat: the name itself, cut to 200 bytes (at a
 * character boundary) so that the temp name, and a temp of that temp, stay under NAME_MAX (255
 * bytes) however long the final name is.
 */
export function tempStem(name: string): string {
  if (Buffer.byteLength(name) <= TempStemBytes) return name;
  let stem = '';
  let bytes = 0;
  for (const char of name) {
    bytes += Buffer.byteLength(char);
    if (bytes > TempStemBytes) break;
    stem += char;
  }
  return stem;
}
const TempStemBytes = 200;

/** A unique temp name next to `target`, so that the final rename stays on one file system. */
export function tempPathFor(target: string, dir = dirname(target)): string {
  return join(dir, `.${tempStem(basename(target))}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes a whole small file atomically: temp file (exclusive create), fsync, rename. `sync: false`
 * leaves out the fsync, for content-addressed blobs: they are written as every other blob is
 * (verified on each read, so a blob a crash cut short is found, not trusted); an index that names
 * them keeps its fsync. A file that was there keeps its permissions (an index someone made private
 * stays private); `mode` is for a new one. A link there is replaced, not written through.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array,
  mode = 0o644,
  o: { sync?: boolean } = {},
): Promise<void> {
  if (o.sync === false && data.length <= DirectCallBytes) {
    writeFileAtomicNow(target, data, mode);
    return;
  }
  const temp = tempPathFor(target);
  const kept = await lstat(target).then(
    (info) => (info.isFile() ? info.mode & 0o777 : undefined),
    () => undefined,
  );
  // Created with the kept permissions (the umask may only take some away): a private file's new
  // content is never readable by others, not even while it is written.
  const handle = await open(temp, 'wx', kept ?? mode);
  try {
    if (kept !== undefined) await handle.chmod(kept);
    await handle.writeFile(data);
    if (o.sync !== false) await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * The largest file written or read whole with direct system calls rather than through libuv's
 * thread pool (here and in DirFiles.readSmall): a manifest or an index is a few kilobytes, and each trip through the pool (lstat, open, write,
 * close, rename) costs 0.1–0.3 ms of hand-offs between threads where the call itself takes
 * microseconds (measured: the end of a pull into a layout is a dozen such calls in a row). An
 * fsync'd write keeps the pool: an fsync may take long enough to matter.
 */
export const DirectCallBytes = 1024 * 1024;

/** {@link writeFileAtomic} without an fsync, with direct system calls (see {@link DirectCallBytes}). */
function writeFileAtomicNow(target: string, data: Uint8Array, mode: number): void {
  const temp = tempPathFor(target);
  let kept: number | undefined;
  try {
    const info = lstatSync(target);
    kept = info.isFile() ? info.mode & 0o777 : undefined;
  } catch {
    kept = undefined;
  }
  const fd = openSync(temp, 'wx', kept ?? mode);
  try {
    try {
      if (kept !== undefined) fchmodSync(fd, kept);
      writeAll(fd, data);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, target);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * Creates `path` (it must not exist) holding `data`, with direct system calls: for a small blob
 * already verified in memory, staged before its rename. `mode` is set exactly (not through the
 * umask) when it is not 0o644. The caller removes the file when this throws.
 */
export function writeNewBytesNow(path: string, data: Uint8Array, mode = 0o644): void {
  const fd = openSync(path, 'wx', 0o644);
  try {
    if (mode !== 0o644) fchmodSync(fd, mode);
    writeAll(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** Whether `data` is small enough to be written with direct system calls (see {@link DirectCallBytes}). */
export function writesDirectly(data: Uint8Array): boolean {
  return data.length <= DirectCallBytes;
}

function writeAll(fd: number, data: Uint8Array): void {
  let at = 0;
  while (at < data.length) at += writeSync(fd, data, at, data.length - at);
}

/**
 * Writes a whole small file that must not exist yet, atomically and never over another writer's:
 * a temp file linked into place (link fails where the name exists). Resolves to false when the
 * file was there already, or when the file system cannot link (then the caller takes the slower
 * way). No fsync: for the first, empty state of a new store, which has nothing to lose.
 */
export async function writeNewFile(target: string, data: Uint8Array, mode = 0o644): Promise<boolean> {
  // Direct system calls (see DirectCallBytes): the first files of a new store are tiny.
  const temp = tempPathFor(target);
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      writeAll(fd, data);
    } finally {
      closeSync(fd);
    }
    linkSync(temp, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV')
      return false;
    throw error;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // gone already
    }
  }
}
