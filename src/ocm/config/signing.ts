import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readRegularFile } from '../../content/index.js';
import { LadingError } from '../../oci/index.js';
import { findCredentials } from './credentials.js';
import { ConsumerType } from './identity.js';
import type { ConfigEntry, ConsumerIdentity, OcmConfig } from './model.js';

/** The most a key or certificate file may hold (a system CA bundle is ~0.2 MiB). */
export const MaxKeyFileBytes = 4 * 1024 * 1024;

/** Upstream's default RSA signature algorithm (the signing package names both). */
const DefaultRsaAlgorithm = 'RSASSA-PSS';

/** A signing or verification key from the OCM configuration. */
export interface SigningKey {
  /** PEM of the private key (PKCS#1 or PKCS#8); absent when only a public key is configured. */
  privateKeyPem?: string;
  /** PEM of the public key (PKIX or PKCS#1), a certificate, or a certificate chain (leaf first). */
  publicKeyPem?: string;
  /** True when no public key was configured and `publicKeyPem` was derived from the private key. */
  publicKeyDerived?: boolean;
  /** The configured consumer identity that matched. */
  identity: ConsumerIdentity;
  /** Where it was configured, for messages. */
  sources: string[];
}

/** Upstream's property names, camelCase first, then the deprecated snake_case spellings. */
const keyFields = {
  privateInline: ['privateKeyPEM', 'private_key_pem'],
  privateFile: ['privateKeyPEMFile', 'private_key_pem_file'],
  publicInline: ['publicKeyPEM', 'public_key_pem'],
  publicFile: ['publicKeyPEMFile', 'public_key_pem_file'],
} as const;

function pick(properties: Readonly<Record<string, string>>, names: readonly string[]): string | undefined {
  for (const name of names) if (properties[name]) return properties[name];
  return undefined;
}

async function pem(
  properties: Readonly<Record<string, string>>,
  inline: readonly string[],
  file: readonly string[],
  where: string,
): Promise<string | undefined> {
  const text = pick(properties, inline);
  if (text) return text;
  const path = pick(properties, file);
  if (!path) return undefined;
  // Only a regular file, and a bounded one: a configuration (perhaps found in a cloned repository's
  // folder) naming a FIFO or /dev/zero must not hang or exhaust the command.
  const bytes = await readRegularFile(path, { limit: MaxKeyFileBytes, where: `${where}: key file ${path}` });
  return bytes.toString('utf8');
}

/**
 * The RSA key material configured for signing (or verifying) the signature `signatureName`: the
 * credentials of the consumer `{type: RSA/v1alpha1, algorithm, signature}` (upstream's identity for
 * its RSA handler; `RSA/v1` and `RSA` are the same type). Payloads are `Credentials/v1` properties
 * or `RSACredentials/v1` fields: `privateKeyPEM` | `privateKeyPEMFile` and `publicKeyPEM` |
 * `publicKeyPEMFile` (inline wins over file; `private_key_pem[_file]`, `public_key_pem[_file]` are
 * accepted as upstream still does). Files are read relative to the working directory. Without a
 * public key, one is derived from the private key. As upstream, `algorithm` must equal the
 * consumer's (default `RSASSA-PSS`). Undefined when nothing is configured.
 *
 * `sign cv` calls this with the signature name (`--signature`, default `default`); `verify cv` too,
 * taking the algorithm from the signature's media type.
 */
export async function signingKeyFromConfig(
  config: OcmConfig,
  signatureName: string,
  options: { algorithm?: string } = {},
): Promise<SigningKey | undefined> {
  const identity: ConsumerIdentity = {
    type: ConsumerType.RSA,
    algorithm: options.algorithm ?? DefaultRsaAlgorithm,
    signature: signatureName,
  };
  const found = findCredentials(config, identity);
  if (!found) return undefined;
  const where = found.sources.at(-1) ?? 'ocm config';
  const privateKeyPem = await pem(found.properties, keyFields.privateInline, keyFields.privateFile, where);
  let publicKeyPem = await pem(found.properties, keyFields.publicInline, keyFields.publicFile, where);
  if (!privateKeyPem && !publicKeyPem) return undefined;
  let publicKeyDerived = false;
  if (!publicKeyPem && privateKeyPem) {
    try {
      publicKeyPem = createPublicKey(createPrivateKey(privateKeyPem))
        .export({ type: 'spki', format: 'pem' })
        .toString();
      publicKeyDerived = true;
    } catch (error) {
      throw new LadingError('INVALID_ARGUMENT', `${where}: the private key is not a PEM RSA private key`, {
        cause: error,
      });
    }
  }
  return {
    ...(privateKeyPem ? { privateKeyPem } : {}),
    ...(publicKeyPem ? { publicKeyPem } : {}),
    ...(publicKeyDerived ? { publicKeyDerived } : {}),
    identity: found.identity,
    sources: found.sources,
  };
}

const signingConfigTypes = new Set(['signing.config.ocm.software/v1alpha1', 'signing.config.ocm.software']);

/** What the OCM configuration says about signing: the signer and verifier settings. */
export interface SigningSettings {
  /** The signer spec (`RSASigningConfiguration/v1alpha1 {signatureAlgorithm?, signatureEncodingPolicy?}`, …). */
  signer?: Record<string, unknown>;
  /** The verifier spec, as written. */
  verifier?: Record<string, unknown>;
}

/**
 * The `signing.config.ocm.software/v1alpha1` settings for a signature: an entry naming the
 * signature wins over one without `signature`; among equals the last one. Undefined fields mean
 * upstream's defaults (RSASSA-PSS, Plain encoding).
 */
export function signingConfigFromConfig(config: OcmConfig, signatureName: string): SigningSettings {
  const entries = config.configurations.filter((e: ConfigEntry) => signingConfigTypes.has(e.type));
  const named = entries.filter((e) => e.signature === signatureName);
  const general = entries.filter((e) => e.signature === undefined || e.signature === null || e.signature === '');
  const out: SigningSettings = {};
  for (const field of ['signer', 'verifier'] as const) {
    const from =
      [...named].reverse().find((e) => isRecord(e[field])) ?? [...general].reverse().find((e) => isRecord(e[field]));
    const value = from?.[field];
    if (isRecord(value)) out[field] = value;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
