import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { fetchAll } from '../../content/index.js';
import { type Descriptor, LadingError, parseNode, parseReference } from '../../oci/index.js';
import {
  defaultRetryPolicy,
  discard,
  Registry,
  type RegistryOptions,
  readBody,
  redactUrl,
  statusErrorCode,
  Transport,
} from '../../registry/index.js';
import { isLoopbackHost, type PlainHttpPolicy, refusePlainHttp } from '../access-transport.js';
import { sortVersionsDescending } from '../semver.js';
import { MaxChartBytes, type PackagedChart, parsePackagedChart } from './helm-chart.js';

export const HelmMediaType = {
  Config: 'application/vnd.cncf.helm.config.v1+json',
  ChartContent: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  Provenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
} as const;

/** Helm 3.0's chart layer type, still accepted by helm when it pulls. */
const LegacyChartContent = 'application/tar+gzip';

/** How to reach chart repositories: TLS trust, registry settings, credentials. */
export interface HelmFetchOptions {
  /** Extra trusted CA certificates (PEM) for https repositories and oci registries, on top of the system roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Options for the registry of an `oci://` chart (plain HTTP, TLS, credentials), per host.
   * Without it a registry is spoken to over HTTPS (plain HTTP for `localhost` only, as the
   * registry client does), anonymously. Plain HTTP is therefore always an explicit choice:
   * `registryOptions: () => ({ plainHttp: true })`.
   */
  registryOptions?: (host: string) => RegistryOptions;
  /**
   * Basic credentials for an http(s) chart repository (asked with the repository URL, or the chart
   * URL when there is no index). They are sent to that URL's origin only: never after a redirect
   * elsewhere, never to a chart URL that the index points at on another host.
   */
  httpCredentials?: (repository: URL) => Promise<
    | {
        /** The user name. */
        username: string;
        /** The password. */
        password: string;
      }
    | undefined
  >;
  /**
   * Hosts that an `http://` repository or chart URL may be fetched from (default: loopback only).
   * Anything else over plain HTTP is refused, and so is a redirect from https to http. Credentials
   * go over plain HTTP only to loopback hosts: elsewhere an allowed plain-HTTP request is anonymous.
   */
  allowPlainHttp?: PlainHttpPolicy;
  /** Also fetch `<chart url>.prov` (a missing one is not an error). Default true. */
  provenance?: boolean;
  /** The User-Agent header of the requests. */
  userAgent?: string;
  /** Cancels the download (rejects with ABORTED, the signal's reason as cause). */
  signal?: AbortSignal;
}

/** Where a chart comes from. */
export type ChartLocation =
  /** A chart archive URL (`https://host/charts/mychart-0.1.0.tgz`). */
  | { kind: 'url'; url: URL }
  /** A chart in a classic helm repository, found through `<repository>/index.yaml`. */
  | { kind: 'index'; repository: URL; name: string; version?: string }
  /** A chart stored as an OCI artifact (`oci://host/path/name:version`). */
  | { kind: 'oci'; registry: string; repository: string; reference: string };

export interface RemoteChart extends PackagedChart {
  /** The URL or `oci://` reference the chart was downloaded from (no credentials). */
  source: string;
  /** The chart's `digest` in the repository's index.yaml (sha256 hex), when it came through an index. */
  indexDigest?: string;
  /** The manifest the chart came from, for `oci://` charts. */
  manifest?: Descriptor;
}

/** Helm stores `+` of a SemVer build suffix as `_` in OCI tags. */
export function versionToOciTag(version: string): string {
  return version.replaceAll('+', '_');
}

function invalid(what: string, why: string): never {
  throw new LadingError('INVALID_ARGUMENT', `helmRepository ${JSON.stringify(what)}: ${why}`);
}

/**
 * Reads a `helmRepository` of the `Helm/v1` input as upstream does:
 * - `oci://host/path/chart[:tag]`: the version is the tag, or `version` when there is no tag
 *   (both given must agree);
 * - `http(s)://host/path/chart:version`: the chart `chart` (at `version` if set, else the tag) from
 *   the repository `http(s)://host/path` through its index.yaml;
 * - any other `http(s)` URL: the chart archive itself (`version` is ignored).
 */
