import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isLadingError } from '../../oci/index.js';
import { decodeDescriptor } from '../descriptor/decode.js';
import { DescriptorMediaType } from '../descriptor/media-types.js';
import type { ComponentDescriptor, Signature } from '../descriptor/model.js';
import { parseDistinguishedName, sameDistinguishedName } from './certificates.js';
import { verifyDescriptorDigest } from './component.js';
import { digestDescriptor, parseHashAlgorithm } from './digest.js';
import { canonicalJson } from './jcs.js';
import { loadPrivateKey, loadPublicKey } from './keys.js';
import { normalise, normalisedValue, resolveNormalisation } from './normalise.js';
import { decodePem, encodePem } from './pem.js';
import { digestProblems } from './resource-digests.js';
import { signRsaDigest, verifyRsaDigest } from './rsa.js';
import { SignatureMediaType, signDigest, verifySignature } from './signature.js';

const vectors = new URL('../../../test/fixtures/upstream/ocm/', import.meta.url);
const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

function readVector(dir: string): { input: ComponentDescriptor; expected: Buffer } {
  const base = new URL(`${dir}/`, vectors);
  return {
    input: decodeDescriptor(readFileSync(new URL('input.yaml', base)), DescriptorMediaType.Yaml, dir),
    expected: readFileSync(new URL('expected.json', base)),
  };
}

function descriptor(): ComponentDescriptor {
  return {
    meta: { schemaVersion: 'v2' },
    component: {
      name: 'acme.org/demo',
      version: '1.0.0',
      repositoryContexts: [{ type: 'OCIRegistry', baseUrl: 'ghcr.io' }],
      provider: { name: 'acme' },
      resources: [
        {
          name: 'blob',
          version: '1.0.0',
          type: 'plainText',
          relation: 'local',
          access: { type: 'LocalBlob/v1', localReference: `sha256:${sha256('x')}`, mediaType: 'text/plain' },
          digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'genericBlobDigest/v1', value: sha256('x') },
        },
      ],
      sources: [],
      componentReferences: [],
    },
  };
}

const keys = (() => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKey, publicKey, otherPublic: other.publicKey };
})();

