import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { MemoryStore, type ReadOnlyTarget, successorsOf, type Target } from '../content/index.js';
import {
  type CopyGraphOptions,
  type CopyOptions,
  copy,
  type PackOptions,
  packManifest,
  platformConfig,
} from '../copy/index.js';
import {
  Annotation,
  cancellable,
  type Descriptor,
  digestBytes,
  EmptyJsonDescriptor,
  LadingError,
  MediaType,
  type Platform,
} from '../oci/index.js';
import { type PreparedFile, prepareFile, titleFor, withTempDir } from './prepare.js';

/** One file or folder to push (a folder becomes one tar+gzip layer). */
export interface FileSpec {
  /** Where it is; a relative path is read from {@link PushFilesOptions.cwd}. */
  path: string;
  /** The layer's media type. Default: the OCI layer type, `…tar` for a file, `…tar+gzip` for a folder. */
  mediaType?: string;
  /**
   * The name it gets when pulled (`org.opencontainers.image.title`). Default: `path` as given,
   * `/`-separated; an absolute title needs `allowAbsolutePaths`.
   */
  title?: string;
  /** Annotations of its layer, beside the title. */
  annotations?: Record<string, string>;
}

/**
 * Options of {@link pushFiles}: the manifest (those of `packManifest`), the copy (those of `copyGraph`), tags, and
 * how files are read.
 */
export interface PushFilesOptions extends Omit<PackOptions, 'config'>, Omit<CopyGraphOptions, 'findSuccessors'> {
  /** A config file and its media type (default `application/vnd.unknown.config.v1+json`). */
  config?: FileSpec;
  /** The platform of the artifact, stored as an image config that declares it (as ORAS's `--artifact-platform`); not with `config`. */
  artifactPlatform?: Platform;
  /**
   * More annotations per file, keyed by its {@link FileSpec.path} exactly as given, and for the
   * config under the key `$config`.
   */
  fileAnnotations?: Record<string, Record<string, string>>;
  /** Tag(s) for the manifest at the destination; none pushes it by digest only. */
  tags?: string[];
  /** The folder relative paths (of files and the config) are read from. Default: `process.cwd()`. */
  cwd?: string;
  /** Allow absolute titles, which a pull would write outside its output folder. */
  allowAbsolutePaths?: boolean;
  /** Folder layers with fixed times and owners, so that the same tree gives the same digest. */
  reproducible?: boolean;
  /** The time (seconds since the epoch) written into reproducible folder layers. Default 0. */
  sourceDateEpoch?: number;
  /** Called with each file's title (the name it is pulled as) before the file is read and hashed. */
  onFileLoading?: (title: string) => void;
}

/** Serves the staged files and the packed manifest as one source for the graph copy. */
class PushSource implements ReadOnlyTarget {
  readonly memory = new MemoryStore();
  readonly files = new Map<string, PreparedFile>();

  async fetch(desc: Descriptor): Promise<Readable> {
    const file = this.files.get(desc.digest);
    return file ? file.open() : this.memory.fetch(desc);
  }
  async exists(desc: Descriptor): Promise<boolean> {
    return this.files.has(desc.digest) || this.memory.exists(desc);
  }
  resolve(reference: string): Promise<Descriptor> {
    return this.memory.resolve(reference);
  }
}

/**
 * `oras push`: files and directories become layers (directories as tar+gzip), packed into an
 * image manifest, and the graph is copied to `dst`: blobs first, the manifest last, then tags.
 */
export function pushFiles(dst: Target, files: FileSpec[], options: PushFilesOptions = {}): Promise<Descriptor> {
  // Checked here for callers without types: a file given as a bare string would be read as a path of `undefined`.
  if (!Array.isArray(files) || files.some((f) => typeof f?.path !== 'string' || f.path === '')) {
    return Promise.reject(
      new LadingError('INVALID_ARGUMENT', 'pushFiles: files must be a list of { path } objects, each with a path'),
    );
  }
  return cancellable(options.signal, () => push(dst, files, options));
}

