import { LadingError } from '../oci/index.js';

/**
 * OCM type names (`Name[/version]`). Upstream matches them exactly and case-sensitively; the
 * lower-case and unversioned spellings work only because each one is registered as an alias. The
 * tables below are those registrations; the first name of each row is what v2 writes.
 */

/** The access types lading reads, by their canonical names (what OCM v2 writes). */
export const AccessType = {
  /** A blob stored with the component version in its repository. */
  LocalBlob: 'LocalBlob/v1',
  /** An OCI artifact in a registry, by reference (`ociArtifact` is an alias). */
  OCIImage: 'OCIImage/v1',
  /** One layer of an OCI artifact in a registry. */
  OCIImageLayer: 'OCIImageLayer/v1',
  /** A chart in a Helm repository. */
  Helm: 'Helm/v1',
  /** A commit of a GitHub repository. */
  GitHub: 'GitHub/v1',
  /** A file downloaded from a URL. */
  Wget: 'Wget/v1',
  /** An object in an S3 bucket. */
  S3Bucket: 'S3Bucket/v1',
  /** A local file, by `file://` URI. */
  File: 'File/v1alpha1',
} as const;

/** The input types the component constructor knows, by their canonical names. */
export const InputType = {
  /** A folder, as a tar (optionally gzip-compressed). */
  Dir: 'Dir/v1',
  /** A file (optionally gzip-compressed). */
  File: 'File/v1',
  /** Text (or JSON/YAML given inline). */
  UTF8: 'UTF8/v1',
  /** A Helm chart: a folder or from a chart repository. */
  Helm: 'Helm/v1',
  /** A file downloaded from a URL. */
  Wget: 'Wget/v1',
} as const;

/** The repository types of a component reference, by their canonical names. */
export const RepositoryType = {
  OCIRepository: 'OCIRepository/v1',
  CommonTransportFormat: 'CommonTransportFormat/v1',
} as const;

type Aliases = Readonly<Record<string, readonly string[]>>;

const accessAliases: Aliases = {
  [AccessType.LocalBlob]: ['LocalBlob', 'localBlob/v1', 'localBlob'],
  [AccessType.OCIImage]: [
    'OCIImage',
    'ociArtifact/v1',
    'ociArtifact',
    'ociRegistry/v1',
    'ociRegistry',
    'ociImage/v1',
    'ociImage',
  ],
  [AccessType.OCIImageLayer]: ['OCIImageLayer', 'ociBlob/v1', 'ociBlob'],
  [AccessType.Helm]: ['Helm', 'helm/v1', 'helm'],
  [AccessType.GitHub]: ['GitHub', 'github/v1', 'github', 'gitHub/v1', 'gitHub'],
  [AccessType.Wget]: ['Wget', 'wget/v1', 'wget'],
  [AccessType.S3Bucket]: ['S3Bucket', 's3Bucket/v1', 's3Bucket'],
  [AccessType.File]: ['File', 'file/v1alpha1', 'file'],
};

const inputAliases: Aliases = {
  [InputType.Dir]: ['Dir', 'dir/v1', 'dir'],
  [InputType.File]: ['File', 'file/v1', 'file'],
  [InputType.UTF8]: ['UTF8', 'utf8/v1', 'utf8'],
  [InputType.Helm]: ['Helm', 'helm/v1', 'helm'],
  [InputType.Wget]: ['Wget', 'wget/v1', 'wget'],
};

const repositoryAliases: Aliases = {
  // The OCIRegistry spellings are accepted by upstream's component-reference parser only; they
  // are kept here because every repository string a user types goes through that parser.
  [RepositoryType.OCIRepository]: [
    'OCIRepository',
    'OCI/v1',
    'OCI',
    'oci/v1',
    'oci',
    'OCIRegistry/v1',
    'OCIRegistry',
    'ociRegistry/v1',
    'ociRegistry',
  ],
  [RepositoryType.CommonTransportFormat]: ['CommonTransportFormat', 'CTF/v1', 'CTF', 'ctf/v1', 'ctf'],
};

function index(aliases: Aliases): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const [canonical, names] of Object.entries(aliases)) {
    map.set(canonical, canonical);
    for (const name of names) map.set(name, canonical);
  }
  return map;
}

const accessIndex = index(accessAliases);
const inputIndex = index(inputAliases);
const repositoryIndex = index(repositoryAliases);

export interface TypeName {
  name: string;
  version?: string;
}

/** Splits `Name[/version]` as upstream's runtime.Type does; more than one `/` or no name is an error. */
export function parseTypeName(type: string, options: { path?: string } = {}): TypeName {
  const parts = type.split('/');
  const where = options.path ? `${options.path}: ` : '';
  if (parts.length > 2) throw new LadingError('UNKNOWN_TYPE', `${where}invalid type "${type}": too many segments`);
  const [name = '', version] = parts;
  if (name === '') throw new LadingError('UNKNOWN_TYPE', `${where}invalid type "${type}": missing name`);
  return version === undefined ? { name } : { name, version };
}

function canonical(map: ReadonlyMap<string, string>, kind: string, type: unknown, options: { path?: string }): string {
  const where = options.path ? `${options.path}: ` : '';
  if (typeof type !== 'string' || type === '') {
    throw new LadingError('UNKNOWN_TYPE', `${where}${kind} type must be a non-empty string`);
  }
  const found = map.get(type);
  if (found === undefined) {
    const known = [...new Set(map.values())].join(', ');
    throw new LadingError('UNKNOWN_TYPE', `${where}unknown ${kind} type "${type}" (known: ${known})`);
  }
  return found;
}

/** The canonical name of an access type, or UNKNOWN_TYPE naming `options.path`. */
export function canonicalAccessType(type: unknown, options: { path?: string } = {}): string {
  return canonical(accessIndex, 'access', type, options);
}

/** The canonical name of an input type, or UNKNOWN_TYPE naming `options.path`. */
export function canonicalInputType(type: unknown, options: { path?: string } = {}): string {
  return canonical(inputIndex, 'input', type, options);
}

/** The canonical name of a repository type, or UNKNOWN_TYPE naming `options.path`. */
export function canonicalRepositoryType(type: unknown, options: { path?: string } = {}): string {
  return canonical(repositoryIndex, 'repository', type, options);
}

export function isAccessType(type: unknown, canonicalName: string): boolean {
  return typeof type === 'string' && accessIndex.get(type) === canonicalName;
}

export function isInputType(type: unknown, canonicalName: string): boolean {
  return typeof type === 'string' && inputIndex.get(type) === canonicalName;
}

export function isKnownAccessType(type: unknown): boolean {
  return typeof type === 'string' && accessIndex.has(type);
}

export function isKnownInputType(type: unknown): boolean {
  return typeof type === 'string' && inputIndex.has(type);
}

/** Every accepted spelling of a canonical type, canonical first (for help texts and schemas). */
export function typeSpellings(canonicalName: string): string[] {
  const names = accessAliases[canonicalName] ?? inputAliases[canonicalName] ?? repositoryAliases[canonicalName];
  return names ? [canonicalName, ...names] : [];
}
