import { type Command, Option } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { PlainHttpPolicy } from '../../../ocm/access-transport.js';
import type { OcmConfig } from '../../../ocm/config/index.js';
import type { HelmFetchOptions } from '../../../ocm/input/helm-remote.js';
import type { OpenedRepository } from '../../../ocm/open.js';
import type { ComponentVersionReference, RepositorySpec } from '../../../ocm/reference.js';
import type { RegistryPool } from '../../../ocm/registry-pool.js';
import type { CredentialProvider, RegistryOptions } from '../../../registry/index.js';
import type { TargetFlags } from '../../targets.js';

export const OcmFormats = ['table', 'yaml', 'json', 'ndjson', 'tree'] as const;

/** The names the component-version commands answer to, as upstream's. */
export const ComponentVersionAliases = ['cv', 'cvs', 'componentversion', 'componentversions', 'component-versions'];

/**
 * Upstream's `--display-mode static|live` (add cv, get cv), so scripts written for it run: lading
 * always prints the finished result once, which is what `static` asks for.
 */
export function addDisplayModeOption(cmd: Command): Command {
  return cmd.addOption(
    new Option(
      '--display-mode <mode>',
      "static: print the result once it is complete (what lading does); live: upstream's experimental running view, printed as static here",
    ).choices(['static', 'live']),
  );
}

/** The version a reference names; one without is refused, showing the form it takes. */
export function requireVersion(raw: string, ref: ComponentVersionReference): string {
  if (!ref.version)
    throw new LadingError('INVALID_REFERENCE', `${raw}: a version is required (<repository>//<component>:<version>)`);
  return ref.version;
}

/** The registry flags of OCM commands plus `--config` (OCM configuration files). */
export interface OcmRemoteFlags extends TargetFlags {
  config?: string[];
}

export function checkFormat(value: string): (typeof OcmFormats)[number] {
  if (!(OcmFormats as readonly string[]).includes(value)) {
    throw new LadingError('INVALID_ARGUMENT', `-o/--output must be one of ${OcmFormats.join(', ')}, got "${value}"`);
  }
  return value as (typeof OcmFormats)[number];
}

const configs = new Map<string, Promise<OcmConfig>>();

/** The OCM configuration of this command: `--config` files, else the discovered ones (loaded once). */
export function ocmConfigFor(flags: OcmRemoteFlags): Promise<OcmConfig> {
  const files = flags.config ?? [];
  // What discovery depends on is part of the key, so a process running several commands stays right.
  const env = process.env;
  const key = JSON.stringify([files, process.cwd(), env.OCM_CONFIG, env.XDG_CONFIG_HOME, env.HOME]);
  let config = configs.get(key);
  if (!config) {
    config = (async () => {
      const { loadOcmConfig } = await import('../../../ocm/config/index.js');
      const loaded = await loadOcmConfig({ files });
      const { log } = await import('../../log.js');
      for (const w of loaded.warnings) log('warn', w);
      return loaded.config;
    })();
    configs.set(key, config);
  }
  return config;
}

/** The hosts (`host[:port]`, lower case) of the OCI registries among `specs`. */
function registryHosts(specs: readonly RepositorySpec[]): Set<string> {
  return new Set(
    specs.flatMap((spec) =>
      spec.kind === 'OCIRepository' ? [spec.baseUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '').toLowerCase()] : [],
    ),
  );
}

/** `flags` without the credentials and headers given on the command line (for hosts the user did not name). */
function withoutGivenAuth(flags: OcmRemoteFlags): OcmRemoteFlags {
  const {
    username: _u,
    password: _p,
    passwordStdin: _ps,
    identityToken: _t,
    identityTokenStdin: _ts,
    header: _h,
    ...rest
  } = flags;
  return rest;
}

function hasExplicitCredentials(flags: TargetFlags): boolean {
  return (
    flags.username !== undefined ||
    flags.password !== undefined ||
    flags.identityToken !== undefined ||
    Boolean(flags.passwordStdin) ||
    Boolean(flags.identityTokenStdin)
  );
}

/**
 * A registry-options factory for OCM commands: the command's registry flags, with credentials from
 * --username/--password (or identity token) flags if given, else from the OCM configuration
 * (`OCIRegistry` consumers matching host, port, scheme and sub path; `DockerConfig/v1`
 * repositories), else from the docker config (--registry-config or the default). Each source
 * answers only for the host it names. Also usable for registries other than the repository's
 * (OCI images, oci:// charts): pass their scheme and path.
 */
