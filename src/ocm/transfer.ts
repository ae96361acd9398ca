import pLimit from 'p-limit';
import type { ReadOnlyTarget, Target } from '../content/index.js';
import { type CopyGraphOptions, copyGraph } from '../copy/index.js';
import { type Descriptor, LadingError, parseReference } from '../oci/index.js';
import { identityOf } from './descriptor/identity.js';
import type { ComponentDescriptor, LocalBlobAccess, Resource, Source, TypedSpec } from './descriptor/model.js';
import { localBlobAccess } from './descriptor/model.js';
import { helmAccessArtifact } from './helm-access.js';
import type { HelmFetchOptions } from './input/helm-remote.js';
import { isOciManifestType } from './repository/mapping.js';
import type { ComponentVersionRepository } from './repository/repository.js';
import { AccessType, isAccessType } from './types.js';

/** Where an `OCIImage/v1` reference can be read from (the caller brings credentials and TLS). */
export type ImageSource = (imageReference: string) => Promise<{ target: ReadOnlyTarget; reference: string }>;

/** Where `--upload-as ociArtifact` puts a standalone artifact in the target registry. */
export type ArtifactDestination = (
  referenceName: string,
) => Promise<{ target: Target; reference: string; imageReference: string }>;

export type TransferAction = 'copy-local' | 'copy-image' | 'copy-helm' | 'keep';

export interface PlannedElement {
  kind: 'resource' | 'source';
  name: string;
  identity: Record<string, string>;
  accessType: string;
  action: TransferAction;
  /** With `--upload-as ociArtifact`: the standalone artifact's reference at the target. */
  uploadAs: 'localBlob' | 'ociArtifact';
}

export interface PlannedComponent {
  name: string;
  version: string;
  elements: PlannedElement[];
}

export interface TransferEvent {
  component: string;
  version: string;
  element?: string;
  status: 'copying' | 'copied' | 'exists' | 'mounted' | 'added' | 'replaced' | 'unchanged';
  desc?: Descriptor;
}

export interface TransferOptions {
  /** Also copy `OCIImage/v1` and `Helm/v1` resources by value (they become local blobs), not only local blobs. */
  copyResources?: boolean;
  uploadAs?: 'localBlob' | 'ociArtifact';
  /** Follow component references, transferring each referenced version first. */
  recursive?: boolean;
  /** Plan only: nothing is read beyond the descriptors, nothing is written. */
  dryRun?: boolean;
  /** Blob transfers in flight at once. */
  concurrency?: number;
  imageSource?: ImageSource;
  /** How charts of `Helm/v1` accesses are downloaded with `copyResources` (TLS, oci registry options, credentials). */
  helm?: Omit<HelmFetchOptions, 'signal'>;
  artifactDestination?: ArtifactDestination;
  signal?: AbortSignal;
  onEvent?: (event: TransferEvent) => void;
  onProgress?: (desc: Descriptor, bytes: number) => void;
}

