import { createHash } from 'node:crypto';
import type { Op } from '../../content/index.js';
import { cancellable, type Descriptor, isLadingError, LadingError } from '../../oci/index.js';
import { isNoDigest } from '../content-digest.js';
import { decodeDescriptor } from '../descriptor/decode.js';
import { encodeDescriptor } from '../descriptor/encode.js';
import { DescriptorMediaType } from '../descriptor/media-types.js';
import type { ComponentDescriptor, DigestSpec, Signature } from '../descriptor/model.js';
import { cloneDescriptor } from '../descriptor/null-lists.js';
import { ComponentVersionRepository } from '../repository/repository.js';
import { type ComponentVersionReader, isLocator } from '../resolving-reader.js';
import {
  DefaultHashAlgorithm,
  type DescriptorDigestOptions,
  digestDescriptor,
  digestValueBytes,
  parseHashAlgorithm,
} from './digest.js';
import { type KeyInput, loadCertificates, loadPublicKey } from './keys.js';
import { DefaultNormalisation, normalise, resolveNormalisation } from './normalise.js';
import { verifyReferenceDigest } from './reference-digest.js';
import { digestProblems, type ResourceDigestCheck, verifyResourceDigests } from './resource-digests.js';
import {
  type CertificatesInput,
  createSigner,
  type SignatureEncoding,
  type SignatureSigner,
  type VerifySignatureOptions,
  verifySignature,
} from './signature.js';

/** The signature name used when none is given. */
export const DefaultSignatureName = 'default';

/** Options of {@link signComponentVersion}: the key, the signature name and algorithm, and whether to replace one. */
export interface SignComponentVersionOptions extends DescriptorDigestOptions {
  /** Default `default`. */
  signatureName?: string;
  /** RSASSA-PSS (default) or RSASSA-PKCS1-V1_5. */
  algorithm?: string;
  /** The RSA private key (PEM or DER, a KeyObject). */
  privateKey: KeyInput;
  /** `plain` (default) or `pem` (with `certificateChain`). */
  encoding?: SignatureEncoding;
  /** The signing certificate and its chain (PEM), put in a `pem` signature. */
  certificateChain?: CertificatesInput;
  /** Replace a signature of the same name instead of failing. */
  force?: boolean;
  /** Compute the signature, store nothing. */
  dryRun?: boolean;
  /** Things upstream only warns about (a reference without digest, a digest on a resource without access). */
  onWarning?: (message: string) => void;
  /** Cancels signing: it rejects with ABORTED, the signal's reason as cause, and stores nothing. */
  signal?: AbortSignal;
}

/** What {@link signComponentVersion} wrote: the signature and the digest it signs. */
export interface SignResult {
  /** The new signature. */
  signature: Signature;
  /** The descriptor with the signature in place (stored unless dryRun). */
  descriptor: ComponentDescriptor;
  /** A signature of the same name was replaced. */
  replaced: boolean;
  /** The new manifest or index the version tag points at; absent for a dry run. */
  root?: Descriptor;
}

function where(name: string, version: string): string {
  return `${name}:${version}`;
}

/**
 * Signs a component version: normalises and hashes its descriptor, signs the digest, puts the
 * signature in the descriptor (replacing one of the same name only with `force`) and stores the
 * version again. The version's tag moves only after everything else is pushed, so a reader sees
 * either the old version or the signed one. Resource digests are not recomputed (as upstream): every
 * resource with an access must already carry one (`NO-DIGEST` counts), otherwise signing fails.
 */
export function signComponentVersion(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  options: SignComponentVersionOptions,
): Promise<SignResult> {
  return cancellable(options.signal, () => signComponentVersionNow(repo, name, version, options));
}