export async function ocmRegistryOptions(
  flags: OcmRemoteFlags,
  where: { scheme?: string | undefined; subPath?: string | undefined } = {},
): Promise<(host: string) => RegistryOptions> {
  const { registryOptions } = await import('../../registry-target.js');
  const config = await ocmConfigFor(flags);
  let fromConfig: CredentialProvider | undefined;
  if ((config.consumers.length > 0 || config.repositories.length > 0) && !hasExplicitCredentials(flags)) {
    const { credentialProviderFromConfig } = await import('../../../ocm/config/index.js');
    fromConfig = credentialProviderFromConfig(config, where);
  }
  const { isEmptyCredential } = await import('../../../registry/index.js');
  return (host) => {
    const o = registryOptions(flags, host);
    if (fromConfig) {
      const ocm = fromConfig;
      const fallback = o.credentials;
      o.credentials = async (h) => {
        const cred = await ocm(h);
        if (!isEmptyCredential(cred)) return cred;
        return fallback?.(h);
      };
    }
    return o;
  };
}

/** Opens an OCM repository with the command's registry flags and credentials (see ocmRegistryOptions). */
export async function openRepository(
  spec: RepositorySpec,
  flags: OcmRemoteFlags,
  options: { write?: boolean | 'existing' } = {},
): Promise<OpenedRepository> {
  const { openComponentRepository } = await import('../../../ocm/open.js');
  // A CTF folder's index is written once, when the command closes it: one write, not one per
  // version (a run of thousands of versions rewrote the whole index thousands of times).
  const write = options.write
    ? { mode: options.write === 'existing' ? ('readwrite' as const) : ('create' as const), batchIndex: true }
    : {};
  if (spec.kind !== 'OCIRepository') {
    // An explicit --config is read (and must be valid) whatever the repository.
    if (flags.config?.length) await ocmConfigFor(flags);
    return openComponentRepository(spec, write);
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(spec.baseUrl)?.[1];
  return openComponentRepository(spec, {
    ...write,
    registryOptions: await ocmRegistryOptions(flags, { scheme, subPath: spec.subPath }),
  });
}

/**
 * Which hosts an access read from a descriptor may be reached over plain HTTP: every host with
 * --plain-http, the hosts the user named with http:// on this command line (the repositories it
 * reads and writes), and loopback. Any other `http://` in a descriptor is refused.
 */
export async function plainHttpPolicy(
  flags: OcmRemoteFlags,
  named: readonly RepositorySpec[],
): Promise<(host: string) => boolean> {
  const { isLoopbackHost } = await import('../../../ocm/access-transport.js');
  const chosen = new Set(
    named.flatMap((spec) =>
      spec.kind === 'OCIRepository' && /^http:\/\//i.test(spec.baseUrl)
        ? [spec.baseUrl.slice('http://'.length).toLowerCase()]
        : [],
    ),
  );
  return (host) => Boolean(flags.plainHttp) || chosen.has(host.toLowerCase()) || isLoopbackHost(host);
}

/** How a command reaches what accesses name, built from its flags (see accessOptions). */
export interface AccessOptions {
  /** Registries other than the repository's: OCI images, `oci://` charts, `--upload-as` targets. Close when done. */
  registries: RegistryPool;
  /** Helm chart repositories and `oci://` charts. */
  helm: Omit<HelmFetchOptions, 'signal'>;
  allowPlainHttp: PlainHttpPolicy;
}

/**
 * Registries and Helm repositories beyond the command's repository (and for http(s) chart
 * repositories the OCM configuration's credentials); `http://` in a reference where
 * `allowPlainHttp` permits, or --plain-http, means plain HTTP. The credentials and headers given
 * on the command line (--username, --password, --identity-token, --header) go only to the
 * registries of `own`, the repositories the user named: a host a descriptor or constructor names
 * (an image's registry, an `oci://` chart's) gets only what the OCM and docker configurations keep
 * for it by name, so a third-party component cannot collect the user's password by naming its own
 * registry. Over plain HTTP, only the named registries and loopback get credentials at all.
 */
export async function accessOptions(
  flags: OcmRemoteFlags,
  allowPlainHttp: PlainHttpPolicy,
  own: readonly RepositorySpec[],
): Promise<AccessOptions> {
  const { RegistryPool } = await import('../../../ocm/registry-pool.js');
  const { helmCredentialsFromConfig } = await import('../../../ocm/config/index.js');
  const mine = await ocmRegistryOptions(flags);
  const hosts = registryHosts(own);
  const named = (host: string) => hosts.has(host.toLowerCase());
  const foreign = await ocmRegistryOptions(withoutGivenAuth(flags));
  const registries = new RegistryPool({
    registryOptions: (host) => (named(host) ? mine(host) : foreign(host)),
    ...(flags.plainHttp ? { plainHttp: true } : {}),
    plainHttpCredentials: named,
  });
  const helm = {
    registryOptions: (host: string) => registries.optionsFor(host),
    httpCredentials: helmCredentialsFromConfig(await ocmConfigFor(flags)),
    allowPlainHttp,
  };
  return { registries, helm, allowPlainHttp };
}
