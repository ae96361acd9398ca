import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { makeTempFolder, tempPathFor } from '../../archive/index.js';
import {
  fetchAll,
  hasIngest,
  hasPushReference,
  hasReferenceFetcher,
  hasTags,
  type Op,
  pushIfAbsent,
  type Target,
  type TargetResolver,
} from '../../content/index.js';
import { copyGraph, fetchReference } from '../../copy/index.js';
import { isArtifactSetMediaType } from '../../ctf/index.js';
import { LayoutTarWriter, OciLayout } from '../../layout/index.js';
import {
  cancellable,
  checkDescriptor,
  createDigester,
  type Descriptor,
  digestBytes,
  encodeIndex,
  encodeManifest,
  isLadingError,
  isManifestMediaType,
  LadingError,
  MediaType,
  parseJson,
  parseNode,
  plainDescriptor,
  throwIfAborted,
} from '../../oci/index.js';
import { verifyArtifactSetContent, verifyResourceContent } from '../content-digest.js';
import { decodeDescriptor } from '../descriptor/decode.js';
import { encodeDescriptor } from '../descriptor/encode.js';
import { type Identity, identityOf } from '../descriptor/identity.js';
import { DescriptorMediaType } from '../descriptor/media-types.js';
import {
  type ComponentDescriptor,
  type DigestSpec,
  genericBlobDigest,
  type LocalBlobAccess,
  localBlobAccess,
} from '../descriptor/model.js';
import { tagTakenError, tagToVersion, versionToTag } from '../descriptor/version-tag.js';
import { MaxDescriptorBytes } from '../descriptor/yaml-expansion.js';
import { locateError } from '../located-error.js';
import { gunzipResource } from '../resource-extraction.js';
import { isAccessType } from '../types.js';
import {
  artifactAnnotation,
  componentRepository,
  DescriptorRepositoryPrefix,
  encodeComponentConfig,
  isComponentConfigType,
  isOciLayoutBlob,
  isOciManifestType,
  OcmAnnotation,
  OcmMediaType,
  platformFromIdentity,
  versionAnnotations,
} from './mapping.js';

/** Content for a local blob: streamed, re-openable; digest and size when the producer knows them. */
export interface LocalBlob {
  /** The blob's media type (an OCI layout tar's is unpacked into native OCI manifests). */
  mediaType: string;
  /** `sha256:<hex>` of the bytes, when known (otherwise the bytes are staged and hashed first). */
  digest?: string;
  /** The size in bytes, when known. */
  size?: number;
  /** A new stream of the bytes from the start, each time it is called. */
  open(): Readable | Promise<Readable>;
  /** The bytes themselves, when they are in memory (with `digest` and `size`): stored without a stream. */
  bytes?: Uint8Array;
  /** The folder the bytes are a plain tar of, if so: an OCI layout there is read directly. */
  directory?: string;
}

/** What adding an existing component version does: fail (the default), skip it, or replace it. */
export type ConflictPolicy = 'abort-and-fail' | 'skip' | 'replace';

/** Options of a {@link ComponentVersionRepository}. */
export interface ComponentRepositoryOptions {
  /** Written into `software.ocm.creator`. */
  creator?: string;
  /** Media type of the stored descriptor (upstream's default: JSON). */
  descriptorMediaType?: string;
  /** Scratch folder for staging blobs of unknown digest and OCI layouts. */
  tempDir?: string;
  /**
   * Where the repository is (`./transport-archive`, `http://127.0.0.1:5000/sub`), named by the
   * errors that say a version or a component is not there; {@link openComponentRepository} sets it.
   */
  location?: string;
}

/** A component version as stored: its descriptor and the manifests and layers that hold it. */
export interface StoredVersion {
  /** The component descriptor. */
  descriptor: ComponentDescriptor;
  /** The manifest or index the version tag points at. */
  root: Descriptor;
  /** The descriptor manifest (the first entry of the index in the index form). */
  manifest: Descriptor;
  /** Layers of the descriptor manifest, by digest: where local blobs of this version live. */
  layers: Map<string, Descriptor>;
}

/** Counts and hashes a stream passing through. */
class Meter extends Transform {
  readonly hash = createDigester('sha256');
  size = 0;
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback) {
    this.size += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }
}

function isLocalBlob(access: { type: string }): access is LocalBlobAccess {
  return isAccessType(access.type, 'LocalBlob/v1');
}

