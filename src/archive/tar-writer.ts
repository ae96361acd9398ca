import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { fileReadBytes } from '../content/index.js';
import { LadingError } from '../oci/index.js';
import { cleanArchivePath } from './tar-index.js';

export interface TarWriteEntry {
  /** Clean, relative, `/`-separated path. */
  path: string;
  /** Exact byte count the body must deliver. */
  size: number;
  open: () => Promise<Readable> | Readable;
}

type Sink = ReturnType<tarStream.Pack['entry']>;

// Fixed metadata so that the same entries always give the same bytes.
const fixedHeader = { mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', mode: 0o644, type: 'file' } as const;

/**
 * Writes `entries`, in the order given, as an uncompressed tar with reproducible headers. Bodies
 * are streamed. `out` is replaced atomically and only when every entry delivered exactly its size.
 */
export async function writeTar(
  out: string,
  entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const signal = options.signal;
  signal?.throwIfAborted();
  const temp = `${out}.${randomBytes(6).toString('hex')}.tmp`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx', 0o644);
    const pack = tarStream.pack();
    pack.on('error', noop); // failures surface through drain() and the entry callbacks
    const failure: { error?: unknown } = {};
    const drained = drain(pack, handle, failure);
    drained.catch(noop); // awaited below; this only keeps an early failure from being "unhandled"
    try {
      const seen = new Set<string>();
      for await (const entry of entries) {
        signal?.throwIfAborted();
        await writeEntry(pack, entry, seen, out, signal);
      }
      pack.finalize();
    } catch (error) {
      pack.destroy(error as Error);
      await drained.catch(noop);
      // When the file write failed first, the producer only saw a destroyed stream: report the cause.
      throw failure.error ?? error;
    }
    await drained;
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    await rename(temp, out);
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true }).catch(() => {});
    if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
    throw new LadingError('IO_ERROR', `${out}: cannot write tar archive: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

async function drain(pack: tarStream.Pack, handle: FileHandle, failure: { error?: unknown }): Promise<void> {
  try {
    for await (const chunk of pack as AsyncIterable<Buffer>) {
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
    }
  } catch (error) {
    failure.error ??= error;
    // The producer may be waiting for the pack to drain; destroying it wakes the producer.
    pack.destroy(error as Error);
    throw error;
  }
}

async function writeEntry(
  pack: tarStream.Pack,
  entry: TarWriteEntry,
  seen: Set<string>,
  out: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  const cleaned = cleanArchivePath(entry.path);
  if ('refused' in cleaned) {
    const code = cleaned.refused.includes('NUL') ? 'INVALID_ARGUMENT' : 'PATH_TRAVERSAL';
    throw new LadingError(code, `${out}: tar entry path ${JSON.stringify(entry.path)} ${cleaned.refused}`);
  }
  if (cleaned.path !== entry.path || entry.path === '.') {
    throw new LadingError('INVALID_ARGUMENT', `${out}: tar entry path ${JSON.stringify(entry.path)} is not clean`);
  }
  if (seen.has(entry.path)) {
    throw new LadingError('INVALID_ARGUMENT', `${out}: tar entry ${JSON.stringify(entry.path)} is given twice`);
  }
  seen.add(entry.path);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new LadingError('INVALID_ARGUMENT', `${out}: tar entry ${entry.path} has an invalid size ${entry.size}`);
  }

  let settle: (error?: Error | null) => void = noop;
  const written = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  written.catch(noop); // awaited below, unless the body fails first
  const sink = pack.entry({ ...fixedHeader, name: entry.path, size: entry.size }, (error) => settle(error));
  sink.on('error', noop); // the entry callback reports it
  let body: Readable | undefined;
  let count = 0;
  try {
    body = await entry.open();
    if (signal) addAbortSignal(signal, body);
    for await (const chunk of body as AsyncIterable<Buffer | string>) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      count += bytes.length;
      if (count > entry.size) {
        throw new LadingError('SIZE_MISMATCH', `${out}: tar entry ${entry.path} is longer than ${entry.size} bytes`);
      }
      if (!sink.write(bytes)) await waitForDrain(sink);
    }
    if (count !== entry.size) {
      throw new LadingError(
        'SIZE_MISMATCH',
        `${out}: tar entry ${entry.path} gave ${count} bytes, expected ${entry.size}`,
      );
    }
    sink.end(undefined);
    await written;
  } catch (error) {
    body?.destroy();
    sink.destroy(error as Error);
    throw error;
  }
}

function waitForDrain(sink: Sink): Promise<void> {
  return new Promise((resolve, reject) => {
    if (sink.destroying) {
      reject(new Error('tar entry closed before its body was written'));
      return;
    }
    const onDrain = (): void => {
      sink.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      sink.off('drain', onDrain);
      reject(new Error('tar entry closed before its body was written'));
    };
    sink.once('drain', onDrain);
    sink.once('close', onClose);
  });
}

/**
 * Writes a directory tree (for example an OCI layout directory) as a tar with `writeTar`: regular
 * files only, sorted by path. Symbolic links and special files are refused rather than skipped,
 * so that the archive never silently differs from the directory.
 */
export async function writeDirectoryAsTar(
  dir: string,
  out: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const root = resolve(dir);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(root);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR';
    throw new LadingError(code, `${dir}: cannot read directory: ${(error as Error).message}`, { cause: error });
  }
  if (!info.isDirectory()) throw new LadingError('INVALID_ARGUMENT', `${dir}: not a directory`);
  // The walk would otherwise pick up the archive itself (or a previous run's).
  const rel = relative(root, resolve(out));
  if (!(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))) {
    throw new LadingError('INVALID_ARGUMENT', `${out}: the tar cannot be written inside the directory it archives`);
  }
  const files = await listFiles(root, options.signal);
  const noFollow = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);
  await writeTar(
    out,
    files.map((file) => ({
      path: file.path,
      size: file.size,
      open: async () =>
        (await open(join(root, file.path), noFollow)).createReadStream({ highWaterMark: fileReadBytes(file.size) }),
    })),
    options,
  );
}

async function listFiles(root: string, signal: AbortSignal | undefined): Promise<{ path: string; size: number }[]> {
  const files: { path: string; size: number }[] = [];
  const walk = async (rel: string): Promise<void> => {
    signal?.throwIfAborted();
    const dirents = await readdir(rel === '' ? root : join(root, rel), { withFileTypes: true });
    for (const dirent of dirents) {
      const path = rel === '' ? dirent.name : `${rel}/${dirent.name}`;
      if (dirent.isDirectory()) {
        await walk(path);
      } else if (dirent.isFile()) {
        files.push({ path, size: (await lstat(join(root, path))).size });
      } else {
        const what = dirent.isSymbolicLink() ? 'a symbolic link' : 'not a regular file';
        throw new LadingError('UNSUPPORTED', `${join(root, path)} is ${what}; only regular files can be archived`);
      }
    }
  };
  try {
    await walk('');
  } catch (error) {
    if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
    throw new LadingError('IO_ERROR', `${root}: cannot list directory: ${(error as Error).message}`, { cause: error });
  }
  // Plain code-unit order: deterministic, independent of locale.
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return files;
}

function noop(): void {}
