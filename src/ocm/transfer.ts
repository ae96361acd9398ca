import pLimit from 'p-limit';
import type { Op, ReadOnlyTarget, Target } from '../content/index.js';
import { type CopyGraphOptions, copyGraph } from '../copy/index.js';
import { cancellable, type Descriptor, LadingError, parseReference } from '../oci/index.js';
import { accessReference, type PlainHttpPolicy } from './access-transport.js';
import { verifyResourceContent } from './content-digest.js';
import { identityOf } from './descriptor/identity.js';
import type { ComponentDescriptor, LocalBlobAccess, Resource, Source, TypedSpec } from './descriptor/model.js';
import { localBlobAccess } from './descriptor/model.js';
import { cloneDescriptor } from './descriptor/null-lists.js';
import { helmAccessArtifact } from './helm-access.js';
import type { HelmFetchOptions } from './input/helm-remote.js';
import type { RepositorySpec } from './reference.js';
import { isOciManifestType, refuseComponentStore } from './repository/mapping.js';
import type { ComponentVersionRepository, StoredVersion } from './repository/repository.js';
import type { ComponentVersionLocator, LocatedVersion } from './resolving-reader.js';
import { verifyReferenceDigest } from './signing/reference-digest.js';
import { AccessType, isAccessType } from './types.js';

/** Where an `OCIImage/v1` reference can be read from (the caller brings credentials and TLS). */
export type ImageSource = (imageReference: string) => Promise<{
  /** The store the image is read from. */
  target: ReadOnlyTarget;
  /** Its tag or digest there. */
  reference: string;
}>;

/**
 * An `OCIImage/v1` resource to copy by value with no {@link TransferOptions.imageSource}: the hint
 * names the option that would let it be read.
 */
export function noImageSource(where: string): LadingError {
  return new LadingError('UNSUPPORTED', `${where}: no way to read OCI images configured`, {
    hint: { key: 'imageSource', text: 'give imageSource, which opens an image reference as a target to read it from' },
  });
}

/**
 * The access type of an artifact copied beside the component (`uploadAs: 'ociArtifact'`): upstream
 * writes OCIImage/v1's legacy name there, as the option says.
 */
export const StandaloneAccessType = 'ociArtifact/v1';

/** Where `uploadAs: 'ociArtifact'` puts a standalone artifact in the target registry. */
export type ArtifactDestination = (referenceName: string) => Promise<{
  /** The store the artifact is copied to. */
  target: Target;
  /** Its tag there. */
  reference: string;
  /** The reference the descriptor's new access records. */
  imageReference: string;
}>;

/** What a transfer does with an element: copy its local blob, copy an image or chart by value, or keep its access. */
export type TransferAction = 'copy-local' | 'copy-image' | 'copy-helm' | 'keep';

/** One resource or source in a {@link PlannedComponent}: what the transfer does with it. */
export interface PlannedElement {
  /** A resource or a source. */
  kind: 'resource' | 'source';
  /** Its name. */
  name: string;
  /** Its identity. */
  identity: Record<string, string>;
  /** Its access type. */
  accessType: string;
  /** What the transfer does with it. */
  action: TransferAction;
  /** How copied content lands in the target (`uploadAs`). */
  uploadAs: 'localBlob' | 'ociArtifact';
}

/** What {@link transferComponentVersion} planned for one component version. */
export interface PlannedComponent {
  /** The component's name. */
  name: string;
  /** Its version. */
  version: string;
  /** Its resources and sources, each with its action. */
  elements: PlannedElement[];
}

/** Progress of {@link transferComponentVersion}: one event per component version and element. */
export interface TransferEvent {
  /** The component version's name. */
  component: string;
  /** Its version. */
  version: string;
  /** What the event is about: a resource's or a source's content, or the component version itself (as in {@link ConstructEvent}). */
  kind: 'resource' | 'source' | 'component';
  /** The resource's or source's name; absent for the version itself. */
  name?: string;
  /** The same as `name` (kept for callers written before `name` and `kind`). */
  element?: string;
  /**
   * For content: `copying`, `copied`, `exists` (the target had it) or `mounted`; for the version: `added`, `replaced`
   * or `unchanged`.
   */
  status: 'copying' | 'copied' | 'exists' | 'mounted' | 'added' | 'replaced' | 'unchanged';
  /** The blob or manifest moved. */
  desc?: Descriptor;
}

/**
 * Options of {@link transferComponentVersion}: what to copy by value, where artifacts go, recursion, dry run,
 * progress.
 */
