import { copyFile, lstat, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { Content, Op, ReadOnlyStorage, ReadOnlyTarget, Storage } from '../content/index.js';
import { toReadable, verifiedCopy } from '../content/index.js';
import { GraphCopier } from '../copy/index.js';
import { tempPathFor } from '../layout/index.js';
import {
  Annotation,
  type Descriptor,
  EmptyJsonDescriptor,
  isManifestMediaType,
  LadingError,
  nodeSuccessors,
  parseNode,
} from '../oci/index.js';
import { extractFile } from './extract.js';
import { safeJoin } from './safe-path.js';
import { commitStaged, type StagedEntry } from './staging.js';

export interface PullFilesOptions {
  output: string;
  /** Refuse to overwrite existing files (ORAS `-k`). */
  keepOldFiles?: boolean;
  /** Allow titles that point outside the output folder (ORAS `-T`). */
  allowPathTraversal?: boolean;
  /** Also pull the subject of the manifest, recursively. */
  includeSubject?: boolean;
  /** Also save the config under this file name. */
  configPath?: string;
  concurrency?: number;
  signal?: AbortSignal;
  mapRoot?: (src: ReadOnlyStorage, root: Descriptor) => Promise<Descriptor>;
  onFile?: (path: string, desc: Descriptor) => void;
  onSkipped?: (desc: Descriptor) => void;
  preCopy?: (desc: Descriptor) => void;
  postCopy?: (desc: Descriptor) => void;
  onProgress?: (desc: Descriptor, bytes: number) => void;
}

export interface PulledFile {
  /** Absolute path; ends with `/` for an unpacked directory. */
  path: string;
  desc: Descriptor;
}

export interface PullResult {
  root: Descriptor;
  files: PulledFile[];
  /** Layers without a title: nothing to name them by, so they were not written. */
  skipped: Descriptor[];
}

function titleOf(desc: Descriptor): string | undefined {
  return desc.annotations?.[Annotation.Title];
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
  #staging: Promise<string | undefined> | undefined;
  #count = 0;
  constructor(options: PullFilesOptions) {
    this.options = options;
  }

  /** The staging folder, made on first use; undefined when the output folder refuses it. */
  #stagingFolder(): Promise<string | undefined> {
    this.#staging ??= mkdtemp(join(this.options.output, '.lading-pull-')).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EACCES' || error.code === 'EPERM' || error.code === 'EROFS') return undefined;
      throw error;
    });
    return this.#staging;
  }

  async removeStaging(): Promise<void> {
    const staging = await this.#staging?.catch(() => undefined);
    if (staging) await rm(staging, { recursive: true, force: true });
  }

  /** Where the bytes for `target` are written first, and the folder tar entries resolve from. */
  async stage(target: string): Promise<{ path: string; base: string }> {
    const rel = relative(resolve(this.options.output), target);
    const direct = { path: target, base: this.options.output };
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return direct;
    const staging = await this.#stagingFolder();
    if (staging === undefined) return direct;
    const base = join(staging, String(this.#count++));
    const path = join(base, rel);
    this.staged.push({ staged: path, target });
    return { path, base };
  }
  async fetch(desc: Descriptor): Promise<Readable> {
    throw new LadingError('UNSUPPORTED', `${desc.digest}: the output folder cannot be read back`);
  }
  async exists(): Promise<boolean> {
    return false; // every titled file is written fresh, as ORAS does
  }
  async push(desc: Descriptor, content: Content, o?: Op): Promise<void> {
    const title = titleOf(desc);
    if (!title) {
      toReadable(content).resume();
      return;
    }
    const target = await this.target(title);
    const at = await this.stage(target);
    await mkdir(dirname(at.path), { recursive: true });
    const unpack = desc.annotations?.[Annotation.OrasContentUnpack] === 'true';
    // Downloads go to a temp file beside where they are staged and move there once verified.
    const temp = tempPathFor(at.path);
    try {
      const { createWriteStream } = await import('node:fs');
      await verifiedCopy(content, desc, createWriteStream(temp, { flags: 'wx' }), {
        where: `${desc.digest} (${title})`,
        ...(o ? { op: o } : {}),
      });
      if (unpack) {
        const tarDigest = desc.annotations?.[Annotation.OrasContentDigest];
        await extractFile(temp, {
          root: at.path,
          base: at.base,
          ...(tarDigest ? { expectedTarDigest: tarDigest } : {}),
          ...(this.options.signal ? { signal: this.options.signal } : {}),
        });
        await rm(temp, { force: true });
      } else {
        await rename(temp, at.path);
      }
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    this.written.set(desc.digest, at.path);
    this.files.push({ path: unpack ? `${target}/` : target, desc });
    this.options.onFile?.(target, desc);
  }
  async target(title: string): Promise<string> {
    const target = await safeJoin(this.options.output, title, {
      allowTraversal: Boolean(this.options.allowPathTraversal),
    });
    if (this.options.keepOldFiles && (await lstat(target).catch(() => undefined))) {
      throw new LadingError(
        'ALREADY_EXISTS',
        `${target}: file already exists, overwrite disallowed (--keep-old-files)`,
      );
    }
    return target;
  }
}

/**
 * `oras pull`: resolves `reference`, walks its graph, and writes every layer that has a title into
 * the output folder (directories unpacked), verifying each file before it takes its final name.
 * Nothing in the output folder changes unless the whole pull succeeds: files are staged in a
 * hidden folder inside it and moved into place at the end.
 */
export async function pullFiles(
  src: ReadOnlyTarget,
  reference: string,
  options: PullFilesOptions,
): Promise<PullResult> {
  let root = await src.resolve(reference, options.signal ? { signal: options.signal } : {});
  if (options.mapRoot) root = await options.mapRoot(src, root);
  const created = await mkdir(options.output, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EEXIST' || error.code === 'ENOTDIR') {
      throw new LadingError('INVALID_ARGUMENT', `${options.output}: not a folder (the output of a pull is a folder)`);
    }
    throw new LadingError('IO_ERROR', `${options.output}: cannot create the output folder: ${error.message}`, {
      cause: error,
    });
  });
  const sink = new FileSink(options);
  try {
    return await pullStaged(src, root, options, sink);
  } catch (error) {
    // The folder was made for this pull and holds nothing else: leave no trace of it.
    if (created) await rm(created, { recursive: true, force: true });
    throw error;
  } finally {
    await sink.removeStaging();
  }
}

