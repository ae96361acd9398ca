import { AccessType, InputType, RepositoryType, typeSpellings } from './types.js';

/**
 * Every OCM type lading supports, by subsystem (as upstream's `ocm describe types` groups them),
 * with the fields lading reads. Data only: the CLI renders it.
 */

export interface TypeField {
  name: string;
  type: 'string' | 'boolean' | 'integer' | 'object' | 'string[]' | 'map[string]string';
  required?: boolean;
  description: string;
}

export interface CatalogType {
  /** The canonical name (what v2 writes). */
  name: string;
  /** Every other accepted spelling. */
  aliases: string[];
  description: string;
  fields: TypeField[];
}

export interface Subsystem {
  name: string;
  description: string;
  types: CatalogType[];
}

const str = (name: string, description: string, required = false): TypeField => ({
  name,
  type: 'string',
  description,
  ...(required ? { required: true } : {}),
});
const bool = (name: string, description: string): TypeField => ({ name, type: 'boolean', description });

function entry(name: string, description: string, fields: TypeField[]): CatalogType {
  return { name, aliases: typeSpellings(name).filter((a) => a !== name), description, fields };
}

const mediaType = str('mediaType', 'media type of the content');
const compress = bool('compress', 'gzip the content');

export const typeCatalog: readonly Subsystem[] = [
  {
    name: 'ocm-repository',
    description: 'where component versions are stored',
    types: [
      entry(RepositoryType.OCIRepository, 'component versions in an OCI registry', [
        str('baseUrl', 'registry host with optional scheme and port, e.g. http://localhost:5000', true),
        str('subPath', 'repository prefix under which component-descriptors/… lie'),
      ]),
      entry(RepositoryType.CommonTransportFormat, 'a CTF archive: a directory, a tar or a tgz', [
        str('filePath', 'the path of the archive', true),
        str('accessMode', 'readonly or readwrite (default)'),
      ]),
    ],
  },
  {
    name: 'access',
    description: 'how the content of a resource or source is reached',
    types: [
      entry(AccessType.LocalBlob, 'a blob stored with the component version', [
        str('localReference', 'the digest of the blob in the repository', true),
        str('mediaType', 'media type of the blob', true),
        str('referenceName', 'the name an OCI artifact had, for re-export'),
        { name: 'globalAccess', type: 'object', description: 'an access by which the blob is also reachable' },
      ]),
      entry(AccessType.OCIImage, 'an OCI image or artifact in a registry', [
        str('imageReference', 'host/repository[:tag][@digest]', true),
      ]),
      entry(AccessType.OCIImageLayer, 'one layer (blob) in an OCI repository', [
        str('ref', 'host/repository of the blob', true),
        str('digest', 'the digest of the blob', true),
        mediaType,
        { name: 'size', type: 'integer', description: 'the size of the blob' },
      ]),
      entry(AccessType.Helm, 'a Helm chart in a chart repository or an OCI registry', [
        str('helmRepository', 'chart repository URL or oci:// registry', true),
        str('helmChart', 'chart name[:version]', true),
        str('version', 'chart version (when not in helmChart)'),
        str('caCert', 'PEM CA certificate for the chart repository'),
      ]),
      entry(AccessType.GitHub, 'a commit of a GitHub repository (kept by reference)', [
        str('repoUrl', 'the repository URL', true),
        str('commit', 'the commit hash', true),
        str('apiHostname', 'GitHub Enterprise API host'),
      ]),
      entry(AccessType.Wget, 'content at an HTTP(S) URL (kept by reference)', [str('url', 'the URL', true), mediaType]),
      entry(AccessType.S3Bucket, 'an object in an S3 bucket (kept by reference)', [
        str('region', 'bucket region'),
        str('bucket', 'bucket name', true),
        str('key', 'object key', true),
        str('version', 'object version'),
        mediaType,
      ]),
      entry(AccessType.File, 'a local file, by file:// URI (downloaded with download resource)', [
        str('uri', 'file:// URI of the file', true),
        mediaType,
        str('digest', 'sha256 digest of the file (a file is read only when this or the resource digest pins it)'),
      ]),
    ],
  },
  {
    name: 'input',
    description: 'where add cv takes the content of a resource or source from',
    types: [
      entry(InputType.File, 'one file', [
        str('path', 'the file, relative to the constructor', true),
        mediaType,
        compress,
      ]),
      entry(InputType.Dir, 'a directory, as a tar', [
        str('path', 'the directory, relative to the constructor', true),
        mediaType,
        compress,
        bool('preserveDir', 'keep the directory itself as the top entry'),
        bool('followSymlinks', 'store what links point to instead of the links'),
        { name: 'excludeFiles', type: 'string[]', description: 'glob patterns to leave out' },
        { name: 'includeFiles', type: 'string[]', description: 'glob patterns to keep (all by default)' },
      ]),
      entry(InputType.UTF8, 'inline text, JSON or YAML', [
        str('text', 'the text'),
        { name: 'json', type: 'object', description: 'a value stored as compact JSON' },
        { name: 'formattedJson', type: 'object', description: 'a value stored as indented JSON' },
        { name: 'yaml', type: 'object', description: 'a value stored as YAML' },
        mediaType,
        compress,
      ]),
      entry(InputType.Helm, 'a Helm chart from a folder, a chart archive, a chart repository or a registry', [
        str('path', 'chart folder or .tgz (local charts)'),
        str('helmRepository', 'chart repository URL or oci:// registry (remote charts)'),
        str('repository', 'OCI repository the chart is stored as (a name hint)'),
        str('version', 'chart version'),
        str('caCert', 'PEM CA certificate for the chart repository'),
        str('caCertFile', 'file of the PEM CA certificate'),
      ]),
      entry(InputType.Wget, 'content fetched from an HTTP(S) URL at construction', [
        str('url', 'the URL', true),
        mediaType,
        { name: 'header', type: 'object', description: 'request headers: name → list of values' },
        str('verb', 'HTTP method (default GET)'),
        str('body', 'request body'),
        bool('noRedirect', 'do not follow redirects'),
      ]),
    ],
  },
  {
    name: 'credential-repository',
    description: 'where credentials are looked up besides the configuration itself',
    types: [
      {
        name: 'DockerConfig/v1',
        aliases: ['DockerConfig'],
        description: 'a docker config.json (credential helpers included)',
        fields: [
          str('dockerConfigFile', 'path of the file (default: docker’s own location)'),
          str('dockerConfig', 'the file content, inline'),
          bool('propagateConsumerIdentity', 'accepted; lading matches hosts as upstream does'),
        ],
      },
    ],
  },
  {
    name: 'signing',
    description: 'how component versions are signed and verified',
    types: [
      {
        name: 'RSASSA-PSS',
        aliases: ['RSASSA-PSS/v1alpha1'],
        description: 'RSA PSS signature over the normalised descriptor digest (the default)',
        fields: [
          str('privateKeyPEM / privateKeyPEMFile', 'credential properties of the RSA consumer (signing)'),
          str('publicKeyPEM / publicKeyPEMFile', 'credential properties of the RSA consumer (verification)'),
        ],
      },
      {
        name: 'RSASSA-PKCS1-V1_5',
        aliases: ['RSASSA-PKCS1-V1_5/v1alpha1'],
        description: 'RSA PKCS#1 v1.5 signature over the normalised descriptor digest',
        fields: [
          str('privateKeyPEM / privateKeyPEMFile', 'credential properties of the RSA consumer (signing)'),
          str('publicKeyPEM / publicKeyPEMFile', 'credential properties of the RSA consumer (verification)'),
        ],
      },
    ],
  },
];

/** A subsystem by name (case-insensitive). */
export function findSubsystem(name: string): Subsystem | undefined {
  return typeCatalog.find((s) => s.name.toLowerCase() === name.toLowerCase());
}

/** A type of a subsystem by any of its spellings (case-insensitive, as a user types it). */
export function findCatalogType(subsystem: Subsystem, name: string): CatalogType | undefined {
  const wanted = name.toLowerCase();
  return subsystem.types.find((t) => [t.name, ...t.aliases].some((n) => n.toLowerCase() === wanted));
}
