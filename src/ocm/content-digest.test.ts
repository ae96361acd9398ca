import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { tarBytes } from '../archive/index.js';
import { MemoryStore } from '../content/index.js';
import { ArtifactSetMediaType, isArtifactSetMediaType } from '../ctf/index.js';
import { digestBytes, isLadingError } from '../oci/index.js';
import { accessReference, isLoopbackHost } from './access-transport.js';
import { contentClaim, verifyArtifactSetContent, verifyResourceContent } from './content-digest.js';

const bytes = Buffer.from('resource content');
const sha256 = createHash('sha256').update(bytes).digest('hex');
const sha512 = createHash('sha512').update(bytes).digest('hex');

async function stored() {
  const store = new MemoryStore();
  const desc = { mediaType: 'text/plain', digest: digestBytes(bytes), size: bytes.length };
  await store.push(desc, bytes);
  return { store, desc };
}

const element = (digest?: { hashAlgorithm: string; normalisationAlgorithm: string; value: string }) => ({
  name: 'data',
  version: '1.0.0',
  ...(digest ? { digest } : {}),
});

describe('resource content against its digest', () => {
  test('SHA-256 and SHA-512 genericBlobDigest claims are checked (SHA-512 by hashing the stream)', async () => {
    const { store, desc } = await stored();
    for (const [hashAlgorithm, value] of [
      ['SHA-256', sha256],
      ['sha512', sha512],
    ] as const) {
      const ok = element({ hashAlgorithm, normalisationAlgorithm: 'genericBlobDigest/v1', value });
      await verifyResourceContent(ok, desc, 'blob', store, { where: 'c:1' });
      const bad = element({
        hashAlgorithm,
        normalisationAlgorithm: 'genericBlobDigest/v1',
        value: 'ab'.repeat(value.length / 2),
      });
      await assert.rejects(
        verifyResourceContent(bad, desc, 'blob', store, { where: 'c:1' }),
        (e) =>
          isLadingError(e, 'DIGEST_MISMATCH') &&
          /c:1: resource name=data,version=1\.0\.0: content digest mismatch/.test((e as Error).message),
      );
    }
  });

  test('no digest, empty strings or NO-DIGEST make no claim; what cannot be checked is refused', () => {
    assert.equal(contentClaim(undefined, 'blob', 'x'), undefined);
    assert.equal(contentClaim({ hashAlgorithm: '', normalisationAlgorithm: '', value: '' }, 'blob', 'x'), undefined);
    assert.equal(
      contentClaim(
        { hashAlgorithm: 'NO-DIGEST', normalisationAlgorithm: 'EXCLUDE-FROM-SIGNATURE', value: 'NO-DIGEST' },
        'blob',
        'x',
      ),
      undefined,
    );
    assert.throws(
      () =>
        contentClaim(
          { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value: sha256 },
          'blob',
          'x',
        ),
      (e) => isLadingError(e, 'UNSUPPORTED'),
    );
    assert.throws(
      () =>
        contentClaim(
          { hashAlgorithm: 'MD5', normalisationAlgorithm: 'genericBlobDigest/v1', value: sha256 },
          'blob',
          'x',
        ),
      (e) => isLadingError(e, 'UNSUPPORTED'),
    );
    assert.throws(
      () =>
        contentClaim(
          { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'genericBlobDigest/v1', value: 'xyz' },
          'blob',
          'x',
        ),
      (e) => isLadingError(e, 'INVALID_DIGEST'),
    );
  });
});

describe('access transport', () => {
  test('loopback hosts', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1:5000', '127.1.2.3', '[::1]:5000'])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of ['10.0.0.1', 'example.com', '127.0.0.1.nip.io', 'localhost.example.com', '0.0.0.0', '[::2]'])
      assert.equal(isLoopbackHost(h), false, h);
  });

  test('http:// only where allowed; other schemes never', () => {
    assert.deepEqual(accessReference('ghcr.io/a/b:1', { where: 'w' }), {
      reference: 'ghcr.io/a/b:1',
      plainHttp: false,
    });
    assert.deepEqual(accessReference('https://ghcr.io/a/b:1', { where: 'w' }), {
      reference: 'ghcr.io/a/b:1',
      plainHttp: false,
    });
    assert.deepEqual(accessReference('http://127.0.0.1:5000/a:1', { where: 'w' }), {
      reference: '127.0.0.1:5000/a:1',
      plainHttp: true,
    });
    assert.throws(
      () => accessReference('http://example.com/a:1', { where: 'w' }),
      (e) => isLadingError(e, 'DENIED'),
    );
    assert.deepEqual(
      accessReference('http://example.com/a:1', { where: 'w', allowPlainHttp: (h) => h === 'example.com' }).plainHttp,
      true,
    );
    assert.throws(
      () => accessReference('ftp://example.com/a:1', { where: 'w' }),
      (e) => isLadingError(e, 'INVALID_DESCRIPTOR'),
    );
  });
});