async function signComponentVersionNow(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  options: SignComponentVersionOptions,
): Promise<SignResult> {
  const o: Op = options.signal ? { signal: options.signal } : {};
  const signatureName = options.signatureName || DefaultSignatureName;
  // Everything that can be wrong without the repository is found before it is touched.
  const sign = createSigner({
    privateKey: options.privateKey,
    ...(options.algorithm !== undefined ? { algorithm: options.algorithm } : {}),
    ...(options.encoding !== undefined ? { encoding: options.encoding } : {}),
    ...(options.certificateChain !== undefined ? { certificateChain: options.certificateChain } : {}),
  });
  parseHashAlgorithm(options.hash ?? DefaultHashAlgorithm);
  resolveNormalisation(options.normalisation ?? DefaultNormalisation);
  const stored = await repo.getComponentVersion(name, version, o);
  const descriptor = stored.descriptor;
  const existing = (descriptor.signatures ?? []).findIndex((s) => s.name === signatureName);
  if (existing >= 0 && !options.force) {
    throw new LadingError(
      'SIGNATURE_EXISTS',
      `signature "${signatureName}" already exists on ${where(name, version)}`,
      { hint: { key: 'force', text: 'force replaces it' } },
    );
  }
  const problems = digestProblems(descriptor);
  if (problems.errors.length > 0) {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `${where(name, version)} cannot be signed: ${problems.errors.join('; ')} (a signature covers resources only through their digests; add them, or mark a resource NO-DIGEST)`,
    );
  }
  for (const w of problems.warnings) options.onWarning?.(`${where(name, version)}: ${w}`);

  const { digest } = digestDescriptor(descriptor, {
    ...(options.hash !== undefined ? { hash: options.hash } : {}),
    ...(options.normalisation !== undefined ? { normalisation: options.normalisation } : {}),
  });
  const info = sign(digest);
  const signature: Signature = { name: signatureName, digest, signature: info };
  const next: ComponentDescriptor = cloneDescriptor(descriptor);
  const signatures = [...(next.signatures ?? [])];
  // Upstream's --force keeps the old digest spec beside the new signature; both are replaced here.
  if (existing >= 0) signatures[existing] = signature;
  else signatures.push(signature);
  next.signatures = signatures;

  // The signature must survive the trip through the stored encoding: decode what would be stored
  // and check that it still normalises to the signed digest.
  const mediaType = repo.options.descriptorMediaType ?? DescriptorMediaType.Json;
  const roundTrip = decodeDescriptor(encodeDescriptor(next, mediaType), mediaType, where(name, version));
  if (digestOf(roundTrip, digest) !== digest.value) {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `${where(name, version)}: the descriptor does not keep its digest through ${mediaType}; not signed`,
    );
  }

  const result: SignResult = { signature, descriptor: next, replaced: existing >= 0 };
  if (options.dryRun) return result;
  const written = await repo.addComponentVersion(next, {
    conflictPolicy: 'replace',
    blobs: [...stored.layers.values()],
    ...(options.signal ? { signal: options.signal } : {}),
  });
  result.root = written.root;
  return result;
}

function digestOf(descriptor: ComponentDescriptor, spec: DigestSpec): string {
  const hash = parseHashAlgorithm(spec.hashAlgorithm);
  return createHash(hash.node)
    .update(normalise(descriptor, resolveNormalisation(spec.normalisationAlgorithm)))
    .digest('hex');
}

/**
 * Recomputes a descriptor's digest the way a signature says it was made (`jsonNormalisation/v3`
 * read as v4alpha1) and compares it with the signature's; DIGEST_MISMATCH when they differ.
 */
export function verifyDescriptorDigest(descriptor: ComponentDescriptor, signature: Signature): void {
  const expected = digestValueBytes(signature.digest, `signature "${signature.name}"`).toString('hex');
  const actual = digestOf(descriptor, signature.digest);
  if (actual !== expected) {
    throw new LadingError(
      'DIGEST_MISMATCH',
      `signature "${signature.name}": descriptor digest mismatch: ${descriptor.component.name}:${descriptor.component.version} now hashes to ${actual} (${signature.digest.hashAlgorithm}, ${signature.digest.normalisationAlgorithm}), the signature was made over ${expected}`,
    );
  }
}