export interface TransferResult {
  plan: PlannedComponent[];
  descriptors: ComponentDescriptor[];
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

/**
 * Moves a component version (and, recursively, what it references) between two OCM repositories.
 * Local blobs always travel; with `copyResources` OCI images referenced by `OCIImage/v1` are copied
 * by value and become local blobs (or, with `uploadAs: ociArtifact`, standalone artifacts in the
 * target). Everything streams, what the target has is skipped, and the version's manifest lands
 * last. The descriptor keeps creationTime and signatures, so its normalised digest does not change.
 */
export async function transferComponentVersion(
  src: ComponentVersionRepository,
  dst: ComponentVersionRepository,
  name: string,
  version: string,
  options: TransferOptions = {},
): Promise<TransferResult> {
  const result: TransferResult = { plan: [], descriptors: [] };
  const done = new Set<string>();
  const limit = pLimit(options.concurrency ?? 3);
  const emit = options.onEvent ?? (() => {});

  const visit = async (component: string, ver: string): Promise<void> => {
    const key = `${component}:${ver}`;
    if (done.has(key)) return;
    done.add(key);
    const stored = await src.getComponentVersion(component, ver, options.signal ? { signal: options.signal } : {});
    const descriptor = stored.descriptor;
    if (options.recursive) {
      for (const ref of descriptor.component.componentReferences ?? []) await visit(ref.componentName, ref.version);
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
    result.plan.push(planned);
    if (options.dryRun) {
      result.descriptors.push(descriptor);
      return;
    }
    const srcTarget = await src.target(component);
    const dstTarget = await dst.target(component);
    const blobs: Descriptor[] = [];
    // Resources of one version often share content (the same image twice, images with common
    // layers): one tracker per target repository moves each blob once.
    const tracker = new Map<string, Promise<void>>();
    const copyOptions = (element: string, into: 'component' | 'elsewhere' = 'component'): CopyGraphOptions => ({
      ...(into === 'component' ? { tracker } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      preCopy: (desc) => emit({ component, version: ver, element, status: 'copying', desc }),
      postCopy: (desc) => emit({ component, version: ver, element, status: 'copied', desc }),
      onCopySkipped: (desc) => emit({ component, version: ver, element, status: 'exists', desc }),
      onMounted: (desc) => emit({ component, version: ver, element, status: 'mounted', desc }),
    });
    const next: ComponentDescriptor = structuredClone(descriptor);
    const elements: (Resource | Source)[] = [...(next.component.resources ?? []), ...(next.component.sources ?? [])];
    await Promise.all(
      elements.map((element, i) =>
        limit(async () => {
          const plan = planned.elements[i] as PlannedElement;
          if (plan.action === 'copy-local') {
            const access = element.access as LocalBlobAccess;
            let node: Descriptor;
            if (isOciManifestType(access.mediaType)) {
              node = await srcTarget.resolve(access.localReference);
            } else {
              const layer = stored.layers.get(access.localReference);
              if (!layer) {
                throw new LadingError(
                  'NOT_FOUND',
                  `${key}: local blob ${access.localReference} of ${element.name} is not in the source`,
                );
              }
              node = layer;
            }
            if (
              plan.uploadAs === 'ociArtifact' &&
              isOciManifestType(node.mediaType) &&
              access.referenceName &&
              options.artifactDestination
            ) {
              element.access = await uploadArtifact(
                srcTarget,
                node,
                access.referenceName,
                options.artifactDestination,
                copyOptions(element.name, 'elsewhere'),
              );
              return;
            }
            await copyGraph(srcTarget, dstTarget, node, copyOptions(element.name));
            blobs.push(node);
            return;
          }
          if (plan.action === 'copy-image') {
            if (!options.imageSource)
              throw new LadingError('UNSUPPORTED', `${key}: no way to read OCI images configured`);
            const imageReference = String(
              (element.access as TypedSpec & { imageReference?: unknown }).imageReference ?? '',
            );
            if (!imageReference)
              throw new LadingError('INVALID_DESCRIPTOR', `${key}: resource ${element.name} has no imageReference`);
            const image = await options.imageSource(imageReference);
            const top = await image.target.resolve(image.reference);
            const referenceName = referenceNameOf(imageReference);
            if (plan.uploadAs === 'ociArtifact' && options.artifactDestination) {
              element.access = await uploadArtifact(
                image.target,
                top,
                referenceName,
                options.artifactDestination,
                copyOptions(element.name, 'elsewhere'),
              );
              return;
            }
            await copyGraph(image.target, dstTarget, top, copyOptions(element.name));
            blobs.push({ mediaType: top.mediaType, digest: top.digest, size: top.size });
            element.access = localBlobAccess({ localReference: top.digest, mediaType: top.mediaType, referenceName });
          }
          if (plan.action === 'copy-helm') {
            // The chart becomes a Helm OCI artifact stored like an image copied by value.
            const helm = await helmAccessArtifact(element.access, {
              ...options.helm,
              ...(options.signal ? { signal: options.signal } : {}),
              digest: 'digest' in element ? element.digest : undefined,
              where: `${key}: resource ${element.name}`,
            });
            if (plan.uploadAs === 'ociArtifact' && options.artifactDestination) {
              element.access = await uploadArtifact(
                helm.target,
                helm.manifest,
                helm.referenceName,
                options.artifactDestination,
                copyOptions(element.name, 'elsewhere'),
              );
              return;
            }
            await copyGraph(helm.target, dstTarget, helm.manifest, copyOptions(element.name));
            blobs.push(helm.manifest);
            element.access = localBlobAccess({
              localReference: helm.manifest.digest,
              mediaType: helm.manifest.mediaType,
              referenceName: helm.referenceName,
            });
          }
        }),
      ),
    );
    const { result: outcome } = await dst.addComponentVersion(next, {
      conflictPolicy: 'replace',
      blobs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    emit({ component, version: ver, status: outcome === 'skipped' ? 'unchanged' : outcome });
    result.descriptors.push(next);
  };

  await visit(name, version);
  return result;
}

async function uploadArtifact(
  from: ReadOnlyTarget,
  node: Descriptor,
  referenceName: string,
  destination: ArtifactDestination,
  copyOptions: CopyGraphOptions,
): Promise<TypedSpec> {
  const to = await destination(referenceName);
  await copyGraph(from, to.target, node, copyOptions);
  if (to.reference) await to.target.tag(node, to.reference);
  return { type: AccessType.OCIImage, imageReference: to.imageReference };
}
