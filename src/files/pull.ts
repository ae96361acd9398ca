import { constants } from 'node:fs';
import { copyFile, lstat, mkdir, open, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import {
  claimForThisHost,
  RealDir,
  shortTempName,
  sweepStaleTemps,
  systemMessage,
  tempPathFor,
  writeFilled,
} from '../archive/index.js';
import {
  type BlobFill,
  type Content,
  isBlobFill,
  type Op,
  type ReadOnlyTarget,
  type Storage,
  toReadable,
  verifiedCopy,
} from '../content/index.js';
import { makeDirectory } from '../content/make-directory.js';
import { GraphCopier, type ResolveOptions, resolveRootBytes } from '../copy/index.js';
import {
  Annotation,
  cancellable,
  type Descriptor,
  EmptyJsonDescriptor,
  isManifestMediaType,
  LadingError,
  nodeSuccessors,
  parseNode,
} from '../oci/index.js';
import { extractFile } from './extract.js';
import { inodeKey, type OutputFolder, openOutputFolder } from './output-folder.js';
import { checkTitle, safeJoin } from './safe-path.js';
import { commitStaged, inUserTerms, type StagedEntry } from './staging.js';

/** Options of {@link pullFiles}: where to write, what to allow, and progress. */
export interface PullFilesOptions extends ResolveOptions {
  /** The folder the files are written into (created when missing). */
  output: string;
  /** Refuse to overwrite existing files (ORAS `-k`). */
  keepOldFiles?: boolean;
  /** Allow titles that point outside the output folder (ORAS `-T`). */
  allowPathTraversal?: boolean;
  /** Also pull the subject of the manifest, recursively. */
  includeSubject?: boolean;
  /** Also save the config under this file name. */
  configPath?: string;
  /** With `configPath`: save the config only when its media type is this one (as ORAS's `--config <file>:<type>`). */
  configMediaType?: string;
  /** Blobs fetched at once (the graph copy's default when not given). */
  concurrency?: number;
  /**
   * Most bytes one directory layer may unpack to, against gzip bombs (default: 1 GiB or 100 times
   * the layer's compressed size, whichever is more); `Infinity` for no bound, as ORAS has none.
   */
  maxUnpackSize?: number;
  /** Called for each file (or unpacked folder) written, with its path. */
  onFile?: (path: string, desc: Descriptor) => void;
  /** Called for content the output already has. */
  onSkipped?: (desc: Descriptor) => void;
  /** Called before a blob or manifest is fetched. */
  preCopy?: (desc: Descriptor) => void;
  /** Called once a blob or manifest was fetched and verified. */
  postCopy?: (desc: Descriptor) => void;
  /** Called as chunks are fetched, with the descriptor and that chunk's size in bytes (a delta, not a running total). */
  onProgress?: (desc: Descriptor, bytes: number) => void;
}

/** A file (or unpacked folder) {@link pullFiles} wrote. */
export interface PulledFile {
  /** Absolute path; ends with `/` for an unpacked directory. */
  path: string;
  /** The layer it came from. */
  desc: Descriptor;
}

/** What {@link pullFiles} did: the root it resolved and the files it wrote. */
export interface PullResult {
  /** The manifest the reference resolved to. */
  root: Descriptor;
  /** The files written, in layer order. */
  files: PulledFile[];
  /** Layers without a title: nothing to name them by, so they were not written. */
  skipped: Descriptor[];
}

function titleOf(desc: Descriptor): string | undefined {
  return desc.annotations?.[Annotation.Title];
}

/** Where a pulled file is written first: in the staging folder, in place inside the output, or in place outside it (`-T`). */
interface Placement {
  path: string;
  /** The folder tar entries resolve from. */
  base: string;
  mode: 'staged' | 'inside' | 'outside';
}

/** A folder that a temp file is written in and renamed out of. */
interface Folder {
  at(name: string): string;
  close(): Promise<void>;
}

/**
 * A write-only store that turns titled blobs into files. Files for the output folder are written
 * into a staging folder inside it and listed in `staged`, to be moved into place once the whole
 * pull succeeded. A file for elsewhere (`-T`), or any file when the output folder itself cannot
 * hold the staging folder (only a subfolder is writable), is written in place, as before staging.
 */
class FileSink implements Storage {
  readonly files: PulledFile[] = [];
  readonly written = new Map<string, string>(); // digest → first path written (staged or final)
  readonly staged: StagedEntry[] = [];
  readonly options: PullFilesOptions;
  /**
   * Where each title stands in the graph (its layer's index in each manifest on the way from the
   * root): the staged entries and files are put in this order once all are written, so a pull's
   * outcome and report do not depend on which download finished first.
   */
  readonly ranks = new Map<string, number[]>();
  readonly #rankOf = new Map<object, number[]>();
  /** Links that folders unpacked in place made (real paths): never written through by a later layer. */
  readonly #madeInPlace = new Set<string>();
  readonly #madeInPlaceInodes = new Set<string>();
  #staging: Promise<string | undefined> | undefined;
  #count = 0;
  constructor(options: PullFilesOptions) {
    this.options = options;
  }

  /**
   * The staging folder, made on first use (private: 0700); undefined when the output folder
   * refuses it. Named as every temp of lading (`.lading-pull.<pid>.<hex>.tmp`), so that the
   * folders of pulls that were killed are swept meanwhile, once their process is gone.
   */
  #stagingFolder(): Promise<string | undefined> {
    if (this.#staging) return this.#staging;
    const path = tempPathFor(join(this.options.output, StagingName));
    this.#staging = mkdir(path, { mode: 0o700 }).then(
      async () => {
        // Marked as this machine's: once this process is gone, the next pull here removes it at once.
        await claimForThisHost(path);
        this.#sweep = sweepStaleTemps(this.options.output, StagingName, { olderThanMs: StaleStagingMs });
        return path;
      },
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS') return undefined;
        throw error;
      },
    );
    return this.#staging;
  }
  #sweep: Promise<unknown> | undefined;

  async removeStaging(): Promise<void> {
    const staging = await this.#staging?.catch(() => undefined);
    if (staging) await rm(staging, { recursive: true, force: true });
    await this.#sweep;
  }

  /** Puts the staged entries and the files written in the manifest's layer order. */
  inLayerOrder(): void {
    const rank = (x: object) => this.#rankOf.get(x) ?? [];
    const order = (a: object, b: object) => compareRanks(rank(a), rank(b));
    this.staged.sort(order);
    this.files.sort(order);
  }

  /** Records a file written for the layer titled `title`. */
  wrote(file: PulledFile, title: string): void {
    this.#rankOf.set(file, this.ranks.get(title) ?? []);
    this.files.push(file);
  }

  /** Where the bytes for `target` (the layer titled `title`) are written first, and the folder tar entries resolve from. */
  async stage(target: string, title: string): Promise<Placement> {
    const rel = relative(resolve(this.options.output), target);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
      return { path: target, base: this.options.output, mode: 'outside' };
    const staging = await this.#stagingFolder();
    if (staging === undefined) return { path: target, base: this.options.output, mode: 'inside' };
    const base = join(staging, String(this.#count++));
    const path = join(base, rel);
    const entry = { staged: path, target };
    this.#rankOf.set(entry, this.ranks.get(title) ?? []);
    this.staged.push(entry);
    return { path, base, mode: 'staged' };
  }

  /** An output folder for writes in place: links that leave it, and links this pull made, are never followed. */
  async #output(): Promise<{ out: OutputFolder; top: RealDir }> {
    const root = resolve(this.options.output);
    const top = await RealDir.open(root);
    const realRoot = await top.realPath();
    return { out: { root, realRoot, made: this.#madeInPlace, madeInodes: this.#madeInPlaceInodes }, top };
  }

  /** Opens the folder `path` (made where missing) for a write at `at`. */
  async #folder(at: Placement, path: string): Promise<RealDir | Folder> {
    if (at.mode !== 'inside') {
      // The staging folder is private (0700, made by this pull); outside the output the user
      // asked for the path as given (-T).
      await makeDirectory(path);
      return { at: (name) => join(path, name), close: async () => {} };
    }
    const { out, top } = await this.#output();
    try {
      const parts = relative(out.root, path).split(sep).filter(Boolean);
      const dir = await openOutputFolder(out, top, parts, { create: true, where: path });
      if (dir && dir !== top) await top.close();
      return dir as RealDir;
    } catch (error) {
      await top.close();
      throw error;
    }
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    throw new LadingError('UNSUPPORTED', `${desc.digest}: the output folder cannot be read back`);
  }
  async exists(): Promise<boolean> {
    return false; // every titled file is written fresh, as ORAS does
  }
  /** Pushes still running: a failed copy rejects at its first error, while siblings may still be writing. */
  readonly #inFlight = new Set<Promise<void>>();

  /** Waits until no push is writing any more (they stop soon: the copy aborted their signal). */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** A registry blob fetched into its file by another thread (see BlobFill). @internal */
  pushFill(desc: Descriptor, fill: BlobFill, o?: Op): Promise<void> {
    return this.push(desc, fill, o);
  }

  async push(desc: Descriptor, content: Content | BlobFill, o?: Op): Promise<void> {
    const work = this.#push(desc, content, o);
    this.#inFlight.add(work);
    try {
      await work;
    } finally {
      this.#inFlight.delete(work);
    }
  }

  async #push(desc: Descriptor, content: Content | BlobFill, o?: Op): Promise<void> {
    const title = titleOf(desc);
    if (!title) {
      if (!isBlobFill(content)) toReadable(content).resume();
      return;
    }
    const target = await this.target(title);
    const at = await this.stage(target, title);
    try {
      await this.#write(desc, content, title, at, o);
    } catch (error) {
      const named = fileSystemError(error, target);
      throw at.mode === 'staged' ? inUserTerms(named, at.base, resolve(this.options.output)) : named;
    }
    this.written.set(desc.digest, at.path);
    this.wrote({ path: isUnpacked(desc) ? `${target}/` : target, desc }, title);
    this.options.onFile?.(target, desc);
  }

  /** Writes one layer's verified bytes at `at` (a folder layer unpacked there). */
  async #write(desc: Descriptor, content: Content | BlobFill, title: string, at: Placement, o?: Op): Promise<void> {
    const unpack = isUnpacked(desc);
    // Downloads go to a temp file (short, fixed-length name: the final name may be 255 bytes)
    // beside where they are staged, and move there once verified.
    const folder = await this.#folder(at, dirname(at.path));
    const temp = folder.at(shortTempName());
    try {
      // A pulled file gets the usual mode (0666 less the umask, as any new file); a tar to unpack is private.
      // A fill may read back what a blob thread wrote before a break (to resume): read and write.
      const flags = isBlobFill(content) ? (NewFileFlags & ~constants.O_WRONLY) | constants.O_RDWR : NewFileFlags;
      const handle = await open(temp, flags, unpack ? 0o600 : 0o666);
      const where = `${desc.digest} (${title})`;
      if (isBlobFill(content)) await writeFilled(handle, content, desc, { where, ...(o ? { op: o } : {}) });
      else await verifiedCopy(content, desc, handle.createWriteStream(), { where, ...(o ? { op: o } : {}) });
      if (unpack) await this.#unpack(desc, temp, at, o?.signal ?? this.options.signal);
      else await rename(temp, folder.at(basename(at.path)));
    } finally {
      await rm(temp, { force: true });
      await folder.close();
    }
  }

  /** Unpacks a directory layer from its verified download into `at.path`. */
  async #unpack(desc: Descriptor, temp: string, at: Placement, signal: AbortSignal | undefined): Promise<void> {
    const tarDigest = desc.annotations?.[Annotation.OrasContentDigest];
    const rootDir = at.mode === 'inside' ? await this.#folder(at, at.path) : undefined;
    const realRoot = rootDir && (await (rootDir as RealDir).realPath());
    const { links } = await extractFile(temp, {
      root: at.path,
      base: at.base,
      ...(rootDir ? { rootDir: rootDir as RealDir } : {}),
      ...(at.mode === 'staged' ? { staged: true } : {}),
      ...(tarDigest ? { expectedTarDigest: tarDigest } : {}),
      ...(this.options.maxUnpackSize !== undefined ? { maxBytes: this.options.maxUnpackSize } : {}),
      ...(signal ? { signal } : {}),
    });
    if (at.mode === 'staged') {
      const entry = this.staged.find((e) => e.staged === at.path);
      if (entry) entry.links = links;
    } else if (realRoot !== undefined) {
      for (const link of links) {
        const real = join(realRoot, relative(at.path, link));
        this.#madeInPlace.add(real);
        const info = await lstat(real).catch(() => undefined);
        if (info) this.#madeInPlaceInodes.add(inodeKey(info));
      }
    }
  }

  async target(title: string): Promise<string> {
    const allowTraversal = Boolean(this.options.allowPathTraversal);
    checkTitle(this.options.output, title, { allowTraversal });
    const target = await safeJoin(this.options.output, title, { allowTraversal });
    if (this.options.keepOldFiles && (await lstat(target).catch(() => undefined))) {
      throw new LadingError('ALREADY_EXISTS', `${target}: file already exists, overwrite disallowed`, {
        hint: { key: 'keepOldFiles', text: 'keepOldFiles is set' },
      });
    }
    return target;
  }

  /** Writes a copy of `from` (a file this pull wrote) at `at`: the same bytes under a second title. */
  async copyTo(from: string, at: Placement): Promise<void> {
    const folder = await this.#folder(at, dirname(at.path));
    const temp = folder.at(shortTempName());
    try {
      await copyFile(from, temp, constants.COPYFILE_EXCL);
      await rename(temp, folder.at(basename(at.path)));
    } finally {
      await rm(temp, { force: true });
      await folder.close();
    }
  }
}

