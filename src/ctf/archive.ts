import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, readFile, realpath, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve as resolvePath, sep } from 'node:path';
import {
  DirFiles,
  removeStaleLock,
  removeTree,
  sweepStaleTemps,
  TarFiles,
  tempPathFor,
  withLock,
} from '../archive/index.js';
import { type Op, type OpenMode, OpenModes, type Target, type TargetResolver } from '../content/index.js';
import { makeDirectory } from '../content/make-directory.js';
import { LadingError, parseReference } from '../oci/index.js';
import { type ArchiveEntryInfo, writeCtfArchive } from './archive-writer.js';
import { type ArtifactMetadata, repositoryNames } from './artifact-index.js';
import { extractArchiveFile, refuseEntryType } from './extract.js';
import {
  ArtifactIndexFileName,
  BlobsDirectoryName,
  type CtfFormat,
  ctfFormatFromPath,
  digestFromBlobFileName,
} from './format.js';
import { CtfRepository } from './repository.js';
import { CtfStore } from './store.js';

/** Options of {@link CtfArchive.open}. */
export interface OpenCtfOptions {
  /**
   * `readonly` (default), `readwrite` (an existing archive) or `create` (read-write, made when
   * missing): upstream's access modes, the {@link OpenMode} of every file store.
   */
  mode?: OpenMode;
  /**
   * Where a tar or tgz is unpacked. Default: beside the archive when it is opened for writing
   * (the same file system as the archive, never a small tmpfs), os.tmpdir() when read-only.
   */
  tempDir?: string;
  /**
   * Most bytes a tgz may expand to. Default: the larger of 1 GiB and 100 times its compressed
   * size (see extractionLimit); beyond it the archive is refused as a possible gzip bomb.
   */
  maxExtractedBytes?: number;
  /** Cancels the open (unpacking a tar or tgz): it rejects with ABORTED. */
  signal?: AbortSignal;
  /**
   * `false`: a symbolic link inside a CTF folder reads as absent, never as what it points to (for
   * a view that shows the archive to others). Default true. Tar and tgz archives hold no links.
   */
  followLinks?: boolean;
  /**
   * A folder CTF opened for writing records its index changes in memory and writes
   * artifact-index.json once, on close (under the lock, onto what other writers wrote meanwhile),
   * rather than after every manifest and tag: a run that adds thousands of versions writes the
   * index once, not thousands of times. Other processes see this session's versions only after
   * the close, and a crash leaves the index as it was. Default false. A tar or tgz is written on
   * close anyway and always works this way.
   */
  batchIndex?: boolean;
}

/** Options of {@link CtfArchive.close}. */
export interface CloseCtfOptions {
  /** Write a changed tar or tgz back (default true). `false` discards the changes. */
  commit?: boolean;
  /** Cancels the write-back of a tar or tgz: it rejects with ABORTED and the archive stays as it was. */
  signal?: AbortSignal;
  /** Called before each entry of a tar or tgz being written back; a throw aborts the commit. */
  onEntry?: (entry: ArchiveEntryInfo) => void | Promise<void>;
}

/**
 * A tar or tgz as it was opened: the file a link of its path led to (resolved once: what is checked
 * unchanged is what is replaced), its identity and its permissions (kept when it is written back).
 */
interface FileStamp {
  real: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  mode: number;
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LadingError('IO_ERROR', `${path}: ${(error as Error).message}`, { cause: error });
  }
}

async function stampOf(path: string, s: Stats): Promise<FileStamp> {
  return { real: await realpath(path), dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, mode: s.mode & 0o777 };
}

/** Only the index and the digest-named blobs of an archive are CTF content; the rest is skipped. */
function selectCtfEntry(path: string): string | undefined {
  if (path === ArtifactIndexFileName) return path;
  const slash = path.indexOf('/');
  if (path.slice(0, slash) === BlobsDirectoryName && digestFromBlobFileName(path.slice(slash + 1)) !== undefined) {
    return path;
  }
  return undefined;
}

