import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { chmod, copyFile, cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDirectoryAsTar } from '../src/archive/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { isLadingError, MediaType } from '../src/oci/index.js';
import { ComponentVersionRepository, OcmMediaType } from '../src/ocm/repository/index.js';
import { maxPathLength } from '../src/ocm/signing/basic-constraints.js';
import {
  hashComponentVersion,
  signComponentVersion,
  verifyCertificateChain,
  verifyComponentVersion,
} from '../src/ocm/signing/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { overwriteStored, pushImage, tempDir, withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';
import { ocmVectors } from './support/vectors.js';

const run = promisify(execFile);
const peers = loadPeers();
let n = 0;
const registryRepo = (name: string) => `http://${peers.plain.host}/ocm-signing/${name}-${process.pid}-${++n}`;

const component = 'acme.org/signed';
const constructorYaml = `name: ${component}
version: 1.0.0
provider:
  name: acme.org
labels:
  - name: release
    value: stable
    signing: true
  - name: note
    value: not signed
resources:
  - name: data
    type: blob
    input:
      type: file/v1
      path: ./data.txt
      mediaType: text/plain
  - name: more
    type: blob
    extraIdentity:
      os: linux
    input:
      type: utf8/v1
      text: more content
`;

/** Keys and certificates made once with openssl: what a user would have. */
let keys: string;
let keysCleanup: () => Promise<void>;
const k = (file: string) => join(keys, file);

async function openssl(args: string[], cwd = keys) {
  return run('openssl', args, { cwd, encoding: 'buffer' });
}

const caExtensions = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n';

/** A key and a certificate: self-signed (a root) or issued by `issuer`, with the given v3 extensions. */
async function makeCertificate(name: string, subject: string, issuer?: string, ext = caExtensions) {
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', `${name}.key`]);
  if (!issuer) {
    await writeFile(k(`${name}.cnf`), `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${ext}`);
    await openssl(
      ['req', '-new', '-x509', '-key', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject].concat([
        '-config',
        `${name}.cnf`,
        '-extensions',
        'v3',
      ]),
    );
    return;
  }
  await writeFile(k(`${name}.ext`), ext);
  await openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  await openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.pem`, '-CAkey', `${issuer}.key`].concat([
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ]),
  );
}

before(async () => {
  const t = await tempDir('lading-keys-');
  keys = t.path;
  keysCleanup = t.cleanup;
  // PKCS#8 and PKIX; PKCS#1 ("traditional") and a PKCS#1 public key.
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'pkcs8.pem']);
  await openssl(['pkey', '-in', 'pkcs8.pem', '-pubout', '-out', 'pkcs8.pub.pem']);
  await openssl(['genrsa', '-traditional', '-out', 'pkcs1.pem', '3072']);
  await openssl(['rsa', '-in', 'pkcs1.pem', '-RSAPublicKey_out', '-out', 'pkcs1.pub.pem']);
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'other.pem']);
  await openssl(['pkey', '-in', 'other.pem', '-pubout', '-out', 'other.pub.pem']);
  // A root, an intermediate and a code-signing leaf; a second root; a leaf only for TLS servers.
  await makeCertificate('root', '/CN=Lading Test Root');
  await makeCertificate('other-root', '/CN=Some Other Root');
  await makeCertificate('inter', '/CN=Lading Test Intermediate', 'root');
  await makeCertificate(
    'leaf',
    '/C=DE/O=Acme, Inc./CN=release signer',
    'inter',
    'basicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning\n',
  );
  await makeCertificate(
    'server',
    '/CN=a web server',
    'inter',
    'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  await writeFile(k('chain.pem'), Buffer.concat([await readFile(k('leaf.pem')), await readFile(k('inter.pem'))]));
  await writeFile(
    k('server-chain.pem'),
    Buffer.concat([await readFile(k('server.pem')), await readFile(k('inter.pem'))]),
  );
});

after(async () => {
  await keysCleanup?.();
});

/** Builds acme.org/signed:1.0.0 with `lading add cv` into `repository` (a CTF path or registry). */
async function addComponent(dir: string, repository = './transport-archive') {
  await writeFile(join(dir, 'component-constructor.yaml'), constructorYaml);
  await writeFile(join(dir, 'data.txt'), 'the data\n');
  await ladingOk(['add', 'cv', '-r', repository], { cwd: dir });
  return `${repository}//${component}:1.0.0`;
}

async function snapshot(ctf: string) {
  return {
    index: await readFile(join(ctf, 'artifact-index.json'), 'utf8'),
    blobs: (await readdir(join(ctf, 'blobs'))).sort(),
  };
}

async function withCtf<T>(path: string, fn: (repo: ComponentVersionRepository) => Promise<T>): Promise<T> {
  const archive = await CtfArchive.open(path, { mode: 'readwrite' });
  try {
    return await fn(new ComponentVersionRepository(archive.resolver()));
  } finally {
    await archive.close();
  }
}

