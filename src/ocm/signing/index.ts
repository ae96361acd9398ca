export {
  type ChainOptions,
  parseDistinguishedName,
  sameDistinguishedName,
  verifyCertificateChain,
} from './certificates.js';
export {
  DefaultSignatureName,
  type HashResult,
  hashComponentVersion,
  type ReferenceCheck,
  type SignComponentVersionOptions,
  type SignResult,
  signComponentVersion,
  type VerifyComponentVersionOptions,
  type VerifyResult,
  verifyComponentVersion,
  verifyDescriptorDigest,
} from './component.js';
export {
  DefaultHashAlgorithm,
  type DescriptorDigest,
  type DescriptorDigestOptions,
  digestDescriptor,
  type HashAlgorithmInfo,
  parseHashAlgorithm,
} from './digest.js';
export { canonicalJson } from './jcs.js';
export { type KeyInput, loadCertificates, loadPrivateKey, loadPublicKey, type PublicKeyMaterial } from './keys.js';
export {
  DefaultNormalisation,
  NormalisationAlgorithms,
  normalise,
  normalisedValue,
  resolveNormalisation,
} from './normalise.js';
export { decodePem, encodePem, type PemBlock } from './pem.js';
export { digestProblems, type ResourceDigestCheck, verifyResourceDigests } from './resource-digests.js';
export {
  parseRsaAlgorithm,
  RsaAlgorithm,
  type RsaAlgorithmName,
  type RsaHash,
  signRsaDigest,
  verifyRsaDigest,
} from './rsa.js';
export {
  type CertificatesInput,
  createSigner,
  DefaultSignatureAlgorithm,
  type SignatureCheck,
  type SignatureEncoding,
  SignatureMediaType,
  type SignatureSigner,
  type SignDigestOptions,
  signDigest,
  type VerifySignatureOptions,
  verifySignature,
} from './signature.js';
