import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { CliIO } from '../../io.js';
import { log } from '../../log.js';
import { addOcmOptions } from '../../options.js';
import { safeText } from '../../output/safe-text.js';
import { ComponentVersionAliases, openRepository, requireVersion } from './common.js';

/** The key flags of sign and verify, with the signature and algorithm they are for. */
export interface SigningKeyOptions {
  privateKey?: string;
  certificate?: string;
  publicKey?: string;
  rootCertificate?: string;
  /** The signature name (sign: the one being made; verify: the one asked for, or undefined for all). */
  signature?: string;
  algorithm?: string;
}

/** Key material for one signature, as PEM bytes. */
export interface ResolvedSigningKeys {
  privateKey?: Buffer;
  certificateChain?: Buffer;
  publicKey?: Buffer;
  rootCertificates?: Buffer;
}

/**
 * A key or certificate file named by a flag, read as a configured one is: only a regular file of
 * at most MaxKeyFileBytes (a FIFO hung the command past Ctrl-C, /dev/zero filled memory until the
 * process crashed).
 */
export async function readKeyFile(file: string, flag: string): Promise<Buffer> {
  const { readRegularFile } = await import('../../../content/index.js');
  const { MaxKeyFileBytes } = await import('../../../ocm/config/signing.js');
  return readRegularFile(file, { limit: MaxKeyFileBytes, where: `${flag} ${file}` });
}

/**
 * The one place sign and verify get keys from. Today: the files named by the flags. This is where
 * `.ocmconfig` RSA credentials plug in: upstream looks up the consumer identity
 * `{type: RSA/v1alpha1, algorithm: <algorithm>, signature: <signature name>}` and reads
 * `privateKeyPEM[File]` / `publicKeyPEM[File]` (RSACredentials/v1, or Credentials/v1 properties)
 * from it; flags should keep winning over configuration.
 */
export async function resolveSigningKey(opts: SigningKeyOptions & { config?: string[] }): Promise<ResolvedSigningKeys> {
  const keys: ResolvedSigningKeys = {};
  if (opts.privateKey) keys.privateKey = await readKeyFile(opts.privateKey, '--private-key');
  if (opts.certificate) keys.certificateChain = await readKeyFile(opts.certificate, '--certificate');
  if (opts.publicKey) keys.publicKey = await readKeyFile(opts.publicKey, '--public-key');
  if (opts.rootCertificate) keys.rootCertificates = await readKeyFile(opts.rootCertificate, '--root-certificate');
  if (!keys.privateKey || !keys.publicKey) {
    // Flags win; what they leave open comes from the OCM configuration's RSA consumer.
    const { ocmConfigFor } = await import('./common.js');
    const { signingKeyFromConfig } = await import('../../../ocm/config/index.js');
    const configured = await signingKeyFromConfig(await ocmConfigFor(opts), opts.signature ?? 'default', {
      ...(opts.algorithm ? { algorithm: opts.algorithm } : {}),
    });
    if (!keys.privateKey && configured?.privateKeyPem) keys.privateKey = Buffer.from(configured.privateKeyPem);
    if (!keys.publicKey && !keys.rootCertificates && configured?.publicKeyPem) {
      keys.publicKey = Buffer.from(configured.publicKeyPem);
    }
  }
  return keys;
}

/**
 * A signature whose name the configuration keeps a key for, under another algorithm than the
 * signature claims, is refused: relabelling a signature must not step around the configured key
 * (and on to whatever the signature's own certificate chain leads to).
 */
async function refuseRelabelled(
  opts: SigningKeyOptions & { config?: string[] },
  s: { name: string; signature: { algorithm: string } },
): Promise<void> {
  const { ocmConfigFor } = await import('./common.js');
  const { signingKeyFromConfig } = await import('../../../ocm/config/index.js');
  const { RsaAlgorithm } = await import('../../../ocm/signing/index.js');
  const config = await ocmConfigFor(opts);
  for (const algorithm of Object.values(RsaAlgorithm)) {
    if (algorithm === s.signature.algorithm) continue;
    if (await signingKeyFromConfig(config, s.name, { algorithm })) {
      throw new LadingError(
        'SIGNATURE_INVALID',
        `signature "${s.name}" claims ${JSON.stringify(s.signature.algorithm)}, but the key configured for it is for ${algorithm}`,
      );
    }
  }
}