export interface TransferOptions {
  /** Also copy `OCIImage/v1` and `Helm/v1` resources by value (they become local blobs), not only local blobs. */
  copyResources?: boolean;
  /**
   * How content copied by value lands: as local blobs (default) or as standalone OCI artifacts in the target registry
   * (`artifactDestination`).
   */
  uploadAs?: 'localBlob' | 'ociArtifact';
  /** Follow component references, transferring each referenced version first. */
  recursive?: boolean;
  /**
   * Where versions are read from instead of the source repository alone: with a
   * {@link ResolvingReader} a referenced version the source lacks is found through the OCM
   * configuration's resolvers, and its local blobs are read from the repository that has it.
   */
  locator?: ComponentVersionLocator;
  /** Plan only: nothing is read beyond the descriptors, nothing is written. */
  dryRun?: boolean;
  /** Blob transfers in flight at once. */
  concurrency?: number;
  /** Where `OCIImage/v1` references are read from with `copyResources` (the caller brings credentials and TLS). */
  imageSource?: ImageSource;
  /** How charts of `Helm/v1` accesses are downloaded with `copyResources` (TLS, oci registry options, credentials). */
  helm?: Omit<HelmFetchOptions, 'signal'>;
  /**
   * Hosts an `http://` image reference may be read from over plain HTTP (default: loopback only);
   * any other `http://` reference is refused.
   */
  allowPlainHttp?: PlainHttpPolicy;
  /** Where standalone artifacts go with `uploadAs: ociArtifact`. */
  artifactDestination?: ArtifactDestination;
  /**
   * Cancels the transfer: it rejects with ABORTED, the signal's reason as cause; no version is stored in the target.
   */
  signal?: AbortSignal;
  /** Called as content moves and versions land. */
  onEvent?: (event: TransferEvent) => void;
  /** Called as chunks flow, with the descriptor and that chunk's size in bytes (a delta, not a running total). */
  onProgress?: (desc: Descriptor, bytes: number) => void;
}

/** What {@link transferComponentVersion} planned and wrote. */
export interface TransferResult {
  /** What was planned for each version: each element's action. */
  plan: PlannedComponent[];
  /** The descriptors stored in the target (with dryRun: as they would be), referenced versions first. */
  descriptors: ComponentDescriptor[];
  /**
   * Beside each descriptor: the repository of the resolver it was found through, or undefined
   * when the source repository has it (what a transfer spec names as each version's source).
   */
  sources: (RepositorySpec | undefined)[];
}