async function pullStaged(
  src: ReadOnlyTarget,
  root: Descriptor,
  options: PullFilesOptions,
  sink: FileSink,
): Promise<PullResult> {
  const skipped: Descriptor[] = [];
  const titles = new Map<string, Descriptor>(); // title → layer
  const duplicates: Descriptor[] = []; // same bytes under a second title
  const findSuccessors = (desc: Descriptor, bytes: Buffer | undefined): Descriptor[] => {
    if (!bytes || !isManifestMediaType(desc.mediaType)) return [];
    const node = parseNode(bytes, desc.mediaType, desc.digest);
    const out: Descriptor[] = [];
    if (node.kind === 'index') {
      out.push(...node.index.manifests);
      if (options.includeSubject && node.index.subject) out.push(node.index.subject);
      return out;
    }
    const all = nodeSuccessors(node);
    const subject = node.kind === 'manifest' ? node.manifest.subject : node.artifact.subject;
    const config = node.kind === 'manifest' ? node.manifest.config : undefined;
    for (const child of all) {
      if (child === subject) {
        if (options.includeSubject) out.push(child);
        continue;
      }
      if (child === config) {
        if (options.configPath)
          out.push({ ...child, annotations: { ...(child.annotations ?? {}), [Annotation.Title]: options.configPath } });
        continue;
      }
      const title = titleOf(child);
      if (title) {
        const seen = titles.get(title);
        if (seen && seen.digest !== child.digest)
          throw new LadingError('INVALID_MANIFEST', `duplicate name "${title}" in ${desc.digest}`);
        if (seen) continue;
        titles.set(title, child);
        if ([...titles.values()].some((d) => d.digest === child.digest && titleOf(d) !== title)) duplicates.push(child);
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
  await copier.copy(root);
  // The copy moves each digest once; a second title for the same bytes is filled from the first.
  for (const desc of duplicates) {
    const from = sink.written.get(desc.digest);
    const title = titleOf(desc) as string;
    if (!from || sink.files.some((f) => titleOf(f.desc) === title)) continue;
    const target = await sink.target(title);
    const at = await sink.stage(target);
    await mkdir(dirname(at.path), { recursive: true });
    await copyFile(from, at.path);
    sink.files.push({ path: target, desc });
    options.onFile?.(target, desc);
  }
  await commitStaged(sink.staged, options.output, { keepOldFiles: Boolean(options.keepOldFiles) });
  return { root, files: sink.files, skipped };
}