describe('jsonNormalisation/v4alpha1 against the upstream vectors', () => {
  const conformance =
    'bindings/go/descriptor/normalisation/json/v4alpha1/testdata/conformance/legacy/jsonNormalisation/v3/01';

  it('reproduces the legacy jsonNormalisation/v3 conformance vector (ocmcli 0.27.0) byte for byte', () => {
    const { input, expected } = readVector(conformance);
    const got = normalise(input, 'jsonNormalisation/v4alpha1');
    assert.equal(got.toString('utf8'), expected.toString('utf8'));
    assert.ok(got.equals(expected));
    assert.equal(sha256(got), 'c97c44a4dca9fc85d4e634a617b662f72935cc202d52a46aa9367c937458b35b');
    // jsonNormalisation/v3 is read as v4alpha1, as upstream does.
    assert.ok(normalise(input, 'jsonNormalisation/v3').equals(expected));
  });

  it('reproduces the TestNormalization vector byte for byte', () => {
    const { input, expected } = readVector('extracted/normalisation-v4alpha1-TestNormalization');
    const got = normalise(input);
    assert.ok(got.equals(expected), `${got.toString()}\n!=\n${expected.toString()}`);
    assert.equal(sha256(got), '2f8f029e45f0e158b7e9a5fa6523be0ae9ab9eadc6f3c7f2e37ebb6d8e79bb01');
  });

  it('gives the derived digest of the examples-01 descriptor (vectors INDEX §8)', () => {
    const file = new URL('extracted/cli-add-cv-file-input-examples-01/descriptor.yaml', vectors);
    const desc = decodeDescriptor(readFileSync(file), DescriptorMediaType.Yaml, 'descriptor.yaml');
    const { digest } = digestDescriptor(desc);
    assert.deepEqual(digest, {
      hashAlgorithm: 'SHA-256',
      normalisationAlgorithm: 'jsonNormalisation/v4alpha1',
      value: '01845aee470f44b420d88d9fbd79b929a93efd38b4b0f9dede3ac6b04a57f546',
    });
  });

  it('keeps component reference labels unfiltered and writes an absent reference digest as empty strings (INDEX §11)', () => {
    const desc = descriptor();
    desc.component.resources = [];
    desc.component.componentReferences = [
      {
        name: 'child',
        version: '1.0.0',
        componentName: 'acme.org/child',
        labels: [{ name: 'not-signed', value: 'x' }],
      },
    ];
    assert.equal(
      normalise(desc).toString(),
      '{"component":{"componentReferences":[{"componentName":"acme.org/child","digest":{"hashAlgorithm":"","normalisationAlgorithm":"","value":""},"labels":[{"name":"not-signed","value":"x"}],"name":"child","version":"1.0.0"}],"name":"acme.org/demo","provider":{"name":"acme"},"resources":[],"sources":[],"version":"1.0.0"}}',
    );
  });

  it('applies the exclusion rules: signing labels only, none access, provider labels, nulls, creationTime', () => {
    const desc = descriptor();
    desc.component.creationTime = '2026-01-01T00:00:00Z';
    desc.component.labels = [
      { name: 'kept', value: { b: 1, a: null, c: [null, 2.5] }, signing: true, version: 'v1' },
      { name: 'dropped', value: 'x' },
    ];
    desc.component.provider = {
      name: 'acme',
      labels: [
        { name: 'p-signed', value: 1e21, signing: true },
        { name: 'p-unsigned', value: 'y' },
      ],
    };
    const resources = desc.component.resources ?? [];
    resources.push({
      name: 'nothing',
      version: '',
      type: 'x',
      relation: 'external',
      access: { type: 'None' },
      digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'genericBlobDigest/v1', value: 'ab' },
      labels: [{ name: 'only-unsigned', value: 1 }],
      extraIdentity: { os: 'linux' },
      srcRefs: [{ identitySelector: { name: 'src' } }],
    });
    desc.component.sources = [
      { name: 'src', version: '1', type: 'git', access: { type: 'gitHub', repoUrl: 'x' }, labels: [] },
    ];
    desc.signatures = [
      {
        name: 's',
        digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'jsonNormalisation/v4alpha1', value: '00' },
        signature: { algorithm: 'RSASSA-PSS', value: '00', mediaType: SignatureMediaType.RsaPss },
      },
    ];
    const value = normalisedValue(desc) as { component: Record<string, unknown> };
    assert.deepEqual(Object.keys(value), ['component']);
    const c = value.component;
    assert.equal(c.creationTime, '2026-01-01T00:00:00Z');
    assert.deepEqual(c.labels, [{ name: 'kept', value: { b: 1, c: [null, 2.5] }, signing: true }]);
    assert.deepEqual(c.provider, { name: 'acme', labels: [{ name: 'p-signed', value: 1e21, signing: true }] });
    assert.equal(c.repositoryContexts, undefined);
    assert.deepEqual((c.resources as unknown[])[1], {
      name: 'nothing',
      version: '',
      type: 'x',
      relation: 'external',
      extraIdentity: { os: 'linux' },
    });
    assert.deepEqual(c.sources, [{ name: 'src', version: '1', type: 'git' }]);
    assert.match(normalise(desc).toString(), /"value":1e\+21/);
    // A provider name that is itself JSON is read as JSON, as Go's ProviderAsMap does.
    desc.component.provider = { name: '{"name":"x","extra":true}' };
    assert.deepEqual((normalisedValue(desc) as { component: { provider: unknown } }).component.provider, {
      name: 'x',
      extra: true,
    });
  });

  it('rejects unknown normalisation algorithms and accepts every upstream spelling of SHA-256/512', () => {
    for (const bad of ['jsonNormalisation/v1', 'jsonNormalisation/v2', 'JSONNORMALISATION/V4ALPHA1']) {
      assert.throws(
        () => resolveNormalisation(bad),
        (e) => isLadingError(e, 'UNSUPPORTED'),
      );
    }
    for (const name of ['SHA-256', 'sha-256', 'SHA256', 'sha256'])
      assert.equal(parseHashAlgorithm(name).name, 'SHA-256');
    for (const name of ['SHA-512', 'sha512', 'Sha-512']) assert.equal(parseHashAlgorithm(name).name, 'SHA-512');
    assert.throws(
      () => parseHashAlgorithm('MD5'),
      (e) => isLadingError(e, 'UNSUPPORTED'),
    );
    const d = digestDescriptor(descriptor(), { hash: 'sha512', normalisation: 'jsonNormalisation/v3' }).digest;
    assert.equal(d.hashAlgorithm, 'SHA-512');
    assert.equal(d.normalisationAlgorithm, 'jsonNormalisation/v4alpha1');
    assert.equal(d.value, createHash('sha512').update(normalise(descriptor())).digest('hex'));
  });
});