describe('OCM v1 artifact sets (resources copied by value) against their ociArtifactDigest/v1', () => {
  const file = (name: string, body: Buffer) => ({
    header: { name, mode: 0o644, uid: 0, gid: 0, size: body.length, mtime: 0, typeflag: '0' as const },
    body,
  });
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const blobName = (b: Buffer) => `blobs/sha256.${createHash('sha256').update(b).digest('hex')}`;

  /** A set as OCM v1 writes it: index.json naming the main manifest, blobs flat as `sha256.<hex>`. */
  function artifactSet(corruptLayer = false) {
    const config = json({ name: 'chart' });
    const layer = Buffer.from('chart bytes');
    const manifest = json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.cncf.helm.config.v1+json',
        digest: digestBytes(config),
        size: config.length,
      },
      layers: [{ mediaType: 'application/octet-stream', digest: digestBytes(layer), size: layer.length }],
    });
    const index = json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: digestBytes(manifest),
          size: manifest.length,
          annotations: { 'software.ocm/tags': '1.0.0' },
        },
      ],
      annotations: { 'software.ocm/main': digestBytes(manifest) },
    });
    const tgz = gzipSync(
      tarBytes([
        file('index.json', index),
        file('oci-layout', json({ imageLayoutVersion: '1.0.0' })),
        file(blobName(manifest), manifest),
        file(blobName(config), config),
        file(blobName(layer), corruptLayer ? Buffer.from('CHART BYTES') : layer),
      ]),
    );
    return { tgz, manifestHex: createHash('sha256').update(manifest).digest('hex') };
  }

  async function storedSet(tgz: Buffer) {
    const store = new MemoryStore();
    const desc = { mediaType: ArtifactSetMediaType, digest: digestBytes(tgz), size: tgz.length };
    await store.push(desc, tgz);
    return { store, desc };
  }

  const oci = (value: string) =>
    element({ hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'ociArtifactDigest/v1', value });

  test('the digest is the main manifest: checked, with every blob below it', async () => {
    assert.ok(isArtifactSetMediaType(ArtifactSetMediaType));
    assert.ok(isArtifactSetMediaType('application/vnd.oci.image.index.v1+tar+gzip'));
    assert.ok(!isArtifactSetMediaType('application/x-tar'));
    const { tgz, manifestHex } = artifactSet();
    const { store, desc } = await storedSet(tgz);
    await verifyArtifactSetContent(oci(manifestHex), desc, store, { where: 'c:1' });
    // a genericBlobDigest/v1 digest is the blob's own
    const blobHex = createHash('sha256').update(tgz).digest('hex');
    const generic = element({
      hashAlgorithm: 'SHA-256',
      normalisationAlgorithm: 'genericBlobDigest/v1',
      value: blobHex,
    });
    await verifyArtifactSetContent(generic, desc, store, { where: 'c:1' });
    await assert.rejects(
      verifyArtifactSetContent(oci('ab'.repeat(32)), desc, store, { where: 'c:1' }),
      (e) =>
        isLadingError(e, 'DIGEST_MISMATCH') &&
        /c:1: resource name=data,version=1\.0\.0: content digest mismatch: .*main artifact sha256:[0-9a-f]+ hashes to/.test(
          (e as Error).message,
        ),
    );
  });

  test('a set whose layer is not what its manifest says is refused', async () => {
    const { tgz, manifestHex } = artifactSet(true);
    const { store, desc } = await storedSet(tgz);
    await assert.rejects(
      verifyArtifactSetContent(oci(manifestHex), desc, store, { where: 'c:1' }),
      (e) => isLadingError(e, 'DIGEST_MISMATCH') && /does not hold it intact/.test((e as Error).message),
    );
  });
});
