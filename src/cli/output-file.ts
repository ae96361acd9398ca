import { constants, createReadStream } from 'node:fs';
import { access, chmod, type FileHandle, lstat, open, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempFolder, sweepStaleTemps, tempPathFor } from '../archive/index.js';
import { isLadingError, LadingError } from '../oci/index.js';
import { interruptSignal } from './interrupt.js';
import { CliStream } from './output/cli-stream.js';

/** How long a dead run's temp beside an output file is left alone (see writeReplacing). */
const StaleOutputTempMs = 10 * 60 * 1000;

/**
 * Where an output file the user named really is, after following its links:
 * - `file`: a regular file, or a name to create; written to a temp file beside it and renamed
 *   over it once the content is complete and verified (a failed write leaves it as it was);
 * - `fd`: one of this process's own descriptors (`/dev/stdout`, `/dev/fd/3`,
 *   `/proc/self/fd/1`): written through that descriptor, where the shell pointed it;
 * - `special`: a fifo, a device, a socket, or anything reached through `/proc`: opened and written
 *   in place. A rename over these would replace the device node or the link (and, as root, break
 *   `/dev/stdout` for everyone) instead of writing to it.
 */
type OutputTarget =
  | { kind: 'file'; path: string; mode?: number }
  | { kind: 'fd'; fd: number }
  | { kind: 'special'; path: string };

/** Links followed at most, as the kernel's own limit (ELOOP). */
const MaxLinks = 40;

/** `/proc/<our pid>[/task/<tid>]/fd/<n>`, which `/dev/stdout` and `/dev/fd/<n>` resolve to. */
const ownDescriptor = /^\/proc\/(\d+)(?:\/task\/\d+)?\/fd\/(\d+)$/;

function fail(option: string, path: string, why: string, cause?: unknown): LadingError {
  return new LadingError('IO_ERROR', `${option} ${path}: ${why}`, cause === undefined ? undefined : { cause });
}

async function outputTarget(path: string, option: string): Promise<OutputTarget> {
  let current = resolve(path);
  for (let hops = 0; hops <= MaxLinks; hops++) {
    // The folder part with its links resolved, so that `/dev/fd/1` reads as `/proc/<pid>/fd/1`.
    let folder: string;
    try {
      folder = await realpath(dirname(current));
    } catch (error) {
      throw fail(option, path, `the folder ${dirname(current)} does not exist`, error);
    }
    current = join(folder, basename(current));
    const own = ownDescriptor.exec(current);
    if (own && Number(own[1]) === process.pid) return { kind: 'fd', fd: Number(own[2]) };
    if (current.startsWith('/proc/')) return { kind: 'special', path: current };
    const info = await lstat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw fail(option, path, error.message, error);
    });
    if (!info) return { kind: 'file', path: current };
    if (info.isSymbolicLink()) {
      current = resolve(
        folder,
        await readlink(current).catch((error) => Promise.reject(fail(option, path, error.message, error))),
      );
      continue;
    }
    if (info.isFile()) return { kind: 'file', path: current, mode: info.mode & 0o777 };
    if (info.isDirectory()) throw new LadingError('INVALID_ARGUMENT', `${option} ${path}: is a folder`);
    return { kind: 'special', path: current };
  }
  throw fail(option, path, `more than ${MaxLinks} links to follow`);
}

/**
 * Checks, before a command changes anything, that the file an option names can be written: its
 * folder exists and is writable (or the fifo or device can be written), and the path is not a
 * folder. A command that pushes and then fails to write its output file would otherwise have
 * changed a registry and still fail.
 */
export async function checkOutputFile(path: string, option: string): Promise<void> {
  const target = await outputTarget(path, option).catch((error) => {
    if (isLadingError(error, 'INVALID_ARGUMENT')) throw error;
    throw new LadingError('INVALID_ARGUMENT', `${option} ${path}: the folder does not exist or is not writable`, {
      cause: error,
    });
  });
  if (target.kind === 'fd') return;
  if (target.kind === 'special') {
    // A FIFO must have its reader now: the command would otherwise change a registry and then
    // fail to write. The end opened here is the one written later (closing it would end the reader).
    let early = opened.get(target.path);
    if (!early) {
      early = openInPlace(target.path, path, option);
      opened.set(target.path, early);
    }
    try {
      await early;
    } catch (error) {
      opened.delete(target.path);
      if (isLadingError(error, 'INVALID_ARGUMENT')) throw error;
      throw new LadingError('INVALID_ARGUMENT', `${option} ${path}: ${target.path} is not writable`, { cause: error });
    }
    return;
  }
  const where = dirname(target.path);
  try {
    await access(where, constants.W_OK);
  } catch (error) {
    const what = target.kind === 'file' ? `the folder ${where}` : where;
    throw new LadingError('INVALID_ARGUMENT', `${option} ${path}: ${what} is not writable`, { cause: error });
  }
}

/**
 * Copies `stream` to stdout or stderr (or a `CliStream` over them). A reader that went away ends
 * the copy quietly and stops reading the source: the product was for that reader, and it has
 * taken what it wanted (`lading blob fetch -o - … | head -c 100`).
 */
export async function copyToStream(stream: Readable, out: CliStream): Promise<void> {
  for await (const chunk of stream) {
    if (out.readerGone) break;
    if (!out.write(chunk as Buffer)) await out.drained(interruptSignal());
  }
  if (out.readerGone) stream.destroy();
}

/** How often a write to a full FIFO or terminal is tried again. */
const RetryMs = 10;

/**
 * Copies `stream` into an open file, looping over short writes (a pipe may take part of a chunk).
 * A FIFO or device is open without blocking: a full pipe answers EAGAIN, and the write waits here,
 * on a timer, instead of in a thread of the pool that nothing could end (see endBySignal).
 */
