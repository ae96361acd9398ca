import { constants, fstatSync, readlinkSync, type Stats } from 'node:fs';
import { copyFile, type FileHandle, link, lstat, open, readdir, realpath, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FileEntry, StoreFiles } from '../archive/index.js';
import { openStoreFolder, type RealDir, tempPathFor, withLock, writeFileAtomic } from '../archive/index.js';
import { makeDirectory } from '../content/make-directory.js';
import { encodeIndexJson, type IndexState, layoutFileBytes, readState, recordTag } from '../layout/index-json.js';
import {
  type Descriptor,
  isManifestMediaType,
  isStringMap,
  LadingError,
  MaxManifestBytes,
  MediaType,
  parseDigest,
} from '../oci/index.js';
import { isValidRepositoryName, repositoryParts } from './names.js';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Whether /proc/self/fd names what a descriptor holds (Linux); undefined until tried. */
let procFdWorks: boolean | undefined;

/** The registry's own folder below the root; no repository name can start with `_`. */
export const InternalFolder = '_lading';
const MaxIndexBytes = 64 * 1024 * 1024;
/** The most index.json is written with: well under what is read back, so a full repository can still be edited. */
const MaxWrittenIndexBytes = 16 * 1024 * 1024;
/** What the remembered referrer facts weigh at most together (see RegistryStore.summary). */
const MaxSummaryBytes = 16 * 1024 * 1024;
/** The most index.json bytes whose parsed state is kept (see RegistryStore.state). */
const MaxStateBytes = 64 * 1024 * 1024;
/**
 * A manifest's annotations are repeated in the referrers lists that name it only up to this size
 * (as JSON): a few referrers of megabytes of annotations each must not make every list huge.
 */
const MaxListedAnnotationBytes = 16 * 1024;

/** What the server remembers of a stored manifest: content-addressed, so cached for good. */
export interface ManifestSummary {
  mediaType: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  subject?: string;
  /** The blobs and manifests it names (config, layers, child manifests), without the subject. */
  children: Descriptor[];
}

/** What the referrers API lists of a manifest besides its descriptor. */
export type ReferrerFacts = Omit<ManifestSummary, 'mediaType' | 'children'>;

/** An open blob of a repository: the caller streams from `handle` and closes it. */
export interface OpenBlob {
  handle: FileHandle;
  size: number;
}

/**
 * A registry's storage: every repository an OCI image layout (`<root>/<name>/oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>`), so umoci, skopeo `oci:` and `lading --oci-layout` read it
 * as it is. Blobs are shared between repositories as hard links to one file in the pool
 * (`<root>/_lading/blobs/<alg>/<hex>`), which also answers mounts without `from`. Nothing lands
 * under a digest name before its bytes were verified; a manifest is recorded in index.json only
 * after it and every blob it names are in place; every folder below the root is opened one
 * component at a time without following a link.
 */
export class RegistryStore {
  readonly root: string;
  /** By manifest digest, least recently used first. */
  readonly #summaries = new Map<string, ReferrerFacts>();
  #summaryBytes = 0;
  readonly #queues = new Map<string, Promise<unknown>>();
  /** The root with every link resolved, for the one-open blob lookup (see openBlob). */
  readonly #realRoot: string | undefined;

  private constructor(root: string, realRoot: string | undefined) {
    this.root = root;
    this.#realRoot = realRoot;
  }

