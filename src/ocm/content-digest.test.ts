import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { MemoryStore } from '../content/index.js';
import { digestBytes, isLadingError } from '../oci/index.js';
import { accessReference, isLoopbackHost } from './access-transport.js';
import { contentClaim, verifyResourceContent } from './content-digest.js';

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