/** What an upstream signer or verifier spec file says, in the flags' terms. */
interface RsaSpec {
  algorithm?: string;
  encoding?: 'plain' | 'pem';
}

const rsaSpecTypes = new Set(['RSASigningConfiguration/v1alpha1', 'RSASigningConfiguration']);

/**
 * Upstream's `--signer-spec` / `--verifier-spec` file: an `RSASigningConfiguration/v1alpha1`
 * `{signatureAlgorithm?, signatureEncodingPolicy?}` (YAML or JSON), read as a key file is (a small
 * regular file). Other signer types (plugins) are refused by name.
 */
async function readRsaSpec(file: string, flag: string): Promise<RsaSpec> {
  const { parse } = await import('yaml');
  const where = `${flag} ${file}`;
  const text = (await readKeyFile(file, flag)).toString('utf8');
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${where}: not YAML or JSON (${(error as Error).message.split('\n')[0]})`,
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new LadingError('INVALID_ARGUMENT', `${where}: must be a mapping with a type`);
  }
  const spec = doc as Record<string, unknown>;
  if (typeof spec.type !== 'string' || !rsaSpecTypes.has(spec.type)) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${where}: type ${JSON.stringify(spec.type ?? null)} is not supported (lading signs with RSASigningConfiguration/v1alpha1)`,
    );
  }
  const out: RsaSpec = {};
  for (const [key, value] of Object.entries(spec)) {
    if (key === 'type') continue;
    if (key === 'signatureAlgorithm') {
      out.algorithm = checkChoice(`${where}: signatureAlgorithm`, String(value), ['RSASSA-PSS', 'RSASSA-PKCS1-V1_5']);
    } else if (key === 'signatureEncodingPolicy') {
      out.encoding =
        checkChoice(`${where}: signatureEncodingPolicy`, String(value), ['Plain', 'PEM']) === 'PEM' ? 'pem' : 'plain';
    } else {
      throw new LadingError('INVALID_ARGUMENT', `${where}: unknown field ${JSON.stringify(key)}`);
    }
  }
  return out;
}

/** Upstream's `--concurrency-limit` of sign and verify: checked, and met (lading asks one request at a time). */
function checkConcurrencyLimit(value: string | undefined): void {
  if (value === undefined) return;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new LadingError('INVALID_ARGUMENT', '--concurrency-limit must be a positive whole number');
}

function checkChoice(flag: string, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value)) {
    throw new LadingError('INVALID_ARGUMENT', `${flag} must be ${allowed.join(', ')}; got "${value}"`);
  }
  return value;
}