function notACtf(path: string): never {
  throw new LadingError('INVALID_ARCHIVE', `${path}: not a CTF (no ${ArtifactIndexFileName} and no blobs)`);
}

/**
 * A Common Transport Format archive as upstream OCM v2 reads and writes it: a folder, a tar or a
 * tgz (chosen by the path's extension) holding `artifact-index.json` and flat `blobs/<alg>.<hex>`.
 * A folder is worked on in place, each file written atomically. A tar or tgz is unpacked into a
 * private folder and, on `close()`, written back as a whole, atomically, only when something
 * changed, so an interrupted command leaves the archive as it was. A tar opened read-only is read
 * in place, without unpacking.
 */
export class CtfArchive {
  /** The archive's path: a folder, a `.tar` or a `.tgz`/`.tar.gz` file. */
  readonly path: string;
  /** The archive's format: `directory`, `tar` or `tgz`. */
  readonly format: CtfFormat;
  /** The mode the archive was opened in. */
  readonly mode: OpenMode;
  readonly #store: CtfStore;
  readonly #workDir: string | undefined;
  readonly #openedAs: FileStamp | undefined;
  /** What this open made, for a discarded session to take away again. */
  readonly #made: Made;
  #closing: Promise<void> | undefined;

  private constructor(
    path: string,
    format: CtfFormat,
    mode: OpenMode,
    store: CtfStore,
    workDir: string | undefined,
    openedAs: FileStamp | undefined,
    made: Made = {},
  ) {
    this.path = path;
    this.format = format;
    this.mode = mode;
    this.#store = store;
    this.#workDir = workDir;
    this.#openedAs = openedAs;
    this.#made = made;
  }