/**
 * Component versions in any OCI store, written once over a TargetResolver so that a CTF archive
 * and a registry behave the same. The layout follows upstream OCM v2: repository
 * `component-descriptors/<name>`, tag = version (`+` → `.build-`), a manifest whose config points
 * at the descriptor layer and whose other layers are the local blobs; with OCI-native artifacts
 * among the local blobs, an index whose first entry is that manifest.
 */
export class ComponentVersionRepository {
  /** The stores of the repository's OCI repositories (one per component). */
  readonly resolver: TargetResolver;
  /** The options the repository was created with. */
  readonly options: ComponentRepositoryOptions;
  /** Local blobs added in this session, by component and digest: their size and media type. */
  readonly #pending = new Map<string, Map<string, Descriptor>>();

  /**
   * Component versions over the stores `resolver` yields (a CTF archive's, a registry's); {@link
   * openComponentRepository} makes one from a repository reference.
   */
  constructor(resolver: TargetResolver, options: ComponentRepositoryOptions = {}) {
    this.resolver = resolver;
    this.options = options;
  }

  /** The store a component's versions live in (its OCI repository `component-descriptors/<name>`). */
  target(component: string, o?: Op): Promise<Target> {
    return this.resolver.targetFor(componentRepository(component), o);
  }

  #remember(component: string, desc: Descriptor): void {
    let map = this.#pending.get(component);
    if (!map) {
      map = new Map();
      this.#pending.set(component, map);
    }
    map.set(desc.digest, desc);
  }

  /**
   * Stores a local blob for `component` and returns the access and digest to record in the
   * descriptor. An OCI image layout (`…oci.layout.v1+tar[+gzip]`) is unpacked instead: its graph
   * lands as native OCI manifests, and the access names the top manifest.
   */
  async addLocalBlob(
    component: string,
    blob: LocalBlob,
    options: { referenceName?: string; signal?: AbortSignal } = {},
  ): Promise<{
    /** The `LocalBlob/v1` access to record in the resource. */
    access: LocalBlobAccess;
    /** The resource digest to record (of the blob's bytes, or of an artifact's manifest). */
    digest: DigestSpec;
  }> {
    const target = await this.target(component);
    const o: Op = options.signal ? { signal: options.signal } : {};
    if (isOciLayoutBlob(blob.mediaType)) return this.#addLayout(component, target, blob, options);
    let desc: Descriptor;
    if (blob.digest !== undefined && blob.size !== undefined) {
      desc = { mediaType: blob.mediaType || MediaType.OctetStream, digest: blob.digest, size: blob.size };
      // Bytes in memory are written (or sent) in one call, checked against the digest as they go.
      const bytes = blob.bytes;
      await pushIfAbsent(target, desc, bytes ?? (() => blob.open()), o);
    } else if (hasIngest(target)) {
      // Hashed as it is written: one pass over the bytes.
      desc = await target.ingest(blob.mediaType || MediaType.OctetStream, await blob.open(), o);
    } else {
      desc = await this.#stageAndPush(target, blob, o);
    }
    this.#remember(component, desc);
    return {
      access: localBlobAccess({
        localReference: desc.digest,
        mediaType: blob.mediaType,
        ...(options.referenceName ? { referenceName: options.referenceName } : {}),
      }),
      digest: genericBlobDigest(desc.digest),
    };
  }

  /**
   * Whether {@link addLocalBlob} stores a blob of unknown digest and size for `component` in one
   * pass, hashing it as it writes (a CTF does); elsewhere such a blob is staged in a temp file.
   */
  async storesUnmeasuredBlobs(component: string): Promise<boolean> {
    return hasIngest(await this.target(component));
  }

  /** A blob of unknown digest goes to a temp file first (hashing as it is written), then up. */
  async #stageAndPush(target: Target, blob: LocalBlob, o: Op): Promise<Descriptor> {
    const dir = await makeTempFolder('lading-blob-', this.options.tempDir);
    try {
      const file = join(dir, 'blob');
      const meter = new Meter();
      await pipeline(await blob.open(), meter, createWriteStream(file, { flags: 'wx' }));
      const desc: Descriptor = {
        mediaType: blob.mediaType || MediaType.OctetStream,
        digest: `sha256:${meter.hash.digest('hex')}`,
        size: meter.size,
      };
      await pushIfAbsent(target, desc, () => createReadStream(file, { highWaterMark: 1 << 20 }), o);
      return desc;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #addLayout(
    component: string,
    target: Target,
    blob: LocalBlob,
    options: { referenceName?: string; signal?: AbortSignal },
  ): Promise<{ access: LocalBlobAccess; digest: DigestSpec }> {
    if (blob.directory) {
      const layout = await OciLayout.open(blob.directory);
      return this.#storeLayout(component, target, layout, blob.directory, options);
    }
    const dir = await makeTempFolder('lading-layout-', this.options.tempDir);
    try {
      // Random access needs a plain tar on disk; gzip is recognised by its magic, as upstream does.
      const file = join(dir, 'layout.tar');
      const source = await blob.open();
      const first = await peek(source, 2);
      const gz = first.length === 2 && first[0] === 0x1f && first[1] === 0x8b;
      // Bounded as every gzip from elsewhere is (a bomb stops at its ratio, not at a full disk).
      if (gz)
        await pipeline(
          gunzipResource(source, `${component}: the OCI layout`),
          createWriteStream(file, { flags: 'wx' }),
        );
      else await pipeline(source, createWriteStream(file, { flags: 'wx' }));
      // The scratch copy's path means nothing to the user: errors name what it is a copy of.
      const named = 'the OCI layout tar';
      return await OciLayout.open(file)
        .then((layout) => this.#storeLayout(component, target, layout, named, options))
        .catch((error: unknown) => {
          if (!isLadingError(error) || !error.message.includes(file)) throw error;
          throw new LadingError(error.code, error.message.replaceAll(file, named), { cause: error });
        });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async #storeLayout(
    component: string,
    target: Target,
    layout: OciLayout,
    where: string,
    options: { referenceName?: string; signal?: AbortSignal },
  ): Promise<{ access: LocalBlobAccess; digest: DigestSpec }> {
    const top = await topLevelDescriptor(layout, where);
    await copyGraph(layout, target, top, { ...(options.signal ? { signal: options.signal } : {}) });
    const desc: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.size };
    this.#remember(component, desc);
    return {
      access: localBlobAccess({
        localReference: top.digest,
        mediaType: top.mediaType,
        ...(options.referenceName ? { referenceName: options.referenceName } : {}),
      }),
      digest: genericBlobDigest(top.digest),
    };
  }

  /** Stores the descriptor and the manifest (or index) that ties the version together, then tags it. */
  async addComponentVersion(
    descriptor: ComponentDescriptor,
    options: {
      conflictPolicy?: ConflictPolicy;
      blobs?: readonly Descriptor[];
      signal?: AbortSignal;
      /**
       * Names a resource or source (by its index in the descriptor) in front of an error about
       * its local blob; a constructor gives the file, the line and the field.
       */
      where?: (kind: 'resource' | 'source', index: number) => string;
    } = {},
  ): Promise<{
    /** `added`; `skipped` or `replaced` (an existing version, by the conflict policy); `unchanged` (stored already, the same). */
    result: 'added' | 'skipped' | 'replaced' | 'unchanged';
    /** The manifest or index the version tag points at. */
    root: Descriptor;
  }> {
    const { name, version } = descriptor.component;
    const target = await this.target(name);
    const o: Op = options.signal ? { signal: options.signal } : {};
    const tag = versionToTag(version);
    const existing = await target.resolve(tag, o).catch((error) => {
      if (isLadingError(error, 'NOT_FOUND')) return undefined;
      throw error;
    });
    const policy = options.conflictPolicy ?? 'abort-and-fail';
    // Another version under the same tag is no conflict a policy settles: replacing it would
    // destroy a version that was not asked for.
    const stored = existing && (await this.#versionAt(target, existing, name, version, o));
    if (stored !== undefined && stored !== version) throw tagTakenError(name, version, stored);
    if (existing && policy === 'abort-and-fail') {
      throw new LadingError('ALREADY_EXISTS', `component version ${name}:${version} already exists`, {
        hint: { key: 'conflictPolicy', text: "conflictPolicy 'skip' or 'replace' allows it" },
      });
    }
    if (existing && policy === 'skip') return { result: 'skipped', root: existing };

    const known = new Map(this.#pending.get(name) ?? []);
    for (const b of options.blobs ?? []) known.set(b.digest, b);
    const layers: Descriptor[] = [];
    const manifests: Descriptor[] = [];
    const elements: {
      access: LocalBlobAccess;
      identity: Identity;
      kind: 'resource' | 'source';
      index: number;
      extra?: Record<string, string>;
    }[] = [];
    for (const [index, r] of (descriptor.component.resources ?? []).entries()) {
      if (isLocalBlob(r.access))
        elements.push({
          access: r.access,
          identity: identityOf(r),
          kind: 'resource',
          index,
          ...(r.extraIdentity ? { extra: r.extraIdentity } : {}),
        });
    }
    for (const [index, s] of (descriptor.component.sources ?? []).entries()) {
      if (isLocalBlob(s.access))
        elements.push({
          access: s.access,
          identity: identityOf(s),
          kind: 'source',
          index,
          ...(s.extraIdentity ? { extra: s.extraIdentity } : {}),
        });
    }
    for (const e of elements) {
      const digest = e.access.localReference;
      const platform = platformFromIdentity(e.extra);
      const annotations = { [OcmAnnotation.Artifact]: artifactAnnotation(e.identity, e.kind) };
      const where = options.where?.(e.kind, e.index);
      if (isOciManifestType(e.access.mediaType)) {
        const top =
          known.get(digest) ??
          (await target.resolve(digest, o).catch((error: unknown) => {
            throw where ? locateError(error, where) : error;
          }));
        manifests.push({
          mediaType: top.mediaType,
          digest,
          size: top.size,
          annotations,
          ...(platform ? { platform } : {}),
        });
        continue;
      }
      const blob = known.get(digest);
      if (!blob) {
        throw new LadingError(
          'NOT_FOUND',
          `${where ?? `${name}:${version}`}: local blob ${digest} of ${e.kind} ${JSON.stringify(e.identity)} was not added to this repository`,
        );
      }
      layers.push({
        mediaType: e.access.mediaType || MediaType.OctetStream,
        digest,
        size: blob.size,
        annotations,
        ...(platform ? { platform } : {}),
      });
    }

    const descriptorMediaType = this.options.descriptorMediaType ?? DescriptorMediaType.Json;
    const descriptorBytes = encodeWithinLimit(descriptor, descriptorMediaType);
    // The config names the descriptor layer by its digest, known before either is stored: both go
    // up at once (on a registry, one HEAD, POST and PUT's worth of waiting, not two).
    const descriptorLayer: Descriptor = {
      mediaType: descriptorMediaType,
      digest: digestBytes(descriptorBytes),
      size: descriptorBytes.byteLength,
    };
    // Both settle before a failure is reported: nothing is still being written when the caller cleans up.
    const [layerPushed, configured] = await Promise.allSettled([
      pushBytes(target, descriptorBytes, descriptorMediaType, o),
      pushBytes(target, encodeComponentConfig(descriptorLayer), OcmMediaType.ComponentConfig, o),
    ]);
    if (layerPushed.status === 'rejected') throw layerPushed.reason;
    if (configured.status === 'rejected') throw configured.reason;
    const config = configured.value;
    const annotations = versionAnnotations(
      name,
      version,
      this.options.creator ? { creator: this.options.creator } : {},
    );
    const manifestBytes = encodeManifest({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: OcmMediaType.ArtifactType,
      config,
      layers: [descriptorLayer, ...layers],
      annotations,
    });
    // A manifest an index names is stored before the index; one that is the root itself is stored
    // by the PUT of its tag below (a HEAD and a PUT by digest first would be two round trips more).
    const manifest =
      manifests.length > 0 || !hasPushReference(target)
        ? await pushBytes(target, manifestBytes, MediaType.ImageManifest, o)
        : { mediaType: MediaType.ImageManifest, digest: digestBytes(manifestBytes), size: manifestBytes.length };
    let root: Descriptor = manifest;
    let rootBytes: Uint8Array = manifestBytes;
    if (manifests.length > 0) {
      rootBytes = Buffer.from(
        encodeIndex({
          schemaVersion: 2,
          mediaType: MediaType.ImageIndex,
          manifests: [{ ...manifest, artifactType: OcmMediaType.ArtifactType, annotations }, ...manifests],
          annotations: versionAnnotations(name, version, {
            ...(this.options.creator ? { creator: this.options.creator } : {}),
            index: true,
          }),
        }),
      );
      root = { mediaType: MediaType.ImageIndex, digest: digestBytes(rootBytes), size: rootBytes.length };
    }
    if (existing && existing.digest === root.digest) return { result: 'unchanged', root };
    // The tag goes last: a reader never sees a version whose content is incomplete.
    if (hasPushReference(target)) {
      await target.pushReference(root, rootBytes, tag, o);
    } else {
      await pushIfAbsent(target, root, rootBytes, o);
      await target.tag(root, tag, o);
    }
    return { result: existing ? 'replaced' : 'added', root };
  }

  /** Whether the repository holds `name` in `version` (not another version stored under its tag). */
  async hasComponentVersion(name: string, version: string, o: Op = {}): Promise<boolean> {
    return (await this.storedVersionAtTag(name, version, o)) === version;
  }

  /**
   * The version stored under the tag `version` is stored under, undefined when there is none.
   * Two versions can share a tag (`1.0.0-rc+x` and `1.0.0-rc.build-x` are both tagged
   * `1.0.0-rc.build-x`): where they can, the stored one is read from the version annotation of the
   * tagged manifest or index, or else from its descriptor; a tag no version but `version` itself
   * maps to is taken to hold it.
   *
   * @internal For `add cv`'s check before its inputs run; {@link hasComponentVersion} is the API.
   */
  async storedVersionAtTag(name: string, version: string, o: Op = {}): Promise<string | undefined> {
    const target = await this.target(name, o);
    const root = await target.resolve(versionToTag(version), o).catch((error: unknown) => {
      if (isLadingError(error, 'NOT_FOUND')) return undefined;
      throw error;
    });
    return root && this.#versionAt(target, root, name, version, o);
  }

  /** The version stored at `root`, the manifest or index `version`'s tag resolved to. */
  async #versionAt(target: Target, root: Descriptor, name: string, version: string, o: Op): Promise<string> {
    // Only a tag with `.build-` in it is made from more than one version.
    if (!versionToTag(version).includes('.build-')) return version;
    const ref = `${componentRepository(name)}:${versionToTag(version)}`;
    const node = parseNode(await fetchAll(target, root, o), root.mediaType, ref);
    const annotations =
      node.kind === 'manifest' ? node.manifest.annotations : node.kind === 'index' ? node.index.annotations : undefined;
    const annotated = annotations?.[OcmAnnotation.ComponentVersion];
    if (annotated?.startsWith(`${name}:`)) return annotated.slice(name.length + 1);
    // Written by a tool that does not annotate: the descriptor says. One that cannot be read is
    // taken to be the version asked for, as the tag says (reading it will tell what is wrong).
    return this.#readVersionAt(target, root, ref, o).then(
      (stored) => stored.descriptor.component.version,
      () => version,
    );
  }

  /** Reads a version: tag → manifest (or index → its first manifest) → config → descriptor layer. */
  async getComponentVersion(name: string, version: string, o: Op = {}): Promise<StoredVersion> {
    const target = await this.target(name, o);
    const ref = `${componentRepository(name)}:${version}`;
    let root: Descriptor;
    let rootBytes: Buffer | undefined;
    try {
      // A registry answers the tag with the manifest itself: one GET, not a HEAD and a GET.
      if (hasReferenceFetcher(target))
        ({ desc: root, bytes: rootBytes } = await fetchReference(target, versionToTag(version), o));
      else root = await target.resolve(versionToTag(version), o);
    } catch (error) {
      if (isLadingError(error, 'NOT_FOUND')) {
        const where = this.options.location ? ` in ${this.options.location}` : '';
        throw new LadingError('NOT_FOUND', `component version ${name}:${version} not found${where}`, { cause: error });
      }
      throw error;
    }
    const { descriptor, manifest: manifestDesc, layers } = await this.#readVersionAt(target, root, ref, o, rootBytes);
    // Tags and indexes are the repository's word, the descriptor is what signatures cover: a
    // version stored under another name or version would be served, transferred and verified as
    // what the reference says, so the two must agree (names are pattern-checked by now).
    const found = descriptor.component;
    if (found.name !== name || found.version !== version) {
      throw new LadingError(
        'INVALID_DESCRIPTOR',
        `component version ${name}:${version}: the descriptor stored under it is of ${found.name}:${found.version}`,
      );
    }
    return { descriptor, root, manifest: manifestDesc, layers };
  }

  /** The descriptor under `root` (a version's manifest, or the index whose first entry it is), as stored. */
  async #readVersionAt(
    target: Target,
    root: Descriptor,
    ref: string,
    o: Op,
    /** The root's bytes where the caller has them (read with the tag, checked against `root`). */
    rootBytes?: Buffer,
  ): Promise<Pick<StoredVersion, 'descriptor' | 'manifest' | 'layers'>> {
    let manifestDesc = root;
    if (root.mediaType === MediaType.ImageIndex) {
      const index = parseNode(rootBytes ?? (await fetchAll(target, root, o)), root.mediaType, ref);
      const first = index.kind === 'index' ? index.index.manifests[0] : undefined;
      if (!first || first.mediaType !== MediaType.ImageManifest) {
        throw new LadingError(
          'INVALID_MANIFEST',
          `${ref}: the first entry of the index is not the descriptor manifest`,
        );
      }
      manifestDesc = first;
    }
    const manifestBytes = manifestDesc === root && rootBytes ? rootBytes : await fetchAll(target, manifestDesc, o);
    const node = parseNode(manifestBytes, manifestDesc.mediaType, ref);
    if (node.kind !== 'manifest') throw new LadingError('INVALID_MANIFEST', `${ref}: not an OCI image manifest`);
    const manifest = node.manifest;
    if (!isComponentConfigType(manifest.config.mediaType)) {
      throw new LadingError(
        'INVALID_MANIFEST',
        `${ref}: config ${manifest.config.mediaType} is not an OCM component config`,
      );
    }
    // The config and the layer it names are checked like any manifest content: never trusted.
    const config = parseJson(await fetchAll(target, manifest.config, o), `${ref}: config`);
    if (config !== null && (typeof config !== 'object' || Array.isArray(config))) {
      throw new LadingError('INVALID_MANIFEST', `${ref}: config: must be a JSON object`);
    }
    const named = (config as { componentDescriptorLayer?: unknown } | null)?.componentDescriptorLayer;
    const layerDesc =
      named === undefined || named === null
        ? manifest.layers[0]
        : checkDescriptor(named, `${ref}: config componentDescriptorLayer`);
    if (!layerDesc) throw new LadingError('INVALID_MANIFEST', `${ref}: no component descriptor layer`);
    const bytes = await fetchAll(target, layerDesc, { ...o, limit: MaxDescriptorBytes });
    // The descriptor must be part of the manifest: a config naming another blob of the repository
    // would make lading read one descriptor while OCI tools copy and pin another.
    if (!manifest.layers.some((l) => l.digest === layerDesc.digest)) {
      throw new LadingError(
        'INVALID_MANIFEST',
        `${ref}: the config names the descriptor layer ${layerDesc.digest}, which is not a layer of the manifest`,
      );
    }
    const descriptor = decodeDescriptor(bytes, layerDesc.mediaType, `${ref} (${layerDesc.digest})`);
    return {
      descriptor,
      manifest: manifestDesc,
      layers: new Map(manifest.layers.slice(1).map((l) => [l.digest, l])),
    };
  }

  /**
   * The names of the components the repository holds, sorted: its OCI repositories under
   * `component-descriptors/`. UNSUPPORTED where the store cannot list them (a registry without
   * the catalog API).
   */
  async listComponents(o: Op = {}): Promise<string[]> {
    const pages = this.resolver.repositories?.(o);
    if (!pages) throw new LadingError('UNSUPPORTED', 'this repository cannot list its components');
    const prefix = `${DescriptorRepositoryPrefix}/`;
    const names: string[] = [];
    for await (const page of pages) for (const r of page) if (r.startsWith(prefix)) names.push(r.slice(prefix.length));
    return names.sort();
  }

  /**
   * The versions of a component, from the version annotation of each tagged manifest (the tag of a
   * component-config manifest without one, as upstream). A registry that does not know the
   * component's repository (its tag list answers 404) holds no versions: `[]`, or with
   * `missingRepository: 'error'` NOT_FOUND, as upstream's listing fails there. A repository the
   * registry lists with no tags (`tags: []` or `null`) is `[]` either way.
   */
  async listComponentVersions(name: string, o: Op & { missingRepository?: 'empty' | 'error' } = {}): Promise<string[]> {
    const { missingRepository = 'empty', ...op } = o;
    const target = await this.target(name, op);
    if (!hasTags(target)) throw new LadingError('UNSUPPORTED', `${componentRepository(name)}: cannot list tags`);
    const tags: string[] = [];
    try {
      for await (const page of target.tags(op)) tags.push(...page);
    } catch (error) {
      if (!isLadingError(error, 'NOT_FOUND')) throw error;
      if (missingRepository === 'empty') return [];
      const where = this.options.location ? `${this.options.location}: ` : '';
      throw new LadingError(
        'NOT_FOUND',
        `${where}no versions of ${name}: the registry has no repository ${componentRepository(name)}`,
        { cause: error },
      );
    }
    const versions = new Set<string>();
    for (const tag of tags) {
      if (/^sha(256|512)-[0-9a-f]+$/.test(tag)) continue; // referrers fallback indexes
      const root = await target.resolve(tag, op);
      if (root.mediaType !== MediaType.ImageManifest && root.mediaType !== MediaType.ImageIndex) continue;
      const node = parseNode(await fetchAll(target, root, op), root.mediaType, tag);
      const annotations =
        node.kind === 'manifest'
          ? node.manifest.annotations
          : node.kind === 'index'
            ? node.index.annotations
            : undefined;
      const value = annotations?.[OcmAnnotation.ComponentVersion];
      if (value === undefined) {
        // Written before the annotation existed (older OCM, component-cli): a manifest whose config
        // is a component config is a version under its tag, as upstream lists it.
        if (node.kind === 'manifest' && isComponentConfigType(node.manifest.config.mediaType)) {
          versions.add(tagToVersion(tag));
        }
        continue;
      }
      if (!value.startsWith(`${name}:`)) continue;
      versions.add(value.slice(name.length + 1));
    }
    return [...versions];
  }

  /**
   * What a local reference of a stored version names: the blob (a layer of the version's
   * manifest) or the top manifest of an OCI artifact stored natively. Before anything reads it,
   * it is checked against the digest of every resource that points at it: the access is not
   * covered by signatures, the digest is, so a local reference swapped for other content is
   * caught here (DIGEST_MISMATCH), not delivered.
   */
  async localContent(
    stored: StoredVersion,
    access: LocalBlobAccess,
    o: Op = {},
  ): Promise<{
    /** The store of the component's repository. */
    target: Target;
    /** The blob, or the top manifest of the artifact. */
    desc: Descriptor;
    /** Whether it is an OCI artifact stored natively (a graph) rather than one blob. */
    artifact: boolean;
  }> {
    const { name, version } = stored.descriptor.component;
    const target = await this.target(name, o);
    const artifact = isOciManifestType(access.mediaType);
    let desc: Descriptor;
    if (artifact) {
      desc = await target.resolve(access.localReference, o);
      // A store that knows the digest but not what it is (a CTF whose index lost the entry answers
      // application/octet-stream) would have the artifact read as one blob, its layers never
      // copied nor checked: the access says it is a manifest, and it is read as one.
      if (!isManifestMediaType(desc.mediaType)) desc = { ...desc, mediaType: access.mediaType };
    } else {
      const layer = stored.layers.get(access.localReference);
      if (!layer) {
        throw new LadingError(
          'NOT_FOUND',
          `${name}:${version}: local blob ${access.localReference} is not in the version's manifest`,
        );
      }
      desc = layer;
    }
    for (const r of stored.descriptor.component.resources ?? []) {
      if (!isLocalBlob(r.access) || r.access.localReference !== access.localReference) continue;
      const where = `${name}:${version}`;
      if (!artifact && isArtifactSetMediaType(access.mediaType)) {
        await verifyArtifactSetContent(r, desc, target, { ...o, where });
      } else {
        await verifyResourceContent(r, desc, artifact ? 'artifact' : 'blob', target, { ...o, where });
      }
    }
    return { target, desc, artifact };
  }

  /**
   * A local blob of a stored version as a stream: its bytes, verified against the blob's digest as
   * they are read (a wrong byte ends the stream with an error), after the resource's own digest was
   * checked as localContent says. The caller consumes or destroys the stream. An OCI artifact
   * stored natively is a graph, not one stream: copy it from `localContent(…).target` or write it
   * as a layout tar with {@link ComponentVersionRepository.writeLocalBlob}.
   */
  async openLocalBlob(
    stored: StoredVersion,
    access: LocalBlobAccess,
    options: { signal?: AbortSignal } = {},
  ): Promise<{
    /** The blob's media type, as the access records it. */
    mediaType: string;
    /** The blob's size in bytes. */
    size: number;
    /** The bytes, verified as they are read; consume or destroy it. */
    stream: Readable;
  }> {
    const o: Op = options.signal ? { signal: options.signal } : {};
    const { target, desc, artifact } = await this.localContent(stored, access, o);
    if (artifact) {
      const { name, version } = stored.descriptor.component;
      throw new LadingError(
        'UNSUPPORTED',
        `${name}:${version}: local blob ${access.localReference} is an OCI artifact, not one stream; copy it from localContent().target or write it with writeLocalBlob`,
      );
    }
    return { mediaType: access.mediaType, size: desc.size, stream: await target.fetch(desc, o) };
  }

  /**
   * Writes a local blob of a stored version to `out`, checked as localContent says. An OCI
   * artifact stored natively comes out as an OCI image layout tar (tagged with `layoutTag`),
   * which any OCI tool reads.
   */
  async writeLocalBlob(
    stored: StoredVersion,
    access: LocalBlobAccess,
    out: string,
    options: { layoutTag?: string; signal?: AbortSignal } = {},
  ): Promise<{
    /** The media type of what was written (the layout tar's for an artifact). */
    mediaType: string;
    /** The bytes written, for a blob. */
    size?: number;
  }> {
    const signal = options.signal;
    const o: Op = signal ? { signal } : {};
    return cancellable(signal, async () => {
      const { target, desc, artifact } = await this.localContent(stored, access, o);
      if (artifact) {
        await writeLayoutTar(target, desc, out, options.layoutTag, o);
        return { mediaType: OcmMediaType.OciLayoutTar };
      }
      const stream = await target.fetch(desc, o);
      const tmp = tempPathFor(out);
      try {
        // The signal stops the write half way; the temp file goes with it.
        await pipeline(stream, createWriteStream(tmp, { flags: 'wx' }), signal ? { signal } : {});
        throwIfAborted(signal);
        await rename(tmp, out);
      } catch (error) {
        stream.destroy();
        await rm(tmp, { force: true });
        throw error;
      }
      return { mediaType: access.mediaType, size: desc.size };
    });
  }
}