describe('RFC 8785 canonical JSON', () => {
  it('sorts members by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    // Read the member order from the text: a parsed object would put the integer-like key first.
    const keys = [...canonicalJson(input).matchAll(/"((?:[^"\\]|\\.)*)":/g)].map((m) => JSON.parse(`"${m[1]}"`));
    assert.deepEqual(
      keys.map((k: string) => k.codePointAt(0)?.toString(16)),
      ['d', '31', '80', 'f6', '20ac', '1f600', 'fb33'],
    );
  });

  it('formats numbers and strings as RFC 8785 §3.2.2 says', () => {
    assert.equal(
      canonicalJson({
        // The RFC's literal, read as JSON would read it.
        numbers: [Number('333333333.33333329'), 1e30, 4.5, 2e-3, 0.000000000000000000000000001, -0, 1e21, 1e-7, 100],
        string: '€$\u000f\nA\'B"\\\\"/\u2028',
        literals: [null, true, false],
      }),
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27,0,1e+21,1e-7,100],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/\u2028"}',
    );
    assert.equal(canonicalJson('\ud800x'), '"\ufffdx"', 'a lone surrogate becomes U+FFFD, as Go pre-encodes it');
    assert.throws(
      () => canonicalJson({ n: Number.NaN }),
      (e) => isLadingError(e, 'INVALID_DESCRIPTOR'),
    );
  });
});

