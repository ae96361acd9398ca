import { type KeyObject, X509Certificate } from 'node:crypto';
import { LadingError } from '../../oci/index.js';
import type { DigestSpec, Signature, SignatureInfo } from '../descriptor/model.js';
import { sameDistinguishedName, verifyCertificateChain } from './certificates.js';
import { digestValueBytes, parseHashAlgorithm } from './digest.js';
import { type KeyInput, loadCertificates, loadPrivateKey, loadPublicKey, requireRsa } from './keys.js';
import { decodePem, encodePem } from './pem.js';
import { parseRsaAlgorithm, RsaAlgorithm, type RsaAlgorithmName, signRsaDigest, verifyRsaDigest } from './rsa.js';

export const SignatureMediaType = {
  RsaPss: 'application/vnd.ocm.signature.rsa.pss',
  RsaPkcs1v15: 'application/vnd.ocm.signature.rsa',
  Pem: 'application/x-pem-file',
} as const;

/** How a signature is stored: `plain` (the signature bytes, hex) or `pem` (with the certificate chain). */
export type SignatureEncoding = 'plain' | 'pem';

export const DefaultSignatureAlgorithm = RsaAlgorithm.PSS;

const SignaturePemType = 'SIGNATURE';
const SignaturePemAlgorithmHeader = 'Signature Algorithm';

/** Certificates given as PEM text or already parsed. */
export type CertificatesInput = string | Uint8Array | readonly X509Certificate[];

function certificates(input: CertificatesInput, where: string): X509Certificate[] {
  if (typeof input === 'string' || input instanceof Uint8Array) return loadCertificates(input, where);
  return [...input];
}

export interface SignDigestOptions {
  /** RSASSA-PSS (default) or RSASSA-PKCS1-V1_5. */
  algorithm?: string;
  /** PKCS#1 or PKCS#8 PEM, or a KeyObject. */
  privateKey: KeyInput;
  /** `plain` (default): hex value; `pem`: a SIGNATURE block followed by the certificate chain. */
  encoding?: SignatureEncoding;
  /** Leaf first; required for `pem`. The leaf's key must be the private key's public half. */
  certificateChain?: CertificatesInput;
}

/**
 * Checks the options (key, algorithm, encoding, that the chain's leaf belongs to the key) and
 * returns the signing function, so that nothing is fetched before a bad option is reported.
 */
export function createSigner(options: SignDigestOptions): (digest: DigestSpec) => SignatureInfo {
  const algorithm = parseRsaAlgorithm(options.algorithm ?? DefaultSignatureAlgorithm);
  const key = loadPrivateKey(options.privateKey);
  const encoding = options.encoding ?? 'plain';
  if (encoding !== 'plain' && encoding !== 'pem') {
    throw new LadingError('INVALID_ARGUMENT', `unknown signature encoding "${encoding}" (use plain or pem)`);
  }
  if (encoding === 'plain') {
    if (options.certificateChain !== undefined) {
      throw new LadingError('INVALID_ARGUMENT', 'a certificate chain is only carried by PEM-encoded signatures');
    }
    const mediaType = algorithm === RsaAlgorithm.PSS ? SignatureMediaType.RsaPss : SignatureMediaType.RsaPkcs1v15;
    return (digest) => ({ algorithm, value: rawSignature(digest).toString('hex'), mediaType });
  }
  if (options.certificateChain === undefined) {
    throw new LadingError('INVALID_ARGUMENT', 'a PEM-encoded signature needs the signing certificate chain');
  }
  const chain = certificates(options.certificateChain, 'certificate chain');
  const leaf = chain[0] as X509Certificate;
  if (!leaf.checkPrivateKey(key)) {
    throw new LadingError(
      'INVALID_KEY',
      `the first certificate of the chain ("${leaf.subject.replace(/\n/g, ', ')}") is not for the private key`,
    );
  }
  const certs = chain.map((c) => encodePem({ type: 'CERTIFICATE', bytes: c.raw })).join('');
  return (digest) => ({
    algorithm,
    value:
      encodePem({
        type: SignaturePemType,
        headers: { [SignaturePemAlgorithmHeader]: algorithm },
        bytes: rawSignature(digest),
      }) + certs,
    mediaType: SignatureMediaType.Pem,
  });

  function rawSignature(digest: DigestSpec): Buffer {
    const hash = parseHashAlgorithm(digest.hashAlgorithm);
    return signRsaDigest(algorithm, key, hash.node, digestValueBytes(digest, 'digest'));
  }
}