async function pushBytes(target: Target, bytes: Uint8Array, mediaType: string, o: Op): Promise<Descriptor> {
  const desc: Descriptor = { mediaType, digest: digestBytes(bytes), size: bytes.byteLength };
  await pushIfAbsent(target, desc, bytes, o);
  return desc;
}

/** Reads the first bytes of a stream and puts them back. */
async function peek(stream: Readable, n: number): Promise<Buffer> {
  for (;;) {
    const chunk = stream.read() as Buffer | null;
    if (chunk) {
      stream.unshift(chunk);
      return chunk.subarray(0, n);
    }
    if (stream.readableEnded) return Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        stream.off('readable', done);
        stream.off('end', done);
        stream.off('error', fail);
        resolve();
      };
      const fail = (e: Error) => {
        stream.off('readable', done);
        stream.off('end', done);
        reject(e);
      };
      stream.once('readable', done);
      stream.once('end', done);
      stream.once('error', fail);
    });
  }
}

/** Upstream's choice of the artifact in a layout: the only index.json entry, or the only tagged one. */
async function topLevelDescriptor(layout: OciLayout, where: string): Promise<Descriptor> {
  const manifests = layout.manifests();
  const tags: string[] = [];
  for await (const page of layout.tags()) tags.push(...page);
  if (manifests.length === 1) return manifests[0] as Descriptor;
  if (tags.length === 1) return layout.resolve(tags[0] as string);
  throw new LadingError(
    'INVALID_ARCHIVE',
    `${where}: the OCI layout must name exactly one artifact (one index.json entry, or one tagged entry); it has ${manifests.length} entries and ${tags.length} tags`,
  );
}