describe('sign, verify and hash on a CTF archive (CLI)', () => {
  test('a resource given by an access with no digest processor: add cv warns, sign cv refuses it until NO-DIGEST marks it', () =>
    withDir(async (dir) => {
      const resource = (digest: string) =>
        `name: acme.org/undigested\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: readme\n  type: blob\n  version: 1.0.0\n${digest}  access: {type: File/v1alpha1, uri: "file:///nowhere/readme.txt"}\n`;
      await writeFile(join(dir, 'component-constructor.yaml'), resource(''));
      const added = await ladingOk(['add', 'cv'], { cwd: dir });
      assert.match(
        added.stderr,
        /^warning: component-constructor\.yaml:5: resources\[0\]\.access: no digest processor for access type File\/v1alpha1: resource "readme" is added without a digest/m,
      );
      const ref = './transport-archive//acme.org/undigested:1.0.0';
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir }),
        /cannot be signed: resource name=readme,version=1\.0\.0 has no digest/,
      );
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        resource(
          '  digest: {hashAlgorithm: NO-DIGEST, normalisationAlgorithm: EXCLUDE-FROM-SIGNATURE, value: NO-DIGEST}\n',
        ),
      );
      const again = await ladingOk(['add', 'cv', '--component-version-conflict-policy', 'replace'], { cwd: dir });
      assert.doesNotMatch(again.stderr, /no digest processor/);
      const signed = await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir });
      assert.match(signed.stderr, /excluded from signing \(NO-DIGEST\)/);
    }));

  test('hash cv gives the upstream digests (vectors INDEX §8, §9); -o norm is exactly what is hashed', () =>
    withDir(async (dir) => {
      const vec = join(ocmVectors, 'extracted/cli-add-cv-file-input-examples-01');
      await copyFile(join(vec, 'component-constructor.yaml'), join(dir, 'component-constructor.yaml'));
      await writeFile(join(dir, 'test-file.txt'), 'foobar');
      await ladingOk(['add', 'cv'], { cwd: dir });
      const ref = './transport-archive//ocm.software/examples-01:1.0.0';
      const text = await ladingOk(['hash', 'cv', ref], { cwd: dir });
      assert.equal(text.stdout, '01845aee470f44b420d88d9fbd79b929a93efd38b4b0f9dede3ac6b04a57f546\n');
      const norm = await ladingOk(['hash', 'cv', ref, '-o', 'norm'], { cwd: dir });
      assert.equal(createHash('sha256').update(norm.stdout).digest('hex'), text.stdout.trim());
      assert.match(norm.stdout, /^\{"component":\{"componentReferences":\[\],"name":"ocm\.software\/examples-01"/);
      const json = JSON.parse(
        (await ladingOk(['hash', 'cv', ref, '-o', 'json', '--hash', 'sha512'], { cwd: dir })).stdout,
      );
      assert.equal(json.hashAlgorithm, 'SHA-512');
      assert.equal(json.normalisationAlgorithm, 'jsonNormalisation/v4alpha1');
      assert.equal(json.value, createHash('sha512').update(norm.stdout).digest('hex'));
      const yaml = await ladingOk(['hash', 'cv', ref, '-o', 'yaml', '--normalisation', 'jsonNormalisation/v3'], {
        cwd: dir,
      });
      assert.equal(
        yaml.stdout,
        'hashAlgorithm: SHA-256\nnormalisationAlgorithm: jsonNormalisation/v4alpha1\nvalue: 01845aee470f44b420d88d9fbd79b929a93efd38b4b0f9dede3ac6b04a57f546\n',
      );
      assertOneLineError(
        await lading(['hash', 'cv', ref, '--normalisation', 'jsonNormalisation/v2'], { cwd: dir }),
        /unknown normalisation algorithm "jsonNormalisation\/v2"/,
      );
      // The reference-digest vector: the digest a parent would pin for ocm.software/referenced.
      await copyFile(
        join(ocmVectors, 'extracted/cli-add-cv-reference-digest/referenced-constructor.yaml'),
        join(dir, 'referenced.yaml'),
      );
      await ladingOk(['add', 'cv', '-c', 'referenced.yaml', '-r', './ref-ctf'], { cwd: dir });
      assert.equal(
        (await ladingOk(['hash', 'cv', './ref-ctf//ocm.software/referenced:1.0.0'], { cwd: dir })).stdout,
        'faacbf3c44a80bcf590dcd7cce4c0813047d35f379b0dc5cc497327d451be025\n',
      );
    }));

  test('sign → verify with PKCS#8 and PKCS#1 keys, both algorithms; existing names need --force; dry runs store nothing', () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      const ctf = join(dir, 'transport-archive');
      const before = await snapshot(ctf);
      const dry = await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem'), '--dry-run', '-o', 'json'], {
        cwd: dir,
      });
      assert.equal(JSON.parse(dry.stdout).name, 'default');
      assert.deepEqual(await snapshot(ctf), before, 'a dry run stores nothing');

      const signed = await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir });
      assert.match(
        signed.stdout,
        /^digest:\n {2}hashAlgorithm: SHA-256\n {2}normalisationAlgorithm: jsonNormalisation\/v4alpha1\n/,
      );
      assert.match(signed.stdout, /mediaType: application\/vnd\.ocm\.signature\.rsa\.pss\n/);
      assert.match(signed.stderr, /Added signature "default"/);
      const hash = (await ladingOk(['hash', 'cv', ref], { cwd: dir })).stdout.trim();
      assert.match(signed.stdout, new RegExp(`value: ${hash}\\n`), 'the signature is over the hash cv digest');
      const ok = await ladingOk(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem')], { cwd: dir });
      assert.equal(ok.stderr, `Verified signature "default" of ${component}:1.0.0 (RSASSA-PSS, SHA-256 ${hash})\n`);
      assert.equal(ok.stdout, '', 'as upstream, verify prints nothing on stdout');

      assertOneLineError(
        await lading(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir }),
        /signature "default" already exists on acme\.org\/signed:1\.0\.0/,
      );
      const forced = await ladingOk(
        ['sign', 'cv', ref, '--private-key', k('pkcs1.pem'), '--force', '--hash', 'SHA512', '-o', 'json'],
        { cwd: dir },
      );
      assert.match(forced.stderr, /Replaced signature "default"/);
      assert.equal(
        JSON.parse(forced.stdout).digest.hashAlgorithm,
        'SHA-512',
        'the digest is replaced with the signature',
      );
      await ladingOk(
        [
          'sign',
          'cv',
          ref,
          '--signature',
          'legacy',
          '--algorithm',
          'RSASSA-PKCS1-V1_5',
          '--private-key',
          k('pkcs8.pem'),
        ],
        { cwd: dir },
      );
      const descriptor = JSON.parse((await ladingOk(['get', 'cv', ref, '-o', 'json'], { cwd: dir })).stdout)[0] as {
        signatures: { name: string; signature: { mediaType: string } }[];
      };
      assert.deepEqual(
        descriptor.signatures.map((s) => [s.name, s.signature.mediaType]),
        [
          ['default', 'application/vnd.ocm.signature.rsa.pss'],
          ['legacy', 'application/vnd.ocm.signature.rsa'],
        ],
      );
      await ladingOk(['verify', 'cv', ref, '--signature', 'default', '--public-key', k('pkcs1.pub.pem')], { cwd: dir });
      await ladingOk(['verify', 'cv', ref, '--signature', 'legacy', '--public-key', k('pkcs8.pub.pem')], { cwd: dir });
      // The private key also serves as the public key; one key for all signatures fails on the other.
      await ladingOk(['verify', 'cv', ref, '--signature', 'legacy', '--public-key', k('pkcs8.pem')], { cwd: dir });
      assertOneLineError(
        await lading(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem')], { cwd: dir }),
        /signature "default": bad signature/,
      );
    }));

  test("sign cv prints the signature as upstream's printSignature: YAML then a blank line, Go's indented JSON", () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      const hash = (await ladingOk(['hash', 'cv', ref], { cwd: dir })).stdout.trim();
      const sign = (output: string[]) =>
        ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem'), '--dry-run', '--signature', 'a<b&c', ...output], {
          cwd: dir,
        });
      // PSS signatures are salted: each run has its own value, read back from the output.
      const yaml = (await sign([])).stdout;
      const yamlValue = /\n {2}value: ([0-9a-f]+)\n\n$/.exec(yaml)?.[1];
      assert.ok(yamlValue, yaml);
      assert.equal(
        yaml,
        `digest:\n  hashAlgorithm: SHA-256\n  normalisationAlgorithm: jsonNormalisation/v4alpha1\n  value: ${hash}\n` +
          `name: a<b&c\nsignature:\n  algorithm: RSASSA-PSS\n  mediaType: application/vnd.ocm.signature.rsa.pss\n` +
          `  value: ${yamlValue}\n\n`,
      );
      assert.equal((await sign(['-o', 'yaml'])).stdout.length, yaml.length);
      const json = (await sign(['-o', 'json'])).stdout;
      const jsonValue = (JSON.parse(json) as { signature: { value: string } }).signature.value;
      assert.equal(
        json,
        `{\n  "name": "a\\u003cb\\u0026c",\n  "digest": {\n    "hashAlgorithm": "SHA-256",\n` +
          `    "normalisationAlgorithm": "jsonNormalisation/v4alpha1",\n    "value": "${hash}"\n  },\n` +
          `  "signature": {\n    "algorithm": "RSASSA-PSS",\n    "value": "${jsonValue}",\n` +
          `    "mediaType": "application/vnd.ocm.signature.rsa.pss"\n  }\n}\n`,
      );
      // Upstream's -o is an enum of exactly these two.
      for (const other of ['table', 'text', 'JSON'])
        assertOneLineError(
          await lading(['sign', 'cv', ref, '--private-key', k('pkcs8.pem'), '-o', other], { cwd: dir }),
          /-o/,
        );
    }));

  test('keys from the OCM configuration: an RSA consumer for the signature name signs and verifies', () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      const config = join(dir, 'ocmconfig.yaml');
      await writeFile(
        config,
        [
          'type: generic.config.ocm.software/v1',
          'configurations:',
          '  - type: credentials.config.ocm.software',
          '    consumers:',
          '      - identity:',
          '          type: RSA/v1alpha1',
          '          algorithm: RSASSA-PSS',
          '          signature: release',
          '        credentials:',
          '          - type: Credentials/v1',
          '            properties:',
          `              privateKeyPEMFile: ${k('pkcs8.pem')}`,
          `              publicKeyPEMFile: ${k('pkcs8.pub.pem')}`,
          '',
        ].join('\n'),
      );
      await ladingOk(['sign', 'cv', ref, '--signature', 'release', '--config', config], { cwd: dir });
      const ok = await ladingOk(['verify', 'cv', ref, '--signature', 'release', '--config', config], { cwd: dir });
      assert.match(ok.stderr, /^Verified signature "release"/);
      // Relabelled to the other algorithm, the signature would find no configured key (and a PEM
      // one would go on to its own certificate chain): refused, naming the configured algorithm.
      await withCtf(join(dir, 'transport-archive'), async (repo) => {
        const stored = await repo.getComponentVersion(component, '1.0.0');
        const next = structuredClone(stored.descriptor);
        for (const sig of next.signatures ?? []) sig.signature.algorithm = 'RSASSA-PKCS1-V1_5';
        await repo.addComponentVersion(next, { conflictPolicy: 'replace', blobs: [...stored.layers.values()] });
      });
      assertOneLineError(
        await lading(['verify', 'cv', ref, '--signature', 'release', '--config', config], { cwd: dir }),
        /signature "release" claims "RSASSA-PKCS1-V1_5", but the key configured for it is for RSASSA-PSS/,
      );
      // Another signature name has no configured key.
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--signature', 'other', '--config', config], { cwd: dir }),
        /needs a private key/,
      );
    }));

  test("upstream's --signer-spec, --verifier-spec and --concurrency-limit: a script written for ocm runs", () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      const spec = join(dir, 'rsa.yaml');
      await writeFile(
        spec,
        'type: RSASigningConfiguration/v1alpha1\nsignatureAlgorithm: RSASSA-PKCS1-V1_5\nsignatureEncodingPolicy: Plain\n',
      );
      const signed = await ladingOk(
        ['sign', 'cv', ref, '--private-key', k('pkcs8.pem'), '--signer-spec', spec, '--concurrency-limit', '2'],
        { cwd: dir },
      );
      assert.match(signed.stdout, /algorithm: RSASSA-PKCS1-V1_5/);
      const ok = await ladingOk(
        ['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), '--verifier-spec', spec, '--concurrency-limit', '4'],
        { cwd: dir },
      );
      assert.match(ok.stderr, /^Verified signature "default" .*RSASSA-PKCS1-V1_5/);
      // Without a key, the line says where one comes from.
      assertOneLineError(
        await lading(['verify', 'cv', ref], { cwd: dir }),
        /plain RSASSA-PKCS1-V1_5 signature: verifying it needs a public key \(--public-key FILE, or an RSA consumer for "default" in the OCM configuration\)$/,
      );
      assertOneLineError(
        await lading(['verify', 'cv', ref.replace(/:1\.0\.0$/, '')], { cwd: dir }),
        /a version is required \(<repository>\/\/<component>:<version>\)$/,
      );
      // A spec lading cannot honour is refused by name, before anything is written.
      await writeFile(join(dir, 'other.yaml'), 'type: SigstoreSigningConfiguration/v1alpha1\n');
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--private-key', k('pkcs8.pem'), '--signer-spec', 'other.yaml', '--force'], {
          cwd: dir,
        }),
        /--signer-spec other\.yaml: type "SigstoreSigningConfiguration\/v1alpha1" is not supported/,
      );
      await writeFile(
        join(dir, 'typo.yaml'),
        'type: RSASigningConfiguration/v1alpha1\nsignatureAlgoritm: RSASSA-PSS\n',
      );
      assertOneLineError(
        await lading(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), '--verifier-spec', 'typo.yaml'], {
          cwd: dir,
        }),
        /--verifier-spec typo\.yaml: unknown field "signatureAlgoritm"/,
      );
    }));

  test('tampering is detected: descriptor edits, wrong keys, modified local blobs, missing signatures', () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      const ctf = join(dir, 'transport-archive');
      await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir });
      const verify = (...extra: string[]) =>
        lading(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), ...extra], { cwd: dir });

      assertOneLineError(
        await lading(['verify', 'cv', ref, '--public-key', k('other.pub.pem')], { cwd: dir }),
        /signature "default": bad signature: the RSASSA-PSS signature does not verify with the given public key/,
      );
      assertOneLineError(
        await lading(['verify', 'cv', ref, '--signature', 'nope', '--public-key', k('pkcs8.pub.pem')], { cwd: dir }),
        /no signature "nope" on acme\.org\/signed:1\.0\.0 \(it has "default"\)/,
      );
      assertOneLineError(await lading(['verify', 'cv', ref], { cwd: dir }), /needs a public key/);

      // A modified blob in a directory CTF: the signature still holds, the content check fails.
      const stored = await withCtf(ctf, (repo) => repo.getComponentVersion(component, '1.0.0'));
      const data = stored.descriptor.component.resources?.find((r) => r.name === 'data');
      const blob = join(ctf, 'blobs', String(data?.access.localReference).replace(':', '.'));
      assert.equal(await readFile(blob, 'utf8'), 'the data\n');
      const okDigests = await ladingOk(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), '--verify-digests'], {
        cwd: dir,
      });
      assert.match(okDigests.stderr, /Verified the content digest of 2 local resources\n$/);
      await overwriteStored(blob, 'the date\n');
      assert.equal((await verify()).code, 0);
      assertOneLineError(
        await verify('--verify-digests'),
        /resource name=data,version=1\.0\.0: content digest mismatch/,
      );
      await overwriteStored(blob, 'the data\n');

      // A non-signing label may change; a signing one may not.
      await withCtf(ctf, async (repo) => {
        const s = await repo.getComponentVersion(component, '1.0.0');
        const next = structuredClone(s.descriptor);
        const labels = next.component.labels ?? [];
        (labels[1] as { value: unknown }).value = 'edited';
        await repo.addComponentVersion(next, { conflictPolicy: 'replace', blobs: [...s.layers.values()] });
      });
      assert.equal((await verify('--verify-digests')).code, 0, 'a label outside the signature');
      await withCtf(ctf, async (repo) => {
        const s = await repo.getComponentVersion(component, '1.0.0');
        const next = structuredClone(s.descriptor);
        (next.component.labels?.[0] as { value: unknown }).value = 'tampered';
        await repo.addComponentVersion(next, { conflictPolicy: 'replace', blobs: [...s.layers.values()] });
      });
      assertOneLineError(
        await verify(),
        /signature "default": descriptor digest mismatch: acme\.org\/signed:1\.0\.0 now hashes to [0-9a-f]{64}/,
      );
    }));

  test('an OCI image stored natively as a local blob: its manifest digest, and every blob below it, are checked', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'layout');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const image = await pushImage(layout, { 'app.txt': 'the app\n' });
      await layout.tag(image.manifest, '1.0.0');
      await writeDirectoryAsTar(layoutDir, join(dir, 'image.tar'));
      const ctf = join(dir, 'ctf');
      const archive = await CtfArchive.open(ctf, { mode: 'create' });
      const repo = new ComponentVersionRepository(archive.resolver());
      const name = 'acme.org/with-image';
      const text = await repo.addLocalBlob(name, {
        mediaType: 'text/plain',
        open: () => Readable.from([Buffer.from('hi')]),
      });
      const img = await repo.addLocalBlob(
        name,
        {
          mediaType: OcmMediaType.OciLayoutTar,
          open: async () => (await import('node:fs')).createReadStream(join(dir, 'image.tar')),
        },
        { referenceName: 'acme.org/image:1.0.0' },
      );
      assert.equal(img.digest.value, image.manifest.digest.slice('sha256:'.length));
      await repo.addComponentVersion({
        meta: { schemaVersion: 'v2' },
        component: {
          name,
          version: '1.0.0',
          provider: { name: 'acme' },
          repositoryContexts: [],
          resources: [
            {
              name: 'text',
              version: '1.0.0',
              type: 'plainText',
              relation: 'local',
              access: text.access,
              digest: text.digest,
            },
            {
              name: 'image',
              version: '1.0.0',
              type: 'ociImage',
              relation: 'local',
              access: img.access,
              digest: img.digest,
            },
          ],
          sources: [],
          componentReferences: [],
        },
      });
      await archive.close();
      const ref = `./ctf//${name}:1.0.0`;
      await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir });
      const ok = await ladingOk(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), '--verify-digests'], {
        cwd: dir,
      });
      assert.match(ok.stderr, /Verified the content digest of 2 local resources/);
      assert.equal(MediaType.ImageManifest, img.access.mediaType);
      // A layer of the embedded image changes on disk: the manifest digest still matches, the layer does not.
      await overwriteStored(join(ctf, 'blobs', image.layer.digest.replace(':', '.')), 'not the layer');
      assert.equal((await lading(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem')], { cwd: dir })).code, 0);
      assertOneLineError(
        await lading(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), '--verify-digests'], { cwd: dir }),
        /resource name=image,version=1\.0\.0: content digest mismatch/,
      );
    }));

  test('a version without digests on its resources is not signed; CLI errors are one line', () =>
    withDir(async (dir) => {
      const ctf = join(dir, 'ctf');
      const archive = await CtfArchive.open(ctf, { mode: 'create' });
      const repo = new ComponentVersionRepository(archive.resolver());
      await repo.addComponentVersion({
        meta: { schemaVersion: 'v2' },
        component: {
          name: 'acme.org/undigested',
          version: '1.0.0',
          provider: { name: 'acme' },
          repositoryContexts: [],
          resources: [
            {
              name: 'image',
              version: '1.0.0',
              type: 'ociImage',
              relation: 'external',
              access: { type: 'OCIImage/v1', imageReference: 'ghcr.io/acme/image:1.0.0' },
            },
          ],
          sources: [],
          componentReferences: [],
        },
      });
      await archive.close();
      const before = await snapshot(ctf);
      const ref = './ctf//acme.org/undigested:1.0.0';
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir }),
        /cannot be signed: resource name=image,version=1\.0\.0 has no digest/,
      );
      assert.deepEqual(await snapshot(ctf), before);
      assertOneLineError(await lading(['sign', 'cv', ref], { cwd: dir }), /needs a private key/);
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--private-key', join(dir, 'missing.pem')], { cwd: dir }),
        /--private-key .*missing\.pem: no such file/,
      );
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--private-key', k('pkcs8.pub.pem')], { cwd: dir }),
        /no RSA PRIVATE KEY \(PKCS#1\) or PRIVATE KEY \(PKCS#8\) PEM block/,
      );
      assertOneLineError(
        await lading(['sign', 'cv', './nowhere//acme.org/undigested:1.0.0', '--private-key', k('pkcs8.pem')], {
          cwd: dir,
        }),
        /nowhere: no CTF there/,
      );
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--private-key', k('pkcs8.pem'), '--algorithm', 'ECDSA'], { cwd: dir }),
        /unsupported signature algorithm "ECDSA"/,
      );
      assertOneLineError(
        await lading(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem')], { cwd: dir }),
        /acme\.org\/undigested:1\.0\.0 has no signatures/,
      );
    }));

  test('CTF archives written by OCM v1 (upstream compatibility vectors) are signed and verified in place', () =>
    withDir(async (dir) => {
      const vectors = join(ocmVectors, 'bindings/go/ctf/testdata/compatibility');
      const cases = [
        {
          from: '01/transport-archive',
          digest: '928f77abdbcd5998440eea39b1ff1f23a27f7f0b29fbfcb2d239d0b6480f8c79',
          verified: 1,
        },
        // The same component by reference and by value: one digest, as a signature needs.
        {
          from: '02/without-resource',
          digest: '4a4bb5c0bd51b467cf1e177e559a509a9c08a1b5b17aa72df39ab5326123f194',
          verified: 0,
        },
        {
          from: '02/with-resource',
          digest: '4a4bb5c0bd51b467cf1e177e559a509a9c08a1b5b17aa72df39ab5326123f194',
          verified: 1,
        },
      ];
      for (const [i, c] of cases.entries()) {
        const ctf = join(dir, `v1-${i}`);
        await cp(join(vectors, c.from), ctf, { recursive: true });
        await chmod(ctf, 0o755);
        for (const sub of ['', 'blobs']) {
          await chmod(join(ctf, sub), 0o755);
          for (const f of await readdir(join(ctf, sub), { withFileTypes: true }))
            if (f.isFile()) await chmod(join(ctf, sub, f.name), 0o644);
        }
        const ref = `./v1-${i}//github.com/acme.org/helloworld:1.0.0`;
        assert.equal((await ladingOk(['hash', 'cv', ref], { cwd: dir })).stdout, `${c.digest}\n`);
        await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir });
        const r = await ladingOk(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), '--verify-digests'], {
          cwd: dir,
        });
        assert.match(
          r.stderr,
          new RegExp(`SHA-256 ${c.digest}\\)\\nVerified the content digest of ${c.verified} local resource`),
        );
        assert.equal((await ladingOk(['hash', 'cv', ref], { cwd: dir })).stdout, `${c.digest}\n`);
      }
    }));

  test('tar and tgz archives: the signed version is committed into the archive', () =>
    withDir(async (dir) => {
      for (const archive of ['./ctf.tar', './ctf.tgz']) {
        const ref = await addComponent(dir, archive);
        await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir });
        const r = await ladingOk(['verify', 'cv', ref, '--public-key', k('pkcs8.pub.pem'), '--verify-digests'], {
          cwd: dir,
        });
        assert.match(r.stderr, /Verified signature "default"/);
      }
    }));
});

