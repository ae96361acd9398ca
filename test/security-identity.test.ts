// A component version is what its reference says, and its resources are what their digests say:
// hostile CTF archives (a valid component rewritten by an attacker) run through the real CLI, and
// each test checks what was written, not only the exit code.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants, createHash, createPrivateKey, privateEncrypt } from 'node:crypto';
import { cp, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { copyGraph } from '../src/copy/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { isLadingError } from '../src/oci/index.js';
import type { ComponentDescriptor, Signature } from '../src/ocm/descriptor/model.js';
import { versionToTag } from '../src/ocm/descriptor/version-tag.js';
import { fetchRemoteChart } from '../src/ocm/input/helm-remote.js';
import { ComponentVersionRepository, type StoredVersion } from '../src/ocm/repository/index.js';
import { createSigner, digestDescriptor, encodePem, verifySignature } from '../src/ocm/signing/index.js';
import { Registry } from '../src/registry/index.js';
import { snapshot } from './reliability-support.js';
import { assertOneLineError, type CliResult, lading, ladingOk } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const peers = loadPeers();

const OTHER = 'acme.org/other';
const EVIL = 'acme.org/evil';
const APP = 'acme.org/app';

const constructorYaml = (data: string) => `components:
  - name: ${OTHER}
    version: 1.0.0
    provider:
      name: acme.org
    resources:
      - name: data
        type: blob
        input:
          type: utf8/v1
          text: ${data}
      - name: more
        type: blob
        input:
          type: utf8/v1
          text: more content
  - name: ${APP}
    version: 1.0.0
    provider:
      name: acme.org
    componentReferences:
      - name: dep
        componentName: ${OTHER}
        version: 1.0.0
`;

let root: string;
let cleanup: () => Promise<void>;
/** The genuine archive: other:1.0.0 ("genuine data") and app:1.0.0 referencing it, pinned by digest. */
let genuine: string;
/** What an attacker builds: the same names, other content ("evil data"). */
let forged: string;
let n = 0;

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args, { cwd: root });
}

before(async () => {
  ({ path: root, cleanup } = await tempDir('lading-identity-'));
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'key.pem']);
  await openssl(['pkey', '-in', 'key.pem', '-pubout', '-out', 'pub.pem']);
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', 'small.pem']);
  await openssl(['pkey', '-in', 'small.pem', '-pubout', '-out', 'small.pub.pem']);
  genuine = join(root, 'genuine');
  forged = join(root, 'forged');
  for (const [dir, data] of [
    [genuine, 'genuine data'],
    [forged, 'evil data'],
  ] as const) {
    await writeFile(join(root, 'c.yaml'), constructorYaml(data));
    await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', dir], { cwd: root });
  }
});

after(() => cleanup());

/** A fresh folder for one test, holding a copy of the genuine archive as `ctf`. */
async function scratch(): Promise<{ dir: string; ctf: string }> {
  const dir = join(root, `t${++n}`);
  await mkdir(dir);
  const ctf = join(dir, 'ctf');
  await cp(genuine, ctf, { recursive: true });
  return { dir, ctf };
}

async function withRepository<T>(ctf: string, fn: (repo: ComponentVersionRepository) => Promise<T>): Promise<T> {
  const archive = await CtfArchive.open(ctf, { mode: 'readwrite' });
  try {
    const result = await fn(new ComponentVersionRepository(archive.resolver()));
    await archive.close({ commit: true });
    return result;
  } catch (error) {
    await archive.close({ commit: false });
    throw error;
  }
}

/** Tags the manifest of `from` (in `source`) as `to` in `ctf`: a version served under another name. */
async function serveAs(ctf: string, from: [string, string], to: [string, string], source = ctf): Promise<void> {
  const src = await CtfArchive.open(source, { mode: 'readonly' });
  try {
    await withRepository(ctf, async (repo) => {
      const fromTarget = await new ComponentVersionRepository(src.resolver()).target(from[0]);
      const toTarget = await repo.target(to[0]);
      const root = await fromTarget.resolve(versionToTag(from[1]));
      await copyGraph(fromTarget, toTarget, root);
      await toTarget.tag(root, versionToTag(to[1]));
    });
  } finally {
    await src.close({ commit: false });
  }
}

