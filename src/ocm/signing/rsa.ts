import {
  constants,
  createHash,
  type KeyObject,
  privateEncrypt,
  publicDecrypt,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { LadingError } from '../../oci/index.js';
import { requireRsa } from './keys.js';

/**
 * RSA signatures over an already computed digest, as upstream's Go code makes them
 * (`rsa.SignPSS(rand, key, hash, digest, nil)`, `rsa.SignPKCS1v15(rand, key, hash, digest)`).
 *
 * node:crypto hashes whatever it signs and has no pre-hashed PSS call, so the encodings of RFC 8017
 * are done here (EMSA-PSS with MGF1 over the same hash, salt as long as possible; EMSA-PKCS1-v1_5's
 * DigestInfo) and only the raw RSA operation is left to OpenSSL: `privateEncrypt` without padding
 * for PSS, with PKCS#1 type-1 padding for v1.5. Verification runs the public operation and checks
 * the encoding; PSS accepts any salt length, as Go's verifier does.
 */

export const RsaAlgorithm = { PSS: 'RSASSA-PSS', PKCS1v15: 'RSASSA-PKCS1-V1_5' } as const;
export type RsaAlgorithmName = (typeof RsaAlgorithm)[keyof typeof RsaAlgorithm];

export type RsaHash = 'sha256' | 'sha384' | 'sha512';

const hashLength: Record<RsaHash, number> = { sha256: 32, sha384: 48, sha512: 64 };

/** DER of DigestInfo up to the digest octets (RFC 8017 §9.2 note 1). */
const digestInfoPrefix: Record<RsaHash, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

export function parseRsaAlgorithm(name: string): RsaAlgorithmName {
  if (name === RsaAlgorithm.PSS || name === RsaAlgorithm.PKCS1v15) return name;
  throw new LadingError(
    'UNSUPPORTED',
    `unsupported signature algorithm "${name}" (use ${RsaAlgorithm.PSS} or ${RsaAlgorithm.PKCS1v15})`,
  );
}

/** The modulus size of an RSA key strong enough to use (keys.ts says what that is). */
function modulusBits(key: KeyObject): number {
  requireRsa(key, key.type === 'private' ? 'the private key' : 'the public key');
  return key.asymmetricKeyDetails?.modulusLength as number;
}

function checkDigest(hash: RsaHash, digest: Uint8Array): void {
  if (digest.length !== hashLength[hash]) {
    throw new LadingError('INVALID_DIGEST', `a ${hash} digest has ${hashLength[hash]} bytes, got ${digest.length}`);
  }
}

function mgf1(hash: RsaHash, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.alloc(length);
  const counter = Buffer.alloc(4);
  let offset = 0;
  for (let i = 0; offset < length; i++) {
    counter.writeUInt32BE(i);
    const block = createHash(hash).update(seed).update(counter).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

function pssHash(hash: RsaHash, mHash: Uint8Array, salt: Uint8Array): Buffer {
  return createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
}

/** EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with the longest salt that fits, as Go signs. */
function pssEncode(hash: RsaHash, mHash: Uint8Array, emBits: number): Buffer {
  const hLen = hashLength[hash];
  const emLen = Math.ceil(emBits / 8);
  const sLen = emLen - hLen - 2;
  if (sLen < 0) throw new LadingError('INVALID_KEY', `the RSA key is too short for ${hash} RSASSA-PSS`);
  const salt = randomBytes(sLen);
  const h = pssHash(hash, mHash, salt);
  const db = Buffer.alloc(emLen - hLen - 1);
  db[emLen - sLen - hLen - 2] = 0x01;
  salt.copy(db, db.length - sLen);
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & (0xff >> (8 * emLen - emBits));
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017 §9.1.2), salt length read from the encoding. */
function pssVerify(hash: RsaHash, mHash: Uint8Array, em: Buffer, emBits: number): boolean {
  const hLen = hashLength[hash];
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || emLen < hLen + 2) return false;
  if (em[emLen - 1] !== 0xbc) return false;
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  const topMask = 0xff >> (8 * emLen - emBits);
  if (((db[0] as number) & ~topMask & 0xff) !== 0) return false;
  const mask = mgf1(hash, h, db.length);
  for (let i = 0; i < db.length; i++) db[i] = (db[i] as number) ^ (mask[i] as number);
  db[0] = (db[0] as number) & topMask;
  const one = db.findIndex((b) => b !== 0);
  if (one < 0 || db[one] !== 0x01) return false;
  const salt = db.subarray(one + 1);
  return timingSafeEqual(pssHash(hash, mHash, salt), h);
}

/** Signs a digest (the hash of the message, not the message) with an RSA private key. */
export function signRsaDigest(
  algorithm: RsaAlgorithmName,
  privateKey: KeyObject,
  hash: RsaHash,
  digest: Uint8Array,
): Buffer {
  if (privateKey.type !== 'private') throw new LadingError('INVALID_KEY', 'signing needs a private key');
  const bits = modulusBits(privateKey);
  checkDigest(hash, digest);
  const k = Math.ceil(bits / 8);
  if (algorithm === RsaAlgorithm.PKCS1v15) {
    return privateEncrypt(
      { key: privateKey, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([digestInfoPrefix[hash], digest]),
    );
  }
  const em = pssEncode(hash, digest, bits - 1);
  const block = Buffer.alloc(k);
  em.copy(block, k - em.length);
  return privateEncrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, block);
}

/** Checks a signature over a digest; false for any mismatch, malformed signature included. */
export function verifyRsaDigest(
  algorithm: RsaAlgorithmName,
  publicKey: KeyObject,
  hash: RsaHash,
  digest: Uint8Array,
  signature: Uint8Array,
): boolean {
  const bits = modulusBits(publicKey);
  checkDigest(hash, digest);
  const k = Math.ceil(bits / 8);
  if (signature.length !== k) return false;
  if (algorithm === RsaAlgorithm.PKCS1v15) {
    let decoded: Buffer;
    try {
      decoded = publicDecrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      return false;
    }
    const expected = Buffer.concat([digestInfoPrefix[hash], digest]);
    return decoded.length === expected.length && timingSafeEqual(decoded, expected);
  }
  let raw: Buffer;
  try {
    raw = publicDecrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, signature);
  } catch {
    return false;
  }
  const block = Buffer.alloc(k);
  raw.copy(block, k - raw.length);
  const emLen = Math.ceil((bits - 1) / 8);
  if (block.subarray(0, k - emLen).some((b) => b !== 0)) return false;
  return pssVerify(hash, digest, block.subarray(k - emLen), bits - 1);
}