/** Orders graph positions: by the first index that differs, a prefix first. */
function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Whether `desc` is a directory layer (a tar to unpack, as ORAS marks it). */
function isUnpacked(desc: Descriptor): boolean {
  return desc.annotations?.[Annotation.OrasContentUnpack] === 'true';
}

/** The staging folder's name stem, inside the output folder. */
const StagingName = 'lading-pull';
/**
 * How long a dead pull's staging folder is left unchanged before another pull removes it, unless
 * it is marked as this machine's (then at once): its process id is checked on this machine only,
 * and an output folder on a shared file system may hold the staging folder of a live pull elsewhere.
 */
const StaleStagingMs = 10 * 60 * 1000;

/** A new file, never an existing one and never through a link. */
const NewFileFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * `oras pull`: resolves `reference`, walks its graph, and writes every layer that has a title into
 * the output folder (directories unpacked), verifying each file before it takes its final name.
 * Nothing in the output folder changes unless the whole pull succeeds: files are staged in a
 * hidden folder inside it and moved into place at the end, in the manifest's layer order. Layers
 * that overlap (a path that is a file in one and a folder in another, or a file of two layers with
 * different bytes, also inside unpacked folders) are refused with `ALREADY_EXISTS` before anything
 * is written; ORAS would let the last write win.
 */
