import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  ContainedTree,
  cleanArchivePath,
  describeTarFailure,
  extractionLimit,
  extractTar,
  type TarEntry,
  TarFiles,
} from '../archive/index.js';
import { LadingError } from '../oci/index.js';

// The bounds against decompression bombs are the archive layer's (every extraction shares them).
export { DefaultMaxExpansionRatio, DefaultMinExtractBytes, extractionLimit } from '../archive/index.js';

/** Where an archive entry goes: a clean relative path inside the output folder, or undefined to skip it. */
export type EntrySelector = (path: string) => string | undefined;

export interface ExtractOptions {
  /** Names the archive in errors (a temp folder would mean nothing to the user). */
  where: string;
  select: EntrySelector;
  signal?: AbortSignal;
}

function invalid(where: string, what: string): never {
  throw new LadingError('INVALID_ARCHIVE', `${where}: ${what}`);
}

/**
 * Links and special files are refused wherever they appear, even where we would skip a regular
 * file: an archive that carries them was not written by a CTF writer, and refusing is clearer
 * than silently dropping part of it.
 */
export function refuseEntryType(where: string, path: string, type: string): never {
  const what =
    type === 'symlink' || type === 'hardlink' || type === 'link'
      ? 'a link; links are not allowed in a CTF archive'
      : `a ${type} entry; only regular files and folders are allowed in a CTF archive`;
  invalid(where, `tar archive entry ${JSON.stringify(path)} is ${what}`);
}

/**
 * Extracts an uncompressed tar file: the header index is built (and checked: no escaping paths,
 * no duplicates) before any byte is written, then the selected regular files are copied out as
 * streams, through the one safe extractor's writer (nothing lands outside `into`, nothing is
 * written twice).
 */
export async function extractTarFile(file: string, into: string, options: ExtractOptions): Promise<void> {
  const tar = await TarFiles.open(file, options.signal ? { signal: options.signal } : {});
  const selected: TarEntry[] = [];
  for (const entry of tar.entries()) {
    if (entry.type === 'directory') continue;
    if (entry.type !== 'file') refuseEntryType(options.where, entry.path, entry.type);
    if (options.select(entry.path) !== undefined) selected.push(entry);
  }
  // The CTF's private work folder: nobody reads it while it is unpacked.
  const tree = await ContainedTree.open(into, {
    existing: 'refuse',
    escapeCode: 'INVALID_ARCHIVE',
    newFilesInPlace: true,
  });
  try {
    for (const entry of selected) {
      options.signal?.throwIfAborted();
      const dest = options.select(entry.path) as string;
      await tree.file(
        dest,
        await tar.open(entry.path),
        `${options.where}: tar archive entry ${JSON.stringify(entry.path)}`,
        { size: entry.size },
      );
    }
  } catch (error) {
    throw describeTarFailure(error, options.where);
  } finally {
    await tree.close();
  }
}

/**
 * Extracts a tar stream, gunzipping it first when `gzip` is set. Every decompressed byte counts
 * against `maxBytes` (headers and padding too: they cost time even if not disk), and the
 * extraction stops with SIZE_EXCEEDS_LIMIT as soon as it is passed. Nothing is trusted: paths
 * are cleaned, escapes, links, devices and duplicates are refused, and the one safe extractor
 * writes what is kept.
 */
export async function extractTarStream(
  source: Readable,
  into: string,
  options: ExtractOptions & { gzip: boolean; maxBytes: number | ((compressedSoFar: number) => number) },
): Promise<void> {
  const { where } = options;
  const seen = new Set<string>();
  await extractTar(source, {
    into,
    where,
    gzip: options.gzip,
    maxBytes: options.maxBytes,
    ...(options.signal ? { signal: options.signal } : {}),
    existing: 'refuse',
    escapeCode: 'INVALID_ARCHIVE',
    newFilesInPlace: true,
    keepAttributes: false,
    place(header) {
      const cleaned = cleanArchivePath(header.name);
      if ('refused' in cleaned) invalid(where, `tar archive entry ${JSON.stringify(header.name)} ${cleaned.refused}`);
      const path = cleaned.path;
      const type = header.type ?? 'unknown';
      const sparse = Object.keys((header as { pax?: Record<string, string> }).pax ?? {}).some((k) =>
        k.startsWith('GNU.sparse.'),
      );
      if (type === 'directory') return undefined; // folders are made as the files in them need them
      if ((type !== 'file' && type !== 'contiguous-file') || sparse)
        refuseEntryType(where, header.name, sparse ? 'sparse' : type);
      if (path === '.') invalid(where, `tar archive entry ${JSON.stringify(header.name)} has an empty path`);
      if (seen.has(path)) invalid(where, `tar archive has a duplicate entry ${JSON.stringify(header.name)}`);
      seen.add(path);
      return options.select(path);
    },
  });
}

/** Extracts a tar or tgz file, applying the expansion bound derived from its size to tgz. */
export async function extractArchiveFile(
  file: string,
  into: string,
  options: ExtractOptions & { gzip: boolean; maxExtractedBytes?: number },
): Promise<void> {
  if (!options.gzip) {
    await extractTarFile(file, into, options);
    return;
  }
  const size = (await stat(file)).size;
  const maxBytes = options.maxExtractedBytes ?? extractionLimit(size);
  await extractTarStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), into, { ...options, maxBytes });
}
