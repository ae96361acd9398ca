import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import { LadingError } from '../../oci/index.js';
import { decodePem, encodePem } from './pem.js';

/** Key material as callers hold it: a KeyObject, or PEM text/bytes. */
export type KeyInput = KeyObject | string | Uint8Array;

function isKeyObject(value: KeyInput): value is KeyObject {
  return typeof value === 'object' && !(value instanceof Uint8Array) && 'asymmetricKeyType' in value;
}

function pemText(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
}

/** Below this, RSA keys can be factored with public effort; NIST disallowed them after 2013. */
export const MinRsaKeyBits = 2048;

/** INVALID_KEY unless `key` is an RSA key of at least MinRsaKeyBits bits. */
export function requireRsa(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new LadingError('INVALID_KEY', `${what} is not an RSA key (key type ${key.asymmetricKeyType ?? 'unknown'})`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MinRsaKeyBits) {
    throw new LadingError(
      'INVALID_KEY',
      `${what} is a ${bits}-bit RSA key: keys under ${MinRsaKeyBits} bits are refused for signing and verification`,
    );
  }
  return key;
}

/**
 * An RSA private key from PEM: the first `RSA PRIVATE KEY` (PKCS#1) or `PRIVATE KEY` (PKCS#8)
 * block, as upstream reads it. Encrypted keys are refused (no passphrase prompt here).
 */
export function loadPrivateKey(input: KeyInput, where = 'private key'): KeyObject {
  if (isKeyObject(input)) {
    if (input.type !== 'private') throw new LadingError('INVALID_KEY', `${where}: not a private key`);
    return requireRsa(input, where);
  }
  const blocks = decodePem(pemText(input));
  const block = blocks.find((b) => b.type === 'RSA PRIVATE KEY' || b.type === 'PRIVATE KEY');
  if (!block) {
    const encrypted = blocks.some((b) => b.type === 'ENCRYPTED PRIVATE KEY' || b.headers['Proc-Type']);
    throw new LadingError(
      'INVALID_KEY',
      encrypted
        ? `${where}: encrypted private keys are not supported; decrypt it first (openssl pkey -in key.pem -out plain.pem)`
        : `${where}: no RSA PRIVATE KEY (PKCS#1) or PRIVATE KEY (PKCS#8) PEM block`,
    );
  }
  if (block.headers['Proc-Type']) {
    throw new LadingError('INVALID_KEY', `${where}: encrypted private keys are not supported; decrypt it first`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: block.bytes,
      format: 'der',
      type: block.type === 'RSA PRIVATE KEY' ? 'pkcs1' : 'pkcs8',
    });
  } catch (error) {
    throw new LadingError('INVALID_KEY', `${where}: cannot read the ${block.type}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return requireRsa(key, where);
}

/** A public key as {@link loadPublicKey} reads it, and the certificate it came from. */
export interface PublicKeyMaterial {
  /** The public key. */
  key: KeyObject;
  /** Set when the key came from a certificate; upstream then also trusts it as a root for PEM signatures. */
  certificate?: X509Certificate;
}

/**
 * An RSA public key from PEM: the first `PUBLIC KEY` (PKIX), `RSA PUBLIC KEY` (PKCS#1) or
 * `CERTIFICATE` block; a private key also does (its public half is used).
 */
export function loadPublicKey(input: KeyInput, where = 'public key'): PublicKeyMaterial {
  if (isKeyObject(input)) return { key: requireRsa(input.type === 'private' ? createPublicKey(input) : input, where) };
  for (const block of decodePem(pemText(input))) {
    try {
      switch (block.type) {
        case 'PUBLIC KEY':
          return { key: requireRsa(createPublicKey({ key: block.bytes, format: 'der', type: 'spki' }), where) };
        case 'RSA PUBLIC KEY':
          return { key: requireRsa(createPublicKey({ key: block.bytes, format: 'der', type: 'pkcs1' }), where) };
        case 'CERTIFICATE': {
          const certificate = new X509Certificate(block.bytes);
          return { key: requireRsa(certificate.publicKey, where), certificate };
        }
        case 'RSA PRIVATE KEY':
        case 'PRIVATE KEY':
          return { key: createPublicKey(loadPrivateKey(encodePem(block), where)) };
      }
    } catch (error) {
      if (error instanceof LadingError) throw error;
      throw new LadingError('INVALID_KEY', `${where}: cannot read the ${block.type}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  throw new LadingError(
    'INVALID_KEY',
    `${where}: no PUBLIC KEY (PKIX), RSA PUBLIC KEY (PKCS#1) or CERTIFICATE PEM block`,
  );
}

/** Every CERTIFICATE block of a PEM text, in order. */
export function loadCertificates(input: string | Uint8Array, where = 'certificates'): X509Certificate[] {
  const certs: X509Certificate[] = [];
  for (const block of decodePem(pemText(input))) {
    if (block.type !== 'CERTIFICATE') continue;
    try {
      certs.push(new X509Certificate(block.bytes));
    } catch (error) {
      throw new LadingError('INVALID_KEY', `${where}: cannot read a certificate: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  if (certs.length === 0) throw new LadingError('INVALID_KEY', `${where}: no CERTIFICATE PEM block`);
  return certs;
}
