import { parseDocument } from 'yaml';
import { LadingError } from '../../oci/index.js';
import { valueText } from '../../oci/value-text.js';
import { goYamlReadOptions, yamlErrorText } from '../descriptor/go-yaml-read.js';
import { canonicalConsumerType } from './identity.js';
import {
  type ConfigEntry,
  type ConsumerIdentity,
  type CredentialConsumer,
  CredentialRepositoryType,
  type DockerConfigRepository,
  emptyOcmConfig,
  type OcmConfig,
} from './model.js';

/** Every spelling upstream registers for the entry and payload types lading reads. */
const genericTypes = new Set(['generic.config.ocm.software/v1', 'generic.config.ocm.software']);
const credentialsTypes = new Set(['credentials.config.ocm.software/v1', 'credentials.config.ocm.software']);
const directTypes = new Set(['Credentials/v1', 'Credentials', 'DirectCredentials/v1', 'DirectCredentials']);
const ociTypes = new Set(['OCICredentials/v1', 'OCICredentials']);
const rsaTypes = new Set(['RSACredentials/v1', 'RSACredentials']);
const helmTypes = new Set(['HelmHTTPCredentials/v1', 'HelmHTTPCredentials']);
const dockerConfigTypes = new Set(['DockerConfig/v1', 'DockerConfig']);

const ociFields = ['username', 'password', 'accessToken', 'refreshToken'] as const;
const rsaFields = ['publicKeyPEM', 'publicKeyPEMFile', 'privateKeyPEM', 'privateKeyPEMFile'] as const;
const helmFields = ['username', 'password', 'certFile', 'keyFile', 'keyring'] as const;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isGenericConfigType(type: unknown): boolean {
  return typeof type === 'string' && genericTypes.has(type);
}

export function isCredentialsConfigType(type: unknown): boolean {
  return typeof type === 'string' && credentialsTypes.has(type);
}

class Reader {
  readonly source: string;
  constructor(source: string) {
    this.source = source;
  }

  fail(path: string, why: string): never {
    throw new LadingError('INVALID_ARGUMENT', `${this.source}: ${path}: ${why}`);
  }

  record(value: unknown, path: string): Record<string, unknown> {
    if (!isRecord(value)) this.fail(path, 'must be a mapping');
    return value;
  }

  list(value: unknown, path: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) this.fail(path, 'must be a list');
    return value;
  }

  string(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') this.fail(path, 'must be a string');
    return value;
  }

  type(value: unknown, path: string): string {
    const rec = this.record(value, path);
    if (typeof rec.type !== 'string' || rec.type === '') this.fail(`${path}.type`, 'must be a non-empty string');
    return rec.type;
  }

  /** Identity attributes are strings; YAML numbers and booleans (`port: 5000`) are taken as written. */
  identity(value: unknown, path: string): ConsumerIdentity {
    const rec = this.record(value, path);
    const out: ConsumerIdentity = {};
    for (const [key, v] of Object.entries(rec)) {
      if (typeof v === 'string') out[key] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
      else if (v !== null && v !== undefined) this.fail(`${path}.${key}`, 'must be a string');
    }
    if (!out.type) this.fail(`${path}.type`, 'a consumer identity needs a type (for example OCIRegistry)');
    out.type = canonicalConsumerType(out.type);
    return out;
  }
}

/** Flattens nested generic configs (upstream's FlatMap): their entries take the place of the nesting entry. */
function flatten(entries: unknown[], r: Reader, path: string, out: { entry: ConfigEntry; path: string }[]): void {
  entries.forEach((entry, i) => {
    if (entry === null || entry === undefined) return;
    const at = `${path}[${i}]`;
    const type = r.type(entry, at);
    const rec = entry as Record<string, unknown>;
    if (genericTypes.has(type)) {
      flatten(r.list(rec.configurations, `${at}.configurations`), r, `${at}.configurations`, out);
      return;
    }
    out.push({ entry: { ...rec, type }, path: at });
  });
}

