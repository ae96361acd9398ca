// The registry half of target opening: credentials, TLS and header flags, one Registry per host.
// Loaded only when a command names a registry (src/cli/targets.ts imports it on demand), so that
// commands on OCI layouts never load the HTTP stack.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Target } from '../content/index.js';
import { checkTagOrDigest, LadingError, parseReference } from '../oci/index.js';
import {
  type Credential,
  type CredentialProvider,
  DockerCredentialStore,
  defaultConfigPath,
  Registry,
  type RegistryOptions,
} from '../registry/index.js';
import { traceSink } from './debug.js';
import { rememberSecret } from './io.js';
import { safeText } from './output/safe-text.js';
import { readVersion } from './version.js';

/** The ORAS remote and target flags, as commander hands them over (camelCase). */
export interface TargetFlags {
  ociLayout?: boolean;
  ociLayoutPath?: string;
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  identityToken?: string;
  identityTokenStdin?: boolean;
  insecure?: boolean;
  plainHttp?: boolean;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  registryConfig?: string[];
  header?: string[];
  resolve?: string[];
  distributionSpec?: string;
}

export interface OpenedTarget {
  kind: 'registry' | 'oci-layout';
  target: Target;
  /** The tag or digest named by the argument ('' when none). */
  reference: string;
  /** Extra tags after the first (`name:a,b,c`). */
  extraTags: string[];
  /** `[registry] host/repo:tag` or `[oci-layout] path:tag`, as ORAS prints targets. */
  display: string;
  /** `host/repo` or the layout path, to which `@digest` is appended in JSON output. */
  base: string;
}

/** Reads a secret from stdin (one value; a trailing newline and carriage return are dropped). */
export function readStdinSecret(flag = '--password-stdin'): string {
  const text = readFileSync(0, 'utf8');
  const secret = text.replace(/\n$/, '').replace(/\r$/, '');
  if (secret === '') throw new LadingError('INVALID_ARGUMENT', `${flag}: nothing was read from standard input`);
  return secret;
}

function credentialFrom(flags: TargetFlags, host: string): CredentialProvider {
  let password = flags.password;
  let identityToken = flags.identityToken;
  if (flags.passwordStdin) password = readStdinSecret();
  if (flags.identityTokenStdin) identityToken = readStdinSecret('--identity-token-stdin');
  if (flags.username && identityToken)
    throw new LadingError('INVALID_ARGUMENT', '--username and --identity-token cannot be used together');
  if (password !== undefined && identityToken !== undefined) {
    throw new LadingError('INVALID_ARGUMENT', '--password and --identity-token cannot be used together');
  }
  if (flags.username !== undefined || password !== undefined || identityToken !== undefined) {
    const cred: Credential = {};
    if (flags.username) cred.username = flags.username;
    // A password without a user name is an identity (refresh) token, as in ORAS.
    if (password !== undefined && flags.username) cred.password = password;
    else if (password !== undefined) cred.identityToken = password;
    if (identityToken !== undefined) cred.identityToken = identityToken;
    return remembered(async (h) => (h === host ? cred : undefined));
  }
  const paths = flags.registryConfig?.length ? flags.registryConfig : [defaultConfigPath()];
  return remembered(new DockerCredentialStore(paths).provider());
}

/** A provider whose answers are remembered as secrets: no error this run prints shows them. */
function remembered(provider: CredentialProvider): CredentialProvider {
  return async (host) => {
    const cred = await provider(host);
    if (cred) {
      rememberSecret(cred.password);
      rememberSecret(cred.identityToken);
      rememberSecret(cred.registryToken);
      if (cred.username !== undefined && cred.password !== undefined) {
        rememberSecret(Buffer.from(`${cred.username}:${cred.password}`).toString('base64'));
      }
    }
    return cred;
  };
}