export function registerSign(program: Command, io: CliIO): void {
  const sign = program.command('sign').description('sign component versions');
  const cmd = sign
    .command('component-version')
    .aliases(ComponentVersionAliases)
    .description('sign a component version: its normalised descriptor digest, with an RSA key')
    .argument('<reference>', '<repository>//<component>:<version>')
    .option('--signature <name>', 'name of the signature to create', 'default')
    .option('--hash <algorithm>', 'hash of the normalised descriptor: SHA-256 or SHA-512', 'SHA-256')
    .option('--normalisation <algorithm>', 'normalisation algorithm', 'jsonNormalisation/v4alpha1')
    .option('--algorithm <algorithm>', 'RSASSA-PSS or RSASSA-PKCS1-V1_5', 'RSASSA-PSS')
    .option('--private-key <file>', 'RSA private key, PEM (PKCS#1 or PKCS#8)')
    .option('--certificate <file>', 'certificate chain of the key, PEM, leaf first (for --encoding pem)')
    .option('--encoding <encoding>', 'plain (hex) or pem (signature and certificate chain); pem with --certificate')
    .option(
      '--signer-spec <file>',
      "upstream's signer spec: an RSASigningConfiguration/v1alpha1 file whose signatureAlgorithm and signatureEncodingPolicy (Plain or PEM) stand for --algorithm and --encoding (the flags win)",
    )
    .option('--concurrency-limit <n>', "upstream's request limit; lading makes one request at a time")
    .option('--force', 'replace a signature of the same name')
    .option('--dry-run', 'compute and print the signature, store nothing')
    .option('-o, --output <format>', 'how to print the signature: yaml or json', 'yaml');
  addOcmOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading sign cv ./transport-archive//acme.org/hello:1.0.0 --private-key key.pem
  lading sign cv http://localhost:5000//acme.org/hello:1.0.0 --private-key key.pem --signature release --force
  lading sign cv ./ctf//acme.org/hello:1.0.0 --private-key key.pem --certificate chain.pem --encoding pem`,
  );
  cmd.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { signComponentVersion } = await import('../../../ocm/signing/index.js');
    const format = checkChoice('-o/--output', opts.output, ['yaml', 'json']);
    checkConcurrencyLimit(opts.concurrencyLimit);
    if (opts.signerSpec) {
      const spec = await readRsaSpec(opts.signerSpec, '--signer-spec');
      if (spec.algorithm && cmd.getOptionValueSource('algorithm') !== 'cli') opts.algorithm = spec.algorithm;
      if (spec.encoding && opts.encoding === undefined) opts.encoding = spec.encoding;
    }
    const encoding = checkChoice('--encoding', opts.encoding ?? (opts.certificate ? 'pem' : 'plain'), [
      'plain',
      'pem',
    ]) as 'plain' | 'pem';
    const ref = parseComponentReference(reference);
    const version = requireVersion(reference, ref);
    const keys = await resolveSigningKey(opts);
    if (!keys.privateKey)
      throw new LadingError(
        'INVALID_ARGUMENT',
        'signing needs a private key: --private-key, or an RSA consumer in the OCM configuration',
      );
    if (encoding === 'pem' && !keys.certificateChain) {
      throw new LadingError('INVALID_ARGUMENT', '--encoding pem needs the certificate chain (--certificate)');
    }
    if (encoding === 'plain' && keys.certificateChain) {
      throw new LadingError('INVALID_ARGUMENT', '--certificate is carried only by --encoding pem signatures');
    }
    // Signing writes into an existing CTF (never creates one) or a registry.
    const opened = await openRepository(ref.repository, opts, opts.dryRun ? {} : { write: 'existing' });
    let ok = false;
    try {
      const result = await signComponentVersion(opened.repository, ref.component, version, {
        signatureName: opts.signature,
        hash: opts.hash,
        normalisation: opts.normalisation,
        algorithm: opts.algorithm,
        privateKey: keys.privateKey,
        encoding,
        ...(keys.certificateChain ? { certificateChain: keys.certificateChain } : {}),
        ...(opts.force ? { force: true } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
        onWarning: (w) => log('warn', w, io),
      });
      ok = true;
      await opened.close({ commit: !opts.dryRun, signal: (await import('../../interrupt.js')).interruptSignal() });
      const { signatureToWire } = await import('../../../ocm/descriptor/wire.js');
      const wire = signatureToWire(result.signature);
      // As upstream's printSignature: Go's json.MarshalIndent (two spaces, `<`, `>`, `&` escaped) or
      // sigs.k8s.io/yaml, each through Fprintln, so the YAML (which ends in a newline) is followed by
      // a blank line and the JSON by one newline.
      if (format === 'json') {
        const { descriptorText } = await import('../../output/format.js');
        io.stdout.write(descriptorText(wire));
      } else {
        const { goYaml } = await import('../../../ocm/descriptor/go-yaml.js');
        io.stdout.write(`${goYaml(wire)}\n`);
      }
      const what = `${ref.component}:${version}`;
      io.stderr.write(
        opts.dryRun
          ? `Computed signature "${result.signature.name}" of ${what} (dry run: nothing stored)\n`
          : `${result.replaced ? 'Replaced' : 'Added'} signature "${result.signature.name}" of ${what} in ${opened.display}\n`,
      );
    } finally {
      if (!ok) await opened.close({ commit: false }).catch(() => {});
    }
  });
}