describe('RSA over a pre-computed digest', () => {
  const digest = createHash('sha256').update('message').digest();

  it('signs and verifies RSASSA-PSS and RSASSA-PKCS1-V1_5 with SHA-256 and SHA-512', () => {
    for (const alg of ['RSASSA-PSS', 'RSASSA-PKCS1-V1_5'] as const) {
      for (const hash of ['sha256', 'sha512'] as const) {
        const d = createHash(hash).update('m').digest();
        const sig = signRsaDigest(alg, keys.privateKey, hash, d);
        assert.equal(sig.length, 256);
        assert.ok(verifyRsaDigest(alg, keys.publicKey, hash, d, sig));
        assert.ok(!verifyRsaDigest(alg, keys.otherPublic, hash, d, sig), 'another key');
        const flipped = Buffer.from(d);
        flipped[0] = (flipped[0] as number) ^ 1;
        assert.ok(!verifyRsaDigest(alg, keys.publicKey, hash, flipped, sig), 'another digest');
        assert.ok(!verifyRsaDigest(alg, keys.publicKey, hash, d, sig.subarray(1)), 'truncated signature');
      }
    }
  });

  it('PKCS#1 v1.5 over a digest equals what node signs over the message', async () => {
    const { sign } = await import('node:crypto');
    assert.ok(
      signRsaDigest('RSASSA-PKCS1-V1_5', keys.privateKey, 'sha256', digest).equals(
        sign('sha256', Buffer.from('message'), keys.privateKey),
      ),
    );
  });

  it('PSS uses the longest salt (Go) and verifies any salt length', async () => {
    const { sign, verify, constants } = await import('node:crypto');
    const sig = signRsaDigest('RSASSA-PSS', keys.privateKey, 'sha256', digest);
    const maxSalt = { key: keys.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING };
    assert.ok(verify('sha256', Buffer.from('message'), { ...maxSalt, saltLength: 256 - 32 - 2 }, sig));
    for (const saltLength of [0, 20, 32, 222]) {
      const other = sign('sha256', Buffer.from('message'), {
        key: keys.privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength,
      });
      assert.ok(verifyRsaDigest('RSASSA-PSS', keys.publicKey, 'sha256', digest, other), `salt ${saltLength}`);
    }
  });

  it('refuses a digest of the wrong length and keys that are not RSA', () => {
    assert.throws(
      () => signRsaDigest('RSASSA-PSS', keys.privateKey, 'sha256', Buffer.alloc(31)),
      (e) => isLadingError(e, 'INVALID_DIGEST'),
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    assert.throws(
      () => signRsaDigest('RSASSA-PSS', ec.privateKey, 'sha256', digest),
      (e) => isLadingError(e, 'INVALID_KEY'),
    );
    assert.throws(
      () => loadPrivateKey(ec.privateKey.export({ type: 'pkcs8', format: 'pem' })),
      (e) => isLadingError(e, 'INVALID_KEY'),
    );
  });
});

describe('keys and PEM', () => {
  const pkcs1 = keys.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
  const pkcs8 = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const spki = keys.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const pkcs1Public = keys.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string;

  it('reads PKCS#1 and PKCS#8 private keys, PKIX and PKCS#1 public keys, and derives public from private', () => {
    const same = (a: KeyObject, b: KeyObject) =>
      a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
    assert.ok(same(createPublicKey(loadPrivateKey(pkcs1)), keys.publicKey));
    assert.ok(same(createPublicKey(loadPrivateKey(Buffer.from(pkcs8))), keys.publicKey));
    assert.ok(same(loadPublicKey(spki).key, keys.publicKey));
    assert.ok(same(loadPublicKey(pkcs1Public).key, keys.publicKey));
    assert.ok(same(loadPublicKey(pkcs8).key, keys.publicKey));
    assert.ok(same(loadPublicKey(`junk before\n${spki}`).key, keys.publicKey));
    assert.throws(
      () => loadPrivateKey(spki),
      (e) => isLadingError(e, 'INVALID_KEY'),
    );
    assert.throws(
      () => loadPublicKey('not a pem'),
      (e) => isLadingError(e, 'INVALID_KEY'),
    );
    const encrypted = keys.privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    }) as string;
    assert.throws(
      () => loadPrivateKey(encrypted),
      (e) => isLadingError(e, 'INVALID_KEY') && /encrypted/.test(e.message),
    );
    assert.ok(createPrivateKey(pkcs1));
  });

  it('writes PEM blocks as Go does (headers, blank line, 64 columns) and reads them back', () => {
    const bytes = Buffer.alloc(100, 7);
    const text = encodePem({ type: 'SIGNATURE', headers: { 'Signature Algorithm': 'RSASSA-PSS' }, bytes });
    const lines = text.split('\n');
    assert.equal(lines[0], '-----BEGIN SIGNATURE-----');
    assert.equal(lines[1], 'Signature Algorithm: RSASSA-PSS');
    assert.equal(lines[2], '');
    assert.equal(lines[3]?.length, 64);
    assert.equal(lines.at(-2), '-----END SIGNATURE-----');
    assert.ok(text.endsWith('-----\n'));
    const [block] = decodePem(`${text}${encodePem({ type: 'CERTIFICATE', bytes: Buffer.from('abc') })}`);
    assert.deepEqual(block?.headers, { 'Signature Algorithm': 'RSASSA-PSS' });
    assert.ok(block?.bytes.equals(bytes));
  });

  it('compares distinguished names attribute by attribute, in any order, with RFC 2253 escapes', () => {
    assert.deepEqual(parseDistinguishedName('CN=a\\, b,O=Acme'), [
      { type: 'CN', value: 'a, b' },
      { type: 'O', value: 'Acme' },
    ]);
    assert.ok(sameDistinguishedName('CN=signer, O=Acme\\, Inc., C=DE', 'C=DE\nO=Acme\\, Inc.\nCN=signer'));
    assert.ok(!sameDistinguishedName('CN=signer,O=Acme', 'CN=signer,O=Other'));
  });
});