export function parseHelmRepository(helmRepository: string, version?: string): ChartLocation {
  if (helmRepository.startsWith('oci://')) {
    const rest = helmRepository.slice('oci://'.length);
    let ref: ReturnType<typeof parseReference>;
    try {
      ref = parseReference(rest);
    } catch (error) {
      invalid(helmRepository, (error as Error).message);
    }
    let reference = ref.reference;
    if (!reference) {
      if (!version) invalid(helmRepository, 'either a tag in the oci reference or version must be set');
      reference = versionToOciTag(version);
    } else if (version && !reference.startsWith('sha') && reference !== versionToOciTag(version)) {
      invalid(helmRepository, `its tag ${JSON.stringify(reference)} does not match version ${JSON.stringify(version)}`);
    }
    return { kind: 'oci', registry: ref.registry, repository: ref.repository, reference };
  }
  let url: URL;
  try {
    url = new URL(helmRepository);
  } catch {
    invalid(helmRepository, 'must be an http(s) URL or an oci:// reference');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    invalid(helmRepository, 'must be an http(s) URL or an oci:// reference');
  }
  const segments = url.pathname.split('/');
  const raw = segments.at(-1) ?? '';
  let last = raw;
  try {
    last = decodeURIComponent(raw);
  } catch {
    // A malformed escape is left as written: it can only be a file name, not name:version.
  }
  const colon = last.indexOf(':');
  if (colon <= 0) return { kind: 'url', url };
  const name = last.slice(0, colon);
  const tag = last.slice(colon + 1);
  const repository = new URL(url.href);
  repository.pathname = segments.slice(0, -1).join('/') || '/';
  repository.search = '';
  repository.hash = '';
  const chosen = version || tag;
  return { kind: 'index', repository, name, ...(chosen ? { version: chosen } : {}) };
}

function caList(ca: HelmFetchOptions['ca']): Array<string | Buffer> {
  return ca === undefined ? [] : Array.isArray(ca) ? ca : [ca];
}

interface Authorization {
  origin: string;
  header: string;
}

/** The Basic authorization for a repository, bound to its origin. */
async function authorizationFor(repository: URL, options: HelmFetchOptions): Promise<Authorization | undefined> {
  const cred = await options.httpCredentials?.(repository);
  if (!cred) return undefined;
  return {
    origin: repository.origin,
    header: `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`,
  };
}

/**
 * GETs from chart repositories with the registry layer's transport: its TLS (verified, the extra
 * CAs trusted), its redirects (never from https to plain HTTP, credentials never to another
 * origin) and its retries; plain HTTP only to the hosts the policy allows.
 */
class ChartRepositoryClient {
  readonly #transport: Transport;
  readonly #signal: AbortSignal | undefined;

  constructor(options: HelmFetchOptions) {
    const ca = caList(options.ca);
    this.#signal = options.signal;
    this.#transport = new Transport({
      userAgent: options.userAgent,
      ...(ca.length > 0 ? { tls: { ca } } : {}),
      retry: defaultRetryPolicy,
      checkUrl: (url) => {
        if (url.protocol !== 'http:') return;
        refusePlainHttp({
          host: url.host,
          policy: options.allowPlainHttp,
          where: 'helm repository',
          what: redactUrl(url),
        });
      },
    });
  }

  /**
   * The body of `url`, at most `limit` bytes; undefined for a 404 when `optional`. The
   * authorization is sent to `auth.origin` only.
   */
  async get(
    url: URL,
    options: { limit: number; optional?: boolean; auth?: Authorization | undefined },
  ): Promise<{ body: Buffer; url: URL } | undefined> {
    const { auth } = options;
    const reply = await this.#transport.send({
      method: 'GET',
      url,
      signal: this.#signal,
      ...(auth && url.origin === auth.origin && sendsCredentials(url) ? { authorization: auth.header } : {}),
    });
    if (reply.status === 404 && options.optional) {
      await discard(reply);
      return undefined;
    }
    const where = `GET ${redactUrl(reply.url)}`;
    if (reply.status !== 200) {
      await discard(reply);
      throw new LadingError(statusErrorCode(reply.status), `${where}: ${reply.status}`);
    }
    return { body: await readBody(reply, options.limit, where), url: reply.url };
  }

  close(): Promise<void> {
    return this.#transport.close();
  }
}

/** Credentials travel encrypted, or to this machine: never in clear over a network. */
function sendsCredentials(url: URL): boolean {
  return url.protocol === 'https:' || isLoopbackHost(url.host);
}

