import { createHash } from 'node:crypto';
import { MemoryStore, type ReadOnlyTarget } from '../content/index.js';
import { type Descriptor, encodeManifest, LadingError, MediaType } from '../oci/index.js';
import { contentClaim } from './content-digest.js';
import { type DigestSpec, genericBlobDigest, type TypedSpec } from './descriptor/model.js';
import { helmArtifactBlobs } from './input/helm.js';
import type { PackagedChart } from './input/helm-chart.js';
import {
  type ChartLocation,
  fetchRemoteChart,
  type HelmFetchOptions,
  type RemoteChart,
  resolveChartDigest,
  versionToOciTag,
} from './input/helm-remote.js';
import { describe } from './input/oci-layout-tar.js';
import { AccessType, isAccessType } from './types.js';

/** `Helm/v1` access: a chart in a helm repository (http(s) with index.yaml, or `oci://`). */
export interface HelmAccess extends TypedSpec {
  helmRepository: string;
  /** `name:version` (or `name` with `version`). */
  helmChart: string;
  version?: string;
}

function field(access: TypedSpec, name: string, required: boolean): string | undefined {
  const value = (access as Record<string, unknown>)[name];
  if (value === undefined || value === null || value === '') {
    if (required) throw new LadingError('INVALID_DESCRIPTOR', `Helm/v1 access: ${name} is required`);
    return undefined;
  }
  if (typeof value !== 'string')
    throw new LadingError('INVALID_DESCRIPTOR', `Helm/v1 access: ${name} must be a string`);
  return value;
}

/**
 * Where a `Helm/v1` access points, as upstream reads it: chart name and version from `helmChart`
 * (`version` wins when set), the chart reference `helmRepository` + `/` + name. An `oci://`
 * repository names the OCI artifact `…/<name>:<version>`; an http(s) repository is looked up
 * through its index.yaml.
 */
export function helmAccessLocation(access: TypedSpec): { name: string; version?: string; location: ChartLocation } {
  if (!isAccessType(access.type, AccessType.Helm)) {
    throw new LadingError('INVALID_ARGUMENT', `not a Helm/v1 access: ${JSON.stringify(access.type)}`);
  }
  const repository = field(access, 'helmRepository', true) as string;
  const chart = field(access, 'helmChart', true) as string;
  const parts = chart.split(':');
  const name = parts[0] ?? '';
  if (!name)
    throw new LadingError('INVALID_DESCRIPTOR', `Helm/v1 access: helmChart ${JSON.stringify(chart)} has no name`);
  const version = field(access, 'version', false) ?? (parts.length === 2 ? parts[1] : undefined) ?? undefined;
  if (repository.startsWith('oci://')) {
    const base = repository.slice('oci://'.length).replace(/\/+$/, '');
    const slash = base.indexOf('/');
    if (!version) {
      throw new LadingError('INVALID_DESCRIPTOR', `Helm/v1 access: an oci:// chart needs a version (${chart})`);
    }
    const registry = slash < 0 ? base : base.slice(0, slash);
    const path = slash < 0 ? name : `${base.slice(slash + 1)}/${name}`;
    return {
      name,
      version,
      location: { kind: 'oci', registry, repository: path, reference: versionToOciTag(version) },
    };
  }
  let url: URL;
  try {
    url = new URL(repository);
  } catch {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `Helm/v1 access: helmRepository ${JSON.stringify(repository)} must be an http(s) URL or an oci:// reference`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `Helm/v1 access: helmRepository ${JSON.stringify(repository)} must be an http(s) URL or an oci:// reference`,
    );
  }
  return {
    name,
    ...(version ? { version } : {}),
    location: { kind: 'index', repository: url, name, ...(version ? { version } : {}) },
  };
}