async function push(dst: Target, files: FileSpec[], options: PushFilesOptions): Promise<Descriptor> {
  const at = (path: string) => (options.cwd === undefined ? path : resolve(options.cwd, path));
  if (options.config && options.artifactPlatform) {
    throw new LadingError('INVALID_ARGUMENT', 'a config file and an artifact platform cannot be used together');
  }
  return withTempDir(async (tempDir) => {
    const source = new PushSource();
    const layers: Descriptor[] = [];
    const titles = new Set<string>();
    for (const spec of files) {
      let title = titleFor(spec.title ?? spec.path, options.allowAbsolutePaths);
      const extra = { ...(spec.annotations ?? {}), ...(options.fileAnnotations?.[spec.path] ?? {}) };
      title = extra[Annotation.Title] ?? title;
      if (titles.has(title)) throw new LadingError('INVALID_ARGUMENT', `duplicate file name "${title}"`);
      titles.add(title);
      options.onFileLoading?.(title);
      const prepared = await prepareFile(at(spec.path), {
        tempDir,
        title,
        annotations: extra,
        ...(spec.mediaType ? { mediaType: spec.mediaType } : {}),
        ...(options.allowAbsolutePaths ? { allowAbsolutePaths: true } : {}),
        ...(options.reproducible ? { reproducible: true } : {}),
        ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      source.files.set(prepared.desc.digest, prepared);
      layers.push(prepared.desc);
    }
    let config: Descriptor | undefined;
    if (options.config) {
      const prepared = await prepareFile(at(options.config.path), {
        tempDir,
        title: '$config',
        mediaType: options.config.mediaType ?? 'application/vnd.unknown.config.v1+json',
      });
      // The config carries only the `$config` annotations, not a title.
      config = { mediaType: prepared.desc.mediaType, digest: prepared.desc.digest, size: prepared.desc.size };
      const configAnnotations = options.fileAnnotations?.$config;
      if (configAnnotations && Object.keys(configAnnotations).length > 0) config.annotations = configAnnotations;
      source.files.set(config.digest, prepared);
    } else if (options.artifactPlatform) {
      const bytes = platformConfig(options.artifactPlatform);
      config = { mediaType: MediaType.ImageConfig, digest: digestBytes(bytes), size: bytes.byteLength };
      const configAnnotations = options.fileAnnotations?.$config;
      if (configAnnotations && Object.keys(configAnnotations).length > 0) config.annotations = configAnnotations;
      if (!(await source.memory.exists(config))) await source.memory.push(config, bytes);
    } else if (options.fileAnnotations?.$config && options.imageSpec !== 'v1.0') {
      // ORAS attaches `$config` annotations to the empty config descriptor.
      config = { ...EmptyJsonDescriptor, annotations: options.fileAnnotations.$config };
    }
    const pack: PackOptions = {};
    if (options.imageSpec) pack.imageSpec = options.imageSpec;
    if (options.artifactType) pack.artifactType = options.artifactType;
    // As ORAS: an image-spec 1.1 artifact says its type, the platform config's too (the unknown
    // artifact type when none is given; a config file of the user's carries its own).
    else if (options.artifactPlatform && options.imageSpec !== 'v1.0') pack.artifactType = MediaType.UnknownArtifact;
    if (config) pack.config = config;
    if (options.subject) pack.subject = options.subject;
    // A reproducible artifact was created at the source date, not now.
    if (options.created) pack.created = options.created;
    else if (options.reproducible) pack.created = new Date((options.sourceDateEpoch ?? 0) * 1000);
    const annotations = { ...(options.fileAnnotations?.$manifest ?? {}), ...(options.annotations ?? {}) };
    if (Object.keys(annotations).length > 0) pack.annotations = annotations;
    const manifest = await packManifest(source.memory, layers, pack);
    const [first, ...rest] = options.tags ?? [];
    await source.memory.tag(manifest, manifest.digest);
    // The subject is the caller's (resolved in `dst` already, never in the source): not looked up
    // again, as ORAS's attach skips it among the manifest's successors.
    const subject = options.subject?.digest;
    const copyOptions: CopyOptions =
      subject === undefined
        ? options
        : {
            ...options,
            findSuccessors: (desc, bytes) => {
              const found = bytes ? successorsOf(desc, bytes) : [];
              return desc.digest === manifest.digest ? found.filter((d) => d.digest !== subject) : found;
            },
          };
    const root = await copy(source, manifest.digest, dst, first ?? manifest.digest, copyOptions);
    for (const tag of rest) await dst.tag(root, tag);
    return manifest;
  });
}