/** index.yaml can be large (public repositories list thousands of versions); a chart is smaller. */
const MaxIndexBytes = 256 * 1024 * 1024;

interface IndexEntry {
  version: string;
  urls: string[];
  digest?: string;
}

function indexEntries(text: string, where: string, name: string): IndexEntry[] {
  let doc: unknown;
  try {
    doc = parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new LadingError('INVALID_ARGUMENT', `${where}: not valid YAML`, { cause: error });
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (typeof entries !== 'object' || entries === null)
    throw new LadingError('INVALID_ARGUMENT', `${where}: not a helm repository index (no entries)`);
  const list = (entries as Record<string, unknown>)[name];
  if (!Array.isArray(list)) return [];
  return list.flatMap((e) => {
    if (typeof e !== 'object' || e === null) return [];
    const r = e as Record<string, unknown>;
    const version = typeof r.version === 'string' ? r.version : typeof r.version === 'number' ? String(r.version) : '';
    const urls = Array.isArray(r.urls) ? r.urls.filter((u): u is string => typeof u === 'string') : [];
    return version ? [{ version, urls, ...(typeof r.digest === 'string' ? { digest: r.digest } : {}) }] : [];
  });
}

/** Resolves a chart in a classic helm repository: its archive URL and index digest. */
async function resolveInIndex(
  client: ChartRepositoryClient,
  location: Extract<ChartLocation, { kind: 'index' }>,
  auth: Authorization | undefined,
): Promise<{ url: URL; version: string; digest?: string }> {
  const base = new URL(location.repository.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const indexUrl = new URL('index.yaml', base);
  const where = redactUrl(indexUrl);
  const got = await client.get(indexUrl, { limit: MaxIndexBytes, auth });
  const entries = indexEntries((got as { body: Buffer }).body.toString('utf8'), where, location.name);
  let entry: IndexEntry | undefined;
  if (location.version) {
    entry = entries.find((e) => e.version === location.version);
  } else {
    const newest = sortVersionsDescending(entries.map((e) => e.version))[0];
    entry = entries.find((e) => e.version === newest);
  }
  if (!entry) {
    throw new LadingError(
      'NOT_FOUND',
      `chart ${location.name}${location.version ? ` version ${location.version}` : ''} not found in ${where}`,
    );
  }
  const first = entry.urls[0];
  if (!first)
    throw new LadingError('NOT_FOUND', `chart ${location.name} ${entry.version} has no download URL in ${where}`);
  const url = new URL(first, base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LadingError(
      'UNSUPPORTED',
      `chart ${location.name} ${entry.version}: ${url.protocol} URLs are not supported`,
    );
  }
  return { url, version: entry.version, ...(entry.digest ? { digest: entry.digest } : {}) };
}

async function fetchHttpChart(location: Exclude<ChartLocation, { kind: 'oci' }>, options: HelmFetchOptions) {
  const client = new ChartRepositoryClient(options);
  try {
    let url: URL;
    let indexDigest: string | undefined;
    let indexVersion: string | undefined;
    let auth: Authorization | undefined;
    if (location.kind === 'index') {
      auth = await authorizationFor(location.repository, options);
      const resolved = await resolveInIndex(client, location, auth);
      url = resolved.url;
      indexDigest = resolved.digest;
      indexVersion = resolved.version;
    } else {
      url = location.url;
      auth = await authorizationFor(url, options);
    }
    const source = redactUrl(url);
    const got = await client.get(url, { limit: MaxChartBytes, auth });
    const body = (got as { body: Buffer }).body;
    if (indexDigest) {
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== indexDigest.replace(/^sha256:/, '').toLowerCase()) {
        throw new LadingError(
          'DIGEST_MISMATCH',
          `${source}: the chart's sha256 is ${actual}, but the repository index says ${indexDigest}`,
        );
      }
    }
    const chart: RemoteChart = { ...parsePackagedChart(body, source), source };
    if (indexDigest) chart.indexDigest = indexDigest.replace(/^sha256:/, '').toLowerCase();
    if (options.provenance !== false) {
      // As helm (VerifyLater), a provenance file that cannot be had is no reason to fail.
      const prov = await client
        .get(new URL(`${url.href}.prov`), { limit: 1024 * 1024, optional: true, auth })
        .catch((error: unknown) => {
          if (options.signal?.aborted) throw error;
          return undefined;
        });
      if (prov) chart.provenance = prov.body;
    }
    if (location.kind === 'index' && (chart.name !== location.name || chart.version !== indexVersion)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `${source}: the archive holds chart ${chart.name}:${chart.version}, but the repository index lists it as ${location.name}:${indexVersion}`,
      );
    }
    return chart;
  } finally {
    await client.close();
  }
}