describe('interop with openssl pkeyutl over the same digest', () => {
  test('lading signatures verify with openssl; openssl signatures verify with lading', () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      const ctf = join(dir, 'transport-archive');
      const cases = [
        { alg: 'RSASSA-PSS', key: 'pkcs8', opts: ['-pkeyopt', 'rsa_padding_mode:pss'] },
        { alg: 'RSASSA-PKCS1-V1_5', key: 'pkcs1', opts: ['-pkeyopt', 'rsa_padding_mode:pkcs1'] },
      ];
      for (const hash of ['SHA-256', 'SHA-512']) {
        const md = hash === 'SHA-256' ? 'sha256' : 'sha512';
        for (const c of cases) {
          const name = `${c.key}-${md}`;
          const out = await ladingOk(
            [
              'sign',
              'cv',
              ref,
              '--signature',
              name,
              '--algorithm',
              c.alg,
              '--hash',
              hash,
              '--private-key',
              k(`${c.key}.pem`),
              '-o',
              'json',
            ],
            { cwd: dir },
          );
          const sig = JSON.parse(out.stdout) as { digest: { value: string }; signature: { value: string } };
          await writeFile(join(dir, 'digest.bin'), Buffer.from(sig.digest.value, 'hex'));
          await writeFile(join(dir, 'sig.bin'), Buffer.from(sig.signature.value, 'hex'));
          const verifyArgs = [
            'pkeyutl',
            '-verify',
            '-pubin',
            '-inkey',
            k(`${c.key}.pub.pem`),
            '-in',
            'digest.bin',
            '-sigfile',
            'sig.bin',
            '-pkeyopt',
            `digest:${md}`,
            ...c.opts,
          ];
          const salts = c.alg === 'RSASSA-PSS' ? ['auto', 'max'] : [undefined];
          for (const salt of salts) {
            const args = salt ? [...verifyArgs, '-pkeyopt', `rsa_pss_saltlen:${salt}`] : verifyArgs;
            const { stdout } = await openssl(args, dir);
            assert.match(stdout.toString(), /Signature Verified Successfully/, `${name} ${salt ?? ''}`);
          }

          // And the other way round: openssl signs the digest lading computes.
          const spec = JSON.parse(
            (await ladingOk(['hash', 'cv', ref, '-o', 'json', '--hash', hash], { cwd: dir })).stdout,
          ) as { hashAlgorithm: string; normalisationAlgorithm: string; value: string };
          await writeFile(join(dir, 'digest.bin'), Buffer.from(spec.value, 'hex'));
          const signArgs = [
            'pkeyutl',
            '-sign',
            '-inkey',
            k(`${c.key}.pem`),
            '-in',
            'digest.bin',
            '-out',
            'ossl.bin',
            '-pkeyopt',
            `digest:${md}`,
            ...c.opts,
          ];
          await openssl(c.alg === 'RSASSA-PSS' ? [...signArgs, '-pkeyopt', 'rsa_pss_saltlen:digest'] : signArgs, dir);
          const value = (await readFile(join(dir, 'ossl.bin'))).toString('hex');
          await withCtf(ctf, async (repo) => {
            const s = await repo.getComponentVersion(component, '1.0.0');
            const next = structuredClone(s.descriptor);
            next.signatures = [
              ...(next.signatures ?? []),
              {
                name: `openssl-${name}`,
                digest: spec,
                signature: {
                  algorithm: c.alg,
                  value,
                  mediaType:
                    c.alg === 'RSASSA-PSS'
                      ? 'application/vnd.ocm.signature.rsa.pss'
                      : 'application/vnd.ocm.signature.rsa',
                },
              },
            ];
            await repo.addComponentVersion(next, { conflictPolicy: 'replace', blobs: [...s.layers.values()] });
          });
          await ladingOk(
            ['verify', 'cv', ref, '--signature', `openssl-${name}`, '--public-key', k(`${c.key}.pub.pem`)],
            { cwd: dir },
          );
          assertOneLineError(
            await lading(['verify', 'cv', ref, '--signature', `openssl-${name}`, '--public-key', k('other.pub.pem')], {
              cwd: dir,
            }),
            /bad signature/,
          );
        }
      }
    }));
});

