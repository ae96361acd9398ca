import {
  type BigIntStats,
  closeSync,
  constants,
  createReadStream,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  statSync,
} from 'node:fs';
import { readlink, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { goTarSeconds, makeTempFolder, readdirUtf8, tarEntry, tarTrailer } from '../archive/index.js';
import { fileReadBytes } from '../content/index.js';
import { Annotation, compareBytes, createDigester, type Descriptor, LadingError, MediaType } from '../oci/index.js';

/** A file or directory named on the command line, ready to be pushed as one layer. */
export interface PreparedFile {
  desc: Descriptor;
  /** The bytes of the layer (re-openable: a push may need them more than once). */
  open(): Readable;
}

export interface PrepareOptions {
  mediaType?: string;
  /** Overrides the title (the name the file gets when pulled). */
  title?: string;
  annotations?: Record<string, string>;
  /** Allow absolute paths as titles (ORAS `--disable-path-validation`). */
  allowAbsolutePaths?: boolean;
  /** Directory tars with fixed times and owners, so the same tree gives the same digest. */
  reproducible?: boolean;
  /** Modification time (seconds) written into reproducible tars; SOURCE_DATE_EPOCH or 0. */
  sourceDateEpoch?: number;
  /**
   * Where directory tars are staged (removed by `cleanup()` of the set): a folder, or a function
   * that makes one on first use (a push of plain files needs none).
   */
  tempDir: string | (() => Promise<string>);
  signal?: AbortSignal;
}

/** Counts and hashes what passes through. */
class Measure extends Transform {
  readonly hash;
  size = 0;
  constructor() {
    super();
    this.hash = createDigester('sha256');
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

export function titleFor(path: string, allowAbsolutePaths = false): string {
  if (isAbsolute(path) && !allowAbsolutePaths) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `absolute file path "${path}" would be pulled outside the output folder`,
      { hint: { key: 'allowAbsolutePaths', text: 'use a relative path or allowAbsolutePaths' } },
    );
  }
  return normalize(path).split(sep).join('/').replace(/\/$/, '');
}

export async function prepareFile(path: string, options: PrepareOptions): Promise<PreparedFile> {
  let info: import('node:fs').Stats;
  try {
    info = await stat(path);
  } catch (error) {
    throw new LadingError('NOT_FOUND', `${path}: no such file or directory`, { cause: error });
  }
  const title = options.title ?? titleFor(path, options.allowAbsolutePaths);
  if (info.isDirectory()) return prepareDirectory(path, title, options);
  if (!info.isFile()) throw new LadingError('INVALID_ARGUMENT', `${path}: not a regular file or directory`);
  const measure = new Measure();
  await pipeline(createReadStream(path, { highWaterMark: fileReadBytes(info.size) }), measure, async (source) => {
    for await (const _ of source) {
      // hashing only
    }
  });
  if (measure.size !== info.size) throw new LadingError('IO_ERROR', `${path}: changed while it was read`);
  const desc: Descriptor = {
    mediaType: options.mediaType ?? MediaType.ImageLayer,
    digest: measure.digest(),
    size: measure.size,
    annotations: { ...(options.annotations ?? {}), [Annotation.Title]: title },
  };
  return { desc, open: () => createReadStream(path, { highWaterMark: fileReadBytes(info.size) }) };
}

/**
 * Lexical walk, like Go's filepath.Walk: directories before their contents. Unlike it, a link
 * named as the folder to push is followed (what prepareFile took for a folder): filepath.Walk
 * stores such a folder as one symlink entry, an artifact that no pull, ORAS's or ours, unpacks.
 * Links inside the folder stay links.
 */
async function* walk(root: string, rel = ''): AsyncGenerator<{ rel: string; full: string; info: BigIntStats }> {
  const full = rel ? join(root, rel) : root;
  // Direct calls: a folder of many small files would otherwise spend its time handing each call
  // to the thread pool and back (a file-system lookup cannot block on a pipe).
  // In nanoseconds: the time written is rounded as Go rounds it, which milliseconds cannot tell.
  const info = rel ? lstatSync(full, { bigint: true }) : statSync(full, { bigint: true });
  yield { rel, full, info };
  if (!info.isDirectory()) return;
  // Byte order of the UTF-8 names, as Go sorts them (UTF-16 order differs above U+FFFF).
  const names = (await readdirUtf8(full)).sort(compareBytes);
  for (const name of names) yield* walk(root, rel ? `${rel}/${name}` : name);
}

/**
 * Packs a directory as tar+gzip the way ORAS does (entries prefixed with the title, the root
 * itself an entry, symlinks kept as links), staged in a temp file. Both digests are computed in
 * the same pass: the gzip's for the descriptor, the tar's for `io.deis.oras.content.digest`.
 */
async function prepareDirectory(dir: string, title: string, options: PrepareOptions): Promise<PreparedFile> {
  // Not named after the folder: a folder name of up to NAME_MAX bytes would make this one too long.
  const folder = typeof options.tempDir === 'string' ? options.tempDir : await options.tempDir();
  const staged = join(folder, `dir-${Date.now()}-${Math.random().toString(36).slice(2)}.tar.gz`);
  const tarMeasure = new Measure();
  const gzMeasure = new Measure();
  const { createWriteStream } = await import('node:fs');
  try {
    await pipeline(
      Readable.from(coalesced(directoryTar(dir, title, options))),
      tarMeasure,
      createGzip(),
      gzMeasure,
      createWriteStream(staged, { flags: 'wx' }),
      { ...(options.signal ? { signal: options.signal } : {}) },
    );
  } catch (error) {
    await rm(staged, { force: true });
    throw error;
  }
  const desc: Descriptor = {
    mediaType: options.mediaType ?? MediaType.ImageLayerGzip,
    digest: gzMeasure.digest(),
    size: gzMeasure.size,
    annotations: {
      ...(options.annotations ?? {}),
      [Annotation.OrasContentDigest]: tarMeasure.digest(),
      [Annotation.OrasContentUnpack]: 'true',
      [Annotation.Title]: title,
    },
  };
  return { desc, open: () => createReadStream(staged, { highWaterMark: 1024 * 1024 }) };
}

/** The tar of `dir`, its entries named under `title`. */
async function* directoryTar(dir: string, title: string, options: PrepareOptions): AsyncGenerator<Buffer> {
  const epoch = options.sourceDateEpoch ?? 0;
  for await (const { rel, full, info } of walk(dir)) {
    // As oras-go writes it: owners are always 0 with no names (whoever pushes, the layer is the
    // same), the mode keeps setuid, setgid and sticky, the time is rounded to the second.
    const common = {
      name: rel ? `${title}/${rel}` : title,
      mode: Number(info.mode) & (options.reproducible ? 0o777 : 0o7777),
      mtime: options.reproducible ? epoch : goTarSeconds(info.mtimeNs),
      uid: 0,
      gid: 0,
    };
    if (info.isDirectory()) {
      yield* tarEntry({ ...common, size: 0, typeflag: '5' }, undefined, { where: full });
    } else if (info.isSymbolicLink()) {
      yield* tarEntry({ ...common, size: 0, typeflag: '2', linkname: await readlink(full) }, undefined, {
        where: full,
      });
    } else if (info.isFile()) {
      // Hard links are stored as regular files, as oras-go does: ORAS 1.3 resolves a hard link's
      // target from the link's own folder, not from the archive's root as tar means it, so a layer
      // with hard-link entries would not unpack with `oras pull`.
      const size = Number(info.size);
      const body =
        size === 0
          ? undefined
          : size <= SmallFileBytes
            ? once(readSmallFile(full, size))
            : createReadStream(full, { fd: openChecked(full), highWaterMark: fileReadBytes(size) });
      yield* tarEntry({ ...common, size, typeflag: '0' }, body, {
        where: full,
        sizeError: () => new LadingError('IO_ERROR', `${full}: changed while it was read`),
      });
    } else if (info.isFIFO()) {
      // As ORAS: a FIFO is an entry of its own (no bytes are read from it); a pull skips it.
      yield* tarEntry({ ...common, size: 0, typeflag: '6' }, undefined, { where: full });
    } else {
      // ORAS refuses a socket ("archive/tar: sockets not supported"); a device is refused too,
      // rather than left out without a word.
      const what = info.isSocket() ? 'a socket' : 'a device';
      throw new LadingError('UNSUPPORTED', `${full}: ${what} cannot be pushed (only files, folders, links and FIFOs)`);
    }
  }
  yield tarTrailer;
}

/** Files up to this size are read with direct calls (see readSmallFile). */
const SmallFileBytes = 64 * 1024;

/**
 * A small regular file's bytes, read with direct calls: opened without blocking (a FIFO swapped in
 * since the walk cannot hang the one thread) and without following a link, checked to be a regular
 * file still; one byte more than `size` is asked for, so that tarEntry sees a file that grew.
 */
function readSmallFile(path: string, size: number): Buffer {
  const fd = openChecked(path);
  try {
    const buffer = Buffer.allocUnsafe(size + 1);
    let got = 0;
    for (let n = -1; n !== 0 && got < buffer.length; got += n) n = readSync(fd, buffer, got, buffer.length - got, got);
    return buffer.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * A file found by the walk, opened for reading: without blocking (a FIFO swapped in since cannot
 * hang a thread), without following a link, and checked to be a regular file still.
 */
function openChecked(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const changed = code === 'ELOOP' || code === 'ENXIO' || code === 'ENOENT';
    throw new LadingError(
      'IO_ERROR',
      changed
        ? `${path}: changed while it was read (${(error as Error).message})`
        : `${path}: cannot read: ${(error as Error).message}`,
      { cause: error },
    );
  }
  try {
    if (!fstatSync(fd).isFile()) throw new LadingError('IO_ERROR', `${path}: changed while it was read`);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** `chunks` joined into pieces of at least 64 KiB: a tar of many small files is mostly 512-byte headers, each a trip through the pipeline. */
async function* coalesced(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    pending.push(chunk);
    size += chunk.length;
    if (size >= 64 * 1024) {
      yield pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, size);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield Buffer.concat(pending, size);
}

/**
 * A scratch folder for staged directory tars, made in the system's temp folder on first use (a push
 * of plain files needs none, so it works where TMPDIR cannot be written) and removed when the push
 * ends.
 */
export async function withTempDir<T>(fn: (dir: () => Promise<string>) => Promise<T>): Promise<T> {
  let made: Promise<string> | undefined;
  const dir = () => {
    made ??= makeTempFolder('lading-push-');
    return made;
  };
  try {
    return await fn(dir);
  } finally {
    const folder = await made?.catch(() => undefined);
    if (folder) await rm(folder, { recursive: true, force: true });
  }
}