function readConsumer(value: unknown, r: Reader, path: string): CredentialConsumer {
  const rec = r.record(value, path);
  const identities: ConsumerIdentity[] = [];
  if (rec.identity !== undefined && rec.identity !== null)
    identities.push(r.identity(rec.identity, `${path}.identity`));
  r.list(rec.identities, `${path}.identities`).forEach((id, i) => {
    identities.push(r.identity(id, `${path}.identities[${i}]`));
  });
  if (identities.length === 0) r.fail(path, 'a consumer needs an identity (or identities)');
  const properties: Record<string, string> = {};
  const unsupported: string[] = [];
  r.list(rec.credentials, `${path}.credentials`).forEach((cred, i) => {
    if (cred === null || cred === undefined) return;
    const at = `${path}.credentials[${i}]`;
    const type = r.type(cred, at);
    const c = cred as Record<string, unknown>;
    if (directTypes.has(type)) {
      const props =
        c.properties === undefined || c.properties === null ? {} : r.record(c.properties, `${at}.properties`);
      for (const [key, v] of Object.entries(props)) {
        const s = r.string(v, `${at}.properties.${key}`);
        if (s !== undefined) properties[key] = s;
      }
    } else if (ociTypes.has(type) || rsaTypes.has(type) || helmTypes.has(type)) {
      for (const field of ociTypes.has(type) ? ociFields : rsaTypes.has(type) ? rsaFields : helmFields) {
        const s = r.string(c[field], `${at}.${field}`);
        if (s !== undefined && s !== '') properties[field] = s;
      }
    } else {
      unsupported.push(type);
    }
  });
  return { identities, properties, unsupported, source: `${r.source}: ${path}` };
}

function readRepository(value: unknown, r: Reader, path: string): DockerConfigRepository | undefined {
  const rec = r.record(value, path);
  const repo = rec.repository;
  const type = r.type(repo, `${path}.repository`);
  if (!dockerConfigTypes.has(type)) return undefined;
  const spec = repo as Record<string, unknown>;
  const file = r.string(spec.dockerConfigFile, `${path}.repository.dockerConfigFile`);
  const inline = r.string(spec.dockerConfig, `${path}.repository.dockerConfig`);
  return {
    type: CredentialRepositoryType.DockerConfig,
    ...(file ? { dockerConfigFile: file } : {}),
    ...(inline ? { dockerConfig: inline } : {}),
    source: `${r.source}: ${path}`,
  };
}

/**
 * Reads one `.ocmconfig` (YAML or JSON): `type: generic.config.ocm.software/v1` with typed
 * `configurations:`. Credential entries are interpreted; every other entry type is kept as read
 * and otherwise ignored, as upstream tolerates entries it has no use for.
 */
export function parseOcmConfig(text: string, options: { source?: string } = {}): OcmConfig {
  const source = options.source ?? '.ocmconfig';
  const doc = parseDocument(text, goYamlReadOptions);
  const error = doc.errors[0];
  if (error) {
    const line = error.linePos?.[0].line;
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${source}${line ? `:${line}` : ''}: not valid YAML: ${yamlErrorText(error)}`,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // The parser's refusal of too many aliases (or an alias it cannot resolve), named by file.
    throw new LadingError('INVALID_ARGUMENT', `${source}: not usable YAML: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const r = new Reader(source);
  if (value === null || value === undefined) return { ...emptyOcmConfig(), files: [source] };
  const top = r.record(value, 'document');
  if (!isGenericConfigType(top.type)) {
    r.fail('type', `must be generic.config.ocm.software/v1, got ${valueText(top.type)}`);
  }
  const entries: { entry: ConfigEntry; path: string }[] = [];
  flatten(r.list(top.configurations, 'configurations'), r, 'configurations', entries);
  const config: OcmConfig = { configurations: [], consumers: [], repositories: [], files: [source] };
  for (const { entry, path } of entries) {
    config.configurations.push(entry);
    if (!credentialsTypes.has(entry.type)) continue;
    r.list(entry.consumers, `${path}.consumers`).forEach((c, j) => {
      config.consumers.push(readConsumer(c, r, `${path}.consumers[${j}]`));
    });
    r.list(entry.repositories, `${path}.repositories`).forEach((repo, j) => {
      const parsed = readRepository(repo, r, `${path}.repositories[${j}]`);
      if (parsed) config.repositories.push(parsed);
    });
  }
  return config;
}

/** Merges configurations in order: entries are concatenated, and for every lookup later entries win. */
export function mergeOcmConfigs(...configs: OcmConfig[]): OcmConfig {
  const out = emptyOcmConfig();
  for (const c of configs) {
    out.configurations.push(...c.configurations);
    out.consumers.push(...c.consumers);
    out.repositories.push(...c.repositories);
    out.files.push(...c.files);
  }
  return out;
}
