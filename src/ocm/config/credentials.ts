import { homedir } from 'node:os';
import { LadingError } from '../../oci/index.js';
import { jsonProblem } from '../../oci/value-text.js';
import {
  type Credential,
  CredentialHelper,
  type CredentialProvider,
  DockerCredentialStore,
  hostOfKey,
  isEmptyCredential,
  serverAddress,
} from '../../registry/index.js';
import { helmRepositoryIdentity, identityKey, matchIdentity, ociRegistryIdentity, splitHostPort } from './identity.js';
import type { ConsumerIdentity, DockerConfigRepository, OcmConfig } from './model.js';

export interface ResolvedCredentials {
  /** The merged credential properties (`username`, `password`, `accessToken`, …). */
  properties: Record<string, string>;
  /** The configured identity that matched. */
  identity: ConsumerIdentity;
  /** Where the consumer was configured (`file: configurations[i].consumers[j]`). */
  sources: string[];
}

interface MergedConsumer extends ResolvedCredentials {
  order: number;
}

function mergedConsumers(config: OcmConfig): Map<string, MergedConsumer> {
  // Upstream merges the direct credentials of every consumer naming the same identity.
  const merged = new Map<string, MergedConsumer>();
  config.consumers.forEach((consumer, order) => {
    if (Object.keys(consumer.properties).length === 0) return;
    for (const identity of consumer.identities) {
      const key = identityKey(identity);
      const entry = merged.get(key) ?? { identity, properties: {}, sources: [], order };
      Object.assign(entry.properties, consumer.properties);
      entry.sources.push(consumer.source);
      entry.order = order;
      merged.set(key, entry);
    }
  });
  return merged;
}

/** A path-scoped identity first, then the one with more attributes. */
function specificity(identity: ConsumerIdentity): [number, number] {
  return [identity.path ? 1 : 0, Object.keys(identity).length];
}

/**
 * The credentials configured for a consumer identity: a consumer with exactly this identity, else
 * the most specific matching one (one scoped to a path, then the most attributes; among equals
 * the one configured last). Upstream picks among several matches in map order, i.e. at random;
 * this choice is stable and lets a path-scoped entry win over a host-wide one.
 */
export function findCredentials(config: OcmConfig, identity: ConsumerIdentity): ResolvedCredentials | undefined {
  const merged = mergedConsumers(config);
  const exact = merged.get(identityKey(identity));
  if (exact) return { properties: exact.properties, identity: exact.identity, sources: exact.sources };
  let best: MergedConsumer | undefined;
  for (const entry of merged.values()) {
    if (!matchIdentity(identity, entry.identity)) continue;
    if (!best) {
      best = entry;
      continue;
    }
    const [p, n] = specificity(entry.identity);
    const [bp, bn] = specificity(best.identity);
    if (p > bp || (p === bp && (n > bn || (n === bn && entry.order > best.order)))) best = entry;
  }
  return best ? { properties: best.properties, identity: best.identity, sources: best.sources } : undefined;
}

/** OCI credential properties as the registry client takes them: accessToken → registry token, refreshToken → identity token. */
export function toRegistryCredential(properties: Readonly<Record<string, string>>): Credential {
  const cred: Credential = {};
  if (properties.username) cred.username = properties.username;
  if (properties.password) cred.password = properties.password;
  if (properties.accessToken) cred.registryToken = properties.accessToken;
  if (properties.refreshToken) cred.identityToken = properties.refreshToken;
  return cred;
}