  static async open(root: string): Promise<RegistryStore> {
    try {
      await makeDirectory(root);
    } catch (error) {
      throw new LadingError('IO_ERROR', `${root}: cannot create the registry root: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const store = new RegistryStore(root, await realpath(root).catch(() => undefined));
    for (const sub of [['blobs'], ['uploads'], ['ingest']]) await (await store.internal(sub)).close();
    return store;
  }

  /** A folder of the registry's own, made when missing; the caller closes it. */
  async internal(sub: string[]): Promise<RealDir> {
    return openStoreFolder(this.root, [InternalFolder, ...sub], { where: this.root, code: 'PATH_TRAVERSAL' });
  }

  // ---------------------------------------------------------------------------------------------
  // Repositories

  /** Runs `fn` as the only writer of a repository's index.json, in this process and across processes. */
  async locked<T>(name: string, fn: (dir: RealDir) => Promise<T>): Promise<T> {
    const previous = this.#queues.get(name) ?? Promise.resolve();
    const run = previous
      .catch(() => {})
      .then(async () => {
        const dir = await this.#repoFolder(name, [], true);
        try {
          await initialise(dir);
          return await withLock(dir.at('index.json.lock'), () => fn(dir));
        } finally {
          await dir.close();
        }
      });
    const tail = run.catch(() => {});
    this.#queues.set(name, tail);
    void tail.then(() => {
      if (this.#queues.get(name) === tail) this.#queues.delete(name);
    });
    return run;
  }

  async #repoFolder(name: string, sub: string[], create: true): Promise<RealDir>;
  async #repoFolder(name: string, sub: string[], create: false): Promise<RealDir | undefined>;
  async #repoFolder(name: string, sub: string[], create: boolean): Promise<RealDir | undefined> {
    const parts = repositoryParts(name);
    const o = { where: this.root, code: 'PATH_TRAVERSAL' as const };
    if (create) return openStoreFolder(this.root, [...parts, ...sub], o);
    return openStoreFolder(this.root, [...parts, ...sub], { ...o, create: false });
  }

  /**
   * The repository's index.json, or undefined when there is no such repository. Read once per
   * version of the file (index.json is only ever replaced, by a rename): a pull's requests do not
   * each parse an index of thousands of tags again. The state returned is shared: read it only.
   */
  async state(name: string): Promise<IndexState | undefined> {
    const dir = await this.#repoFolder(name, [], false);
    if (!dir) return undefined;
    try {
      if (!(await isFile(dir, 'oci-layout'))) return undefined;
      // Taken before the read: a file replaced in between is read new under the old key, and read
      // again on the next call.
      const info = await lstat(dir.at('index.json'), { bigint: true }).catch(() => undefined);
      const key = info?.isFile() ? `${info.ino}:${info.size}:${info.ctimeNs}:${info.mtimeNs}` : undefined;
      const known = this.#states.get(name);
      if (key !== undefined && known?.key === key) return known.state;
      const state = await readState(folderFiles(dir, name));
      if (key !== undefined && info) {
        const bytes = Number(info.size);
        if (known) this.#stateBytes -= known.bytes;
        if (this.#states.size >= 10_000 || this.#stateBytes + bytes > MaxStateBytes) {
          this.#states.clear();
          this.#stateBytes = 0;
        }
        this.#states.set(name, { key, state, bytes });
        this.#stateBytes += bytes;
      }
      return state;
    } finally {
      await dir.close();
    }
  }

  /** Parsed index.json files by repository, each with the identity of the file it was read from. */
  readonly #states = new Map<string, { key: string; state: IndexState; bytes: number }>();
  #stateBytes = 0;

  /** The index.json of a repository folder held in `locked`. */
  async stateIn(dir: RealDir, name: string): Promise<IndexState> {
    return readState(folderFiles(dir, name));
  }

  /**
   * Replaces index.json; call inside `locked`. A state that would not fit the size index.json is
   * read back with is refused (SIZE_EXCEEDS_LIMIT): the repository stays as it was, readable.
   */
  async writeState(dir: RealDir, state: IndexState, name = 'the repository'): Promise<void> {
    const bytes = encodeIndexJson(state);
    // Only growth past the cap is refused: a repository over it (written before the cap existed)
    // can still be shrunk by deleting tags and manifests.
    const before = bytes.length > MaxWrittenIndexBytes ? ((await dir.lstat('index.json'))?.size ?? 0) : 0;
    if (bytes.length > MaxWrittenIndexBytes && bytes.length > before) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${name}: its index would grow past ${MaxWrittenIndexBytes} bytes; delete tags or manifests first`,
      );
    }
    await writeFileAtomic(dir.at('index.json'), bytes);
  }

  async exists(name: string): Promise<boolean> {
    return (await this.state(name)) !== undefined;
  }