/** The registry of an `oci://` chart, with its options for that host and the extra CAs. */
function chartRegistry(location: Extract<ChartLocation, { kind: 'oci' }>, options: HelmFetchOptions): Registry {
  const base = options.registryOptions?.(location.registry) ?? {};
  const extra = caList(options.ca);
  return new Registry(location.registry, {
    ...base,
    ...(extra.length > 0 ? { ca: [...caList(base.ca), ...extra] } : {}),
  });
}

async function fetchOciChart(
  location: Extract<ChartLocation, { kind: 'oci' }>,
  options: HelmFetchOptions,
): Promise<RemoteChart> {
  const registry = chartRegistry(location, options);
  const source = `oci://${location.registry}/${location.repository}${location.reference.includes(':') ? '@' : ':'}${location.reference}`;
  const o = options.signal ? { signal: options.signal } : {};
  try {
    const repo = registry.repository(location.repository);
    const desc = await repo.resolve(location.reference, o);
    const node = parseNode(await fetchAll(repo, desc, o), desc.mediaType, source);
    if (node.kind !== 'manifest') {
      throw new LadingError('INVALID_MANIFEST', `${source}: not a helm chart (a ${desc.mediaType})`);
    }
    const { config, layers } = node.manifest;
    if (config.mediaType !== HelmMediaType.Config) {
      throw new LadingError(
        'INVALID_MANIFEST',
        `${source}: not a helm chart (config media type ${config.mediaType}, expected ${HelmMediaType.Config})`,
      );
    }
    const chartLayer = layers.find(
      (l) => l.mediaType === HelmMediaType.ChartContent || l.mediaType === LegacyChartContent,
    );
    if (!chartLayer) throw new LadingError('INVALID_MANIFEST', `${source}: the manifest has no chart layer`);
    const archive = await fetchAll(repo, chartLayer, { ...o, limit: MaxChartBytes });
    const chart: RemoteChart = { ...parsePackagedChart(archive, source), source, manifest: desc };
    const provLayer = layers.find((l) => l.mediaType === HelmMediaType.Provenance);
    if (provLayer && options.provenance !== false) {
      chart.provenance = await fetchAll(repo, provLayer, { ...o, limit: 1024 * 1024 });
    }
    return chart;
  } finally {
    await registry.close();
  }
}

/**
 * Downloads a chart (archive and provenance) from a URL, a classic helm repository or an OCI
 * registry. Everything is verified: the index digest when there is one, OCI blobs by digest, and
 * the archive must be a gzip tar with a `<name>/Chart.yaml`. Charts are held in memory, bounded
 * by MaxChartBytes.
 */
export async function fetchRemoteChart(location: ChartLocation, options: HelmFetchOptions = {}): Promise<RemoteChart> {
  return location.kind === 'oci' ? fetchOciChart(location, options) : fetchHttpChart(location, options);
}

/**
 * The digest upstream records for a chart in a helm repository without downloading it: the
 * index.yaml `digest` for classic repositories, the manifest digest for OCI (`sha256:<hex>`).
 */
export async function resolveChartDigest(location: ChartLocation, options: HelmFetchOptions = {}): Promise<string> {
  if (location.kind === 'oci') {
    const registry = chartRegistry(location, options);
    try {
      const desc = await registry
        .repository(location.repository)
        .resolve(location.reference, options.signal ? { signal: options.signal } : {});
      return desc.digest;
    } finally {
      await registry.close();
    }
  }
  if (location.kind === 'url') {
    throw new LadingError('UNSUPPORTED', `${redactUrl(location.url)}: a chart URL has no index to take a digest from`);
  }
  const client = new ChartRepositoryClient(options);
  try {
    const resolved = await resolveInIndex(client, location, await authorizationFor(location.repository, options));
    if (!resolved.digest) {
      throw new LadingError(
        'NOT_FOUND',
        `chart ${location.name} ${resolved.version}: the repository index has no digest`,
      );
    }
    return `sha256:${resolved.digest.replace(/^sha256:/, '').toLowerCase()}`;
  } finally {
    await client.close();
  }
}