async function writeAll(stream: Readable, handle: FileHandle): Promise<void> {
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    for (let done = 0; done < bytes.length; ) {
      try {
        done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
        await sleep(RetryMs);
      }
    }
  }
}

/** How long a FIFO's reader has to open its end (a reader started just before lading). */
const ReaderGraceMs = 1000;

/** FIFOs and devices checkOutputFile opened, by path: written through the same end later. */
const opened = new Map<string, Promise<FileHandle>>();

/**
 * Opens a FIFO or device for writing in place (appended, never created or truncated) without
 * blocking: an open() of a FIFO that no process reads would wait in a thread of the pool for good,
 * and keep the process from ending. A FIFO without a reader is refused once its reader had a
 * moment to come.
 */
async function openInPlace(path: string, shown: string, option: string): Promise<FileHandle> {
  const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_NOCTTY | constants.O_NONBLOCK;
  for (let waited = 0; ; waited += RetryMs * 5) {
    try {
      return await open(path, flags);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENXIO') throw fail(option, shown, (error as Error).message, error);
      if (waited >= ReaderGraceMs) {
        const fifo = (await stat(path).catch(() => undefined))?.isFIFO();
        throw new LadingError(
          'INVALID_ARGUMENT',
          `${option} ${shown}: ${fifo ? 'a FIFO that no process reads (start its reader first)' : 'no device there to write to'}`,
          { cause: error },
        );
      }
      await sleep(RetryMs * 5);
    }
  }
}

/** Writes into a temp file beside `target.path` and renames it over the target once complete. */
async function writeReplacing(stream: Readable, target: { path: string; mode?: number }): Promise<void> {
  // A run killed outright (SIGKILL, a power cut) left its temp beside the file: the next write of
  // the file removes it once its process is gone and it has been still a while (the folder may be
  // shared with another machine, whose process IDs mean nothing here).
  await sweepStaleTemps(dirname(target.path), basename(target.path), { olderThanMs: StaleOutputTempMs });
  // The target's name (cut to fit NAME_MAX), this process and a random part.
  const temp = tempPathFor(target.path);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666);
    await writeAll(stream, handle);
    // Replacing a file keeps its permissions: a private file stays private.
    if (target.mode !== undefined) await chmod(temp, target.mode);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, target.path);
  } catch (error) {
    stream.destroy();
    await handle?.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
}

/** Writes to a fifo or device in place: appended, never created, truncated or replaced. */
async function writeInPlace(stream: Readable, path: string, shown: string, option: string): Promise<void> {
  const early = opened.get(path);
  opened.delete(path);
  const handle = await (early ?? openInPlace(path, shown, option));
  try {
    await writeAll(stream, handle);
  } finally {
    await handle.close();
  }
}

/** Writes to one of our own descriptors; stdout and stderr through Node's own streams, in order with our other output. */
async function writeDescriptor(stream: Readable, fd: number): Promise<void> {
  if (fd === 1 || fd === 2) {
    await copyToStream(stream, new CliStream(fd === 1 ? process.stdout : process.stderr));
    return;
  }
  const { createWriteStream } = await import('node:fs');
  await pipeline(stream, createWriteStream('', { fd, autoClose: false }));
}

/**
 * Writes an output file the user named (`-o`, `--output`, `--export-manifest`). A regular file
 * (also one reached through a symlink, which stays a symlink) is replaced atomically, and only
 * once the stream ended without a digest or size error: a bad download leaves the file as it
 * was. `/dev/stdout`, fifos and devices are written to directly, never renamed over; a bad
 * download there has already written what came before the error, as with `-o -`.
 */
export async function writeOutputStream(stream: Readable, path: string, option: string): Promise<void> {
  let target: OutputTarget;
  try {
    target = await outputTarget(path, option);
  } catch (error) {
    stream.destroy();
    throw error;
  }
  try {
    if (target.kind === 'file') await writeReplacing(stream, target);
    else if (target.kind === 'fd') await writeDescriptor(stream, target.fd);
    else await writeInPlace(stream, target.path, path, option);
  } catch (error) {
    stream.destroy();
    if (isLadingError(error)) throw error;
    throw fail(option, path, (error as Error).message, error);
  }
}

/** Writes a whole output file (small: a manifest), as `writeOutputStream` does. */
export async function writeOutputFile(path: string, data: Uint8Array | string, option: string): Promise<void> {
  await writeOutputStream(Readable.from([typeof data === 'string' ? Buffer.from(data) : data]), path, option);
}

/**
 * For a writer that only knows how to write a path, atomically by its own temp file and rename
 * (the library's OCI layout tar). A regular file, or a link to one, is handed over as the file's
 * real path, so the link stays and the rename lands beside the target. `/dev/stdout`, a fifo or a
 * device gets the writer's file from a private temp folder, copied in once it is complete: the
 * writer's rename would otherwise replace the device node or link itself.
 */
export async function writeOutputVia(
  path: string,
  option: string,
  write: (path: string) => Promise<void>,
): Promise<void> {
  const target = await outputTarget(path, option);
  if (target.kind === 'file') {
    await write(target.path);
    return;
  }
  const folder = await makeTempFolder('lading-out-');
  try {
    const staged = join(folder, 'out');
    await write(staged);
    const stream = createReadStream(staged);
    try {
      if (target.kind === 'fd') await writeDescriptor(stream, target.fd);
      else await writeInPlace(stream, target.path, path, option);
    } catch (error) {
      stream.destroy();
      if (isLadingError(error)) throw error;
      throw fail(option, path, (error as Error).message, error);
    }
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
