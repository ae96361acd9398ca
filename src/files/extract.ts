import { createReadStream } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { DefaultMaxArchiveEntries, extractionLimit, extractTar, type RealDir } from '../archive/index.js';
import { makeDirectory } from '../content/make-directory.js';
import { LadingError } from '../oci/index.js';

export interface ExtractOptions {
  /** The folder the archive's entries must stay inside (ORAS: `<output>/<title>`). */
  root: string;
  /** Where entry names are resolved from (ORAS: the output folder; entries are prefixed with the title). */
  base: string;
  /** `sha256:` of the uncompressed tar, checked as it streams. */
  expectedTarDigest?: string;
  /**
   * Bound on the bytes unpacked, against decompression bombs (default: `extractionLimit` of the
   * compressed bytes read so far, as for CTF archives and OCM resources).
   */
  maxBytes?: number;
  /** Bound on the entries unpacked, against inode floods (default `DefaultMaxArchiveEntries`). */
  maxEntries?: number;
  signal?: AbortSignal;
  /** `root`, already opened safely by the caller (the extraction closes it); otherwise `root` is made and opened here. */
  rootDir?: RealDir;
  /** `root` is a staging folder nobody reads until the pull is over: new files are written in place (see ContainedTreeOptions). */
  staged?: boolean;
}

/**
 * The bounds an unpacking has when its caller sets none (a pull's directory layers): those of every
 * other extraction. Mutable only so that a test can lower them and see a pull stop.
 */
export const unpackBounds: { maxBytes: (compressedSoFar: number) => number; maxEntries: number } = {
  maxBytes: extractionLimit,
  maxEntries: DefaultMaxArchiveEntries,
};

export interface Extracted {
  /** Absolute paths of the symlinks the archive made (inside `root`). */
  links: string[];
}

/**
 * Unpacks an ORAS directory layer (tar+gzip) into `root` with the one safe extractor: entries,
 * link targets and hard links must all stay inside `root`, on the real file system, and devices
 * and other special files are skipped. A hard link's target is named from the archive's root, as
 * tar writes it (`<title>/a`), and must be a regular file this layer unpacked before it. Modes
 * keep the permission bits (less the umask) and a folder's sticky bit; setuid and setgid are
 * dropped and owners are not restored.
 */
export async function extractTarGz(source: Readable, options: ExtractOptions): Promise<Extracted> {
  const root = resolve(options.root);
  const base = resolve(options.base);
  if (!options.rootDir) await makeDirectory(root);
  /**
   * An archive path (resolved from the base, as ORAS names entries `<title>/...`) as a path inside
   * `root`. Resolving `..` here is only arithmetic on the name: the extractor then walks the
   * result's components from `root` on the real file system, so no `..` is ever followed.
   */
  const inRoot = (name: string, where: string, what: string): string => {
    if (name.includes('\0')) throw new LadingError('PATH_TRAVERSAL', `${where}: ${what} contains a NUL byte`);
    const rel = relative(root, resolve(base, name));
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
      throw new LadingError('PATH_TRAVERSAL', `${where}: ${what} would be written outside ${root}`);
    return rel.split(sep).join('/');
  };
  const { tarDigest, links } = await extractTar(source, {
    into: options.rootDir ?? root,
    where: root,
    gzip: true,
    maxBytes: options.maxBytes ?? unpackBounds.maxBytes,
    maxEntries: options.maxEntries ?? unpackBounds.maxEntries,
    ...(options.signal ? { signal: options.signal } : {}),
    existing: 'replace',
    escapeCode: 'PATH_TRAVERSAL',
    ...(options.staged ? { newFilesInPlace: true } : {}),
    keepAttributes: true,
    place(header, where) {
      const rel = inRoot(header.name, where, 'the entry');
      if (rel === '' && header.type !== 'directory')
        throw new LadingError('PATH_TRAVERSAL', `${where}: a ${header.type} in place of the folder ${root}`);
      return rel;
    },
    placeLinkTarget: (linkname, where) => inRoot(linkname, where, `the hard link to "${linkname}"`),
  });
  if (options.expectedTarDigest && tarDigest !== options.expectedTarDigest) {
    throw new LadingError(
      'DIGEST_MISMATCH',
      `content digest mismatch: unpacked tar is ${tarDigest}, expected ${options.expectedTarDigest}`,
    );
  }
  return { links: links.map((rel) => join(root, rel)) };
}

export function extractFile(file: string, options: ExtractOptions): Promise<Extracted> {
  return extractTarGz(createReadStream(file, { highWaterMark: 1024 * 1024 }), options);
}