/** Downloads the chart a `Helm/v1` access names; its name and version must be the ones asked for. */
export async function fetchHelmAccessChart(access: TypedSpec, options: HelmFetchOptions = {}): Promise<RemoteChart> {
  const { name, version, location } = helmAccessLocation(access);
  const chart = await fetchRemoteChart(location, options);
  if (chart.name !== name || (version !== undefined && chart.version !== version)) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${chart.source}: holds chart ${chart.name}:${chart.version}, but the access names ${name}${version ? `:${version}` : ''}`,
    );
  }
  return chart;
}

/** A chart as a Helm OCI artifact in a memory store: config, layers and the image manifest. */
export async function helmChartArtifact(chart: PackagedChart): Promise<{ target: MemoryStore; manifest: Descriptor }> {
  const { config, layers } = helmArtifactBlobs(chart);
  const store = new MemoryStore();
  for (const blob of [config, ...layers]) {
    const desc = describe(blob);
    if (!(await store.exists(desc))) await store.push(desc, blob.bytes);
  }
  // Byte for byte the manifest the Helm/v1 input writes into its OCI layout.
  const manifestBytes = encodeManifest({
    schemaVersion: 2,
    mediaType: MediaType.ImageManifest,
    config: describe(config),
    layers: layers.map(describe),
  });
  const manifest = describe({ mediaType: MediaType.ImageManifest, bytes: Buffer.from(manifestBytes) });
  await store.push(manifest, manifestBytes);
  await store.tag(manifest, chart.version);
  return { target: store, manifest };
}

/**
 * Checks a resource digest recorded for a Helm/v1 access against the downloaded chart. Upstream
 * records the chart's index.yaml digest (http repositories; the archive was checked against it on
 * download) or the source manifest digest (oci); the chart archive's own hash is accepted as well.
 * No digest, or NO-DIGEST, makes no claim; a digest that cannot be checked (another normalisation,
 * an unknown hash) is an error, like a mismatch: an unverifiable chart is not delivered.
 */
export function verifyHelmDigest(digest: DigestSpec | undefined, chart: RemoteChart, where: string): void {
  const claim = contentClaim(digest, 'blob', where);
  if (!claim) return;
  const candidates = new Set<string>([createHash(claim.hash.node).update(chart.archive).digest('hex')]);
  if (claim.hash.node === 'sha256') {
    if (chart.indexDigest) candidates.add(chart.indexDigest);
    if (chart.manifest?.digest.startsWith('sha256:')) candidates.add(chart.manifest.digest.slice('sha256:'.length));
  }
  if (!candidates.has(claim.value)) {
    throw new LadingError(
      'DIGEST_MISMATCH',
      `${where}: the chart from ${chart.source} does not match the resource digest ${claim.value}`,
    );
  }
}

export interface HelmAccessArtifact {
  /** Holds the chart as a Helm OCI artifact; `manifest` is its root. */
  target: ReadOnlyTarget;
  manifest: Descriptor;
  /** `<chart name>:<version>`: the `referenceName` of the local blob, and the name of a standalone copy. */
  referenceName: string;
  chart: RemoteChart;
}

/**
 * What `transfer cv --copy-resources` does with a `Helm/v1` access: fetch the chart, check it
 * against the resource digest, and convert it to a Helm OCI artifact (the same bytes the `Helm/v1`
 * input produces for that chart), ready to be copied into the target as a local blob.
 */
export async function helmAccessArtifact(
  access: TypedSpec,
  options: HelmFetchOptions & { digest?: DigestSpec | undefined; where?: string } = {},
): Promise<HelmAccessArtifact> {
  const { digest, where, ...fetchOptions } = options;
  const chart = await fetchHelmAccessChart(access, fetchOptions);
  verifyHelmDigest(digest, chart, where ?? 'Helm/v1 access');
  const { target, manifest } = await helmChartArtifact(chart);
  return { target, manifest, referenceName: `${chart.name}:${chart.version}`, chart };
}

/** The resource digest upstream's digest processor records for a `Helm/v1` access (genericBlobDigest/v1). */
export async function helmAccessDigest(access: TypedSpec, options: HelmFetchOptions = {}): Promise<DigestSpec> {
  const { location } = helmAccessLocation(access);
  const digest = await resolveChartDigest(location, options);
  return genericBlobDigest(digest);
}