/** Rewrites a stored descriptor as an attacker with write access to the archive would. */
async function rewrite(
  ctf: string,
  name: string,
  mutate: (descriptor: ComponentDescriptor, stored: StoredVersion) => void,
): Promise<void> {
  await withRepository(ctf, async (repo) => {
    const stored = await repo.getComponentVersion(name, '1.0.0');
    const next = structuredClone(stored.descriptor);
    mutate(next, stored);
    await repo.addComponentVersion(next, { conflictPolicy: 'replace', blobs: [...stored.layers.values()] });
  });
}

const resource = (d: ComponentDescriptor, name: string) => {
  const r = d.component.resources?.find((x) => x.name === name);
  assert.ok(r, `resource ${name}`);
  return r;
};

function assertNoVerified(r: CliResult): void {
  assert.doesNotMatch(`${r.stdout}${r.stderr}`, /^Verified/m, 'nothing may be reported as verified');
}

describe('identity: a component version is what its reference says', () => {
  test('get: a descriptor of other:1.0.0 tagged as evil:1.0.0 is refused', async () => {
    const { dir, ctf } = await scratch();
    await serveAs(ctf, [OTHER, '1.0.0'], [EVIL, '1.0.0']);
    const r = await lading(['get', 'cv', '-o', 'json', `${ctf}//${EVIL}:1.0.0`], { cwd: dir });
    assertOneLineError(r, /acme\.org\/evil:1\.0\.0: the descriptor stored under it is of acme\.org\/other:1\.0\.0/);
    assert.equal(r.stdout, '', 'no descriptor printed');
  });

  test('get and download from a registry (the version read by one GET of its tag): other:1.0.0 tagged as evil:1.0.0 is refused', async () => {
    const { dir, ctf } = await scratch();
    const repoPath = `sec-identity-get-${process.pid}-${n}`;
    const target = `http://${peers.plain.host}/${repoPath}`;
    await ladingOk(['transfer', 'cv', `${ctf}//${OTHER}:1.0.0`, target], { cwd: dir });
    // The registry's tag of evil's repository names other's manifest, as one with write access could make it.
    const base = `${peers.plain.host}/${repoPath}/component-descriptors`;
    await ladingOk(['cp', '--from-plain-http', '--to-plain-http', `${base}/${OTHER}:1.0.0`, `${base}/${EVIL}:1.0.0`], {
      cwd: dir,
    });
    const get = await lading(['get', 'cv', '-o', 'json', `${target}//${EVIL}:1.0.0`], { cwd: dir });
    assertOneLineError(get, /acme\.org\/evil:1\.0\.0: the descriptor stored under it is of acme\.org\/other:1\.0\.0/);
    assert.equal(get.stdout, '', 'no descriptor printed');
    const download = await lading(['download', 'resource', `${target}//${EVIL}:1.0.0`, '--identity', 'name=data'], {
      cwd: dir,
    });
    assertOneLineError(download, /the descriptor stored under it is of acme\.org\/other:1\.0\.0/);
    await assert.rejects(readFile(join(dir, 'data')), { code: 'ENOENT' });
  });

  test('transfer to a CTF: evil:1.0.0 holding a forged other:1.0.0 cannot overwrite the real other:1.0.0', async () => {
    const { dir, ctf } = await scratch();
    const target = join(dir, 'target');
    await ladingOk(['transfer', 'cv', `${ctf}//${OTHER}:1.0.0`, target], { cwd: dir });
    const before = await snapshot(target);
    await serveAs(ctf, [OTHER, '1.0.0'], [EVIL, '1.0.0'], forged);
    const r = await lading(['transfer', 'cv', `${ctf}//${EVIL}:1.0.0`, target], { cwd: dir });
    assertOneLineError(r, /descriptor stored under it is of acme\.org\/other:1\.0\.0/);
    assert.deepEqual(await snapshot(target), before, 'the target archive is exactly as it was');
    const data = await lading(['download', 'resource', `${target}//${OTHER}:1.0.0`, '--identity', 'name=data'], {
      cwd: dir,
    });
    assert.equal(data.code, 0, data.stderr);
    assert.equal(await readFile(join(dir, 'data'), 'utf8'), 'genuine data');
  });

  test('transfer to the real registry: the real other:1.0.0 there keeps its manifest', async () => {
    const { dir, ctf } = await scratch();
    const repoPath = `sec-identity-${process.pid}-${n}`;
    const target = `http://${peers.plain.host}/${repoPath}`;
    await ladingOk(['transfer', 'cv', `${ctf}//${OTHER}:1.0.0`, target], { cwd: dir });
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    try {
      const tagged = registry.repository(`${repoPath}/component-descriptors/${OTHER}`);
      const before = await tagged.resolve('1.0.0');
      await serveAs(ctf, [OTHER, '1.0.0'], [EVIL, '1.0.0'], forged);
      const r = await lading(['transfer', 'cv', `${ctf}//${EVIL}:1.0.0`, target], { cwd: dir });
      assertOneLineError(r, /descriptor stored under it is of acme\.org\/other:1\.0\.0/);
      assert.equal((await tagged.resolve('1.0.0')).digest, before.digest, 'other:1.0.0 was not replaced');
      await assert.rejects(
        registry.repository(`${repoPath}/component-descriptors/${EVIL}`).resolve('1.0.0'),
        (e) => isLadingError(e, 'NOT_FOUND'),
        'nothing was tagged for evil either',
      );
    } finally {
      await registry.close();
    }
  });

  test('sign and verify: a genuinely signed other:1.0.0 served as evil:9.9.9 is neither verified nor signed', async () => {
    const { dir, ctf } = await scratch();
    await ladingOk(['sign', 'cv', `${ctf}//${OTHER}:1.0.0`, '--private-key', join(root, 'key.pem')], { cwd: dir });
    await ladingOk(['verify', 'cv', `${ctf}//${OTHER}:1.0.0`, '--public-key', join(root, 'pub.pem')], { cwd: dir });
    await serveAs(ctf, [OTHER, '1.0.0'], [EVIL, '9.9.9']);
    const before = await snapshot(ctf);
    const verify = await lading(['verify', 'cv', `${ctf}//${EVIL}:9.9.9`, '--public-key', join(root, 'pub.pem')], {
      cwd: dir,
    });
    assertOneLineError(
      verify,
      /acme\.org\/evil:9\.9\.9: the descriptor stored under it is of acme\.org\/other:1\.0\.0/,
    );
    assertNoVerified(verify);
    const sign = await lading(
      ['sign', 'cv', `${ctf}//${EVIL}:9.9.9`, '--private-key', join(root, 'key.pem'), '--signature', 'again'],
      { cwd: dir },
    );
    assertOneLineError(sign, /descriptor stored under it is of acme\.org\/other:1\.0\.0/);
    assert.deepEqual(await snapshot(ctf), before, 'nothing was signed or stored');
  });

  test('transfer -r: a referenced version that is not the one its reference pins is refused, nothing written', async () => {
    const { dir, ctf } = await scratch();
    // The attacker replaces other:1.0.0 with a forged one of the same name and version.
    await serveAs(ctf, [OTHER, '1.0.0'], [OTHER, '1.0.0'], forged);
    const target = join(dir, 'target');
    const r = await lading(['transfer', 'cv', '-r', `${ctf}//${APP}:1.0.0`, target], { cwd: dir });
    assertOneLineError(r, /component reference dep \(acme\.org\/other:1\.0\.0\): the referenced descriptor hashes to/);
    await assert.rejects(stat(target), { code: 'ENOENT' }, 'no target archive was created');
    const get = await lading(['get', 'cv', '--recursive', '-o', 'json', `${ctf}//${APP}:1.0.0`], { cwd: dir });
    assertOneLineError(get, /component reference dep/);
  });
});

