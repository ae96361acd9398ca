import { lstat, mkdir, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { acquireLock, sweepStaleTemps } from '../archive/index.js';
import {
  CheckingSink,
  type Content,
  fetchAll,
  type Op,
  type PushOp,
  type ReadOnlyTarget,
  type Storage,
  successorsOf,
  type Tagger,
  type Target,
} from '../content/index.js';
import {
  type CopyGraphOptions,
  copyGraph,
  copyTagged,
  GraphCopier,
  isTagFailure,
  resolveTags,
  type TaggedRoot,
} from '../copy/index.js';
import { MaxGraphDepth } from '../copy/limits.js';
import { type Descriptor, isManifestMediaType, LadingError, MaxManifestBytes, MediaType } from '../oci/index.js';
import { OciLayout } from './layout.js';
import { LayoutTarWriter } from './layout-tar.js';

/** A tag copied by {@link backupRepository} or {@link restoreRepository}. */
export interface CopiedTag {
  /** The tag. */
  tag: string;
  /** The manifest the tag names. */
  digest: string;
  /** Referrers copied with it (of the manifest, of the manifests an index lists, and theirs). */
  referrers: number;
  /**
   * Backup only: the destination already had the tag on this manifest, with everything below it
   * and its referrers (a resumed or repeated backup), so nothing was copied for it.
   */
  existed?: boolean;
}

/** Options of {@link backupRepository}. */
export interface BackupOptions extends CopyGraphOptions {
  /** The tags to back up; all the source lists when none. */
  tags?: readonly string[];
  /** Also back up each tag's referrers (what `oras backup --include-referrers` does). */
  includeReferrers?: boolean;
  /** Names the source in messages (`host/repo`). */
  where?: string;
  /** The tags found, before any content moves. */
  onTagsFound?: (tags: string[]) => void;
  /** A tag, its graph and its referrers are in the layout. */
  onTagCopied?: (tag: CopiedTag) => void;
  /**
   * Content a previous run left in the layout failed verification; it was removed and is copied
   * again. `problem` is the one-line reason.
   */
  onCorrupt?: (desc: Descriptor, problem: string) => void;
  /** The staged layout is being written into the tar (only for a `.tar` output). */
  onExporting?: (path: string) => void;
  /**
   * A tag that cannot be backed up: the source lists a name that is not a valid tag, the tag does
   * not resolve, or its content is missing or refused (not found, a wrong digest or size, an
   * invalid manifest). With this option the other tags are still backed up and the result lists
   * the failed ones in `failed`; without it, the first such failure throws. An abort, the network
   * or credentials failing, or the output failing, still throw either way.
   */
  onTagFailed?: (tag: string, error: LadingError) => void;
}

/** A tag {@link backupRepository} could not back up (only with `onTagFailed`). */
export interface FailedTag {
  /** The tag, as given or as the source listed it. */
  tag: string;
  /** Why, in one line. */
  error: LadingError;
}

/** What {@link backupRepository} wrote. */
export interface BackupResult {
  /** The output path, as given. */
  output: string;
  /** `tar` when the output ends in `.tar` (any case), else `directory`. */
  format: 'directory' | 'tar';
  /** The tags backed up, in the order they were copied. */
  tags: CopiedTag[];
  /** The tags that could not be backed up, in the order they failed (empty without `onTagFailed`). */
  failed: FailedTag[];
  /** Bytes of the tar file (tar output only). */
  size?: number;
}

/** The directory a `.tar` backup is staged in, beside the tar: a rerun after an interruption resumes from it. */
export function backupStagingPath(output: string): string {
  return `${output}.partial`;
}

/**
 * Backs up tags of `src` (a registry repository, or any store that lists tags) with their graphs,
 * and optionally their referrers, into an OCI image layout (`oras backup`): a directory, or a tar
 * file when `output` ends in `.tar`. A tar is staged in {@link backupStagingPath} and written,
 * every blob verified again, when the copy is complete; the staging directory is then removed.
 *
 * Resumable: content already in the layout (or the staging directory) from an interrupted run is
 * not copied again, but it is not trusted either: each blob is read and verified first, and one
 * that fails is removed and copied again (`onCorrupt`). A manifest counts as present only when
 * everything below it is.
 */
export async function backupRepository(
  src: ReadOnlyTarget,
  output: string,
  opts: BackupOptions = {},
): Promise<BackupResult> {
  if (!output) throw new LadingError('INVALID_ARGUMENT', 'the output path cannot be empty');
  const tar = /\.tar$/i.test(output);
  const existing = await statOrUndefined(output);
  if (tar && existing?.isDirectory()) {
    throw new LadingError('INVALID_ARGUMENT', `the output path "${output}" already exists and is a directory`);
  }
  if (!tar && existing && !existing.isDirectory()) {
    throw new LadingError('INVALID_ARGUMENT', `the output path "${output}" already exists and is not a directory`);
  }
  const where = opts.where ?? 'the source';
  const signal = opts.signal;
  const failed: FailedTag[] = [];
  const onTagFailed = opts.onTagFailed;
  const fail = onTagFailed
    ? (tag: string, error: LadingError) => {
        failed.push({ tag, error });
        onTagFailed(tag, error);
      }
    : undefined;
  const noneBackedUp = () => {
    const first = failed[0] as FailedTag;
    return new LadingError(
      first.error.code,
      `none of the ${failed.length} tag(s) of repository "${where}" could be backed up; the first, ${JSON.stringify(first.tag)}: ${first.error.message}`,
      { cause: first.error },
    );
  };
  const roots = await resolveTags(src, opts.tags, {
    where,
    skipReferrersTags: Boolean(opts.includeReferrers),
    ...(signal ? { signal } : {}),
    ...(fail ? { onTagFailed: fail } : {}),
  });
  if (roots.length === 0) {
    if (failed.length > 0) throw noneBackedUp();
    throw new LadingError('NOT_FOUND', `no tags found in repository "${where}"`);
  }
  opts.onTagsFound?.(roots.map((r) => r.tag));

  const staging = tar ? backupStagingPath(output) : output;
  // One backup at a time into one tar: they share the staging folder, which the first to finish
  // removes. Taken before the folder is looked at or opened: a second backup that opened it first
  // and took the lock only once the first had removed it would write into a folder that is gone.
  // The lock lies beside the staging folder: the folder they share is made first, as the layout's
  // open made it before.
  if (tar) {
    await mkdir(dirname(staging), { recursive: true }).catch((error: unknown) => {
      throw new LadingError('IO_ERROR', `${output}: cannot make its folder: ${(error as Error).message}`, {
        cause: error,
      });
    });
  }
  const release = tar
    ? await acquireLock(`${staging}.lock`, {
        timeoutMs: 0,
        held: 'long',
        busy: () =>
          new LadingError(
            'IO_ERROR',
            `${output}: another backup into it is running (${staging}.lock is held); try again when it has finished`,
          ),
      })
    : undefined;
  try {
    if (tar) await checkStaging(staging);
    const layout = await OciLayout.open(staging, { mode: 'create' });
    return await backupStaged(src, output, opts, { roots, layout, staging, tar, fail, failed, noneBackedUp });
  } finally {
    release?.();
  }
}

async function backupStaged(
  src: ReadOnlyTarget,
  output: string,
  opts: BackupOptions,
  s: {
    roots: TaggedRoot[];
    layout: OciLayout;
    staging: string;
    tar: boolean;
    fail: ((tag: string, error: LadingError) => void) | undefined;
    failed: FailedTag[];
    noneBackedUp: () => LadingError;
  },
): Promise<BackupResult> {
  const { roots, layout, staging, tar, fail, failed, noneBackedUp } = s;
  const signal = opts.signal;
  const store = new VerifiedLayout(layout, opts.onCorrupt);
  const {
    onTagsFound: _f,
    onTagCopied: _c,
    onCorrupt: _x,
    onExporting: _e,
    onTagFailed: _tf,
    tags: _t,
    ...copyOptions
  } = opts;
  // Whether the tag being copied moved anything: a tag whose whole graph the layout had is skipped.
  let moved = false;
  const copierOptions = {
    ...copyOptions,
    preCopy: (desc: Descriptor) => {
      moved = true;
      return copyOptions.preCopy?.(desc);
    },
  };
  const tags: CopiedTag[] = [];
  const copiedRoots: TaggedRoot[] = [];
  const referrers = new Map<string, Descriptor>();
  for (const root of roots) {
    let result: Awaited<ReturnType<typeof copyTagged>>;
    const before = await layout.resolve(root.tag).catch(() => undefined);
    moved = false;
    try {
      result = await copyTagged(src, store, root, {
        ...copyOptions,
        // A copier per tag: one that failed is cancelled for good, and the next tag must not inherit
        // that. What an earlier tag stored is found in the layout and skipped.
        copier: new GraphCopier(src, store, copierOptions),
        includeReferrers: Boolean(opts.includeReferrers),
      });
    } catch (error) {
      if (!fail || !isTagFailure(error) || signal?.aborted) throw error;
      fail(root.tag, error);
      continue;
    }
    for (const r of result.referrers) referrers.set(r.digest, r);
    const copied = {
      tag: root.tag,
      digest: root.desc.digest,
      referrers: result.referrers.length,
      existed: !moved && before?.digest === root.desc.digest,
    };
    tags.push(copied);
    copiedRoots.push(root);
    opts.onTagCopied?.(copied);
  }
  // What is staged stays for a rerun: nothing to export.
  if (tags.length === 0) throw noneBackedUp();
  // Staged blobs of an interrupted write (ingest/) are of no use once the copy is complete. Only
  // our own temps go, and the folder only when that empties it: a directory output may be a folder
  // of the user's that already had an `ingest/` of its own.
  await removeIngest(join(staging, 'ingest'));
  if (!tar) return { output, format: 'directory', tags, failed };

  opts.onExporting?.(output);
  await exportTar(layout, output, copiedRoots, [...referrers.values()], signal);
  await rm(staging, { recursive: true, force: true });
  const size = (await stat(output)).size;
  return { output, format: 'tar', tags, failed, size };
}

/**
 * Writes the tagged roots and the referrers (listed untagged, so a reader finds them) from a
 * staged layout into a layout tar, reading every blob verified; `out` appears only when complete.
 */
async function exportTar(
  layout: OciLayout,
  out: string,
  roots: TaggedRoot[],
  referrers: Descriptor[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const writer = await LayoutTarWriter.create(out);
  try {
    // One at a time: the tar is written in push order, the same graph always the same bytes.
    const o = { concurrency: 1, ...(signal ? { signal } : {}) };
    for (const root of roots) await copyGraph(layout, writer, root.desc, o);
    for (const r of referrers) await copyGraph(layout, writer, plain(r), o);
    for (const root of roots) await writer.tag(root.desc, root.tag);
    for (const r of referrers) await writer.tag(plain(r), r.digest);
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Options of {@link restoreRepository}. */
export interface RestoreOptions extends CopyGraphOptions {
  /** The tags to restore; all the layout lists when none. */
  tags?: readonly string[];
  /** Restore each tag's referrers too (default true; false is what `oras restore --exclude-referrers` does). */
  includeReferrers?: boolean;
  /** Check everything and count, but push nothing. */
  dryRun?: boolean;
  /** The input is a tar file of `size` bytes, opened. */
  onLoaded?: (path: string, size: number) => void;
  /** The tags found in the layout, before anything is read or pushed. */
  onTagsFound?: (tags: string[]) => void;
  /** A tag is in the destination with its graph and referrers (with `dryRun`: would be). */
  onTagRestored?: (tag: CopiedTag) => void;
}

/** What {@link restoreRepository} restored. */
export interface RestoreResult {
  /** The input path, as given. */
  input: string;
  /** The tags restored (with `dryRun`: that would be), in order. */
  tags: CopiedTag[];
  /** Whether nothing was pushed. */
  dryRun: boolean;
}

/**
 * Restores tags from an OCI image layout (a directory or a tar file) into `dst` (`oras restore`):
 * each tag's graph and, unless `includeReferrers` is false, its referrers, the tag set last. Before
 * anything is pushed the whole selection is read and verified (every blob's size and digest), so
 * a layout with a missing or corrupt blob, or a tag that is not a valid tag, leaves `dst` as it was.
 */
export async function restoreRepository(input: string, dst: Target, opts: RestoreOptions = {}): Promise<RestoreResult> {
  if (!input) throw new LadingError('INVALID_ARGUMENT', 'the input path cannot be empty');
  const info = await statOrUndefined(input);
  if (!info) throw new LadingError('NOT_FOUND', `failed to access input path "${input}": no such file or directory`);
  if (!info.isDirectory() && !info.isFile()) {
    throw new LadingError('INVALID_ARGUMENT', `input path "${input}" must be a directory or a tar archive`);
  }
  const layout = await OciLayout.open(input, { mode: 'readonly' });
  if (info.isFile()) opts.onLoaded?.(input, info.size);
  const includeReferrers = opts.includeReferrers !== false;
  const signal = opts.signal;
  const roots = await resolveTags(layout, opts.tags, {
    where: input,
    skipReferrersTags: includeReferrers,
    ...(signal ? { signal } : {}),
  });
  if (roots.length === 0) throw new LadingError('NOT_FOUND', `no tags found in OCI layout "${input}"`);
  opts.onTagsFound?.(roots.map((r) => r.tag));

  // Everything is read and verified once before the first push.
  const sink = new CheckingSink();
  const checker = new GraphCopier(layout, sink, {
    ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    ...(signal ? { signal } : {}),
  });
  const counts = new Map<string, number>();
  for (const root of roots) {
    const { referrers } = await copyTagged(layout, sink, root, { copier: checker, includeReferrers, tag: false });
    counts.set(root.tag, referrers.length);
  }
  const tags: CopiedTag[] = [];
  const done = (root: TaggedRoot) => {
    const copied = { tag: root.tag, digest: root.desc.digest, referrers: counts.get(root.tag) ?? 0 };
    tags.push(copied);
    opts.onTagRestored?.(copied);
  };
  if (opts.dryRun) {
    for (const root of roots) done(root);
    return { input, tags, dryRun: true };
  }
  const { onLoaded: _l, onTagsFound: _f, onTagRestored: _r, tags: _t, dryRun: _d, ...copyOptions } = opts;
  const copier = new GraphCopier(layout, dst, copyOptions);
  for (const root of roots) {
    await copyTagged(layout, dst, root, { ...copyOptions, copier, includeReferrers });
    done(root);
  }
  return { input, tags, dryRun: false };
}

/**
 * The staging folder of a `.tar` backup is a name the user did not type, and it is emptied with
 * `rm -r` at the end: only a real folder that holds nothing but a layout's own names (what an
 * earlier run staged, or nothing) is resumed. A link there would send the layout's files, and the
 * removal of its `ingest/`, to wherever it points; a folder of something else would be deleted.
 */
async function checkStaging(staging: string): Promise<void> {
  const info = await lstat(staging).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new LadingError('IO_ERROR', `${staging}: ${error.message}`, { cause: error });
  });
  if (!info) return;
  const refuse = (what: string): never => {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `the staging path "${staging}" is ${what}, not the folder of an interrupted backup; remove it or choose another output`,
    );
  };
  if (info.isSymbolicLink()) refuse('a symlink');
  if (!info.isDirectory()) refuse('not a directory');
  const layoutNames = new Set(['oci-layout', 'index.json', 'index.json.lock', 'blobs', 'ingest']);
  const other = (await readdir(staging)).find((name) => !layoutNames.has(name));
  if (other !== undefined) refuse(`a folder that holds more than an OCI layout (${JSON.stringify(other)})`);
}

/** Removes lading's temps of ended runs from a layout's `ingest/`, then the folder if that left it empty. */
async function removeIngest(ingest: string): Promise<void> {
  await sweepStaleTemps(ingest);
  await rmdir(ingest).catch(() => {
    // not there, not empty (someone else's files, a run still writing) or not a folder: left as it is
  });
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new LadingError('IO_ERROR', `${path}: ${(error as Error).message}`, { cause: error });
  }
}

