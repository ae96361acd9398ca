import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { cleanArchivePath, describeTarFailure, extractTar, type TarHeader } from '../archive/index.js';
import type { ReadOnlyStorage } from '../content/index.js';
import { copyGraph } from '../copy/index.js';
import { extractionLimit } from '../ctf/index.js';
import { OciLayout } from '../layout/index.js';
import { type Descriptor, LadingError, plainDescriptor } from '../oci/index.js';

/**
 * How `download resource` treats an archive (OCM v2's `--extraction-policy`): `auto` unpacks a
 * tar (gunzipped first when its media type says gzip) or an OCI artifact into a folder, and
 * gunzips other gzip content; `disable` writes the content as it is.
 */
export const ExtractionPolicies = ['auto', 'disable'] as const;
export type ExtractionPolicy = (typeof ExtractionPolicies)[number];

/** Entries a resource archive may hold before it is taken for an attack on the file system. */
export const DefaultMaxResourceEntries = 1_000_000;

/** What `auto` does with content of one media type. */
export interface Unpacking {
  /** The media type says gzip (`application/gzip` or a `+gzip` suffix). */
  gunzip: boolean;
  /** After gunzipping, the media type says tar (`application/tar`, `application/x-tar` or a `+tar` suffix). */
  tar: boolean;
  /** The media type of what is left after gunzipping (`application/gzip` leaves `application/octet-stream`). */
  mediaType: string;
}

/**
 * Decides from the media type alone, as upstream does: content is never sniffed, so a resource is
 * unpacked only when its descriptor says it is an archive (and a wrong word fails the download).
 */
export function unpackingFor(mediaType: string): Unpacking {
  let rest = mediaType;
  let gunzip = false;
  if (rest === 'application/gzip') {
    gunzip = true;
    rest = 'application/octet-stream';
  } else if (rest.endsWith('+gzip')) {
    gunzip = true;
    rest = rest.slice(0, -'+gzip'.length);
  }
  const tar = rest === 'application/tar' || rest === 'application/x-tar' || rest.endsWith('+tar');
  return { gunzip, tar, mediaType: rest };
}

/** Options of {@link extractResourceTar}. */
export interface ExtractResourceOptions {
  /** Names the archive in errors. */
  where: string;
  /** Gunzip the stream first. */
  gzip: boolean;
  /** Bound on the uncompressed bytes (default for gzip: 100 times the compressed bytes, at least 1 GiB). */
  maxBytes?: number | ((compressedSoFar: number) => number);
  /** Bound on the entries (default {@link DefaultMaxResourceEntries}). */
  maxEntries?: number;
  signal?: AbortSignal;
}

/**
 * Unpacks a resource's tar (or tar+gzip) stream into the folder `out`, which must not exist yet
 * (or be an empty folder). The archive is hostile input: it is unpacked by the one safe
 * extractor into a new folder beside `out`, renamed to `out` only once every entry is in.
 * Names that are absolute or climb out, links that lead out or through a link, devices, fifos
 * and sparse files are refused, and a refused or broken archive leaves nothing behind.
 */
export async function extractResourceTar(
  source: Readable,
  out: string,
  options: ExtractResourceOptions,
): Promise<{ entries: number }> {
  const { where } = options;
  let entries = 0;
  const refuse = (code: 'PATH_TRAVERSAL' | 'INVALID_ARCHIVE', at: string, what: string): never => {
    throw new LadingError(code, `${where}: ${at} ${what}`);
  };
  const clean = (name: string, at: string): string => {
    const cleaned = cleanArchivePath(name);
    if ('refused' in cleaned) return refuse('PATH_TRAVERSAL', at, cleaned.refused);
    return cleaned.path === '.' ? '' : cleaned.path;
  };
  const place = (header: TarHeader, at: string): string => {
    entries++;
    const type = header.type ?? 'unknown';
    const sparse = Object.keys((header.pax as Record<string, string> | undefined) ?? {}).some((k) =>
      k.startsWith('GNU.sparse.'),
    );
    if (sparse) refuse('INVALID_ARCHIVE', at, 'is a sparse file, which is not unpacked');
    if (!['file', 'contiguous-file', 'directory', 'symlink', 'link'].includes(type)) {
      refuse('INVALID_ARCHIVE', at, `is a ${type}; devices, fifos and other special files are not unpacked`);
    }
    const rel = clean(header.name, at);
    if (rel === '' && type !== 'directory') refuse('PATH_TRAVERSAL', at, `is a ${type} in place of the output folder`);
    return rel;
  };
  await intoNewFolder(out, options.signal, async (temp) => {
    try {
      await extractTar(source, {
        into: temp,
        where,
        gzip: options.gzip,
        maxBytes: options.maxBytes ?? (options.gzip ? extractionLimit : Number.POSITIVE_INFINITY),
        maxEntries: options.maxEntries ?? DefaultMaxResourceEntries,
        ...(options.signal ? { signal: options.signal } : {}),
        existing: 'replace',
        escapeCode: 'PATH_TRAVERSAL',
        // A new folder of our own, moved into place once complete.
        newFilesInPlace: true,
        keepAttributes: true,
        place,
        placeLinkTarget: (linkname, at) => clean(linkname, `${at} (hard link to ${JSON.stringify(linkname)})`),
      });
    } catch (error) {
      source.destroy();
      // The extractor names the temp folder; the user knows the archive and the output.
      if (error instanceof LadingError) {
        const message = error.message.split(temp).join(out);
        throw new LadingError(error.code, message.startsWith(where) ? message : `${where}: ${message}`, {
          cause: error,
        });
      }
      throw error;
    }
  });
  return { entries };
}