describe('names from descriptors are data, never paths', () => {
  for (const [what, name] of [
    ['../x', '../x'],
    ['an absolute path', 'ABSOLUTE'],
  ] as const) {
    test(`download resource: a resource named ${what} writes nothing outside the output`, async () => {
      const { dir, ctf } = await scratch();
      const cwd = join(dir, 'cwd');
      const outside = join(dir, 'outside');
      await mkdir(cwd);
      await mkdir(outside);
      await writeFile(join(outside, 'sentinel'), 'keep');
      const hostile = name === 'ABSOLUTE' ? join(outside, 'planted') : name;
      await rewrite(ctf, OTHER, (d) => {
        resource(d, 'data').name = hostile;
      });
      const beforeOutside = await snapshot(dir, ['ctf', 'cwd']);
      const r = await lading(['download', 'resource', `${ctf}//${OTHER}:1.0.0`, '--identity', `name=${hostile}`], {
        cwd,
      });
      assertOneLineError(r, /component\.resources\[0\]\.name ".*" is not a valid name/);
      assert.deepEqual(await readdir(cwd), [], 'nothing in the current folder');
      assert.deepEqual(await snapshot(dir, ['ctf', 'cwd']), beforeOutside, 'nothing next to it or outside');
    });
  }

  test('download resource: a link in the current folder named like the resource is not written through', async () => {
    const { dir, ctf } = await scratch();
    const cwd = join(dir, 'cwd');
    await mkdir(cwd);
    const victim = join(dir, 'victim.txt');
    await writeFile(victim, 'keep');
    await symlink(victim, join(cwd, 'data'));
    // Selected by version only: the file is named after the resource, as the descriptor names it.
    const r = await lading(['download', 'resource', `${ctf}//${OTHER}:1.0.0`, '--identity', 'version=1.0.0'], { cwd });
    assertOneLineError(r, /"data" \(named after the resource\) is a symbolic link here; choose the file with --output/);
    assert.equal(await readFile(victim, 'utf8'), 'keep');
  });
});

