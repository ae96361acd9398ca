import type { Readable } from 'node:stream';
import { LadingError } from '../oci/index.js';
import { ContainedTree, type ContainedTreeOptions } from './contained-tree.js';
import type { RealDir } from './real-dir.js';
import { drain, type ReadTarOptions, readTar, type TarHeader } from './tar-reader.js';

export interface ExtractTarOptions extends ReadTarOptions, ContainedTreeOptions {
  /** The folder the entries are unpacked into: an existing folder, or one already open (the extraction closes it). */
  into: string | RealDir;
  /**
   * Where an entry goes, relative to `into` (clean, `/`-separated; `''` is `into` itself), or
   * undefined to skip it. It vets the entry (its name, its type) and throws to refuse the archive.
   */
  place(header: TarHeader, where: string): string | undefined;
  /**
   * Where the file that a hard link names was placed; without it hard links are refused. The link
   * is made only to a regular file made earlier by this extraction, reached from `into` without
   * following a link; it is never given its own mode or time (they would change that file).
   */
  placeLinkTarget?(linkname: string, where: string): string;
  /**
   * Keep the entries' permission bits (less the umask, as open(2) and mkdir(2) apply it), a
   * folder's sticky bit and the modification times; otherwise files are 0644 and times are now.
   * Setuid and setgid bits are never kept (see {@link keptModeBits}).
   */
  keepAttributes: boolean;
}

export interface ExtractResult {
  /** sha256 of the uncompressed tar. */
  tarDigest: string;
  /** The symlinks made, relative to `into`. */
  links: string[];
}

/**
 * The one tar extractor: reads a tar or tar+gzip stream (bounded, hashed, abortable) and writes
 * what `place` keeps into `into` through a ContainedTree, so that nothing lands outside `into`
 * on the real file system. Devices, fifos and other special entries are never created. With
 * `existing: 'replace'`, an entry at a name already there replaces it (a new file renamed into
 * place), so a later entry never writes through a hard link or symlink made before it.
 */
export async function extractTar(source: Readable, options: ExtractTarOptions): Promise<ExtractResult> {
  const tree = await ContainedTree.open(options.into, options);
  try {
    const { tarDigest } = await readTar(source, options, async (header, body) => {
      const where = `tar entry ${JSON.stringify(header.name)}`;
      if (isPaxSparse(header)) {
        // Its body is a sparse map and the data without the holes, under a made-up name: written as
        // it is, it would be a file of other bytes (Go's tar, so oras, expands it).
        throw new LadingError('UNSUPPORTED', `${options.where}: ${where} is a sparse file (GNU.sparse); not supported`);
      }
      const rel = options.place(header, where);
      if (rel === undefined) return drain(body);
      const attributes: { mode?: number; mtime?: Date } = options.keepAttributes
        ? { mode: keptModeBits(header), ...(header.mtime ? { mtime: header.mtime } : {}) }
        : {};
      switch (header.type) {
        case 'directory':
          await tree.directory(rel, where, attributes);
          return drain(body);
        case 'file':
        case 'contiguous-file':
          return tree.file(rel, body, where, {
            ...attributes,
            ...(header.size === undefined ? {} : { size: header.size }),
          });
        case 'symlink':
          await tree.symlink(rel, header.linkname ?? '', where, attributes.mtime ? { mtime: attributes.mtime } : {});
          return drain(body);
        case 'link': {
          if (!options.placeLinkTarget)
            throw new LadingError(options.escapeCode, `${where}: hard links are not allowed in ${tree.root}`);
          await tree.hardlink(rel, options.placeLinkTarget(header.linkname ?? '', where), where);
          return drain(body);
        }
        default:
          return drain(body); // devices, fifos: never created from an archive
      }
    });
    await tree.finish();
    return { tarDigest, links: tree.links };
  } catch (error) {
    await tree.close();
    throw error;
  }
}

/**
 * The mode bits of an entry that are kept: the permission bits, and a folder's sticky bit (only the
 * owner may delete in it; ORAS keeps it too). Setuid and setgid are dropped, as tar drops them
 * unless asked to keep them (`-p`) and as ORAS's pull ends up dropping them for anyone but root
 * (the kernel clears them when the file is written): kept in a pull by root, they would make a
 * setuid-root program of the artifact's choosing that every local user could run, without the
 * one who pulled ever running it. A hard link's own mode is never applied (it would change the
 * file it names).
 */
function keptModeBits(header: Pick<TarHeader, 'mode' | 'type'>): number {
  const mode = header.mode ?? 0o644;
  return mode & (header.type === 'directory' ? 0o1777 : 0o777);
}

/** Whether an entry is a PAX-format GNU sparse file (any `GNU.sparse.*` record). */
function isPaxSparse(header: TarHeader): boolean {
  const pax = header.pax;
  return typeof pax === 'object' && pax !== null && Object.keys(pax).some((key) => key.startsWith('GNU.sparse.'));
}