function plain(desc: Descriptor): Descriptor {
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}

/** Layers that must not be redistributed are never copied (as the graph copy), so never required. */
function isForeign(desc: Descriptor): boolean {
  return (
    desc.mediaType === MediaType.DockerForeignLayer ||
    desc.mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')
  );
}

/**
 * A layout directory being backed up into, which trusts nothing it already holds: a blob is
 * present once it has been read and verified, a manifest once everything below it is present too.
 * What fails is removed (and reported) so that the copy fetches it again; tags that named a
 * removed manifest are set again when it is back.
 */
class VerifiedLayout implements Storage, Tagger {
  readonly #layout: OciLayout;
  readonly #onCorrupt: ((desc: Descriptor, problem: string) => void) | undefined;
  readonly #intactBlobs = new Set<string>();
  readonly #completeGraphs = new Set<string>();
  readonly #retag = new Map<string, string[]>();
  readonly #checking = new Map<string, Promise<boolean>>();

  constructor(layout: OciLayout, onCorrupt?: (desc: Descriptor, problem: string) => void) {
    this.#layout = layout;
    this.#onCorrupt = onCorrupt;
  }

  exists(desc: Descriptor, o: Op = {}): Promise<boolean> {
    return isManifestMediaType(desc.mediaType) ? this.#complete(desc, 0, o) : this.#intact(desc, o);
  }