describe('resources are what their digests say', () => {
  test('a localReference swapped to another blob: verify passes (the access is not signed), download and transfer refuse', async () => {
    const { dir, ctf } = await scratch();
    await ladingOk(['sign', 'cv', `${ctf}//${OTHER}:1.0.0`, '--private-key', join(root, 'key.pem')], { cwd: dir });
    await rewrite(ctf, OTHER, (d) => {
      const more = resource(d, 'more').access.localReference;
      resource(d, 'data').access.localReference = more;
    });
    // The signature is still good: it covers the digests, not the accesses.
    await ladingOk(['verify', 'cv', `${ctf}//${OTHER}:1.0.0`, '--public-key', join(root, 'pub.pem')], { cwd: dir });
    const r = await lading(
      ['download', 'resource', `${ctf}//${OTHER}:1.0.0`, '--identity', 'name=data', '--output', 'got.bin'],
      { cwd: dir },
    );
    assertOneLineError(r, /resource name=data,version=1\.0\.0: content digest mismatch/);
    await assert.rejects(stat(join(dir, 'got.bin')), { code: 'ENOENT' }, 'no file with the wrong bytes');
    assert.deepEqual((await readdir(dir)).sort(), ['ctf'], 'no temp file left either');
    const target = join(dir, 'target');
    const t = await lading(['transfer', 'cv', `${ctf}//${OTHER}:1.0.0`, target], { cwd: dir });
    assertOneLineError(t, /content digest mismatch/);
    await assert.rejects(stat(target), { code: 'ENOENT' }, 'nothing transferred');
  });

  test('a digest value changed: download refuses, transfer into an existing archive leaves it as it was', async () => {
    const { dir, ctf } = await scratch();
    const target = join(dir, 'target');
    await ladingOk(['transfer', 'cv', `${ctf}//${OTHER}:1.0.0`, target], { cwd: dir });
    const before = await snapshot(target);
    await rewrite(ctf, OTHER, (d) => {
      resource(d, 'data').digest = {
        hashAlgorithm: 'SHA-256',
        normalisationAlgorithm: 'genericBlobDigest/v1',
        value: createHash('sha256').update('something else').digest('hex'),
      };
    });
    const r = await lading(['download', 'resource', `${ctf}//${OTHER}:1.0.0`, '--identity', 'name=data'], {
      cwd: dir,
    });
    assertOneLineError(r, /content digest mismatch/);
    await assert.rejects(stat(join(dir, 'data')), { code: 'ENOENT' });
    const t = await lading(['transfer', 'cv', `${ctf}//${OTHER}:1.0.0`, target], { cwd: dir });
    assertOneLineError(t, /content digest mismatch/);
    assert.deepEqual(await snapshot(target), before);
  });
});

