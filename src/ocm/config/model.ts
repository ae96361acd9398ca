/** A consumer identity: string attributes, `type` among them (`OCIRegistry`, `RSA/v1alpha1`, …). */
export type ConsumerIdentity = Record<string, string>;

export const ConfigType = {
  Generic: 'generic.config.ocm.software/v1',
  Credentials: 'credentials.config.ocm.software/v1',
  Signing: 'signing.config.ocm.software/v1alpha1',
} as const;

export const CredentialType = {
  Direct: 'Credentials/v1',
  OCI: 'OCICredentials/v1',
  RSA: 'RSACredentials/v1',
} as const;

export const CredentialRepositoryType = {
  DockerConfig: 'DockerConfig/v1',
} as const;

/** A typed entry of `configurations:` as written, for the entry types lading does not interpret. */
export interface ConfigEntry {
  /** The entry's type (`credentials.config.ocm.software`, …). */
  type: string;
  [field: string]: unknown;
}

/**
 * One consumer of `credentials.config.ocm.software`: its identities and the credentials of every
 * payload type lading understands (`Credentials/v1` properties, `OCICredentials/v1`,
 * `RSACredentials/v1` and `HelmHTTPCredentials/v1` fields), flattened into one property map as
 * upstream merges them.
 */
export interface CredentialConsumer {
  /** The identities the credentials are for (`type: OCIRegistry`, `hostname`, …). */
  identities: ConsumerIdentity[];
  /** The credentials, flattened (`username`, `password`, `privateKey`, …). */
  properties: Record<string, string>;
  /** Credential payload types that were skipped (plugin-resolved types lading has no plugin for). */
  unsupported: string[];
  /** `file: configurations[i].consumers[j]`, for messages. */
  source: string;
}

/** `DockerConfig/v1`: a docker config file, inline JSON, or (neither set) docker's default location. */
export interface DockerConfigRepository {
  /** `DockerConfig/v1`. */
  type: typeof CredentialRepositoryType.DockerConfig;
  /** The docker config file to read. */
  dockerConfigFile?: string;
  /** The docker config itself, as JSON text. */
  dockerConfig?: string;
  /** `file: configurations[i]…`, for messages. */
  source: string;
}

/** The part of a merged OCM configuration that lading acts on, plus every entry as read. */
export interface OcmConfig {
  /** Every entry of every file (nested generic configs flattened), in order: later wins. */
  configurations: ConfigEntry[];
  /** The credential consumers (`credentials.config.ocm.software`), by identity. */
  consumers: CredentialConsumer[];
  /** The docker config files named as credential repositories. */
  repositories: DockerConfigRepository[];
  /** Files the configuration was read from, in order. */
  files: string[];
}

export function emptyOcmConfig(): OcmConfig {
  return { configurations: [], consumers: [], repositories: [], files: [] };
}