/**
 * Signs a descriptor digest spec: the hex-decoded value is the already-hashed message (no second
 * hash), with the hash named by the spec.
 */
export function signDigest(digest: DigestSpec, options: SignDigestOptions): SignatureInfo {
  return createSigner(options)(digest);
}

/** The key material a signature is checked with: a public key, or certificates for a PEM signature. */
export interface VerifySignatureOptions {
  /** For plain signatures: PKIX, PKCS#1, a certificate, or a KeyObject. A certificate is also a PEM trust anchor. */
  publicKey?: KeyInput;
  /** Trust anchors for PEM signatures; without any (and no certificate as publicKey), the system roots. */
  rootCertificates?: CertificatesInput;
  /** For PEM signatures: the signing certificate's subject must be this distinguished name. */
  issuer?: string;
  /** Certificate validity is checked at this time (default: now). */
  now?: Date;
}

/** Who signed a PEM signature, as its verified certificate chain says. */
export interface SignatureSigner {
  /** The signing certificate's subject, as a distinguished name (`C=DE, O=Acme, CN=release signer`). */
  subject: string;
  /**
   * What the chain was found to lead to: `given`, a root certificate (or certificate public key)
   * the caller passed; `system`, one of the system's root certificates, which vouch for anyone
   * who bought a code-signing certificate: the subject says who that was.
   */
  trust: 'given' | 'system';
}

/** What {@link verifySignature} established beyond "it verifies": for a PEM signature, its signer. */
export interface SignatureCheck {
  signer?: SignatureSigner;
}

function bad(signature: Signature, why: string): never {
  throw new LadingError('SIGNATURE_INVALID', `signature "${signature.name}": ${why}`);
}

function issuerMismatch(declared: string, certificate: X509Certificate): string {
  return `issuer mismatch: the signature names ${JSON.stringify(declared)}, its certificate is "${certificate.subject.replace(/\n/g, ', ')}"`;
}

function algorithmFromMediaType(mediaType: string): RsaAlgorithmName | undefined {
  if (mediaType === SignatureMediaType.RsaPss) return RsaAlgorithm.PSS;
  if (mediaType === SignatureMediaType.RsaPkcs1v15) return RsaAlgorithm.PKCS1v15;
  return undefined;
}

/**
 * Checks the cryptographic signature over the digest the signature names (it does not look at any
 * descriptor; see verifyComponentVersion). Plain signatures take the algorithm from the media
 * type, as upstream does; PEM signatures from the block header, after their chain is validated.
 * Throws SIGNATURE_INVALID saying why, or UNSUPPORTED for algorithms other than RSA.
 */
