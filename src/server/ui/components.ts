import type { Op, Target } from '../../content/index.js';
import { type Descriptor, isLadingError, LadingError } from '../../oci/index.js';
import type { LocalBlobAccess, Resource, Signature } from '../../ocm/descriptor/model.js';
import { toWire } from '../../ocm/descriptor/wire.js';
import { goYaml } from '../../ocm/index.js';
import {
  type ComponentVersionRepository,
  componentRepository,
  DescriptorRepositoryPrefix,
  isOciManifestType,
} from '../../ocm/repository/index.js';
import { sortVersionsDescending } from '../../ocm/semver.js';
import { type VerifySignatureOptions, verifyComponentVersion } from '../../ocm/signing/index.js';
import { isAccessType } from '../../ocm/types.js';
import { listRepositories, type Page } from './artifacts.js';
import type { UiStore } from './store.js';

/** Key material for one signature, looked up on the server side (by name and algorithm). */
export type UiKeys = (
  signature: Signature,
) => VerifySignatureOptions | undefined | Promise<VerifySignatureOptions | undefined>;

const prefix = `${DescriptorRepositoryPrefix}/`;

/** Component names in the store: its `component-descriptors/<name>` repositories. */
export async function listComponents(
  store: UiStore,
  n: number,
  options: Op & { last?: string | undefined; filter?: (name: string) => boolean } = {},
): Promise<Page<string>> {
  const { last, filter, ...o } = options;
  const page = await listRepositories(store, n, {
    ...o,
    ...(last !== undefined ? { last: `${prefix}${last}` } : {}),
    filter: (repo) => repo.startsWith(prefix) && (!filter || filter(repo.slice(prefix.length))),
  });
  const items = page.items.map((r) => r.slice(prefix.length));
  return page.next ? { items, next: (page.next as string).slice(prefix.length) } : { items };
}

export async function componentVersions(repo: ComponentVersionRepository, name: string, o: Op): Promise<string[]> {
  return sortVersionsDescending(await repo.listComponentVersions(name, o));
}

/** Where the view finds a resource's content: a blob to download, or an OCI artifact to open. */
export type ResourceContent =
  | { kind: 'blob'; repository: string; descriptor: Descriptor }
  | { kind: 'artifact'; repository: string; reference: string };

export interface VersionView {
  name: string;
  version: string;
  repository: string;
  root: Descriptor;
  /** The descriptor as upstream's Go types write it (JSON), and the same as YAML. */
  descriptor: Record<string, unknown>;
  yaml: string;
  /** Per resource, in order: where its content is, when it is in this store. */
  resourceContent: (ResourceContent | null)[];
  /** Per component reference, in order: whether the referenced version is in this store. */
  referencePresent: boolean[];
  signatures: {
    name: string;
    algorithm: string;
    mediaType: string;
    issuer?: string;
    digest: { hashAlgorithm: string; normalisationAlgorithm: string; value: string };
  }[];
  /** Whether the server has keys to verify signatures with. */
  canVerify: boolean;
}

function localBlob(r: Resource): LocalBlobAccess | undefined {
  return isAccessType(r.access.type, 'LocalBlob/v1') ? (r.access as LocalBlobAccess) : undefined;
}

export async function componentVersionView(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  canVerify: boolean,
  o: Op,
): Promise<VersionView> {
  const stored = await repo.getComponentVersion(name, version, o);
  const { descriptor } = stored;
  const repository = componentRepository(name);
  const resourceContent = (descriptor.component.resources ?? []).map((r): ResourceContent | null => {
    const access = localBlob(r);
    if (!access || typeof access.localReference !== 'string') return null;
    if (isOciManifestType(access.mediaType ?? '')) {
      return { kind: 'artifact', repository, reference: access.localReference };
    }
    const layer = stored.layers.get(access.localReference);
    return layer ? { kind: 'blob', repository, descriptor: layer } : null;
  });
  const referencePresent: boolean[] = [];
  for (const ref of descriptor.component.componentReferences ?? []) {
    try {
      referencePresent.push(await repo.hasComponentVersion(ref.componentName, ref.version, o));
    } catch (error) {
      if (!isLadingError(error) || error.code === 'ABORTED') throw error;
      referencePresent.push(false);
    }
  }
  const wire = toWire(descriptor);
  return {
    name,
    version,
    repository,
    root: stored.root,
    descriptor: wire,
    yaml: goYaml(wire),
    resourceContent,
    referencePresent,
    signatures: (descriptor.signatures ?? []).map((s) => ({
      name: s.name,
      algorithm: s.signature.algorithm,
      mediaType: s.signature.mediaType,
      ...(s.signature.issuer ? { issuer: s.signature.issuer } : {}),
      digest: { ...s.digest },
    })),
    canVerify,
  };
}

/**
 * The content of a local resource, checked against the resource's digest before any byte is
 * served (the access is not signed, the digest is): a blob, or an error for an OCI artifact
 * (which the view opens as an artifact instead).
 */
export async function resourceBlob(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  index: number,
  o: Op,
): Promise<{ target: Target; desc: Descriptor; resource: Resource }> {
  const stored = await repo.getComponentVersion(name, version, o);
  const resource = stored.descriptor.component.resources?.[index];
  if (!resource) throw new LadingError('NOT_FOUND', `${name}:${version} has no resource number ${index}`);
  const access = localBlob(resource);
  if (!access) {
    throw new LadingError(
      'UNSUPPORTED',
      `${name}:${version}: resource ${resource.name} is not stored here (access ${resource.access.type})`,
    );
  }
  const found = await repo.localContent(stored, access, o);
  if (found.artifact) {
    throw new LadingError('UNSUPPORTED', `${name}:${version}: resource ${resource.name} is an OCI artifact: open it`);
  }
  return { target: found.target, desc: found.desc, resource };
}

export interface SignatureCheck {
  name: string;
  verified: boolean;
  message: string;
}

/** Each signature of a version checked on its own against the server's keys. */
export async function verifyVersion(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  keys: UiKeys,
  o: Op,
): Promise<SignatureCheck[]> {
  const stored = await repo.getComponentVersion(name, version, o);
  const out: SignatureCheck[] = [];
  for (const s of stored.descriptor.signatures ?? []) {
    const own = await keys(s);
    if (!own) {
      out.push({
        name: s.name,
        verified: false,
        message: `no key for signature "${s.name}" is configured on the server`,
      });
      continue;
    }
    try {
      await verifyComponentVersion(repo, name, version, {
        signatureName: s.name,
        keysFor: () => own,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      out.push({ name: s.name, verified: true, message: `signature "${s.name}" verified (${s.signature.algorithm})` });
    } catch (error) {
      if (!isLadingError(error) || error.code === 'ABORTED') throw error;
      out.push({ name: s.name, verified: false, message: error.message });
    }
  }
  return out;
}