function parseHeaders(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of list ?? []) {
    const i = h.indexOf(':');
    // The value is not quoted: a header given without its name is most likely a secret (a token).
    if (i <= 0)
      throw new LadingError('INVALID_ARGUMENT', `invalid header (${h.length} characters): expected 'Name: value'`);
    out[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  return out;
}

/** `--resolve host:port:address[:address_port]` (repeatable), checked as ORAS checks it. */
export function parseResolve(list: string[]): Record<string, { address: string; port: number }> {
  const out: Record<string, { address: string; port: number }> = {};
  const port = (text: string, raw: string, what: string) => {
    if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
      throw new LadingError('INVALID_ARGUMENT', `failed to parse resolve flag "${raw}": expecting ${what}`);
    return Number(text);
  };
  for (const raw of list) {
    const parts = raw.split(':');
    // host:port:address[:port]; an IPv6 address has colons of its own, so it is written in brackets.
    const m = /^([^:]+):([^:]*):(\[[^\]]+\]|[^:]+)(?::([^:]*))?$/.exec(raw);
    if (!m || parts.length < 3)
      throw new LadingError(
        'INVALID_ARGUMENT',
        `failed to parse resolve flag "${raw}": expecting host:port:address[:address_port]`,
      );
    const hostPort = port(m[2] as string, raw, 'a host port');
    const address = (m[3] as string).replace(/^\[(.*)\]$/, '$1');
    if (isIP(address) === 0)
      throw new LadingError('INVALID_ARGUMENT', `failed to parse resolve flag "${raw}": invalid IP address`);
    const addressPort = m[4] !== undefined ? port(m[4], raw, 'an address port') : hostPort;
    out[`${m[1]}:${hostPort}`] = { address, port: addressPort };
  }
  return out;
}

export function registryOptions(flags: TargetFlags, host: string): RegistryOptions {
  if (Boolean(flags.certFile) !== Boolean(flags.keyFile)) {
    throw new LadingError('INVALID_ARGUMENT', '--cert-file and --key-file must be used together');
  }
  const options: RegistryOptions = {
    credentials: credentialFrom(flags, host),
    userAgent: `lading/${readVersion()}`,
  };
  const trace = traceSink();
  if (trace) options.trace = trace;
  if (flags.plainHttp !== undefined) options.plainHttp = flags.plainHttp;
  if (flags.insecure) options.insecure = true;
  if (flags.caFile) options.caFile = flags.caFile;
  if (flags.certFile) options.certFile = flags.certFile;
  if (flags.keyFile) options.keyFile = flags.keyFile;
  const headers = parseHeaders(flags.header);
  if (Object.keys(headers).length > 0) options.headers = headers;
  if (flags.resolve?.length) options.resolve = parseResolve(flags.resolve);
  return options;
}

const registries = new Map<string, Registry>();

/** One Registry (connection pool, token cache) per host and flag set for the whole command. */
export function registryFor(host: string, flags: TargetFlags): Registry {
  const key = `${host}\0${JSON.stringify(flags)}`;
  let registry = registries.get(key);
  if (!registry) {
    registry = new Registry(host, registryOptions(flags, host));
    registries.set(key, registry);
  }
  return registry;
}

export async function closeRegistries(): Promise<void> {
  await Promise.all([...registries.values()].map((r) => r.close()));
  registries.clear();
}

function referrersState(flags: TargetFlags): 'supported' | 'unsupported' | undefined {
  switch (flags.distributionSpec) {
    case undefined:
      return undefined;
    case 'v1.1-referrers-api':
      return 'supported';
    case 'v1.1-referrers-tag':
      return 'unsupported';
    default:
      throw new LadingError(
        'INVALID_ARGUMENT',
        `unknown --distribution-spec "${flags.distributionSpec}": use v1.1-referrers-api or v1.1-referrers-tag`,
      );
  }
}

/** Opens a registry repository (`host/repo[:tag|@digest][,tag…]`) as a target. */
export function openRegistryTarget(raw: string, flags: TargetFlags, options: { write?: boolean } = {}): OpenedTarget {
  // `a,b` extra tags come after the first reference.
  const comma = raw.indexOf(',');
  const head = comma >= 0 && !raw.slice(0, comma).includes('@') ? raw.slice(0, comma) : raw;
  const extraTags = head === raw ? [] : raw.slice(comma + 1).split(',');
  const ref = parseReference(head);
  for (const t of extraTags) checkTagOrDigest(t, raw);
  const registry = registryFor(ref.registry, flags);
  // Every command that opens a target asks the registry something next: the connection opens while
  // the command prepares the rest (a layout to make, files to read).
  const state = referrersState(flags);
  registry.warm();
  const repository = registry.repository(ref.repository, {
    ...(options.write ? { push: true } : {}),
    ...(state ? { referrers: state } : {}),
  });
  return {
    kind: 'registry',
    target: repository,
    reference: ref.reference,
    extraTags,
    display: `[registry] ${safeText(head)}`,
    base: `${ref.registry}/${ref.repository}`,
  };
}