  async push(desc: Descriptor, content: Content, o: PushOp = {}): Promise<void> {
    if (isManifestMediaType(desc.mediaType) && (await this.#intact(desc, o))) {
      // Here, but something below it was not: only make sure index.json records it.
      await this.#record(desc);
    } else {
      await this.#layout.push(desc, content, o);
    }
    this.#intactBlobs.add(desc.digest);
    const tags = this.#retag.get(desc.digest);
    if (tags) {
      this.#retag.delete(desc.digest);
      for (const tag of tags) await this.#layout.tag(desc, tag);
    }
  }

  fetch(desc: Descriptor, o: Op = {}): Promise<Readable> {
    return this.#layout.fetch(desc, o);
  }

  resolve(reference: string): Promise<Descriptor> {
    return this.#layout.resolve(reference);
  }

  tag(desc: Descriptor, reference: string): Promise<void> {
    return this.#layout.tag(desc, reference);
  }

  async #complete(desc: Descriptor, depth: number, o: Op): Promise<boolean> {
    if (this.#completeGraphs.has(desc.digest)) return true;
    if (depth > MaxGraphDepth || !(await this.#intact(desc, o))) return false;
    const bytes = await fetchAll(this.#layout, desc, {
      limit: MaxManifestBytes,
      ...(o.signal ? { signal: o.signal } : {}),
    });
    let children: Descriptor[];
    try {
      children = successorsOf(desc, bytes);
    } catch {
      return false; // the copy fetches it from the source and says what is wrong with it
    }
    for (const child of children) {
      if (isForeign(child)) continue;
      const present = isManifestMediaType(child.mediaType)
        ? await this.#complete(child, depth + 1, o)
        : await this.#intact(child, o);
      if (!present) return false;
    }
    await this.#record(desc);
    this.#completeGraphs.add(desc.digest);
    return true;
  }

  /**
   * Whether the blob is in the layout with exactly its size and digest; a bad one is removed. Two
   * parents may ask about a shared child at once: it is read, and reported, once.
   */
  #intact(desc: Descriptor, o: Op): Promise<boolean> {
    if (this.#intactBlobs.has(desc.digest)) return Promise.resolve(true);
    let pending = this.#checking.get(desc.digest);
    if (!pending) {
      pending = this.#check(desc, o).finally(() => this.#checking.delete(desc.digest));
      this.#checking.set(desc.digest, pending);
    }
    return pending;
  }

  async #check(desc: Descriptor, o: Op): Promise<boolean> {
    try {
      // Opened whatever its size (exists() would call a file of another size absent, unreported).
      const stream = await this.#layout.fetch(desc, o.signal ? { signal: o.signal } : {});
      for await (const _chunk of stream) {
        // read to the end: the stream fails on a wrong size or digest
      }
    } catch (error) {
      if (error instanceof LadingError && error.code === 'NOT_FOUND') return false;
      if (!(error instanceof LadingError && (error.code === 'DIGEST_MISMATCH' || error.code === 'SIZE_MISMATCH'))) {
        throw error;
      }
      await this.#discard(desc, error.message);
      return false;
    }
    this.#intactBlobs.add(desc.digest);
    return true;
  }

  async #discard(desc: Descriptor, problem: string): Promise<void> {
    this.#onCorrupt?.(desc, problem);
    if (isManifestMediaType(desc.mediaType)) {
      const tags: string[] = [];
      for await (const page of this.#layout.tags()) {
        for (const tag of page) if ((await this.#layout.resolve(tag)).digest === desc.digest) tags.push(tag);
      }
      if (tags.length > 0) this.#retag.set(desc.digest, tags);
    }
    await this.#layout.delete(desc);
  }

  /** Records a manifest in index.json when it is not yet (a blob copied in by hand, an interrupted write). */
  async #record(desc: Descriptor): Promise<void> {
    const known = await this.#layout.resolve(desc.digest).catch(() => undefined);
    if (known?.mediaType !== desc.mediaType) await this.#layout.tag(plain(desc), desc.digest);
  }
}