/** Options of {@link verifyComponentVersion}: the signature to check and the public key or certificates. */
export interface VerifyComponentVersionOptions extends VerifySignatureOptions {
  /** Only this signature (default: every signature). */
  signatureName?: string;
  /** Also recompute every local-blob resource's digest from its stored content. */
  verifyDigests?: boolean;
  /**
   * Also follow the component references (every level) through this reader, e.g. a
   * {@link ResolvingReader} over the repository and the configuration's resolvers, and check that
   * each referenced version hashes to the digest its reference records (DIGEST_MISMATCH if not).
   */
  references?: ComponentVersionReader;
  /**
   * Key material for one signature (e.g. looked up by its name in a configuration); what it
   * returns overrides publicKey, rootCertificates and issuer for that signature.
   */
  keysFor?: (signature: Signature) => VerifySignatureOptions | undefined | Promise<VerifySignatureOptions | undefined>;
  /** Cancels verification (rejects with ABORTED, the signal's reason as cause). */
  signal?: AbortSignal;
  /**
   * With `verifyDigests`, called as each resource's stored content is read, with the blob's (or an
   * OCI artifact's manifest's and blobs') descriptor and that chunk's size in bytes (a delta).
   */
  onProgress?: (desc: Descriptor, bytes: number) => void;
}

/** What {@link verifyComponentVersion} checked: the descriptor, the signatures that verified, resource digests. */
export interface VerifyResult {
  /** The verified descriptor. */
  descriptor: ComponentDescriptor;
  /** The signatures that verified. */
  signatures: Signature[];
  /**
   * Who signed each of `signatures`, at the same position: the certificate's subject for a PEM
   * signature, `null` for a plain one (it carries no certificate to say).
   */
  signers: (SignatureSigner | null)[];
  /** With verifyDigests: what happened to each resource. */
  resources?: ResourceDigestCheck[];
  /** With references: every referenced version reached, and whether its reference pinned a digest. */
  references?: ReferenceCheck[];
}

/** One referenced component version reached by {@link verifyComponentVersion} with `references`. */
export interface ReferenceCheck {
  /** `name:version` of the version that holds the reference. */
  from: string;
  /** The referenced component's name. */
  component: string;
  /** Its version. */
  version: string;
  /** `verified`: its digest is the one the reference records; `unpinned`: the reference records none. */
  status: 'verified' | 'unpinned';
  /**
   * With `verifyDigests`, its local resources' content checks (on the first reference to each
   * version reached).
   */
  resources?: ResourceDigestCheck[];
}

/**
 * Verifies a component version: for each selected signature, the descriptor digest is recomputed
 * and compared with the signature's, then the signature is checked; with `verifyDigests` the
 * local resources' content digests are recomputed too. The first failure throws one LadingError
 * naming the check: NOT_FOUND (no such signature), DIGEST_MISMATCH (descriptor digest, or a
 * resource's content), SIGNATURE_INVALID (bad signature or certificate chain).
 */
export function verifyComponentVersion(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  options: VerifyComponentVersionOptions = {},
): Promise<VerifyResult> {
  return cancellable(options.signal, () => verifyComponentVersionNow(repo, name, version, options));
}