function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A credential from an inline docker config (`dockerConfig:` JSON): helpers first, then `auths`. */
async function inlineDockerCredential(repo: DockerConfigRepository, host: string): Promise<Credential | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(repo.dockerConfig ?? '');
  } catch (error) {
    // No cause: the parser's message quotes the text, which holds credentials (--debug prints causes).
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${repo.source}.repository.dockerConfig: not valid JSON (${jsonProblem(error)})`,
    );
  }
  if (!isRecord(parsed))
    throw new LadingError('INVALID_ARGUMENT', `${repo.source}.repository.dockerConfig: must hold a JSON object`);
  const address = serverAddress(host);
  const helpers = isRecord(parsed.credHelpers) ? parsed.credHelpers : {};
  const helper = helpers[address] ?? parsed.credsStore;
  if (typeof helper === 'string' && helper) return new CredentialHelper(helper).get(address);
  const auths = isRecord(parsed.auths) ? parsed.auths : {};
  const key = address in auths ? address : Object.keys(auths).find((k) => hostOfKey(k) === address);
  const entry = key === undefined ? undefined : auths[key];
  if (!isRecord(entry)) return undefined;
  const text = (field: string) => (typeof entry[field] === 'string' ? (entry[field] as string) : '');
  const cred: Credential = {};
  if (text('username')) cred.username = text('username');
  if (text('password')) cred.password = text('password');
  if (text('auth')) {
    const decoded = Buffer.from(text('auth'), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0)
      throw new LadingError('INVALID_ARGUMENT', `${repo.source}.repository.dockerConfig: "auth" of ${key} is invalid`);
    cred.username = decoded.slice(0, colon);
    cred.password = decoded.slice(colon + 1);
  }
  if (text('identitytoken')) cred.identityToken = text('identitytoken');
  if (text('registrytoken')) cred.registryToken = text('registrytoken');
  return cred;
}

/**
 * Looks a registry host up in a `DockerConfig/v1` credential repository. The key is `host[:port]`
 * exactly (or a legacy `https://host/v1/` key naming it). Upstream also tries the bare hostname
 * for a host with a port; lading does not, so that a credential stored for one port never reaches
 * another.
 */
export async function dockerConfigCredential(
  repo: DockerConfigRepository,
  host: string,
): Promise<Credential | undefined> {
  if (repo.dockerConfig) return inlineDockerCredential(repo, host);
  const store = repo.dockerConfigFile
    ? new DockerCredentialStore([expandHome(repo.dockerConfigFile)])
    : new DockerCredentialStore();
  return store.get(host);
}

/** Options of {@link credentialProviderFromConfig}: what a consumer's identity is matched against besides the host. */
export interface ConfigCredentialOptions {
  /** The repository's sub path: matched against consumers' `path`. */
  subPath?: string | undefined;
  /** The scheme the user wrote (`http`, `https`), if any: matched against consumers' `scheme`. */
  scheme?: string | undefined;
}

/**
 * A CredentialProvider for `Registry` from an OCM configuration: the `OCIRegistry` consumer that
 * matches the host (with the repository's sub path and scheme), else the `DockerConfig/v1`
 * repositories (the one configured last first). A host that nothing matches gets no credential,
 * so a credential only ever reaches the registry its consumer names.
 */
export function credentialProviderFromConfig(
  config: OcmConfig,
  options: ConfigCredentialOptions = {},
): CredentialProvider {
  return async (host) => {
    const identity = ociRegistryIdentity(host, options);
    const found = findCredentials(config, identity);
    if (found) {
      const cred = toRegistryCredential(found.properties);
      if (!isEmptyCredential(cred)) return cred;
    }
    const { hostname, port } = splitHostPort(host);
    const key = port ? `${hostname}:${port}` : hostname;
    let failure: unknown;
    for (const repo of [...config.repositories].reverse()) {
      try {
        const cred = await dockerConfigCredential(repo, key);
        if (!isEmptyCredential(cred)) return cred;
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure) throw failure;
    return undefined;
  };
}

/**
 * Basic credentials for http(s) helm chart repositories from an OCM configuration: the
 * `HelmChartRepository` consumer matching the repository URL (scheme, host, port, path glob), as
 * the `httpCredentials` option of the Helm input and access takes them. `oci://` charts are
 * `OCIRegistry` consumers instead (see credentialProviderFromConfig).
 */
export function helmCredentialsFromConfig(
  config: OcmConfig,
): (repository: URL) => Promise<{ username: string; password: string } | undefined> {
  return async (repository) => {
    const found = findCredentials(config, helmRepositoryIdentity(repository));
    const { username, password } = found?.properties ?? {};
    return username || password ? { username: username ?? '', password: password ?? '' } : undefined;
  };
}