/**
 * Writes the graph under `root` as an OCI image layout folder at `out` (which must not exist
 * yet, or be an empty folder), with `root` tagged `tag` in its index.json. Built in a new folder
 * beside `out` and renamed once complete; a failure leaves nothing behind.
 */
export async function writeLayoutFolder(
  src: ReadOnlyStorage,
  root: Descriptor,
  out: string,
  tag: string,
  o: { signal?: AbortSignal } = {},
): Promise<void> {
  await intoNewFolder(out, o.signal, async (temp) => {
    const layout = await OciLayout.open(temp, { mode: 'create' });
    await copyGraph(src, layout, root, o.signal ? { signal: o.signal } : {});
    await layout.tag(plainDescriptor(root), tag);
    // The store's own working names: not part of the layout the user asked for.
    await rmdir(join(temp, 'ingest')).catch(() => {});
    await rm(join(temp, 'index.json.lock'), { force: true });
  });
}

/**
 * Refuses, before anything is downloaded, an output folder that cannot be made: something other
 * than an empty folder at the path (a file, a link, a folder with files: never merged into or
 * followed), or a parent folder that is missing.
 */
export async function checkNewFolder(out: string, what: string): Promise<void> {
  const path = resolve(out);
  const info = await lstat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new LadingError('IO_ERROR', `${what} ${out}: ${error.message}`, { cause: error });
  });
  if (info) {
    const empty = info.isDirectory() && (await readdir(path)).length === 0;
    if (!empty) {
      const kind = info.isSymbolicLink() ? 'a symlink' : info.isDirectory() ? 'a folder with files' : 'a file';
      throw new LadingError(
        'ALREADY_EXISTS',
        `${what} ${out}: already exists (${kind}); an archive is unpacked only into a new or empty folder`,
        { hint: { key: 'extractionPolicy', text: "or keep it whole with the extraction policy 'disable'" } },
      );
    }
  }
  // The folder it goes in is the user's own path: a link there is followed, as for any output file.
  if (!(await stat(dirname(path)).catch(() => undefined))?.isDirectory()) {
    throw new LadingError('INVALID_ARGUMENT', `${what} ${out}: the folder ${dirname(path)} does not exist`);
  }
}

/**
 * Runs `fill` on a new folder beside `out` and renames it to `out`; on any failure the folder is
 * removed. rename() replaces only an empty folder and never follows a link at `out`, so whatever
 * appeared there meanwhile is left as it was and the download fails.
 */
async function intoNewFolder(
  out: string,
  signal: AbortSignal | undefined,
  fill: (temp: string) => Promise<void>,
): Promise<void> {
  const path = resolve(out);
  const temp = join(dirname(path), `.lading-${randomBytes(8).toString('hex')}.tmp`);
  await mkdir(temp).catch((error: NodeJS.ErrnoException) => {
    throw new LadingError('IO_ERROR', `${out}: cannot make a folder beside it: ${error.message}`, { cause: error });
  });
  try {
    await fill(temp).catch((error: unknown) => {
      if ((error as Error).name === 'AbortError') throw error;
      // The user knows the output, not the temp folder beside it.
      const message = (error as Error).message.split(temp).join(out);
      if (error instanceof LadingError) {
        throw message === error.message ? error : new LadingError(error.code, message, { cause: error });
      }
      throw new LadingError('IO_ERROR', `${out}: ${message}`, { cause: error });
    });
    signal?.throwIfAborted();
    await rename(temp, path).catch((error: NodeJS.ErrnoException) => {
      throw new LadingError(
        ['ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EISDIR'].includes(error.code ?? '') ? 'ALREADY_EXISTS' : 'IO_ERROR',
        `${out}: cannot put the unpacked folder in place: ${error.message}`,
        { cause: error },
      );
    });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/**
 * The stream gunzipped, with the same bound on what it may expand to as archives get (default:
 * 100 times the compressed bytes, at least 1 GiB). A broken gzip stream or one past the bound
 * ends the returned stream with a LadingError naming `where`; destroying the returned stream
 * stops the source.
 */
export function gunzipResource(
  source: Readable,
  where: string,
  maxBytes: (compressedSoFar: number) => number = extractionLimit,
): Readable {
  let compressed = 0;
  let seen = 0;
  let failure: LadingError | undefined;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      compressed += chunk.length;
      done(null, chunk);
    },
  });
  const bound = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      seen += chunk.length;
      const max = maxBytes(compressed);
      if (seen > max) {
        failure = new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `${where}: expands to more than ${max} bytes; refusing it as a possible gzip bomb`,
        );
        done(failure);
        return;
      }
      done(null, chunk);
    },
  });
  const out = new PassThrough();
  const gunzip = createGunzip();
  pipeline(source, counter, gunzip, bound).catch((error: unknown) => {
    out.destroy(describeTarFailure(error, where, failure) as Error);
  });
  bound.pipe(out);
  out.on('close', () => {
    if (!out.writableFinished) source.destroy();
  });
  return out;
}