  /** Repository names in code-unit order: every folder below the root that holds an OCI layout. */
  async catalog(): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string) => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (prefix && entries.some((e) => e.name === 'oci-layout' && e.isFile()) && isValidRepositoryName(prefix)) {
        found.push(prefix);
      }
      for (const e of entries) {
        // Links are never followed: a folder planted as a link is not a repository.
        if (!e.isDirectory() || e.name.startsWith('_') || e.name.startsWith('.') || e.name === 'blobs') continue;
        const name = prefix ? `${prefix}/${e.name}` : e.name;
        if (name.length > 255) continue;
        await walk(join(dir, e.name), name);
      }
    };
    await walk(this.root, '');
    return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // ---------------------------------------------------------------------------------------------
  // Blobs

  /** The size of a blob (or manifest) stored in a repository, or undefined. */
  async blobSize(name: string, digest: string): Promise<number | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    const dir = await this.#repoFolder(name, ['blobs', algorithm], false);
    if (!dir) return undefined;
    try {
      const info = await dir.lstat(hex);
      return info?.isFile() ? info.size : undefined;
    } finally {
      await dir.close();
    }
  }

  /** Opens a stored blob without following a link; undefined when absent. */
  async openBlob(name: string, digest: string): Promise<OpenBlob | undefined> {
    const { algorithm, hex } = parseDigest(digest);
    const quick = await this.#openBlobDirect(name, algorithm, hex);
    if (quick !== undefined) return quick === 'absent' ? undefined : quick;
    const dir = await this.#repoFolder(name, ['blobs', algorithm], false);
    if (!dir) return undefined;
    try {
      const handle = await open(dir.at(hex), O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch(
        (error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT' || error.code === 'ELOOP') return undefined;
          throw error;
        },
      );
      if (!handle) return undefined;
      const info = await handle.stat();
      if (!info.isFile()) {
        await handle.close();
        return undefined;
      }
      return { handle, size: info.size };
    } finally {
      await dir.close();
    }
  }

  /**
   * A blob GET's usual case in one open instead of one per folder: the file is opened by its
   * path, and kept only when the kernel says (through /proc/self/fd, which names what the
   * descriptor really holds, every link resolved) that it is exactly `<real root>/<name>/blobs/<alg>/<hex>`,
   * a regular file: then no component on the way was a link, as the folder-by-folder walk would
   * check. Nothing at that path even with links followed is 'absent' (the walk, which follows
   * none, would find nothing either). Anything else (no /proc, a link anywhere, a race) gives
   * undefined and the walk decides. O_NONBLOCK: a FIFO planted there does not hang the open.
   */
  async #openBlobDirect(name: string, algorithm: string, hex: string): Promise<OpenBlob | 'absent' | undefined> {
    if (this.#realRoot === undefined || procFdWorks === false) return undefined;
    const expected = join(this.#realRoot, ...repositoryParts(name), 'blobs', algorithm, hex);
    let handle: FileHandle;
    try {
      handle = await open(expected, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ENOENT' && procFdWorks ? 'absent' : undefined;
    }
    let found: OpenBlob | undefined;
    try {
      // Both answer from memory (the descriptor is open): no reason to go through the thread pool.
      if (readlinkSync(`/proc/self/fd/${handle.fd}`) === expected) {
        const info = fstatSync(handle.fd);
        if (info.isFile()) found = { handle, size: info.size };
      }
      procFdWorks = true;
    } catch {
      procFdWorks ??= false;
    }
    if (!found) await handle.close();
    return found;
  }

  /** Reads a small stored blob whole (a manifest); undefined when absent. */
  async readSmall(name: string, digest: string, limit = MaxManifestBytes): Promise<Buffer | undefined> {
    const blob = await this.openBlob(name, digest);
    if (!blob) return undefined;
    try {
      if (blob.size > limit) {
        throw new LadingError('SIZE_EXCEEDS_LIMIT', `${this.root}/${name}: ${digest} is over ${limit} bytes`);
      }
      return await blob.handle.readFile();
    } finally {
      await blob.handle.close();
    }
  }

  /**
   * Makes the verified file `source` (inside `from`, a folder held open) the blob `digest` of the
   * pool and of repository `name`: hard links where the file system allows, a copy otherwise. The
   * repository's file appears by one rename, whole or not at all.
   */
  async commit(name: string, digest: string, from: RealDir, source: string): Promise<void> {
    const { algorithm, hex } = parseDigest(digest);
    const pool = await this.internal(['blobs', algorithm]);
    try {
      if (!(await isFile(pool, hex))) await placeFile(from.at(source), pool, hex);
      const repo = await this.#repoFolder(name, ['blobs', algorithm], true);
      try {
        if (!(await isFile(repo, hex))) await placeFile(pool.at(hex), repo, hex);
      } finally {
        await repo.close();
      }
    } finally {
      await pool.close();
    }
    // The layout files too: a repository that only holds blobs is still a layout umoci can open.
    const dir = await this.#repoFolder(name, [], true);
    try {
      await initialise(dir);
    } finally {
      await dir.close();
    }
  }

  /**
   * Mounts a blob into `name` from repository `from`, or with `from` undefined from the pool
   * (any repository of this registry). Returns whether it was there to mount.
   */
  async mount(name: string, digest: string, from: string | undefined): Promise<boolean> {
    const { algorithm, hex } = parseDigest(digest);
    let source: RealDir | undefined;
    if (from === undefined) source = await this.internal(['blobs', algorithm]);
    else if (isValidRepositoryName(from)) source = await this.#repoFolder(from, ['blobs', algorithm], false);
    if (!source) return false;
    try {
      const info = await source.lstat(hex);
      if (!info?.isFile()) return false;
      // The pool keeps a deleted blob until gc: from the pool, only what a repository still links
      // (its hard link besides the pool's own) may be mounted. Where the file system copies instead
      // of linking, nothing is mounted from the pool: the client uploads, as it would elsewhere.
      if (from === undefined && info.nlink < 2) return false;
      try {
        await this.commit(name, digest, source, hex);
      } catch (error) {
        // Removed meanwhile (a delete, a gc): nothing was mounted.
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw error;
      }
      return true;
    } finally {
      await source.close();
    }
  }

  /** Stores manifest bytes (already verified against `digest`) as a blob of `name`. */
  async putManifestBlob(name: string, digest: string, bytes: Uint8Array): Promise<void> {
    const ingest = await this.internal(['ingest']);
    const temp = tempPathFor('manifest', ingest.at('.')).split('/').pop() as string;
    try {
      await writeFileAtomic(ingest.at(temp), bytes);
      await this.commit(name, digest, ingest, temp);
    } finally {
      await rm(ingest.at(temp), { force: true });
      await ingest.close();
    }
  }

  /** Removes a blob file from a repository (the pool keeps its link until gc). */
  async removeBlob(dir: RealDir, digest: string): Promise<boolean> {
    const { algorithm, hex } = parseDigest(digest);
    const blobs = await dir.child('blobs');
    if (!('dir' in blobs)) return false;
    try {
      const alg = await blobs.dir.child(algorithm);
      if (!('dir' in alg)) return false;
      try {
        if (!(await alg.dir.lstat(hex))) return false;
        await rm(alg.dir.at(hex), { force: true });
        return true;
      } finally {
        await alg.dir.close();
      }
    } finally {
      await blobs.dir.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Manifests

  /**
   * What a stored manifest says of itself to the referrers API: read once, then remembered. The
   * memory is weighed by what it keeps (a few hundred bytes a manifest), not by what the manifests
   * weighed, and sheds the least recently used: a repository of big manifests is parsed once, not
   * on every query, and does not push out every other repository's facts.
   */
  async summary(name: string, desc: Descriptor): Promise<ReferrerFacts | undefined> {
    const known = this.#summaries.get(desc.digest);
    if (known) {
      this.#summaries.delete(desc.digest);
      this.#summaries.set(desc.digest, known);
      return known;
    }
    let bytes: Buffer | undefined;
    try {
      bytes = await this.readSmall(name, desc.digest);
    } catch {
      return undefined;
    }
    if (!bytes) return undefined;
    const { subject, artifactType, annotations } = summarise(bytes, desc.mediaType);
    const facts: ReferrerFacts = {
      ...(subject ? { subject } : {}),
      ...(artifactType ? { artifactType } : {}),
      ...(annotations ? { annotations } : {}),
    };
    // Two queries may have read the same manifest at once: the first one's entry gives way.
    const earlier = this.#summaries.get(desc.digest);
    if (earlier) this.#summaryBytes -= factsWeight(earlier);
    this.#summaries.delete(desc.digest);
    this.#summaryBytes += factsWeight(facts);
    this.#summaries.set(desc.digest, facts);
    for (const [digest, old] of this.#summaries) {
      if (this.#summaryBytes <= MaxSummaryBytes && this.#summaries.size <= 100_000) break;
      this.#summaries.delete(digest);
      this.#summaryBytes -= factsWeight(old);
    }
    return facts;
  }

  /**
   * What a manifest names, for garbage collection: unlike {@link summary}, a manifest that is there
   * but cannot be read or parsed fails (its blobs must not be taken for unreferenced). One that is
   * missing names nothing.
   */
  async #childrenForGc(name: string, desc: Descriptor): Promise<Descriptor[]> {
    const bytes = await this.readSmall(name, desc.digest);
    if (!bytes) return [];
    try {
      JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new LadingError(
        'INVALID_MANIFEST',
        `manifest ${desc.digest} is not valid JSON (${(error as Error).message})`,
      );
    }
    return summarise(bytes, desc.mediaType).children;
  }

  /** Manifests of `name` whose subject is `digest`, as the referrers API lists them. */
  async referrers(name: string, digest: string): Promise<Descriptor[]> {
    const state = await this.state(name);
    if (!state) return [];
    const out: Descriptor[] = [];
    for (const desc of state.manifests.values()) {
      const summary = await this.summary(name, desc);
      if (summary?.subject !== digest) continue;
      out.push({
        mediaType: desc.mediaType,
        digest: desc.digest,
        size: desc.size,
        ...(summary.artifactType ? { artifactType: summary.artifactType } : {}),
        ...(summary.annotations ? { annotations: summary.annotations } : {}),
      });
    }
    return out;
  }

  /** Records a manifest (and a tag) in index.json; call inside `locked`, after its blobs are in place. */
  recordManifest(state: IndexState, desc: Descriptor, tag: string | undefined): void {
    recordTag(state, desc, tag ?? desc.digest);
  }

  // ---------------------------------------------------------------------------------------------
  // Garbage collection

  /**
   * Removes what nothing reaches: in each repository the blobs no recorded manifest names (tags
   * and untagged manifests are roots), uploads untouched for `graceMs`, and pool files no
   * repository links to any more. Files changed within `graceMs` stay: a blob just uploaded
   * waits for the manifest that names it.
   */
  async gc(o: { graceMs: number; dryRun?: boolean }): Promise<GcReport> {
    const report: GcReport = { repositories: 0, blobs: 0, bytes: 0, uploads: 0, pool: 0, kept: [] };
    const cutoff = Date.now() - o.graceMs;
    for (const name of await this.catalog()) {
      report.repositories++;
      await this.locked(name, async (dir) => {
        const state = await this.stateIn(dir, name);
        const reachable = new Set<string>();
        const queue = [...state.manifests.values(), ...state.tags.values()];
        while (queue.length > 0) {
          const desc = queue.pop() as Descriptor;
          if (reachable.has(desc.digest)) continue;
          reachable.add(desc.digest);
          if (!isManifestMediaType(desc.mediaType)) continue;
          let children: Descriptor[];
          try {
            children = await this.#childrenForGc(name, desc);
          } catch (error) {
            // What a manifest it cannot read names is unknown: every blob of the repository stays.
            report.kept.push({ repository: name, reason: (error as Error).message });
            return;
          }
          queue.push(...children);
        }
        await forEachBlob(dir, false, async ({ algorithm, hex, info, folder }) => {
          if (reachable.has(`${algorithm}:${hex}`) || info.ctimeMs > cutoff) return;
          report.blobs++;
          report.bytes += info.size;
          if (!o.dryRun) await rm(folder.at(hex), { force: true });
        });
      });
    }
    const uploads = await this.internal(['uploads']);
    try {
      for (const entry of await readdir(uploads.at('.'))) {
        const info = await uploads.lstat(entry);
        if (!info || info.mtimeMs > cutoff) continue;
        if (!entry.endsWith('.json')) report.uploads++;
        if (!o.dryRun) await rm(uploads.at(entry), { force: true, recursive: true });
      }
    } finally {
      await uploads.close();
    }
    const pool = await this.internal(['blobs']);
    try {
      await forEachBlob(pool, true, async ({ hex, info, folder }) => {
        // A commit holds a second link (the upload or the staged manifest) until the repository has its
        // own, so a pool file with one link is an orphan; the grace (on its write time, which a link
        // or unlink does not change) only spares very new files.
        if (info.nlink > 1 || info.mtimeMs > cutoff) return;
        report.pool++;
        if (!o.dryRun) await rm(folder.at(hex), { force: true });
      });
    } finally {
      await pool.close();
    }
    return report;
  }
}

export interface GcReport {
  repositories: number;
  /** Blob files removed from repositories, and their bytes. */
  blobs: number;
  bytes: number;
  uploads: number;
  /** Pool files no repository linked to. */
  pool: number;
  /** Repositories left whole because a manifest of theirs could not be read (what it names is unknown). */
  kept: { repository: string; reason: string }[];
}

/** Calls `fn` for each digest-named regular file under a layout's `blobs/` (or the pool, `inPool`), its folder held open. */
async function forEachBlob(
  dir: RealDir,
  inPool: boolean,
  fn: (b: { algorithm: string; hex: string; info: Stats; folder: RealDir }) => Promise<void>,
): Promise<void> {
  let blobs: RealDir = dir;
  if (!inPool) {
    const child = await dir.child('blobs');
    if (!('dir' in child)) return;
    blobs = child.dir;
  }
  try {
    for (const algorithm of ['sha256', 'sha384', 'sha512']) {
      const child = await blobs.child(algorithm);
      if (!('dir' in child)) continue;
      try {
        for (const hex of await readdir(child.dir.at('.'))) {
          if (hex.startsWith('.')) continue;
          const info = await child.dir.lstat(hex);
          if (info?.isFile()) await fn({ algorithm, hex, info, folder: child.dir });
        }
      } finally {
        await child.dir.close();
      }
    }
  } finally {
    if (blobs !== dir) await blobs.close();
  }
}

async function isFile(dir: RealDir, name: string): Promise<boolean> {
  return (await dir.lstat(name))?.isFile() === true;
}

/** Hard-links (or copies) `source` to `name` in `dir` through a temp name and one rename. */
async function placeFile(source: string, dir: RealDir, name: string): Promise<void> {
  const temp = tempPathFor(name, dir.at('.'));
  try {
    await link(source, temp);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw error;
    // No hard links here (another file system, a link count at its limit): a copy.
    await copyFile(source, temp, constants.COPYFILE_EXCL);
  }
  try {
    await rename(temp, dir.at(name));
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** Writes `oci-layout` and an empty `index.json` into a repository folder that lacks them. */
async function initialise(dir: RealDir): Promise<void> {
  if (!(await isFile(dir, 'oci-layout'))) await writeFileAtomic(dir.at('oci-layout'), layoutFileBytes());
  if (!(await isFile(dir, 'index.json'))) {
    await withLock(dir.at('index.json.lock'), async () => {
      if (await isFile(dir, 'index.json')) return;
      await writeFileAtomic(dir.at('index.json'), encodeIndexJson({ tags: new Map(), manifests: new Map() }));
    });
  }
}

/** StoreFiles over a folder held open: small files only, never through a link. */
function folderFiles(dir: RealDir, location: string): StoreFiles {
  const stat = async (path: string): Promise<FileEntry | undefined> => {
    const info = await dir.lstat(path);
    return info?.isFile() ? { path, size: info.size } : undefined;
  };
  return {
    location,
    stat,
    open: async () => {
      throw new LadingError('UNSUPPORTED', `${location}: only small files are read here`);
    },
    readSmall: async (path, limit) => {
      const entry = await stat(path);
      if (!entry) return undefined;
      if (entry.size > Math.min(limit, MaxIndexBytes)) {
        throw new LadingError('SIZE_EXCEEDS_LIMIT', `${location}: ${path} is over ${limit} bytes`);
      }
      const handle = await open(dir.at(path), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      try {
        return await handle.readFile();
      } finally {
        await handle.close();
      }
    },
  };
}

/** About what remembering `facts` costs: the map entry, its digest key, its strings. */
function factsWeight(facts: ReferrerFacts): number {
  const annotations = facts.annotations ? JSON.stringify(facts.annotations).length : 0;
  return 256 + (facts.subject?.length ?? 0) + (facts.artifactType?.length ?? 0) + annotations;
}

/** The fields of a manifest the registry serves from: subject, artifact type, what it names. */
export function summarise(bytes: Uint8Array, mediaType: string): ManifestSummary {
  let value: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) value = parsed;
  } catch {
    // stored manifests were checked on push; a broken one names nothing
  }
  const desc = (v: unknown): Descriptor | undefined => {
    const d = v as Descriptor | undefined;
    return d && typeof d === 'object' && typeof d.digest === 'string' && typeof d.mediaType === 'string'
      ? d
      : undefined;
  };
  const list = (v: unknown): Descriptor[] => (Array.isArray(v) ? v.map(desc).filter((d) => d !== undefined) : []);
  const config = desc(value.config);
  const children = [...(config ? [config] : []), ...list(value.layers), ...list(value.manifests), ...list(value.blobs)];
  let artifactType = typeof value.artifactType === 'string' ? value.artifactType : undefined;
  // The referrers API reports an image manifest's config media type when it has no artifactType.
  if (!artifactType && config && mediaType === MediaType.ImageManifest) artifactType = config.mediaType;
  // Checked as strings before they are measured: a manifest stored before pushes checked its
  // annotations could nest them deep enough to overflow the stack of JSON.stringify.
  const annotations =
    isStringMap(value.annotations) && JSON.stringify(value.annotations).length <= MaxListedAnnotationBytes
      ? value.annotations
      : undefined;
  return {
    mediaType,
    ...(artifactType ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
    ...(desc(value.subject) ? { subject: (value.subject as Descriptor).digest } : {}),
    children,
  };
}
