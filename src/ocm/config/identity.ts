import { goPathMatch } from '../input/glob-match.js';
import type { ConsumerIdentity } from './model.js';

export const ConsumerType = {
  OCIRegistry: 'OCIRegistry/v1',
  RSA: 'RSA/v1',
  HelmChartRepository: 'HelmChartRepository',
} as const;

/** Upstream registers these spellings as one identity type each; the first is what we compare. */
const typeAliases: Readonly<Record<string, string>> = {
  OCIRegistry: ConsumerType.OCIRegistry,
  'OCIRegistry/v1': ConsumerType.OCIRegistry,
  RSA: ConsumerType.RSA,
  'RSA/v1': ConsumerType.RSA,
  'RSA/v1alpha1': ConsumerType.RSA,
  HelmChartRepository: ConsumerType.HelmChartRepository,
  'HelmChartRepository/v1': ConsumerType.HelmChartRepository,
};

export function canonicalConsumerType(type: string): string {
  return typeAliases[type] ?? type;
}

/**
 * Go's path.Match (the same matcher as the Dir input's filters): `*` and `?` stay within a
 * segment, `[...]` classes, `\\x` escapes. A malformed pattern matches nothing here, as a consumer
 * with a broken path must not match every path.
 */
export function pathMatch(pattern: string, name: string): boolean {
  try {
    return goPathMatch(pattern, name);
  } catch {
    return false;
  }
}

function normalizeScheme(scheme: string | undefined): string {
  return scheme === 'oci' ? 'https' : (scheme ?? '');
}

function defaultPort(scheme: string, port: string | undefined): string {
  if (port) return port;
  if (scheme === 'https') return '443';
  if (scheme === 'http') return '80';
  return '';
}

function trimSlash(path: string | undefined): string | undefined {
  return path === undefined ? undefined : path.replace(/^\/+/, '');
}

/**
 * Whether a configured consumer identity applies to a requested one, with upstream's chain of
 * matchers (runtime.Identity.Match):
 * - `path`: the configured value is a `path.Match` glob over the requested path (`*` stays within
 *   one segment); a configured identity without a path matches every path;
 * - `scheme`, `hostname`, `port`: hostnames equal; schemes equal when both are given (`oci` counts
 *   as `https`); ports equal after defaulting by the scheme (https 443, http 80) — so an identity
 *   without a port names the default port of its scheme, not every port;
 * - every other attribute (`type` among them, compared across upstream's aliases) equal.
 * Leading slashes of paths are ignored on both sides.
 */
export function matchIdentity(requested: ConsumerIdentity, configured: ConsumerIdentity): boolean {
  const i: ConsumerIdentity = { ...requested };
  const o: ConsumerIdentity = { ...configured };
  const ip = trimSlash(i.path);
  const op = trimSlash(o.path);
  delete i.path;
  delete o.path;
  if (op !== undefined && op !== '') {
    if (!pathMatch(op, ip ?? '')) return false;
  }

  const iScheme = normalizeScheme(i.scheme);
  const oScheme = normalizeScheme(o.scheme);
  const iHost = i.hostname ?? '';
  const oHost = o.hostname ?? '';
  const iPort = i.port;
  const oPort = o.port;
  for (const m of [i, o]) {
    delete m.scheme;
    delete m.hostname;
    delete m.port;
  }
  if (iScheme && oScheme && iScheme !== oScheme) return false;
  if (iHost !== oHost) return false;
  const scheme = iScheme || oScheme;
  if (defaultPort(scheme, iPort) !== defaultPort(scheme, oPort)) return false;

  if (i.type !== undefined) i.type = canonicalConsumerType(i.type);
  if (o.type !== undefined) o.type = canonicalConsumerType(o.type);
  const keys = new Set([...Object.keys(i), ...Object.keys(o)]);
  for (const key of keys) if (i[key] !== o[key]) return false;
  return true;
}

/** `k=v,…` with sorted keys: upstream's Identity.String, used to merge consumers of one identity. */
export function identityKey(identity: ConsumerIdentity): string {
  const canonical: ConsumerIdentity = { ...identity };
  if (canonical.type) canonical.type = canonicalConsumerType(canonical.type);
  return Object.keys(canonical)
    .sort()
    .map((k) => `${k}=${canonical[k]}`)
    .join(',');
}

/** Splits `host[:port]` (IPv6 in brackets) as Go's url.URL Hostname()/Port() do. */
export function splitHostPort(host: string): { hostname: string; port?: string } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(host);
  if (!m) return { hostname: host };
  const hostname = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return m[2] ? { hostname, port: m[2] } : { hostname };
}

/**
 * The consumer identity of an OCI registry repository, as upstream builds it from the repository
 * spec: hostname and port from `host`, the scheme only when the user wrote one (`http://…`), and
 * the repository's sub path as `path`.
 */
export function ociRegistryIdentity(
  host: string,
  options: { scheme?: string | undefined; subPath?: string | undefined } = {},
): ConsumerIdentity {
  const { hostname, port } = splitHostPort(host);
  const identity: ConsumerIdentity = { type: ConsumerType.OCIRegistry, hostname };
  if (port) identity.port = port;
  if (options.scheme) identity.scheme = options.scheme.toLowerCase();
  const path = trimSlash(options.subPath);
  if (path) identity.path = path;
  return identity;
}

/**
 * The consumer identity of an http(s) helm chart repository, as upstream derives it from the
 * repository URL: `{type: HelmChartRepository, scheme, hostname, port?, path?}`.
 */
export function helmRepositoryIdentity(repository: URL): ConsumerIdentity {
  const identity: ConsumerIdentity = {
    type: ConsumerType.HelmChartRepository,
    scheme: repository.protocol.replace(/:$/, ''),
    hostname: repository.hostname.replace(/^\[(.*)\]$/, '$1'),
  };
  if (repository.port) identity.port = repository.port;
  const path = trimSlash(repository.pathname)?.replace(/\/+$/, '');
  if (path) identity.path = path;
  return identity;
}
