import { type ErrorHint, LadingError } from '../oci/index.js';
import { hasUserinfo, redactUserinfo } from '../registry/redact.js';
import { canonicalRepositoryType, RepositoryType } from './types.js';

/** Where component versions live: a CTF archive on disk or an OCI registry (with an optional sub path). */
export type RepositorySpec =
  | {
      /** A CTF archive. */
      kind: 'CommonTransportFormat';
      /** The type as the reference spelled it (`ctf::…`), `CommonTransportFormat/v1` when it named none. */
      type: string;
      /** The archive's path. */
      filePath: string;
    }
  | {
      /** An OCI registry. */
      kind: 'OCIRepository';
      /** The type as the reference spelled it (`oci::…`), `OCIRepository/v1` when it named none. */
      type: string;
      /** The registry: its host, with the scheme when one was given (`ghcr.io`, `http://127.0.0.1:5000`). */
      baseUrl: string;
      /** The path below the registry that component versions are stored under. */
      subPath?: string;
    };

/**
 * A registry repository's base as an access names what lies below it: the base URL (its scheme
 * kept) and sub path, `http://127.0.0.1:5000/sub`; '' for a CTF archive.
 */
export function repositoryBase(spec: RepositorySpec): string {
  if (spec.kind !== 'OCIRepository') return '';
  return spec.subPath ? `${spec.baseUrl}/${spec.subPath}` : spec.baseUrl;
}

/** A parsed component reference, `<repository>//<component>[:<version>]`. */
export interface ComponentVersionReference {
  /** The repository: a CTF archive or an OCI registry. */
  repository: RepositorySpec;
  /** `component-descriptors` when the reference spelled it out, '' for the `//` form. */
  prefix: string;
  /** The component name. */
  component: string;
  /** The version, when given. */
  version?: string;
  /** The expected descriptor digest (`@sha256:…`), when given. */
  digest?: string;
}

const componentPattern =
  /^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(\/[a-z][-a-z0-9_]*([.][a-z][-a-z0-9_]*)*)+$/;
const relaxedSemver =
  /^[v]?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const digestPattern = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const prefixSeparator = '/component-descriptors/';

export function isRelaxedSemver(version: string): boolean {
  return relaxedSemver.test(version);
}

export function isComponentName(name: string): boolean {
  return componentPattern.test(name) && name.length <= 255;
}

const domainPattern = /^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}$/;

/** Why `name` is not a component name (the schema's componentName pattern), in words. */
function componentNameProblem(name: string): string {
  if (name.length > 255) return 'it is longer than 255 characters';
  if (/[A-Z]/.test(name)) return 'component names are lower case';
  const slash = name.indexOf('/');
  if (slash < 0) return 'a component name is a DNS domain and a path, such as acme.org/app';
  if (!domainPattern.test(name.slice(0, slash))) {
    return `it must begin with a DNS domain such as acme.org, not "${name.slice(0, slash)}"`;
  }
  return 'each segment of its path begins with a letter and holds lower-case letters, digits, "-", "_" and "." only';
}

function invalid(raw: string, why: string, hint?: ErrorHint): never {
  throw new LadingError(
    'INVALID_REFERENCE',
    `invalid component reference "${redactUserinfo(raw)}": ${why}`,
    hint ? { hint } : {},
  );
}

/** Credentials in a repository URL would end up in logs and shell history; upstream refuses them too. */
function refuseUserinfo(raw: string, location: string): void {
  if (hasUserinfo(location)) {
    invalid(raw, 'credentials do not belong in the repository URL', {
      key: 'ocmCredentials',
      text: 'give them in an OCM configuration',
    });
  }
}

const windowsAbsolute = /^[A-Za-z]:[\\/]/;

/** Upstream's guess of the repository type from how the location is written. */
export function guessRepositoryKind(location: string): 'CommonTransportFormat' | 'OCIRepository' {
  if (windowsAbsolute.test(location)) return 'CommonTransportFormat';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(location);
  if (scheme) return scheme[1]?.toLowerCase() === 'file' ? 'CommonTransportFormat' : 'OCIRepository';
  if (
    location.startsWith('/') ||
    location.startsWith('./') ||
    location.startsWith('../') ||
    location === '.' ||
    location === '..'
  ) {
    return 'CommonTransportFormat';
  }
  if (location.includes(':') || location === 'localhost' || location.startsWith('localhost/')) return 'OCIRepository';
  if (/\.(tar\.gz|tgz|tar)$/.test(location)) return 'CommonTransportFormat';
  const host = location.split('/')[0] ?? '';
  if (/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(host) && /\.[A-Za-z]{2,}$/.test(host)) return 'OCIRepository';
  return 'CommonTransportFormat';
}