describe('verify -r: a referenced version is vouched for only as far as its digests go', () => {
  test('a pinned version whose resource has an access and no digest does not verify (its access could be repointed)', async () => {
    const { dir, ctf } = await scratch();
    // Before the app is signed: the library's resource loses its digest and gets an image access.
    await rewrite(ctf, OTHER, (d) => {
      const data = resource(d, 'data');
      data.access = { type: 'OCIImage/v1', imageReference: 'registry.example.com/acme/data:1.0.0' };
      delete data.digest;
    });
    // The app pins the library as it now is (as a reference made after this change would).
    let pin: ReturnType<typeof digestDescriptor>['digest'] | undefined;
    await rewrite(ctf, OTHER, (d) => {
      pin = digestDescriptor(d).digest;
    });
    await rewrite(ctf, APP, (d) => {
      for (const ref of d.component.componentReferences ?? []) if (pin) ref.digest = pin;
    });
    await ladingOk(['sign', 'cv', `${ctf}//${APP}:1.0.0`, '--private-key', join(root, 'key.pem')], { cwd: dir });
    // After signing, the attacker repoints the access: no digest of the library changes.
    await rewrite(ctf, OTHER, (d) => {
      const data = resource(d, 'data');
      data.access = { type: 'OCIImage/v1', imageReference: 'evil.example.com/backdoor:1.0.0' };
    });
    const args = ['verify', 'cv', '-r', `${ctf}//${APP}:1.0.0`, '--public-key', join(root, 'pub.pem')];
    const r = await lading(args, { cwd: dir });
    assertOneLineError(
      r,
      /acme\.org\/other:1\.0\.0 \(referenced by acme\.org\/app:1\.0\.0\): resource .*data.* has no digest/,
    );
  });
});

describe('signatures: what is declared is what was verified', () => {
  for (const label of ['none', 'RSASSA-PKCS1-V1_5']) {
    test(`a PSS signature relabelled ${label} does not verify`, async () => {
      const { dir, ctf } = await scratch();
      await ladingOk(['sign', 'cv', `${ctf}//${OTHER}:1.0.0`, '--private-key', join(root, 'key.pem')], { cwd: dir });
      await rewrite(ctf, OTHER, (d) => {
        const s = d.signatures?.[0];
        assert.ok(s);
        s.signature.algorithm = label;
      });
      const r = await lading(['verify', 'cv', `${ctf}//${OTHER}:1.0.0`, '--public-key', join(root, 'pub.pem')], {
        cwd: dir,
      });
      assertOneLineError(
        r,
        new RegExp(`algorithm "${label}" does not match the media type application/vnd\\.ocm\\.signature\\.rsa\\.pss`),
      );
      assertNoVerified(r);
    });
  }

  test('a 1024-bit key is refused for signing (nothing stored) and for verification', async () => {
    const { dir, ctf } = await scratch();
    const before = await snapshot(ctf);
    const sign = await lading(['sign', 'cv', `${ctf}//${OTHER}:1.0.0`, '--private-key', join(root, 'small.pem')], {
      cwd: dir,
    });
    assertOneLineError(sign, /1024-bit RSA key: keys under 2048 bits are refused/);
    assert.deepEqual(await snapshot(ctf), before);
    // A signature made with the small key anyway (as an old or hostile signer would).
    const key = createPrivateKey(await readFile(join(root, 'small.pem')));
    await rewrite(ctf, OTHER, (d) => {
      const { digest } = digestDescriptor(d);
      const info = Buffer.concat([
        Buffer.from('3031300d060960864801650304020105000420', 'hex'),
        Buffer.from(digest.value, 'hex'),
      ]);
      const value = privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, info).toString('hex');
      d.signatures = [
        {
          name: 'default',
          digest,
          signature: { algorithm: 'RSASSA-PKCS1-V1_5', value, mediaType: 'application/vnd.ocm.signature.rsa' },
        },
      ];
    });
    const verify = await lading(
      ['verify', 'cv', `${ctf}//${OTHER}:1.0.0`, '--public-key', join(root, 'small.pub.pem')],
      { cwd: dir },
    );
    assertOneLineError(verify, /1024-bit RSA key: keys under 2048 bits are refused/);
    assertNoVerified(verify);
  });
});