export function registerVerify(program: Command, io: CliIO): void {
  const verify = program.command('verify').description('verify signatures of component versions');
  const cmd = verify
    .command('component-version')
    .aliases(ComponentVersionAliases)
    .description('verify the signatures of a component version (and with --verify-digests its local resources)')
    .argument('<reference>', '<repository>//<component>:<version>')
    .option('--signature <name>', 'verify only this signature (default: all)')
    .option('--public-key <file>', 'RSA public key for plain signatures: PEM, PKIX, PKCS#1 or a certificate')
    .option('--root-certificate <file>', 'trusted root certificate(s) for PEM signatures (default: system roots)')
    .option('--issuer <dn>', 'PEM signatures: the signing certificate must have this subject, e.g. "CN=acme,O=Acme"')
    .option('--verify-digests', "also recompute every local resource's digest from its stored content")
    .option(
      '--verifier-spec <file>',
      "upstream's verifier spec: an RSASigningConfiguration/v1alpha1 file, checked; as upstream, the algorithm comes from each signature",
    )
    .option('--concurrency-limit <n>', "upstream's request limit; lading makes one request at a time")
    .option(
      '-r, --recursive',
      "also check every referenced component version (all levels) against the digest its reference records, finding them in the repository and through the OCM configuration's resolvers (lading extension; OCM meaning of -r)",
    );
  addOcmOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading verify cv ./transport-archive//acme.org/hello:1.0.0 --public-key pub.pem
  lading verify cv -r --config .ocmconfig ./ctf//acme.org/app:1.0.0 --public-key pub.pem
  lading verify cv http://localhost:5000//acme.org/hello:1.0.0 --public-key pub.pem --signature release --verify-digests
  lading verify cv ./ctf//acme.org/hello:1.0.0 --root-certificate root-ca.pem --issuer "CN=release signer"

A PEM signature verified without --root-certificate, --public-key or --issuer is trusted through the
system's root certificates: anyone with a code-signing certificate passes. Each one's signer is
printed below it; pin it with --issuer or --root-certificate.`,
  );
  cmd.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { SignatureMediaType, verifyComponentVersion } = await import('../../../ocm/signing/index.js');
    const ref = parseComponentReference(reference);
    const version = requireVersion(reference, ref);
    checkConcurrencyLimit(opts.concurrencyLimit);
    if (opts.verifierSpec) await readRsaSpec(opts.verifierSpec, '--verifier-spec');
    // Bad key files are reported before the repository is opened.
    await resolveSigningKey(opts);
    const opened = await openRepository(ref.repository, opts);
    const resolving = opts.recursive
      ? await (await import('./resolving.js')).resolvingReader(opened.repository, opts)
      : undefined;
    try {
      const result = await verifyComponentVersion(opened.repository, ref.component, version, {
        ...(resolving ? { references: resolving.reader } : {}),
        ...(opts.signature !== undefined ? { signatureName: opts.signature } : {}),
        ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
        ...(opts.verifyDigests ? { verifyDigests: true } : {}),
        // Keys are resolved per signature, by its name and algorithm.
        keysFor: async (s) => {
          const keys = await resolveSigningKey({ ...opts, signature: s.name, algorithm: s.signature.algorithm });
          if (!keys.publicKey && !keys.rootCertificates) {
            await refuseRelabelled(opts, s);
            if (s.signature.mediaType !== SignatureMediaType.Pem) {
              throw new LadingError(
                'INVALID_ARGUMENT',
                `signature "${s.name}" is a plain ${s.signature.algorithm} signature: verifying it needs a public key (--public-key FILE, or an RSA consumer for "${s.name}" in the OCM configuration)`,
              );
            }
          }
          return {
            ...(keys.publicKey ? { publicKey: keys.publicKey } : {}),
            ...(keys.rootCertificates ? { rootCertificates: keys.rootCertificates } : {}),
          };
        },
      });
      const what = `${ref.component}:${version}`;
      // What was verified is a report, as upstream logs it: on stderr. stdout stays empty, as upstream's.
      for (const [i, s] of result.signatures.entries()) {
        io.stderr.write(
          `Verified signature "${safeText(s.name)}" of ${safeText(what)} (${safeText(s.signature.algorithm)}, ${safeText(s.digest.hashAlgorithm)} ${safeText(s.digest.value)})\n`,
        );
        const signer = result.signers[i];
        if (signer) {
          // Trust from the system's roots says only that someone bought a code-signing certificate: say who.
          const anchor =
            signer.trust === 'given' ? 'a given root certificate' : "one of the system's root certificates";
          io.stderr.write(`  signed by "${safeText(signer.subject)}" (its certificate chain leads to ${anchor})\n`);
        }
      }
      if (result.resources) {
        const verified = result.resources.filter((r) => r.status === 'verified').length;
        io.stderr.write(`Verified the content digest of ${verified} local resource${verified === 1 ? '' : 's'}\n`);
        for (const r of result.resources) {
          if (r.status === 'skipped') io.stderr.write(`  skipped ${safeText(r.identity)}: ${safeText(r.reason)}\n`);
        }
      }
      for (const r of result.references ?? []) {
        const what = safeText(`${r.component}:${r.version}`);
        io.stderr.write(
          r.status === 'verified'
            ? `Verified the digest of referenced ${what} (from ${safeText(r.from)})\n`
            : `Found referenced ${what} (from ${safeText(r.from)}); its reference records no digest\n`,
        );
        if (r.resources) {
          const verified = r.resources.filter((c) => c.status === 'verified').length;
          io.stderr.write(
            `  verified the content digest of ${verified} local resource${verified === 1 ? '' : 's'} of ${what}\n`,
          );
          for (const c of r.resources) {
            if (c.status === 'skipped') io.stderr.write(`  skipped ${safeText(c.identity)}: ${safeText(c.reason)}\n`);
          }
        }
      }
    } finally {
      await resolving?.close();
      await opened.close();
    }
  });
}

export function registerHash(program: Command, io: CliIO): void {
  const hash = program.command('hash').description('compute digests of component versions');
  const cmd = hash
    .command('component-version')
    .aliases(ComponentVersionAliases)
    .description('print the normalised descriptor digest a signature of the component version would carry')
    .argument('<reference>', '<repository>//<component>:<version>')
    .option('--hash <algorithm>', 'SHA-256 or SHA-512', 'SHA-256')
    .option('--normalisation <algorithm>', 'normalisation algorithm', 'jsonNormalisation/v4alpha1')
    .option('-o, --output <format>', 'text (the digest), norm (the normalised bytes), json or yaml', 'text');
  addOcmOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading hash cv ./transport-archive//acme.org/hello:1.0.0
  lading hash cv ./transport-archive//acme.org/hello:1.0.0 -o norm | sha256sum`,
  );
  cmd.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { hashComponentVersion } = await import('../../../ocm/signing/index.js');
    const format = checkChoice('-o/--output', opts.output, ['text', 'norm', 'json', 'yaml']);
    const ref = parseComponentReference(reference);
    const version = requireVersion(reference, ref);
    const opened = await openRepository(ref.repository, opts);
    try {
      const result = await hashComponentVersion(opened.repository, ref.component, version, {
        hash: opts.hash,
        normalisation: opts.normalisation,
      });
      const { hashAlgorithm, normalisationAlgorithm, value } = result.digest;
      const spec = { hashAlgorithm, normalisationAlgorithm, value };
      if (format === 'norm') {
        // The exact bytes that were hashed: no newline, so `| sha256sum` reproduces the digest.
        io.stdout.write(result.normalised);
      } else if (format === 'json') {
        io.stdout.write(`${JSON.stringify(spec, null, 2)}\n`);
      } else if (format === 'yaml') {
        const { goYaml } = await import('../../../ocm/descriptor/go-yaml.js');
        io.stdout.write(goYaml(spec));
      } else {
        io.stdout.write(`${value}\n`);
      }
    } finally {
      await opened.close();
    }
  });
}