export function pullFiles(src: ReadOnlyTarget, reference: string, options: PullFilesOptions): Promise<PullResult> {
  // Checked here for callers without types: an output of `undefined` would reach the file system.
  if (typeof options?.output !== 'string' || options.output === '') {
    return Promise.reject(
      new LadingError('INVALID_ARGUMENT', 'pullFiles: options.output (the folder to write) is required'),
    );
  }
  const bound = options.maxUnpackSize;
  if (
    bound !== undefined &&
    !(typeof bound === 'number' && bound > 0 && (Number.isSafeInteger(bound) || bound === Infinity))
  ) {
    return Promise.reject(
      new LadingError(
        'INVALID_ARGUMENT',
        `pullFiles: options.maxUnpackSize must be a positive whole number of bytes or Infinity, not ${String(bound)}`,
      ),
    );
  }
  return cancellable(options.signal, () => pull(src, reference, options));
}

async function pull(src: ReadOnlyTarget, reference: string, options: PullFilesOptions): Promise<PullResult> {
  const { root, bytes: rootBytes } = await resolveRootBytes(src, reference, options);
  const created = await makeDirectory(options.output).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST' || error.code === 'ENOTDIR') {
      throw new LadingError('INVALID_ARGUMENT', `${options.output}: not a folder (the output of a pull is a folder)`);
    }
    throw new LadingError('IO_ERROR', `${options.output}: cannot create the output folder: ${error.message}`, {
      cause: error,
    });
  });
  const sink = new FileSink(options);
  // Where the output really is when the pull begins: the commit writes there or nowhere.
  const realOutput = await realpath(options.output);
  try {
    return await pullStaged(src, root, rootBytes, { ...options, realOutput }, sink);
  } catch (error) {
    await sink.settle();
    // The folder was made for this pull and holds nothing else: leave no trace of it.
    if (created) await rm(created, { recursive: true, force: true });
    throw error;
  } finally {
    await sink.settle();
    await sink.removeStaging();
  }
}