describe('signatures: a PEM signature is bound to what it declares', () => {
  const codeSigning = 'basicConstraints=CA:FALSE\nextendedKeyUsage=codeSigning\n';
  let rootPem: Buffer;
  /** A leaf certificate for `name.key`, issued by the test root. */
  const leaf = async (name: string, bits: number) => {
    await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`, '-out', `${name}.key`]);
    await writeFile(join(root, `${name}.ext`), codeSigning);
    await openssl(['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=release signer']);
    await openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ]),
    );
    return { key: await readFile(join(root, `${name}.key`)), cert: await readFile(join(root, `${name}.pem`)) };
  };
  const digest = {
    hashAlgorithm: 'SHA-256',
    normalisationAlgorithm: 'jsonNormalisation/v4alpha1',
    value: createHash('sha256').update('a descriptor').digest('hex'),
  };

  before(async () => {
    await writeFile(
      join(root, 'ca.cnf'),
      '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n',
    );
    await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'ca.key']);
    await openssl(
      [
        'req',
        '-new',
        '-x509',
        '-key',
        'ca.key',
        '-out',
        'ca.pem',
        '-days',
        '2',
        '-subj',
        '/CN=Identity Test Root',
      ].concat(['-config', 'ca.cnf', '-extensions', 'v3']),
    );
    rootPem = await readFile(join(root, 'ca.pem'));
  });

  const invalid = (pattern: RegExp) => (e: unknown) =>
    (isLadingError(e, 'SIGNATURE_INVALID') || isLadingError(e, 'INVALID_KEY')) && pattern.test((e as Error).message);

  test('what a PEM signature claims (algorithm, issuer) must be what its block and certificate are', async () => {
    const signer = await leaf('pem-leaf', 2048);
    const sign = createSigner({ privateKey: signer.key, encoding: 'pem', certificateChain: signer.cert });
    const good: Signature = { name: 'default', digest, signature: sign(digest) };
    verifySignature(good, { rootCertificates: rootPem });
    const unlabelled = structuredClone(good);
    unlabelled.signature.algorithm = '';
    assert.throws(() => verifySignature(unlabelled, { rootCertificates: rootPem }), invalid(/algorithm mismatch/));
    const claimed = structuredClone(good);
    claimed.signature.issuer = 'CN=Trusted Vendor';
    assert.throws(() => verifySignature(claimed, { rootCertificates: rootPem }), invalid(/issuer mismatch/));
    // A bare public key is the signer the user trusts: another key's chain does not stand in for it.
    const publicKey = await readFile(join(root, 'pub.pem'));
    assert.throws(
      () => verifySignature(good, { rootCertificates: rootPem, publicKey }),
      invalid(/not for the given public key/),
    );
  });

  test('a PEM signature by a 1024-bit certificate key is refused', async () => {
    const signer = await leaf('small-leaf', 1024);
    const key = createPrivateKey(signer.key);
    const raw = privateEncrypt(
      { key, padding: constants.RSA_PKCS1_PADDING },
      Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), Buffer.from(digest.value, 'hex')]),
    );
    const value =
      encodePem({ type: 'SIGNATURE', headers: { 'Signature Algorithm': 'RSASSA-PKCS1-V1_5' }, bytes: raw }) +
      signer.cert.toString();
    const signature: Signature = {
      name: 'default',
      digest,
      signature: { algorithm: 'RSASSA-PKCS1-V1_5', value, mediaType: 'application/x-pem-file' },
    };
    assert.throws(() => verifySignature(signature, { rootCertificates: rootPem }), invalid(/1024-bit RSA key/));
  });

  test('an issuer asked of a plain signature is refused, not ignored', async () => {
    const sign = createSigner({ privateKey: await readFile(join(root, 'key.pem')) });
    const signature: Signature = { name: 'default', digest, signature: sign(digest) };
    const publicKey = await readFile(join(root, 'pub.pem'));
    verifySignature(signature, { publicKey });
    assert.throws(
      () => verifySignature(signature, { publicKey, issuer: 'CN=release signer' }),
      invalid(/plain signature carries no certificate/),
    );
  });
});

/** A plain HTTP server that records what reaches it. */
async function recorder() {
  const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  const port = (server.address() as AddressInfo).port;
  // An address of this machine that is not a loopback name: what a remote host looks like.
  const ip =
    Object.values(networkInterfaces())
      .flat()
      .find((i) => i && !i.internal && i.family === 'IPv4')?.address ?? '0.0.0.0';
  const host = `${ip}:${port}`;
  const probe = await fetch(`http://${host}/probe`);
  assert.equal(probe.status, 401, 'the recorder is reachable at a non-loopback address');
  requests.length = 0;
  return { host, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("credentials given on the command line stay with the user's repositories", () => {
  test('a registry an access names gets neither --username/--password nor --header', async () => {
    const { dir, ctf } = await scratch();
    // The attacker's registry: on loopback, so plain HTTP is allowed to it and only the
    // credentials decide what it learns. It asks for basic auth, as a registry would.
    const requests: IncomingHttpHeaders[] = [];
    const catcher = createServer((req, res) => {
      requests.push(req.headers);
      res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
    });
    await new Promise<void>((resolve) => catcher.listen(0, '127.0.0.1', resolve));
    const host = `127.0.0.1:${(catcher.address() as AddressInfo).port}`;
    try {
      await rewrite(ctf, OTHER, (d) => {
        const data = resource(d, 'data');
        data.type = 'ociImage';
        data.access = { type: 'OCIImage/v1', imageReference: `http://${host}/collect/app:1.0.0` };
        data.digest = {
          hashAlgorithm: 'SHA-256',
          normalisationAlgorithm: 'ociArtifactDigest/v1',
          value: 'a'.repeat(64),
        };
      });
      const secrets = ['--username', 'alice', '--password', 'alice-s3cret', '--header', 'X-Api-Key: corp-secret-123'];
      const target = join(dir, 'target');
      const t = await lading(['transfer', 'cv', '--copy-resources', ...secrets, `${ctf}//${OTHER}:1.0.0`, target], {
        cwd: dir,
      });
      assert.notEqual(t.code, 0, 'the image cannot be fetched without credentials');
      const d = await lading(
        ['download', 'resource', ...secrets, `${ctf}//${OTHER}:1.0.0`, '--identity', 'name=data'],
        {
          cwd: dir,
        },
      );
      assert.notEqual(d.code, 0);
      assert.ok(requests.length > 0, 'the access was tried');
      for (const headers of requests) {
        assert.equal(headers.authorization, undefined, 'no credentials for a host the user did not name');
        assert.equal(headers['x-api-key'], undefined, 'no --header for it either');
      }
    } finally {
      await new Promise<void>((resolve) => catcher.close(() => resolve()));
    }
  });
});

/** A registry that answers every request 401 Basic and keeps the headers it was sent. */
async function credentialCatcher(): Promise<{
  port: number;
  requests: IncomingHttpHeaders[];
  close: () => Promise<void>;
}> {
  const requests: IncomingHttpHeaders[] = [];
  const catcher = createServer((req, res) => {
    requests.push(req.headers);
    res.writeHead(401, { 'www-authenticate': 'Basic realm="registry"' }).end();
  });
  await new Promise<void>((resolve) => catcher.listen(0, '127.0.0.1', resolve));
  return {
    port: (catcher.address() as AddressInfo).port,
    requests,
    close: () => new Promise<void>((resolve) => catcher.close(() => resolve())),
  };
}

describe('credentials never travel in clear to a registry the command line does not name', () => {
  // The catcher listens on loopback, but is reached as evil.test (--resolve): to lading a host on
  // another machine, as an attacker on the path would be.
  test('add cv: --username/--password reach neither a registry the constructor names nor it over plain HTTP', async () => {
    const { dir } = await scratch();
    const catcher = await credentialCatcher();
    try {
      const host = `evil.test:${catcher.port}`;
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `components:\n- name: acme.org/collector\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n  - name: image\n    type: ociImage\n    version: 1.0.0\n    access:\n      type: ociArtifact\n      imageReference: http://${host}/library/app:1.0\n`,
      );
      const r = await lading(
        [
          'add',
          'cv',
          '-r',
          join(dir, 'new-ctf'),
          '--username',
          'alice',
          '--password',
          'alice-s3cret',
          '--resolve',
          `${host}:127.0.0.1`,
        ],
        { cwd: dir },
      );
      assert.notEqual(r.code, 0, 'the image cannot be pinned without credentials');
      assert.ok(catcher.requests.length > 0, 'the image was asked for');
      for (const headers of catcher.requests) assert.equal(headers.authorization, undefined, 'no credentials sent');
      assert.doesNotMatch(r.stderr, /alice-s3cret/);
      await assert.rejects(stat(join(dir, 'new-ctf')), { code: 'ENOENT' });
    } finally {
      await catcher.close();
    }
  });

  test('transfer --plain-http: a registry a descriptor names gets no docker-config credentials in clear', async () => {
    const { dir, ctf } = await scratch();
    const catcher = await credentialCatcher();
    try {
      const host = `evil.test:${catcher.port}`;
      await rewrite(ctf, OTHER, (d) => {
        const data = resource(d, 'data');
        data.type = 'ociImage';
        data.access = { type: 'OCIImage/v1', imageReference: `${host}/collect/app:1.0.0` };
        data.digest = {
          hashAlgorithm: 'SHA-256',
          normalisationAlgorithm: 'ociArtifactDigest/v1',
          value: 'a'.repeat(64),
        };
      });
      const config = join(dir, 'docker-config.json');
      await writeFile(
        config,
        JSON.stringify({ auths: { [host]: { auth: Buffer.from('victim:their-s3cret').toString('base64') } } }),
      );
      const target = join(dir, 'target');
      const t = await lading(
        [
          'transfer',
          'cv',
          '--copy-resources',
          '--plain-http',
          '--registry-config',
          config,
          '--resolve',
          `${host}:127.0.0.1`,
          `${ctf}//${OTHER}:1.0.0`,
          target,
        ],
        { cwd: dir },
      );
      assertOneLineError(
        t,
        /evil\.test:\d+ asks for credentials, and the ones configured for it are not sent over plain HTTP to a registry that is neither loopback nor one the user named/,
      );
      assert.ok(catcher.requests.length > 0, 'the image was asked for over plain HTTP (--plain-http)');
      for (const headers of catcher.requests) assert.equal(headers.authorization, undefined, 'no credentials in clear');
    } finally {
      await catcher.close();
    }
  });
});

describe('an access may not downgrade the transport', () => {
  test('http:// in an imageReference or a Helm repository is refused, no request is made', async () => {
    const { dir, ctf } = await scratch();
    const server = await recorder();
    try {
      await rewrite(ctf, OTHER, (d) => {
        const data = resource(d, 'data');
        data.access = { type: 'OCIImage/v1', imageReference: `http://${server.host}/app:1.0.0` };
        data.digest = {
          hashAlgorithm: 'SHA-256',
          normalisationAlgorithm: 'ociArtifactDigest/v1',
          value: 'a'.repeat(64),
        };
        const more = resource(d, 'more');
        more.access = { type: 'Helm/v1', helmRepository: `http://${server.host}/charts`, helmChart: 'app:1.0.0' };
        delete more.digest;
      });
      for (const name of ['data', 'more']) {
        const r = await lading(['download', 'resource', `${ctf}//${OTHER}:1.0.0`, '--identity', `name=${name}`], {
          cwd: dir,
        });
        assertOneLineError(r, /asks for plain HTTP to ".*", which was not allowed for that host/);
      }
      const target = join(dir, 'target');
      const t = await lading(['transfer', 'cv', '--copy-resources', `${ctf}//${OTHER}:1.0.0`, target], { cwd: dir });
      assertOneLineError(t, /asks for plain HTTP/);
      await assert.rejects(stat(target), { code: 'ENOENT' });
      assert.deepEqual(server.requests, [], 'not one request went out in clear');
      assert.deepEqual((await readdir(dir)).sort(), ['ctf']);
    } finally {
      await server.close();
    }
  });

  test('credentials never go over plain HTTP to another machine, even where plain HTTP is allowed', async () => {
    const server = await recorder();
    try {
      await assert.rejects(
        fetchRemoteChart(
          { kind: 'index', repository: new URL(`http://${server.host}/charts`), name: 'app', version: '1.0.0' },
          {
            allowPlainHttp: () => true,
            httpCredentials: async () => ({ username: 'alice', password: 's3cret' }),
          },
        ),
        (e) => isLadingError(e, 'UNAUTHORIZED'),
      );
      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0]?.headers.authorization, undefined, 'no credentials in clear');
    } finally {
      await server.close();
    }
  });
});
