export {
  type ConfigCredentialOptions,
  credentialProviderFromConfig,
  dockerConfigCredential,
  findCredentials,
  helmCredentialsFromConfig,
  type ResolvedCredentials,
  toRegistryCredential,
} from './credentials.js';
export {
  type ConfigDiscoveryOptions,
  type LoadedOcmConfig,
  type LoadOcmConfigOptions,
  loadOcmConfig,
  ocmConfigPaths,
} from './discovery.js';
export {
  ConsumerType,
  canonicalConsumerType,
  helmRepositoryIdentity,
  identityKey,
  matchIdentity,
  ociRegistryIdentity,
  pathMatch,
  splitHostPort,
} from './identity.js';
export * from './model.js';
export { isCredentialsConfigType, isGenericConfigType, mergeOcmConfigs, parseOcmConfig } from './parse.js';
export {
  type SigningKey,
  type SigningSettings,
  signingConfigFromConfig,
  signingKeyFromConfig,
} from './signing.js';