export function verifySignature(signature: Signature, options: VerifySignatureOptions = {}): SignatureCheck {
  const hash = parseHashAlgorithm(signature.digest.hashAlgorithm);
  const digest = digestValueBytes(signature.digest, `signature "${signature.name}"`);
  const info = signature.signature;
  const plain = algorithmFromMediaType(info.mediaType);
  if (plain) {
    // The media type decides how the value is checked; a declared algorithm that says otherwise
    // (or anything else, such as "none") is a label that lies about what was verified.
    if (info.algorithm !== plain) {
      bad(
        signature,
        `algorithm ${JSON.stringify(info.algorithm)} does not match the media type ${info.mediaType} (${plain})`,
      );
    }
    if (options.issuer !== undefined) {
      bad(signature, 'an issuer was asked for, but a plain signature carries no certificate to check it against');
    }
    if (options.publicKey === undefined) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `signature "${signature.name}" is a plain ${plain} signature: verifying it needs a public key`,
      );
    }
    const { key, certificate } = loadPublicKey(options.publicKey);
    if (info.issuer && certificate && !sameDistinguishedName(info.issuer, certificate.subject)) {
      bad(signature, issuerMismatch(info.issuer, certificate));
    }
    if (!/^[0-9a-fA-F]*$/.test(info.value) || info.value.length % 2 !== 0) bad(signature, 'the value is not hex');
    if (!verifyRsaDigest(plain, key, hash.node, digest, Buffer.from(info.value, 'hex'))) {
      bad(signature, `bad signature: the ${plain} signature does not verify with the given public key`);
    }
    return {};
  }
  if (info.mediaType !== SignatureMediaType.Pem) {
    throw new LadingError(
      'UNSUPPORTED',
      `signature "${signature.name}": algorithm "${info.algorithm}" with media type "${info.mediaType}" is not supported (RSA only)`,
    );
  }
  const blocks = decodePem(info.value);
  const first = blocks[0];
  if (!first || first.type !== SignaturePemType) bad(signature, 'the PEM value does not start with a SIGNATURE block');
  // The algorithm the PEM block names is the one verified; the declared one must be that one.
  const algorithmName = first.headers[SignaturePemAlgorithmHeader] ?? info.algorithm;
  if (info.algorithm !== algorithmName) {
    bad(
      signature,
      `algorithm mismatch: declared ${JSON.stringify(info.algorithm)}, PEM ${JSON.stringify(algorithmName)}`,
    );
  }
  const algorithm = parseRsaAlgorithm(algorithmName);
  const chain: X509Certificate[] = [];
  for (const block of blocks.slice(1)) {
    if (block.type !== 'CERTIFICATE') break;
    try {
      chain.push(new X509Certificate(block.bytes));
    } catch (error) {
      bad(signature, `a certificate in the PEM value cannot be read: ${(error as Error).message}`);
    }
  }
  const leaf = chain[0];
  if (!leaf) bad(signature, 'the PEM signature carries no certificate chain');
  const roots =
    options.rootCertificates !== undefined ? certificates(options.rootCertificates, 'root certificates') : [];
  // A certificate given as the public key is a trust anchor; a bare public key pins the signer:
  // a PEM signature must then be made with that very key, whatever roots its chain reaches.
  let pinned: KeyObject | undefined;
  if (options.publicKey !== undefined) {
    const fromKey = loadPublicKey(options.publicKey);
    if (fromKey.certificate) roots.push(fromKey.certificate);
    else pinned = fromKey.key;
  }
  try {
    verifyCertificateChain(leaf, chain.slice(1), { roots, ...(options.now ? { now: options.now } : {}) });
  } catch (error) {
    if (error instanceof LadingError) bad(signature, error.message);
    throw error;
  }
  if (options.issuer !== undefined && !sameDistinguishedName(options.issuer, leaf.subject)) {
    bad(
      signature,
      `issuer mismatch: the signing certificate is "${leaf.subject.replace(/\n/g, ', ')}", expected "${options.issuer}"`,
    );
  }
  if (info.issuer && !sameDistinguishedName(info.issuer, leaf.subject))
    bad(signature, issuerMismatch(info.issuer, leaf));
  const key = leaf.publicKey;
  if (key.asymmetricKeyType !== 'rsa') bad(signature, 'the signing certificate has no RSA key');
  requireRsa(key, `signature "${signature.name}": the signing certificate's key`);
  if (pinned && !pinned.equals(key)) {
    bad(signature, 'the signing certificate is not for the given public key');
  }
  if (!verifyRsaDigest(algorithm, key, hash.node, digest, first.bytes)) {
    bad(signature, `bad signature: the ${algorithm} signature does not verify with the signing certificate's key`);
  }
  return { signer: { subject: leaf.subject.replace(/\n/g, ', '), trust: roots.length > 0 ? 'given' : 'system' } };
}