async function verifyComponentVersionNow(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  options: VerifyComponentVersionOptions,
): Promise<VerifyResult> {
  const o: Op = options.signal ? { signal: options.signal } : {};
  if (options.publicKey !== undefined) loadPublicKey(options.publicKey);
  if (options.rootCertificates !== undefined && !Array.isArray(options.rootCertificates)) {
    loadCertificates(options.rootCertificates as string | Uint8Array, 'root certificates');
  }
  const stored = await repo.getComponentVersion(name, version, o);
  const descriptor = stored.descriptor;
  const all = descriptor.signatures ?? [];
  let selected: Signature[];
  if (options.signatureName !== undefined) {
    selected = all.filter((s) => s.name === options.signatureName);
    if (selected.length === 0) {
      throw new LadingError(
        'NOT_FOUND',
        `no signature "${options.signatureName}" on ${where(name, version)} (${all.length > 0 ? `it has ${all.map((s) => `"${s.name}"`).join(', ')}` : 'it has none'})`,
      );
    }
  } else {
    selected = all;
    if (selected.length === 0) throw new LadingError('NOT_FOUND', `${where(name, version)} has no signatures`);
  }
  const signers: (SignatureSigner | null)[] = [];
  for (const signature of selected) {
    verifyDescriptorDigest(descriptor, signature);
    const own = options.keysFor ? await options.keysFor(signature) : undefined;
    signers.push(verifySignature(signature, own ? { ...options, ...own } : options).signer ?? null);
  }
  // Accesses are not signed, digests are: a resource with an access and no digest could be
  // pointed at any bytes after signing (one signed without access, given one later, normalises
  // the same). Signing refuses such a resource; a verification cannot vouch for it either.
  const [unsigned] = digestProblems(descriptor).errors;
  if (unsigned !== undefined) {
    throw new LadingError(
      'SIGNATURE_INVALID',
      `${where(name, version)}: ${unsigned}, so no signature covers its content`,
    );
  }
  const result: VerifyResult = { descriptor, signatures: selected, signers };
  if (options.references) {
    const digestOptions = {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    };
    result.references = await verifyReferences(options.references, descriptor, o, {
      ...(options.verifyDigests ? { digests: digestOptions } : {}),
    });
  }
  if (options.verifyDigests) {
    result.resources = await verifyResourceDigests(repo, stored, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }
  return result;
}

/**
 * Walks the references of a descriptor (each version once) and checks each one's digest; with
 * `digests`, also each referenced version's local resources, read from the repository that holds
 * it (a reader that cannot say which, such as a plain repository, is that repository).
 */
async function verifyReferences(
  reader: ComponentVersionReader,
  root: ComponentDescriptor,
  o: Op,
  options: { digests?: Parameters<typeof verifyResourceDigests>[2] } = {},
): Promise<ReferenceCheck[]> {
  const checks: ReferenceCheck[] = [];
  const seen = new Set([where(root.component.name, root.component.version)]);
  const pending: ComponentDescriptor[] = [root];
  for (let next = pending.shift(); next; next = pending.shift()) {
    const from = where(next.component.name, next.component.version);
    for (const ref of next.component.componentReferences ?? []) {
      const located = isLocator(reader)
        ? await reader.locate(ref.componentName, ref.version, o)
        : {
            stored: await reader.getComponentVersion(ref.componentName, ref.version, o),
            repository: reader instanceof ComponentVersionRepository ? reader : undefined,
          };
      const child = located.stored.descriptor;
      verifyReferenceDigest(ref, child, from);
      const d = ref.digest;
      const pinned = Boolean(d && (d.hashAlgorithm || d.normalisationAlgorithm || d.value) && !isNoDigest(d));
      // As for the signed version itself: a pinned version's resource with an access and no digest
      // could be pointed at any bytes without changing the digest that pins it.
      const [unsigned] = pinned ? digestProblems(child).errors : [];
      if (unsigned !== undefined) {
        throw new LadingError(
          'SIGNATURE_INVALID',
          `${where(ref.componentName, ref.version)} (referenced by ${from}): ${unsigned}, so the digest that pins it does not cover its content`,
        );
      }
      const check: ReferenceCheck = {
        from,
        component: ref.componentName,
        version: ref.version,
        status: pinned ? 'verified' : 'unpinned',
      };
      const key = where(ref.componentName, ref.version);
      if (!seen.has(key)) {
        seen.add(key);
        pending.push(child);
        if (options.digests) {
          if (!located.repository) {
            throw new LadingError(
              'UNSUPPORTED',
              `${key} (referenced by ${from}): the reader does not say which repository holds it, so its resources cannot be read`,
            );
          }
          try {
            check.resources = await verifyResourceDigests(located.repository, located.stored, options.digests);
          } catch (error) {
            if (!isLadingError(error, 'DIGEST_MISMATCH')) throw error;
            throw new LadingError('DIGEST_MISMATCH', `${key} (referenced by ${from}): ${error.message}`, {
              cause: error,
            });
          }
        }
      }
      checks.push(check);
    }
  }
  return checks;
}

/** What {@link hashComponentVersion} computed: the digest, the normalised bytes it hashes, the descriptor. */
export interface HashResult {
  /** The descriptor digest (hash and normalisation algorithm, value). */
  digest: DigestSpec;
  /** The normalised descriptor bytes the digest hashes. */
  normalised: Buffer;
  /** The stored descriptor. */
  descriptor: ComponentDescriptor;
}

/** The digest (and normalised bytes) a signature of the stored component version would carry. */
export async function hashComponentVersion(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  options: DescriptorDigestOptions & { signal?: AbortSignal } = {},
): Promise<HashResult> {
  const o: Op = options.signal ? { signal: options.signal } : {};
  const { descriptor } = await repo.getComponentVersion(name, version, o);
  const { digest, normalised } = digestDescriptor(descriptor, options);
  return { digest, normalised, descriptor };
}