/**
 * Writes the graph under `top` as an OCI image layout tar, streaming every blob from `target`: a
 * graph copy into the layout tar writer, which lists `top` (tagged `tag`, if given) in index.json.
 */
export async function writeLayoutTar(
  target: Target,
  top: Descriptor,
  out: string,
  tag: string | undefined,
  o: Op = {},
): Promise<void> {
  const tar = await LayoutTarWriter.create(out);
  try {
    await copyGraph(target, tar, top, { concurrency: 1, ...(o.signal ? { signal: o.signal } : {}) });
    await tar.tag(plainDescriptor(top), tag ?? top.digest);
    await tar.finish();
  } catch (error) {
    await tar.abort();
    throw error;
  }
}

/**
 * The stored form of a descriptor, refused when it is larger than a descriptor may be read
 * (`getComponentVersion`): a version stored anyway could never be read back.
 */
function encodeWithinLimit(descriptor: ComponentDescriptor, mediaType: string): Uint8Array {
  const { name, version } = descriptor.component;
  const tooLarge = (size: string) =>
    new LadingError(
      'SIZE_EXCEEDS_LIMIT',
      `component version ${name}:${version}: the descriptor is ${size} bytes, over the ${MaxDescriptorBytes}-byte limit of a descriptor that can be read back`,
    );
  let bytes: Uint8Array;
  try {
    bytes = encodeDescriptor(descriptor, mediaType);
  } catch (error) {
    // V8's "Invalid string length": the encoded text would not even fit in a string.
    if (error instanceof RangeError && /string length/i.test(error.message)) throw tooLarge('more than 500 million');
    throw error;
  }
  if (bytes.byteLength > MaxDescriptorBytes) throw tooLarge(String(bytes.byteLength));
  return bytes;
}