describe('PEM signatures with a certificate chain', () => {
  test("a CA's path length limit holds: a sub-CA below an intermediate that allows none is refused", async () => {
    // root → limited (CA, pathlen:0) → sub (CA) → signer; root → open (CA, pathlen:1) → sub2 → signer2.
    const limitedCa = (n: number) => `basicConstraints=critical,CA:TRUE,pathlen:${n}\nkeyUsage=critical,keyCertSign\n`;
    const signerExt = 'basicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning\n';
    await makeCertificate('limited', '/CN=Limited Intermediate', 'root', limitedCa(0));
    await makeCertificate('sub', '/CN=Sub CA', 'limited');
    await makeCertificate('signer', '/CN=deep signer', 'sub', signerExt);
    await makeCertificate('open', '/CN=Open Intermediate', 'root', limitedCa(1));
    await makeCertificate('sub2', '/CN=Sub CA 2', 'open');
    await makeCertificate('signer2', '/CN=deep signer 2', 'sub2', signerExt);
    const cert = async (name: string) => new X509Certificate(await readFile(k(`${name}.pem`)));
    const roots = [await cert('root')];
    const [signer, sub, limited] = await Promise.all(['signer', 'sub', 'limited'].map(cert));
    assert.throws(
      () => verifyCertificateChain(signer as X509Certificate, [sub, limited] as X509Certificate[], { roots }),
      /"CN=Limited Intermediate" allows 0 intermediate certificate\(s\) below it, the chain has 1/,
    );
    const [signer2, sub2, open] = await Promise.all(['signer2', 'sub2', 'open'].map(cert));
    const path = verifyCertificateChain(signer2 as X509Certificate, [sub2, open] as X509Certificate[], { roots });
    assert.equal(path.length, 4);
    assert.equal(maxPathLength(open as X509Certificate), 1);
    assert.equal(maxPathLength(await cert('inter')), undefined, 'no limit set');
    assert.equal(maxPathLength(signer as X509Certificate), undefined, 'not a CA');
  });

  test('signed with a leaf under an intermediate; verified against the root; wrong roots and issuers rejected', () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      const out = await ladingOk(
        ['sign', 'cv', ref, '--private-key', k('leaf.key'), '--certificate', k('chain.pem'), '-o', 'json'],
        { cwd: dir },
      );
      const sig = JSON.parse(out.stdout) as { signature: { algorithm: string; mediaType: string; value: string } };
      assert.equal(sig.signature.mediaType, 'application/x-pem-file');
      assert.equal(sig.signature.algorithm, 'RSASSA-PSS');
      assert.match(sig.signature.value, /^-----BEGIN SIGNATURE-----\nSignature Algorithm: RSASSA-PSS\n\n/);
      assert.equal(sig.signature.value.match(/-----BEGIN CERTIFICATE-----/g)?.length, 2);
      const verify = (...extra: string[]) => lading(['verify', 'cv', ref, ...extra], { cwd: dir });

      const ok = await verify('--root-certificate', k('root.pem'));
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stderr, /Verified signature "default"/);
      // Who signed, and what vouched for them.
      assert.match(
        ok.stderr,
        /\n {2}signed by "C=DE, O=Acme\\, Inc\., CN=release signer" \(its certificate chain leads to a given root certificate\)\n$/,
      );
      assert.equal(
        (await verify('--root-certificate', k('root.pem'), '--issuer', 'CN=release signer,O=Acme\\, Inc.,C=DE')).code,
        0,
      );
      // A certificate as --public-key is a trust anchor too, as upstream.
      assert.equal((await verify('--public-key', k('root.pem'))).code, 0);
      assertOneLineError(
        await verify('--root-certificate', k('root.pem'), '--issuer', 'CN=someone else'),
        /issuer mismatch: the signing certificate is "C=DE, O=Acme\\, Inc\., CN=release signer"/,
      );
      assertOneLineError(
        await verify('--root-certificate', k('other-root.pem')),
        /signature "default": certificate chain: "C=DE, O=Acme\\, Inc\., CN=release signer" is not issued by a trusted root/,
      );
      assertOneLineError(await verify(), /certificate chain: .* is not issued by a trusted root/);

      // The chain must fit the key, and a TLS-only certificate does not sign code.
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--force', '--private-key', k('pkcs8.pem'), '--certificate', k('chain.pem')], {
          cwd: dir,
        }),
        /the first certificate of the chain \(.*release signer.*\) is not for the private key/,
      );
      await ladingOk(
        [
          'sign',
          'cv',
          ref,
          '--signature',
          'server',
          '--algorithm',
          'RSASSA-PKCS1-V1_5',
          '--private-key',
          k('server.key'),
          '--certificate',
          k('server-chain.pem'),
          '--encoding',
          'pem',
        ],
        { cwd: dir },
      );
      assertOneLineError(
        await verify('--signature', 'server', '--root-certificate', k('root.pem')),
        /"CN=a web server" does not allow code signing/,
      );
      assertOneLineError(
        await lading(['sign', 'cv', ref, '--signature', 'x', '--private-key', k('leaf.key'), '--encoding', 'pem'], {
          cwd: dir,
        }),
        /--encoding pem needs the certificate chain/,
      );
    }));

  test('the library verifies the chain at a given time: expired certificates fail', async () => {
    await withDir(async (dir) => {
      await addComponent(dir);
      await withCtf(join(dir, 'transport-archive'), async (repo) => {
        const signed = await signComponentVersion(repo, component, '1.0.0', {
          privateKey: await readFile(k('leaf.key')),
          encoding: 'pem',
          certificateChain: await readFile(k('chain.pem')),
          algorithm: 'RSASSA-PKCS1-V1_5',
        });
        assert.equal(signed.replaced, false);
        const root = await readFile(k('root.pem'));
        const verified = await verifyComponentVersion(repo, component, '1.0.0', { rootCertificates: root });
        assert.deepEqual(verified.signers, [{ subject: 'C=DE, O=Acme\\, Inc., CN=release signer', trust: 'given' }]);
        await assert.rejects(
          verifyComponentVersion(repo, component, '1.0.0', {
            rootCertificates: root,
            now: new Date(Date.now() + 10 * 24 * 3600 * 1000),
          }),
          (e) => isLadingError(e, 'SIGNATURE_INVALID') && /is not valid at/.test(e.message),
        );
      });
    });
  });
});