describe('signatures over descriptor digests', () => {
  function signed(options: Parameters<typeof signDigest>[1]): Signature {
    const { digest } = digestDescriptor(descriptor());
    return { name: 'default', digest, signature: signDigest(digest, options) };
  }

  it('plain encoding: hex value, media type by algorithm, verified by the media type', () => {
    const pss = signed({ privateKey: keys.privateKey });
    assert.equal(pss.signature.algorithm, 'RSASSA-PSS');
    assert.equal(pss.signature.mediaType, 'application/vnd.ocm.signature.rsa.pss');
    assert.match(pss.signature.value, /^[0-9a-f]{512}$/);
    verifySignature(pss, { publicKey: keys.publicKey });
    const v15 = signed({ privateKey: keys.privateKey, algorithm: 'RSASSA-PKCS1-V1_5' });
    assert.equal(v15.signature.mediaType, 'application/vnd.ocm.signature.rsa');
    verifySignature(v15, { publicKey: keys.publicKey });
    assert.throws(
      () => verifySignature(pss, { publicKey: keys.otherPublic }),
      (e) => isLadingError(e, 'SIGNATURE_INVALID') && /bad signature/.test(e.message),
    );
    // The algorithm comes from the media type, as upstream: a PSS value labelled v1.5 fails.
    assert.throws(
      () =>
        verifySignature(
          { ...pss, signature: { ...pss.signature, mediaType: SignatureMediaType.RsaPkcs1v15 } },
          { publicKey: keys.publicKey },
        ),
      (e) => isLadingError(e, 'SIGNATURE_INVALID'),
    );
    assert.throws(
      () => verifySignature(pss, {}),
      (e) => isLadingError(e, 'INVALID_ARGUMENT') && /public key/.test(e.message),
    );
    assert.throws(
      () =>
        verifySignature(
          { ...pss, signature: { algorithm: 'GPG', value: 'x', mediaType: 'application/vnd.ocm.signature.gpg' } },
          { publicKey: keys.publicKey },
        ),
      (e) => isLadingError(e, 'UNSUPPORTED'),
    );
  });

  it('a descriptor change after signing is a descriptor digest mismatch; a non-signing label change is not', () => {
    const desc = descriptor();
    desc.component.labels = [{ name: 'signed', value: 'a', signing: true }];
    const { digest } = digestDescriptor(desc);
    const signature: Signature = {
      name: 'default',
      digest,
      signature: signDigest(digest, { privateKey: keys.privateKey }),
    };
    verifyDescriptorDigest(desc, signature);
    desc.component.labels.push({ name: 'note', value: 'not signed' });
    verifyDescriptorDigest(desc, signature);
    (desc.component.labels[0] as { value: unknown }).value = 'b';
    assert.throws(
      () => verifyDescriptorDigest(desc, signature),
      (e) => isLadingError(e, 'DIGEST_MISMATCH') && /descriptor digest mismatch/.test(e.message),
    );
  });

  it('refuses to sign when a resource has no digest; warns for references, access-less resources and resources excluded from signing', () => {
    const desc = descriptor();
    const resources = desc.component.resources ?? [];
    delete resources[0]?.digest;
    resources.push({
      name: 'none',
      version: '1',
      type: 'x',
      relation: 'external',
      access: { type: 'none' },
      digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'genericBlobDigest/v1', value: 'ab' },
    });
    resources.push({
      name: 'excluded',
      version: '1',
      type: 'x',
      relation: 'external',
      access: { type: 'OCIImage/v1', imageReference: 'x' },
      digest: { hashAlgorithm: 'NO-DIGEST', normalisationAlgorithm: 'EXCLUDE-FROM-SIGNATURE', value: 'NO-DIGEST' },
    });
    desc.component.componentReferences = [{ name: 'c', version: '1', componentName: 'acme.org/c' }];
    const problems = digestProblems(desc);
    assert.deepEqual(problems.errors, ['resource name=blob,version=1.0.0 has no digest']);
    assert.deepEqual(problems.warnings, [
      'resource name=none,version=1 has no access, so its digest is not signed',
      'resource name=excluded,version=1 is excluded from signing (NO-DIGEST): the signature does not cover its content',
      'component reference name=c,version=1 (acme.org/c:1) has no digest, so the signature does not pin it',
    ]);
  });
});
