/**
 * `lading/registry`: OCI distribution registries. A {@link Registry} is one host (its transport,
 * credentials, TLS and retry policy); {@link Registry.repository} gives a {@link Repository}, a
 * `Target` that `copy` and every other task of lading can read from and write to.
 *
 * @packageDocumentation
 */
export { type Credential, type CredentialProvider, staticCredential } from './auth/index.js';
export { CredentialHelper, DockerConfig, DockerCredentialStore, defaultConfigPath } from './credentials/index.js';
export type { RegistryEndpoint, RegistryOptions } from './endpoint.js';
export { type RegistryErrorDetail, RegistryResponseError, type RegistryResponseErrorInit } from './errors.js';
export type { PageLimits } from './link.js';
export type { ProxyConfig } from './proxy.js';
export type { ReferrersState } from './referrers.js';
export { Registry, type RegistryReference } from './registry.js';
export { Repository, type RepositoryOptions } from './repository.js';
export { defaultRetryPolicy, noRetry, type RetryPolicy } from './retry.js';
export type { Timeouts, TlsOptions } from './transport.js';
export type { PushOptions } from './upload.js';
