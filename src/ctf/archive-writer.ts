import { createReadStream, lstatSync } from 'node:fs';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TarSmallEntryBytes, type TarWriteEntry, tempPathFor, writeTar } from '../archive/index.js';
import { fileReadBytes, readRegularFileSync } from '../content/index.js';
import { LadingError } from '../oci/index.js';
import { emptyArtifactIndex, encodeArtifactIndex } from './artifact-index.js';
import { ArtifactIndexFileName, BlobsDirectoryName, digestFromBlobFileName } from './format.js';

/** An entry of a CTF tar or tgz about to be written back, as `CloseCtfOptions.onEntry` sees it. */
export interface ArchiveEntryInfo {
  /** The entry's path inside the archive (`artifact-index.json`, `blobs/sha256.<hex>`). */
  path: string;
  /** The entry's size in bytes. */
  size: number;
}

export interface WriteCtfArchiveOptions {
  signal?: AbortSignal;
  /** The archive's permissions from its first byte (an archive replaced keeps its own); default 0644 less the umask. */
  mode?: number;
  /** The path errors name (the one the user gave, where `out` is the file a link of it led to). */
  where?: string;
  /** Called before each entry is written; a throw (or rejection) aborts the write. */
  onEntry?: (entry: ArchiveEntryInfo) => void | Promise<void>;
}

/**
 * The entries of a CTF folder in the order upstream writes them: `artifact-index.json` first,
 * then every blob in lexical order. Only the index and digest-named blobs are taken: lock files,
 * temps and anything else in the folder are not part of the CTF. The folder is listed now; each
 * blob's entry is made when the writer comes to it (only the names are held: an entry with its
 * paths and closures is ~1 KB, 60 MB of heap for the 60,000 blobs of 15,000 components). @internal
 */
export async function ctfArchiveEntries(
  dir: string,
  options: WriteCtfArchiveOptions,
): Promise<Iterable<TarWriteEntry>> {
  const indexPath = join(dir, ArtifactIndexFileName);
  let indexSize: number | undefined;
  try {
    indexSize = (await stat(indexPath)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  let index: TarWriteEntry;
  if (indexSize === undefined || indexSize === 0) {
    const bytes = encodeArtifactIndex(emptyArtifactIndex());
    index = { path: ArtifactIndexFileName, size: bytes.length, open: () => Readable.from([bytes]) };
  } else {
    index = { path: ArtifactIndexFileName, size: indexSize, open: () => createReadStream(indexPath) };
  }
  const dirents = await readdir(join(dir, BlobsDirectoryName), { withFileTypes: true }).catch((error) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  const names = dirents
    .filter((d) => d.isFile() && digestFromBlobFileName(d.name) !== undefined)
    .map((d) => d.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return entriesOf(index, dir, names, options);
}

function* entriesOf(
  index: TarWriteEntry,
  dir: string,
  names: readonly string[],
  options: WriteCtfArchiveOptions,
): Generator<TarWriteEntry> {
  yield announced(index, options.onEntry);
  for (const name of names) yield announced(blobEntry(dir, name, options), options.onEntry);
}

function blobEntry(dir: string, name: string, options: WriteCtfArchiveOptions): TarWriteEntry {
  const path = join(dir, BlobsDirectoryName, name);
  // A direct call: a stat is too little work for a trip through the thread pool, made per blob.
  const size = lstatSync(path).size;
  const entry: TarWriteEntry = {
    path: `${BlobsDirectoryName}/${name}`,
    size,
    open: () => createReadStream(path, { highWaterMark: fileReadBytes(size) }),
  };
  // A small blob (descriptors, configs, manifests: most of a CTF's files) is read whole, in one
  // direct call, when its turn comes: no stream, with its buffers and objects, per file.
  if (size <= TarSmallEntryBytes) entry.read = () => readSmallBlob(path, entry.path, options);
  return entry;
}

/** `entry`, calling `onEntry` before its body is taken (streamed or read whole). */
function announced(entry: TarWriteEntry, onEntry: WriteCtfArchiveOptions['onEntry']): TarWriteEntry {
  if (!onEntry) return entry;
  const seen = { path: entry.path, size: entry.size };
  const wrapped: TarWriteEntry = {
    ...entry,
    open: async () => {
      await onEntry(seen);
      return entry.open();
    },
  };
  const read = entry.read;
  if (read) {
    wrapped.read = async () => {
      await onEntry(seen);
      return read();
    };
  }
  return wrapped;
}

/** A small blob of the folder whole; one that grew past the small size since it was listed is a size mismatch. */
function readSmallBlob(path: string, entryPath: string, options: WriteCtfArchiveOptions): Buffer {
  const where = options.where === undefined ? path : `${options.where}: ${entryPath}`;
  try {
    return readRegularFileSync(path, { limit: TarSmallEntryBytes, where, noFollow: true });
  } catch (error) {
    if (error instanceof LadingError && error.code === 'SIZE_EXCEEDS_LIMIT') {
      throw new LadingError('SIZE_MISMATCH', `${where} changed size while the archive was written`, { cause: error });
    }
    throw error;
  }
}

/**
 * Writes the CTF folder `dir` as a tar or tgz at `out`, atomically: the archive is built in temp
 * files beside `out` and renamed over it only when complete, so an interrupted write leaves the
 * previous archive as it was. tgz is the reproducible tar gzipped as a stream; the tar is staged
 * in `stagingDir` first, because writeTar wants a file to write to (this costs disk, not memory).
 */
export async function writeCtfArchive(
  dir: string,
  out: string,
  format: 'tar' | 'tgz',
  stagingDir: string,
  options: WriteCtfArchiveOptions = {},
): Promise<void> {
  const entries = await ctfArchiveEntries(dir, options);
  const signalOpt = options.signal ? { signal: options.signal } : {};
  const mode = options.mode;
  const given = options.where ?? out;
  // No folder entries: upstream OCM v2 writes none, and the archive keeps its bytes.
  if (format === 'tar') {
    const temp = tempPathFor(out);
    try {
      await writeTar(temp, entries, { ...signalOpt, ...(mode === undefined ? {} : { mode }), nameFolders: false });
      await rename(temp, out);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    return;
  }
  const staged = tempPathFor(join(stagingDir, 'ctf.tar'));
  const temp = tempPathFor(out);
  try {
    await writeTar(staged, entries, { ...signalOpt, nameFolders: false });
    // With the archive's permissions from the first byte: a private archive is never readable by others.
    const handle = await open(temp, 'wx', mode ?? 0o644);
    try {
      if (mode !== undefined) await handle.chmod(mode);
      await pipeline(
        createReadStream(staged, { highWaterMark: 1024 * 1024 }),
        createGzip(),
        async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) {
            let done = 0;
            while (done < chunk.length) done += (await handle.write(chunk, done)).bytesWritten;
          }
        },
        signalOpt,
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, out);
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
    throw new LadingError('IO_ERROR', `${given}: cannot write CTF archive: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await rm(staged, { force: true });
  }
}