async function pullStaged(
  src: ReadOnlyTarget,
  root: Descriptor,
  rootBytes: Buffer | undefined,
  options: PullFilesOptions & { realOutput: string },
  sink: FileSink,
): Promise<PullResult> {
  const skipped: Descriptor[] = [];
  const titles = new Map<string, Descriptor>(); // title → layer
  const duplicates: Descriptor[] = []; // same bytes under a second title
  const manifestRanks = new Map<string, number[]>([[root.digest, []]]); // digest → place in the graph
  const rank = (title: string, at: number[]) => {
    const seen = sink.ranks.get(title);
    if (seen === undefined || compareRanks(at, seen) < 0) sink.ranks.set(title, at);
  };
  const findSuccessors = (desc: Descriptor, bytes: Buffer | undefined): Descriptor[] => {
    if (!bytes || !isManifestMediaType(desc.mediaType)) return [];
    const node = parseNode(bytes, desc.mediaType, desc.digest);
    const out: Descriptor[] = [];
    const here = manifestRanks.get(desc.digest) ?? [];
    const place = (child: Descriptor, i: number) => {
      if (isManifestMediaType(child.mediaType) && !manifestRanks.has(child.digest))
        manifestRanks.set(child.digest, [...here, i]);
    };
    if (node.kind === 'index') {
      node.index.manifests.forEach(place);
      if (node.index.subject) place(node.index.subject, node.index.manifests.length);
      out.push(...node.index.manifests);
      if (options.includeSubject && node.index.subject) out.push(node.index.subject);
      return out;
    }
    const all = nodeSuccessors(node);
    const subject = node.kind === 'manifest' ? node.manifest.subject : node.artifact.subject;
    const config = node.kind === 'manifest' ? node.manifest.config : undefined;
    for (const [i, child] of all.entries()) {
      place(child, i);
      if (child === subject) {
        if (options.includeSubject) out.push(child);
        continue;
      }
      if (child === config) {
        // The user's own path, written plainly (`./config.json` is `config.json`).
        if (options.configPath && (!options.configMediaType || options.configMediaType === child.mediaType)) {
          const title = normalize(options.configPath);
          rank(title, [...here, i]);
          out.push({ ...child, annotations: { ...(child.annotations ?? {}), [Annotation.Title]: title } });
        }
        continue;
      }
      const title = titleOf(child);
      if (title) {
        // Refused while the manifest is read, before any layer is fetched or written.
        checkTitle(options.output, title, { allowTraversal: Boolean(options.allowPathTraversal) });
        const seen = titles.get(title);
        if (seen && seen.digest !== child.digest)
          throw new LadingError('INVALID_MANIFEST', `duplicate name "${title}" in ${desc.digest}`);
        rank(title, [...here, i]);
        if (seen) continue;
        const twin = [...titles.values()].find((d) => d.digest === child.digest && titleOf(d) !== title);
        // A directory layer's entries carry its first title as their prefix: it cannot be a second folder.
        if (twin && (isUnpacked(twin) || isUnpacked(child))) {
          throw new LadingError(
            'INVALID_MANIFEST',
            `the directory layer ${child.digest} is named twice ("${titleOf(twin) ?? ''}" and "${title}") in ${desc.digest}`,
          );
        }
        titles.set(title, child);
        if (twin) duplicates.push(child);
        out.push(child);
      } else if (isManifestMediaType(child.mediaType)) {
        out.push(child);
      } else if (child.digest !== EmptyJsonDescriptor.digest) {
        skipped.push(child);
        options.onSkipped?.(child);
      }
    }
    return out;
  };
  const copier = new GraphCopier(src, sink, {
    findSuccessors,
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.preCopy ? { preCopy: options.preCopy } : {}),
    ...(options.postCopy ? { postCopy: options.postCopy } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  await copier.copy(root, rootBytes);
  // The copy moves each digest once; a second title for the same bytes is filled from the first.
  for (const desc of duplicates) {
    const from = sink.written.get(desc.digest);
    const title = titleOf(desc) as string;
    if (!from || sink.files.some((f) => titleOf(f.desc) === title)) continue;
    const target = await sink.target(title);
    await sink.copyTo(from, await sink.stage(target, title));
    sink.wrote({ path: target, desc }, title);
    options.onFile?.(target, desc);
  }
  sink.inLayerOrder();
  await commitStaged(sink.staged, options.output, {
    keepOldFiles: Boolean(options.keepOldFiles),
    realRoot: options.realOutput,
  });
  return { root, files: sink.files, skipped };
}

/**
 * A file system's own error (ENOSPC, EFBIG, EIO…) while a file was written names the file: Node's
 * message (`ENOSPC: no space left on device, write`) says what, not where.
 */
function fileSystemError(error: unknown, path: string): unknown {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (error instanceof LadingError || typeof code !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return error;
  return new LadingError('IO_ERROR', `${path}: cannot write: ${systemMessage(error)}`, { cause: error });
}