/** `repo:tag` of an image reference without its registry: how OCM names an image copied by value. */
export function referenceNameOf(imageReference: string): string {
  // The tag is kept even when a digest pins the reference (`repo:tag@sha256:…` → `repo:tag`).
  const bare = imageReference.replace(/^https?:\/\//, '');
  const withoutDigest = bare.includes('@') ? bare.slice(0, bare.indexOf('@')) : bare;
  parseReference(withoutDigest);
  return withoutDigest.slice(withoutDigest.indexOf('/') + 1);
}

function planElement(
  kind: 'resource' | 'source',
  element: Resource | Source,
  options: TransferOptions,
): PlannedElement {
  const access = element.access;
  let action: TransferAction = 'keep';
  if (isAccessType(access.type, AccessType.LocalBlob)) action = 'copy-local';
  else if (options.copyResources && isAccessType(access.type, AccessType.OCIImage)) action = 'copy-image';
  else if (options.copyResources && isAccessType(access.type, AccessType.Helm)) action = 'copy-helm';
  return {
    kind,
    name: element.name,
    identity: identityOf(element),
    accessType: access.type,
    action,
    uploadAs: options.uploadAs ?? 'localBlob',
  };
}

/** Where one element's content comes from, found and checked before anything is written. */
interface PreparedElement {
  from: ReadOnlyTarget;
  node: Descriptor;
  /** The access the element gets in the target when its content becomes a local blob. */
  localAccess?: LocalBlobAccess;
  /** With `uploadAs: ociArtifact`: the name of the standalone copy; absent when it stays local. */
  standalone?: string;
}

interface ReadVersion {
  component: string;
  version: string;
  stored: StoredVersion;
  located: LocatedVersion;
  planned: PlannedComponent;
  prepared: (PreparedElement | undefined)[];
}

/**
 * Moves a component version (and, recursively, what it references) between two OCM repositories.
 * Local blobs always travel; with `copyResources` OCI images referenced by `OCIImage/v1` are copied
 * by value and become local blobs (or, with `uploadAs: ociArtifact`, standalone artifacts in the
 * target). Everything streams, what the target has is skipped, and the version's manifest lands
 * last. The descriptor keeps creationTime and signatures, so its normalised digest does not change.
 *
 * Every version is read and checked before the first write: that the descriptor is of the version
 * asked for (the repository checks), that a referenced version has the digest its reference
 * records, and that each resource's content matches its digest. A version that fails any check
 * leaves the target as it was.
 */
export function transferComponentVersion(
  src: ComponentVersionRepository,
  dst: ComponentVersionRepository,
  name: string,
  version: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  return cancellable(options.signal, () => transferComponentVersionNow(src, dst, name, version, options));
}

async function transferComponentVersionNow(
  src: ComponentVersionRepository,
  dst: ComponentVersionRepository,
  name: string,
  version: string,
  options: TransferOptions,
): Promise<TransferResult> {
  const result: TransferResult = { plan: [], descriptors: [], sources: [] };
  /** Every version read so far, so that a cycle of references ends (and is checked) like upstream's walk. */
  const seen = new Map<string, ComponentDescriptor>();
  const limit = pLimit(options.concurrency ?? 3);
  const emit = options.onEvent ?? (() => {});
  const o: Op = options.signal ? { signal: options.signal } : {};
  /** Children before parents, each once. */
  const order: ReadVersion[] = [];

  const read = async (component: string, ver: string): Promise<ComponentDescriptor> => {
    const key = `${component}:${ver}`;
    const known = seen.get(key);
    if (known) return known;
    const located: LocatedVersion = options.locator
      ? await options.locator.locate(component, ver, o)
      : { stored: await src.getComponentVersion(component, ver, o), repository: src };
    const stored = located.stored;
    const descriptor = stored.descriptor;
    seen.set(key, descriptor);
    if (options.recursive) {
      for (const ref of descriptor.component.componentReferences ?? []) {
        const child = await read(ref.componentName, ref.version);
        verifyReferenceDigest(ref, child, key);
      }
    }
    const resources = descriptor.component.resources ?? [];
    const sources = descriptor.component.sources ?? [];
    const planned: PlannedComponent = {
      name: component,
      version: ver,
      elements: [
        ...resources.map((r) => planElement('resource', r, options)),
        ...sources.map((s) => ({
          ...planElement('source', s, options),
          ...(s.access && !isAccessType(s.access.type, AccessType.LocalBlob) ? { action: 'keep' as const } : {}),
        })),
      ],
    };
    const elements: (Resource | Source)[] = [...resources, ...sources];
    const prepared = options.dryRun
      ? []
      : await Promise.all(
          elements.map((element, i) =>
            limit(async () => {
              const p = await prepare(
                located.repository,
                stored,
                element,
                planned.elements[i] as PlannedElement,
                key,
                options,
              );
              // Where a standalone copy goes is checked before the first write (the name is the descriptor's).
              if (p?.standalone !== undefined && options.artifactDestination) {
                await standaloneDestination(options.artifactDestination, p.standalone);
              }
              return p;
            }),
          ),
        );
    order.push({ component, version: ver, stored, located, planned, prepared });
    return descriptor;
  };

  await read(name, version);
  for (const v of order) {
    result.plan.push(v.planned);
    result.sources.push(v.located.resolver?.repository);
    if (options.dryRun) {
      result.descriptors.push(v.stored.descriptor);
      continue;
    }
    const { component, version: ver } = v;
    const dstTarget = await dst.target(component);
    const blobs: Descriptor[] = [];
    // Resources of one version often share content (the same image twice, images with common
    // layers): one tracker per target repository moves each blob once.
    const tracker = new Map<string, Promise<void>>();
    // The first element that fails stops the others, and the failure is reported only once every
    // copy has settled: a blob still being written would otherwise land after the caller's rollback.
    const stop = new AbortController();
    const outer = options.signal;
    const stopWithOuter = () => stop.abort(outer?.reason);
    if (outer?.aborted) stopWithOuter();
    else outer?.addEventListener('abort', stopWithOuter, { once: true });
    const copyOptions = (
      element: string,
      kind: 'resource' | 'source',
      into: 'component' | 'elsewhere' = 'component',
    ): CopyGraphOptions => {
      const about = { component, version: ver, kind, name: element, element };
      return {
        ...(into === 'component' ? { tracker } : {}),
        signal: stop.signal,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        preCopy: (desc) => emit({ ...about, status: 'copying', desc }),
        postCopy: (desc) => emit({ ...about, status: 'copied', desc }),
        onSkipped: (desc) => emit({ ...about, status: 'exists', desc }),
        onMounted: (desc) => emit({ ...about, status: 'mounted', desc }),
      };
    };
    const next: ComponentDescriptor = cloneDescriptor(v.stored.descriptor);
    const resourceCount = next.component.resources?.length ?? 0;
    const elements: (Resource | Source)[] = [...(next.component.resources ?? []), ...(next.component.sources ?? [])];
    let failure: { error: unknown } | undefined;
    await Promise.allSettled(
      elements.map((element, i) =>
        limit(async () => {
          const from = v.prepared[i];
          if (!from) return;
          if (from.standalone !== undefined && options.artifactDestination) {
            element.access = await uploadArtifact(
              from.from,
              from.node,
              from.standalone,
              options.artifactDestination,
              copyOptions(element.name, i < resourceCount ? 'resource' : 'source', 'elsewhere'),
            );
            return;
          }
          await copyGraph(
            from.from,
            dstTarget,
            from.node,
            copyOptions(element.name, i < resourceCount ? 'resource' : 'source'),
          );
          blobs.push({ mediaType: from.node.mediaType, digest: from.node.digest, size: from.node.size });
          if (from.localAccess) element.access = from.localAccess;
        }).catch((error: unknown) => {
          if (!failure) {
            failure = { error };
            stop.abort(error);
          }
          throw error;
        }),
      ),
    );
    outer?.removeEventListener('abort', stopWithOuter);
    // (Set in the callbacks above: TypeScript cannot see it.)
    const failed = failure as { error: unknown } | undefined;
    if (failed) throw failed.error;
    const { result: outcome } = await dst.addComponentVersion(next, {
      conflictPolicy: 'replace',
      blobs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    emit({ component, version: ver, kind: 'component', status: outcome === 'skipped' ? 'unchanged' : outcome });
    result.descriptors.push(next);
  }
  return result;
}

/** Finds one element's content and checks it against the element's digest; nothing is written. */
async function prepare(
  src: ComponentVersionRepository,
  stored: StoredVersion,
  element: Resource | Source,
  plan: PlannedElement,
  key: string,
  options: TransferOptions,
): Promise<PreparedElement | undefined> {
  const o: Op = options.signal ? { signal: options.signal } : {};
  const standalone = plan.uploadAs === 'ociArtifact' && options.artifactDestination !== undefined;
  if (plan.action === 'copy-local') {
    const access = element.access as LocalBlobAccess;
    // Checked against the digests of the resources that point at it.
    const { target, desc } = await src.localContent(stored, access, o);
    const local = !(standalone && isOciManifestType(desc.mediaType) && access.referenceName);
    return { from: target, node: desc, ...(local ? {} : { standalone: access.referenceName as string }) };
  }
  if (plan.action === 'copy-image') {
    if (!options.imageSource) throw noImageSource(key);
    const imageReference = String((element.access as TypedSpec & { imageReference?: unknown }).imageReference ?? '');
    if (!imageReference)
      throw new LadingError('INVALID_DESCRIPTOR', `${key}: resource ${element.name} has no imageReference`);
    // The descriptor does not get to choose plain HTTP for the user.
    accessReference(imageReference, {
      allowPlainHttp: options.allowPlainHttp,
      where: `${key}: resource ${element.name}`,
    });
    const image = await options.imageSource(imageReference);
    const top = await image.target.resolve(image.reference, o);
    await verifyResourceContent(element, top, 'artifact', image.target, { ...o, where: key });
    const referenceName = referenceNameOf(imageReference);
    return {
      from: image.target,
      node: top,
      ...(standalone
        ? { standalone: referenceName }
        : { localAccess: localBlobAccess({ localReference: top.digest, mediaType: top.mediaType, referenceName }) }),
    };
  }
  if (plan.action === 'copy-helm') {
    // The chart becomes a Helm OCI artifact stored like an image copied by value.
    const helm = await helmAccessArtifact(element.access, {
      ...options.helm,
      ...o,
      digest: 'digest' in element ? element.digest : undefined,
      where: `${key}: resource ${element.name}`,
    });
    return {
      from: helm.target,
      node: helm.manifest,
      ...(standalone
        ? { standalone: helm.referenceName }
        : {
            localAccess: localBlobAccess({
              localReference: helm.manifest.digest,
              mediaType: helm.manifest.mediaType,
              referenceName: helm.referenceName,
            }),
          }),
    };
  }
  return undefined;
}

/** Where `destination` puts the standalone copy named `referenceName`: never among component versions. */
async function standaloneDestination(
  destination: ArtifactDestination,
  referenceName: string,
): ReturnType<ArtifactDestination> {
  const to = await destination(referenceName);
  refuseComponentStore(to.imageReference, `reference name ${JSON.stringify(referenceName)}`);
  return to;
}

async function uploadArtifact(
  from: ReadOnlyTarget,
  node: Descriptor,
  referenceName: string,
  destination: ArtifactDestination,
  copyOptions: CopyGraphOptions,
): Promise<TypedSpec> {
  const to = await standaloneDestination(destination, referenceName);
  await copyGraph(from, to.target, node, copyOptions);
  if (to.reference) await to.target.tag(node, to.reference);
  return { type: StandaloneAccessType, imageReference: to.imageReference };
}