describe('registries and transfer', () => {
  test('sign and verify on the plain registry, including every local blob content digest', () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir, registryRepo('direct'));
      await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs1.pem')], { cwd: dir });
      const r = await ladingOk(['verify', 'cv', ref, '--public-key', k('pkcs1.pub.pem'), '--verify-digests'], {
        cwd: dir,
      });
      assert.match(r.stderr, /Verified signature "default"[\s\S]*Verified the content digest of 2 local resources/);
      assertOneLineError(
        await lading(['verify', 'cv', ref, '--public-key', k('other.pub.pem')], { cwd: dir }),
        /bad signature/,
      );
    }));

  test('signatures survive transfer cv CTF → registry → CTF and still verify, with the same digest', () =>
    withDir(async (dir) => {
      const ref = await addComponent(dir);
      await ladingOk(['sign', 'cv', ref, '--private-key', k('pkcs8.pem')], { cwd: dir });
      await ladingOk(
        ['sign', 'cv', ref, '--signature', 'pem', '--private-key', k('leaf.key'), '--certificate', k('chain.pem')],
        {
          cwd: dir,
        },
      );
      const digest = (await ladingOk(['hash', 'cv', ref], { cwd: dir })).stdout;
      const registry = registryRepo('transfer');
      await ladingOk(['transfer', 'cv', ref, registry], { cwd: dir });
      const remote = `${registry}//${component}:1.0.0`;
      await ladingOk(
        ['verify', 'cv', remote, '--signature', 'default', '--public-key', k('pkcs8.pub.pem'), '--verify-digests'],
        {
          cwd: dir,
        },
      );
      await ladingOk(['verify', 'cv', remote, '--signature', 'pem', '--root-certificate', k('root.pem')], { cwd: dir });
      assert.equal((await ladingOk(['hash', 'cv', remote], { cwd: dir })).stdout, digest);
      await ladingOk(['transfer', 'cv', remote, './back.tgz'], { cwd: dir });
      const back = `./back.tgz//${component}:1.0.0`;
      await ladingOk(
        ['verify', 'cv', back, '--signature', 'default', '--public-key', k('pkcs8.pub.pem'), '--verify-digests'],
        {
          cwd: dir,
        },
      );
      await ladingOk(['verify', 'cv', back, '--signature', 'pem', '--root-certificate', k('root.pem')], { cwd: dir });
      assert.equal((await ladingOk(['hash', 'cv', back], { cwd: dir })).stdout, digest);
      // By value too: --copy-resources keeps every resource digest.
      await ladingOk(['transfer', 'cv', '--copy-resources', ref, './by-value'], { cwd: dir });
      await ladingOk(
        [
          'verify',
          'cv',
          `./by-value//${component}:1.0.0`,
          '--signature',
          'default',
          '--public-key',
          k('pkcs8.pub.pem'),
          '--verify-digests',
        ],
        {
          cwd: dir,
        },
      );
    }));

  test('the library API: sign, hash and verify return what they did', () =>
    withDir(async (dir) => {
      await addComponent(dir);
      await withCtf(join(dir, 'transport-archive'), async (repo) => {
        const privateKey = await readFile(k('pkcs8.pem'));
        const warnings: string[] = [];
        const signed = await signComponentVersion(repo, component, '1.0.0', {
          privateKey,
          signatureName: 'api',
          onWarning: (w) => warnings.push(w),
        });
        assert.deepEqual(warnings, []);
        assert.ok(signed.root, 'stored: the tag moved to a new root');
        const hashed = await hashComponentVersion(repo, component, '1.0.0');
        assert.deepEqual(signed.signature.digest, hashed.digest);
        const verified = await verifyComponentVersion(repo, component, '1.0.0', {
          publicKey: await readFile(k('pkcs8.pub.pem')),
          verifyDigests: true,
        });
        assert.deepEqual(
          verified.signatures.map((s) => s.name),
          ['api'],
        );
        assert.deepEqual(
          verified.resources?.map((r) => [r.identity, r.status]),
          [
            ['name=data,version=1.0.0', 'verified'],
            ['name=more,os=linux,version=1.0.0', 'verified'],
          ],
        );
        await assert.rejects(
          signComponentVersion(repo, component, '1.0.0', { privateKey, signatureName: 'api' }),
          (e) => isLadingError(e, 'SIGNATURE_EXISTS'),
        );
        await assert.rejects(
          verifyComponentVersion(repo, component, '1.0.0', { publicKey: await readFile(k('other.pub.pem')) }),
          (e) => isLadingError(e, 'SIGNATURE_INVALID'),
        );
      });
    }));
});