/**
 * Where the `type::` prefix ends, or -1. A `::` after a `[` is an IPv6 address (`https://[::1]:5000`,
 * `[::1]:5000/sub`), not a type: upstream takes the first `::` whatever comes before it, and so
 * cannot name such a registry without a type prefix.
 */
function typeSeparator(text: string): number {
  const sep = text.indexOf('::');
  return sep >= 0 && text.slice(0, sep).includes('[') ? -1 : sep;
}

/** Parses a repository location (`./archive`, `ghcr.io/acme`, `http://127.0.0.1:5000/sub`, `ctf::path`). */
export function parseRepository(raw: string): RepositorySpec {
  let type: string | undefined;
  let location = raw;
  const sep = typeSeparator(raw);
  if (sep >= 0) {
    type = raw.slice(0, sep);
    location = raw.slice(sep + 2);
  }
  if (windowsAbsolute.test(location)) location = location.replaceAll('\\', '/');
  if (location === '') invalid(raw, 'empty repository');
  refuseUserinfo(raw, location);
  const kind = type
    ? canonicalRepositoryType(type, { path: 'repository type' }) === RepositoryType.OCIRepository
      ? 'OCIRepository'
      : 'CommonTransportFormat'
    : guessRepositoryKind(location);
  if (kind === 'CommonTransportFormat') {
    return { kind, type: type ?? RepositoryType.CommonTransportFormat, filePath: location.replace(/^file:\/\//, '') };
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?([^/]+)(?:\/(.*))?$/.exec(location);
  if (!scheme?.[2]) invalid(raw, 'missing registry host');
  const baseUrl = `${scheme[1] ?? ''}${scheme[2]}`;
  const subPath = (scheme[3] ?? '').replace(/\/+$/, '');
  return { kind, type: type ?? RepositoryType.OCIRepository, baseUrl, ...(subPath ? { subPath } : {}) };
}

/**
 * Parses `[type::]<repository>{//|/component-descriptors/}<component>[:<version>][@<digest>]` as the
 * upstream CLI does: the last `/component-descriptors/`, else the last `//`, separates repository and
 * component; the repository type comes from the prefix or is guessed from the location.
 */
export function parseComponentReference(
  raw: string,
  options: { ignoreSemverValidation?: boolean } = {},
): ComponentVersionReference {
  let text = raw;
  let typePrefix = '';
  const sep = typeSeparator(text);
  if (sep >= 0) {
    typePrefix = text.slice(0, sep + 2);
    text = text.slice(sep + 2);
  }
  if (windowsAbsolute.test(text)) text = text.replaceAll('\\', '/');
  refuseUserinfo(raw, text);
  let digest: string | undefined;
  const at = text.lastIndexOf('@');
  if (at >= 0) {
    digest = text.slice(at + 1);
    text = text.slice(0, at);
    if (!digestPattern.test(digest)) invalid(raw, `invalid digest "${digest}"`);
  }
  let version: string | undefined;
  const lastSlash = text.lastIndexOf('/');
  const colon = text.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    version = text.slice(colon + 1);
    text = text.slice(0, colon);
    if (!version) invalid(raw, 'empty version');
    if (!options.ignoreSemverValidation && !isRelaxedSemver(version))
      invalid(raw, `version "${version}" is not a semantic version`);
  }
  let repository: string;
  let component: string;
  let prefix = '';
  const p = text.lastIndexOf(prefixSeparator);
  if (p >= 0) {
    repository = text.slice(0, p);
    component = text.slice(p + prefixSeparator.length);
    prefix = 'component-descriptors';
  } else {
    const d = text.lastIndexOf('//');
    if (d < 0) invalid(raw, 'expected <repository>//<component> or <repository>/component-descriptors/<component>');
    repository = text.slice(0, d);
    component = text.slice(d + 2);
  }
  if (!isComponentName(component)) {
    invalid(raw, `invalid component name "${component}": ${componentNameProblem(component)}`);
  }
  const spec = parseRepository(typePrefix + repository);
  return { repository: spec, prefix, component, ...(version ? { version } : {}), ...(digest ? { digest } : {}) };
}