  /**
   * Opens a CTF archive: a folder, a tar or a tgz, as the path's extension says (`.tar`, `.tgz`,
   * `.tar.gz`; anything else is a folder). With mode `create`, a missing archive is made. A tar
   * or tgz opened for writing is unpacked into a private folder until {@link CtfArchive.close}.
   */
  static async open(path: string, options: OpenCtfOptions = {}): Promise<CtfArchive> {
    const mode = options.mode ?? 'readonly';
    if (!OpenModes.includes(mode)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `unknown CTF open mode ${JSON.stringify(mode)}; use ${OpenModes.join(', ')}`,
      );
    }
    const format = ctfFormatFromPath(path);
    const info = await statOrUndefined(path);
    if (!info && mode !== 'create') throw new LadingError('NOT_FOUND', `${path}: no CTF there`);
    if (format === 'directory') {
      return CtfArchive.#openDirectory(path, mode, info !== undefined, {
        follow: options.followLinks !== false,
        batchIndex: options.batchIndex === true,
      });
    }
    if (info && !info.isFile()) {
      throw new LadingError('INVALID_ARCHIVE', `${path}: not a ${format} file (the extension names the CTF format)`);
    }
    if (format === 'tar' && mode === 'readonly') {
      const files = await TarFiles.open(path, options.signal ? { signal: options.signal } : {});
      checkTarEntries(path, files);
      const store = new CtfStore({ location: path, files, writable: false });
      await store.index();
      return new CtfArchive(path, format, mode, store, undefined, undefined);
    }
    return CtfArchive.#openUnpacked(path, format, mode, info ? await stampOf(path, info) : undefined, options);
  }

  static async #openDirectory(
    path: string,
    mode: OpenMode,
    exists: boolean,
    { follow, batchIndex }: { follow: boolean; batchIndex: boolean },
  ): Promise<CtfArchive> {
    if (exists && !(await stat(path)).isDirectory()) {
      throw new LadingError(
        'INVALID_ARCHIVE',
        `${path}: is a file, not a CTF folder (tar and tgz CTFs are named .tar, .tgz or .tar.gz)`,
      );
    }
    const made: Made = {};
    // The first folder made on the way (the CTF folder or one above it), to take away again.
    if (!exists) made.folder = (await makeDirectory(path)) ?? undefined;
    const files = new DirFiles(path, follow ? {} : { followLinks: false });
    const looksLikeCtf = async (): Promise<boolean> =>
      (await files.stat(ArtifactIndexFileName)) !== undefined ||
      (await statOrUndefined(join(path, BlobsDirectoryName)))?.isDirectory() === true;
    if (!(await looksLikeCtf())) {
      const present = await readdir(path);
      // A writer creating the same CTF makes blobs/ before anything else: whatever the listing
      // saw of its work, a second look sees blobs/ (two add cv into one new folder both succeed).
      if (present.length > 0 && !(await looksLikeCtf())) {
        if (mode !== 'create') notACtf(path);
        // Creating a CTF in a folder that holds something else would scatter files into it.
        throw new LadingError('INVALID_ARCHIVE', `${path}: exists, is not empty and is not a CTF; not writing into it`);
      }
      // An empty folder is an empty CTF, as upstream reads it (no index is an empty index).
      if (exists && present.length === 0 && mode !== 'readonly') made.files = true;
    }
    const store = new CtfStore({ location: path, files, root: path, writable: mode !== 'readonly', batchIndex });
    if (mode !== 'readonly') {
      await sweepStaleTemps(path);
      await makeDirectory(join(path, BlobsDirectoryName));
      if (mode === 'create') await store.initialise();
    }
    await store.index();
    store.dirty = false;
    return new CtfArchive(path, 'directory', mode, store, undefined, undefined, made);
  }

  static async #openUnpacked(
    path: string,
    format: 'tar' | 'tgz',
    mode: OpenMode,
    openedAs: FileStamp | undefined,
    options: OpenCtfOptions,
  ): Promise<CtfArchive> {
    const writable = mode !== 'readonly';
    const parent = options.tempDir ?? (writable ? dirname(path) : tmpdir());
    await sweepStaleTemps(parent, path);
    if (writable && parent !== dirname(path)) await sweepStaleTemps(dirname(path), path);
    if (writable) await removeStaleLock(commitLockPath(path));
    // The folders a new archive is written into, when this open makes them (to take away again).
    const made: Made = {};
    if (writable && !openedAs) made.folder = (await makeDirectory(dirname(path)).catch(() => undefined)) ?? undefined;
    const work = tempPathFor(path, parent);
    try {
      // Private: the archive may be, and its content is unpacked here.
      await makeDirectory(work, 0o700);
      await mkdir(join(work, BlobsDirectoryName));
    } catch (error) {
      throw new LadingError('IO_ERROR', `${path}: cannot unpack into ${parent}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      // Whether the archive holds any file at all: one with none is an empty CTF, as upstream reads it.
      let files = 0;
      if (openedAs) {
        await extractArchiveFile(path, work, {
          gzip: format === 'tgz',
          where: path,
          select: (entry) => {
            files++;
            return selectCtfEntry(entry);
          },
          ...(options.maxExtractedBytes !== undefined ? { maxExtractedBytes: options.maxExtractedBytes } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      }
      const dir = new DirFiles(work);
      const store = new CtfStore({ location: path, files: dir, root: work, writable, private: true });
      if (openedAs) {
        if (
          files > 0 &&
          (await dir.stat(ArtifactIndexFileName)) === undefined &&
          (await readdir(join(work, BlobsDirectoryName))).length === 0
        ) {
          notACtf(path);
        }
      } else {
        await store.initialise();
      }
      await store.index();
      // A new archive has to be written on close even if nothing is pushed; an existing one only when changed.
      store.dirty = openedAs === undefined;
      return new CtfArchive(path, format, mode, store, work, openedAs, made);
    } catch (error) {
      await removeTree(work);
      throw error;
    }
  }

  /** Whether the archive was opened for writing. */
  get writable(): boolean {
    return this.#store.writable;
  }

  /** The names of every repository in the index, sorted. */
  async repositories(): Promise<string[]> {
    return repositoryNames(await this.#store.index());
  }

  /** The Target for one repository; it need not exist yet (pushing creates it). */
  repository(name: string): CtfRepository {
    this.#store.assertOpen();
    checkRepositoryName(name);
    return new CtfRepository(this.#store, name);
  }

  /** The archive as the TargetResolver the OCM layer works over (registries offer the same). */
  resolver(): TargetResolver {
    return {
      targetFor: async (repository: string, _o?: Op): Promise<Target> => this.repository(repository),
      repositories: (_o?: Op) => this.#pages(),
    };
  }

  /** Every entry of artifact-index.json, in file order. */
  async artifacts(): Promise<ArtifactMetadata[]> {
    return (await this.#store.index()).artifacts?.map((a) => ({ ...a })) ?? [];
  }

  /** Digests of every blob in the archive, referenced or not (upstream's ListBlobs). */
  async blobs(): Promise<string[]> {
    return this.#store.listBlobs();
  }

  /**
   * Ends the work with the archive. A tar or tgz opened for writing is written back when it
   * changed (unless `commit: false`); its unpacked folder is removed either way, also when the
   * write fails, which then leaves the archive as it was. Writes to a folder CTF are already in
   * place and cannot be discarded. Calling close again returns the first call's outcome.
   */
  close(options: CloseCtfOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options);
    return this.#closing;
  }

  /** {@link CtfArchive.close} with its defaults (changes are written back), for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(options: CloseCtfOptions): Promise<void> {
    try {
      await this.#closeStore(options);
    } finally {
      await this.#store.releaseFolders();
    }
  }

  async #closeStore(options: CloseCtfOptions): Promise<void> {
    const work = this.#workDir;
    if (!work) {
      // A folder CTF is written in place, but for index changes kept for the close (batchIndex).
      if (options.commit !== false && this.#store.writable) {
        try {
          await this.#store.flush();
        } catch (error) {
          // Nothing of this session is recorded then: its blobs go too, as for a discarded one.
          await this.#store.rollback().catch(() => {});
          this.#store.closed = true;
          throw error;
        }
      }
      // Discarding means undoing this session's writes.
      if (options.commit === false && this.#store.writable) {
        const restored = await this.#store.rollback();
        if (restored && (this.#made.folder || this.#made.files)) await removeIfEmptyCtf(this.path, this.#made);
      }
      this.#store.closed = true;
      return;
    }
    this.#store.closed = true;
    try {
      if (this.#store.writable && options.commit !== false && this.#store.dirty) {
        // The check and the replacement happen under one lock: two writers that both found the
        // archive unchanged would otherwise both replace it, and the first one's work would be lost.
        await withLock(commitLockPath(this.path), async () => {
          await this.#checkUnchanged();
          await this.#store.flush();
          // An archive reached through a link is replaced where the link led when it was opened
          // (the link stays), with its permissions: a private archive stays private.
          const before = this.#openedAs;
          await writeCtfArchive(work, before?.real ?? this.path, this.format as 'tar' | 'tgz', work, {
            where: this.path,
            ...(before ? { mode: before.mode } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
            ...(options.onEntry ? { onEntry: options.onEntry } : {}),
          });
        });
      }
    } finally {
      await removeTree(work);
      // A new archive that was never written leaves none of the folders made for it.
      if (this.#made.folder && !(await statOrUndefined(this.path))) {
        await removeEmptyFolders(dirname(this.path), this.#made.folder);
      }
    }
  }

  /** Refuses to replace an archive that someone else rewrote while we worked on our copy. */
  async #checkUnchanged(): Promise<void> {
    const before = this.#openedAs;
    // The very file that will be replaced, not followed if it became a link meanwhile.
    const now = before ? await lstat(before.real).catch(() => undefined) : await statOrUndefined(this.path);
    const same =
      before === undefined
        ? now === undefined
        : now?.isFile() === true &&
          now.dev === before.dev &&
          now.ino === before.ino &&
          now.size === before.size &&
          now.mtimeMs === before.mtimeMs;
    if (!same) {
      throw new LadingError(
        'IO_ERROR',
        `${this.path}: changed by another process since it was opened; not overwriting it (nothing was written)`,
      );
    }
  }

  async *#pages(): AsyncIterable<string[]> {
    yield await this.repositories();
  }
}

/**
 * Opens a CTF, runs `work`, and closes it: written back when `work` succeeds, discarded when it
 * throws (upstream's WorkWithinCTF, without its folder-format caveat for tar and tgz).
 */
export async function withCtfArchive<T>(
  path: string,
  options: OpenCtfOptions,
  work: (archive: CtfArchive) => Promise<T>,
): Promise<T> {
  const archive = await CtfArchive.open(path, options);
  let result: T;
  try {
    result = await work(archive);
  } catch (error) {
    await archive.close({ commit: false }).catch(() => {});
    throw error;
  }
  await archive.close(options.signal ? { signal: options.signal } : {});
  return result;
}

/** Serialises the commits of writers of one tar or tgz (see #close). */
function commitLockPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.lock`);
}

/** Repository names follow the OCI grammar (upstream parses them as `ctf.ocm.software/<name>`). */
function checkRepositoryName(name: string): void {
  let ok = false;
  try {
    const ref = parseReference(`ctf.ocm.software/${name}`);
    ok = ref.repository === name && ref.reference === '';
  } catch {
    ok = false;
  }
  if (!ok) throw new LadingError('INVALID_REFERENCE', `invalid CTF repository name ${JSON.stringify(name)}`);
}

/** A tar read in place must hold regular files and folders only, like one we would unpack. */
function checkTarEntries(path: string, files: TarFiles): void {
  // A tar without a single file is an empty CTF, as upstream reads it; one with others is not a CTF.
  let ctf = false;
  let other = false;
  for (const entry of files.entries()) {
    if (entry.type === 'directory') continue;
    if (entry.type !== 'file') refuseEntryType(path, entry.path, entry.type);
    if (selectCtfEntry(entry.path) !== undefined) ctf = true;
    else other = true;
  }
  if (!ctf && other) notACtf(path);
}

/** What opening a CTF made: the first of the folders it made, or the CTF's files in a folder that was empty. */
interface Made {
  folder?: string | undefined;
  files?: boolean;
}

/**
 * Takes away what a discarded session made when the rollback left it an empty CTF: the folders
 * it made (the CTF's and those above it), or the CTF's files in a folder that was empty before.
 */
async function removeIfEmptyCtf(path: string, made: Made): Promise<void> {
  const entries = await readdir(path).catch(() => [] as string[]);
  const blobs = await readdir(join(path, BlobsDirectoryName)).catch(() => [] as string[]);
  const index = await readFile(join(path, ArtifactIndexFileName), 'utf8').catch(() => '');
  const emptyIndex = index === '' || /"artifacts":(null|\[\])/.test(index);
  const known = (e: string) => e === BlobsDirectoryName || e === ArtifactIndexFileName || e.endsWith('.lock');
  if (!entries.every(known) || blobs.length > 0 || !emptyIndex) return;
  if (made.folder) {
    await rm(path, { recursive: true, force: true });
    await removeEmptyFolders(dirname(path), made.folder);
    return;
  }
  for (const entry of entries) await rm(join(path, entry), { recursive: true, force: true });
}

/** Removes `from` and the folders above it up to `top` (included) while they are empty. */
async function removeEmptyFolders(from: string, top: string): Promise<void> {
  const last = resolvePath(top);
  let folder = resolvePath(from);
  // Only folders at or below `top`: `from` may be `top` itself's parent when the CTF folder was the first one made.
  while (folder === last || folder.startsWith(`${last}${sep}`)) {
    try {
      await rmdir(folder);
    } catch {
      return;
    }
    if (folder === last) return;
    folder = dirname(folder);
  }
}
