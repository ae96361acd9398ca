import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { orasVectors } from '../../test/support/vectors.js';
import {
  digestBytes,
  EmptyJsonDescriptor,
  encodeIndex,
  encodeManifest,
  formatReference,
  goQuote,
  goStringify,
  type Index,
  isLadingError,
  type Manifest,
  parseDigest,
  parseLayoutReference,
  parseNode,
  parsePlatform,
  parseReference,
  platformMatches,
  validateOciSchema,
} from './index.js';

const canonicalList = JSON.parse(
  readFileSync(join(orasVectors, 'oras-project/oras/extracted-manifest-canonical.json'), 'utf8'),
) as { path: string; mediaType: string; go_canonical: boolean }[];

describe('Go-identical manifest serialisation', () => {
  test('the oras-produced manifests re-serialise byte for byte; hand-made ones do not', () => {
    let exact = 0;
    for (const entry of canonicalList) {
      const bytes = readFileSync(join(orasVectors, 'oras-project/oras', entry.path));
      const node = parseNode(bytes, entry.mediaType, entry.path);
      const again =
        node.kind === 'index' ? encodeIndex(node.index) : encodeManifest((node as { manifest: Manifest }).manifest);
      const same = Buffer.compare(Buffer.from(again), bytes) === 0;
      assert.equal(same, entry.go_canonical, `${entry.path}: byte-identical=${same}, expected ${entry.go_canonical}`);
      if (same) exact++;
    }
    assert.equal(exact, 19);
  });

  test('the spot-checked oras push manifest has digest sha256:6aa11331…', () => {
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.unknown.artifact.v1',
      config: EmptyJsonDescriptor,
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: 'sha256:e94c0ba8a9bbdd1b6dbf2e4ebdc5c32a5dc4ab6a8f73c1c1c2d2a3faa6c5e1b0',
          size: 38,
          annotations: { 'org.opencontainers.image.title': 'arm64' },
        },
      ],
      annotations: { 'org.opencontainers.image.created': '2025-06-05T04:26:57Z' },
    };
    const text = Buffer.from(encodeManifest(manifest)).toString();
    assert.ok(
      text.startsWith('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType"'),
    );
    assert.ok(
      text.includes(
        '"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}',
      ),
    );
  });

  test('Go escaping: HTML characters, line separators, control characters, sorted map keys', () => {
    assert.equal(goQuote('<a&b>'), '"\\u003ca\\u0026b\\u003e"');
    assert.equal(goQuote('x\u2028y\u2029'), '"x\\u2028y\\u2029"');
    assert.equal(goQuote('\n\t\r\b\f\u0001"\\'), '"\\n\\t\\r\\b\\f\\u0001\\"\\\\"');
    assert.equal(goQuote('é😀'), '"é😀"');
    assert.equal(goQuote('\ud800'), '"\ufffd"');
    // Long runs of escapes (joined in chunks) come out whole and in order.
    assert.equal(goQuote(`${'<é'.repeat(10_000)}\u2028z`), `"${'\\u003cé'.repeat(10_000)}\\u2028z"`);
    assert.equal(
      goStringify(
        new Map([
          ['b', 1],
          ['a', 2],
          ['10', 3],
          ['9', 4],
        ]),
      ),
      '{"10":3,"9":4,"a":2,"b":1}',
    );
    const index: Index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
    assert.equal(
      Buffer.from(encodeIndex(index)).toString(),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
    );
    // The empty referrers index oras-go generates is 88 bytes with a known digest.
    assert.equal(
      digestBytes(encodeIndex(index)),
      'sha256:dff9de10919148711140d349bf03f1a99eb06f94b03e51715ccebfa7cdc518e2',
    );
  });
});

describe('image-spec schema validation', () => {
  const cases = JSON.parse(
    readFileSync(join(orasVectors, 'opencontainers/image-spec/extracted/schema-cases.json'), 'utf8'),
  ) as { source: string; index: number; mediatype: string; comment: string; expect_fail: boolean; json: string }[];

  test('all 65 upstream table cases pass or fail as their tables say', () => {
    assert.equal(cases.length, 65);
    for (const c of cases) {
      let problems: string[];
      try {
        problems = validateOciSchema(c.mediatype, JSON.parse(c.json));
      } catch (error) {
        problems = [(error as Error).message];
      }
      assert.equal(problems.length > 0, c.expect_fail, `${c.source}#${c.index} (${c.comment}): ${problems.join('; ')}`);
    }
  });

  test('the annotated spec examples validate', () => {
    const dir = join(orasVectors, 'opencontainers/image-spec/extracted/md-examples');
    const list = JSON.parse(readFileSync(join(dir, 'INDEX.json'), 'utf8')) as { file: string; mediatype: string }[];
    assert.equal(list.length, 10);
    for (const ex of list) {
      const problems = validateOciSchema(ex.mediatype, JSON.parse(readFileSync(join(dir, ex.file), 'utf8')));
      assert.deepEqual(problems, [], ex.file);
    }
  });
});

describe('digests', () => {
  test('parse and reject', () => {
    assert.deepEqual(parseDigest(EmptyJsonDescriptor.digest), {
      algorithm: 'sha256',
      hex: '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    });
    for (const bad of [
      'sha256:abc',
      'md5:d41d8cd98f00b204e9800998ecf8427e',
      `SHA256:${'a'.repeat(64)}`,
      `sha256:${'A'.repeat(64)}`,
      'nocolon',
      '',
    ]) {
      assert.throws(
        () => parseDigest(bad),
        (e) => isLadingError(e, 'INVALID_DIGEST'),
        bad,
      );
    }
    assert.equal(digestBytes(Buffer.from('{}')), EmptyJsonDescriptor.digest);
    assert.match(digestBytes(Buffer.from(''), 'sha512'), /^sha512:cf83e135/);
  });
});

describe('references', () => {
  test('ORAS reference grammar', () => {
    assert.deepEqual(parseReference('localhost:5000/hello:v1'), {
      registry: 'localhost:5000',
      repository: 'hello',
      reference: 'v1',
    });
    const d = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseReference(`ghcr.io/a/b/c:tag@${d}`), {
      registry: 'ghcr.io',
      repository: 'a/b/c',
      reference: d,
    });
    assert.deepEqual(parseReference('127.0.0.1:5000/x'), {
      registry: '127.0.0.1:5000',
      repository: 'x',
      reference: '',
    });
    assert.deepEqual(parseReference('[::1]:5000/x:y'), { registry: '[::1]:5000', repository: 'x', reference: 'y' });
    assert.equal(formatReference(parseReference(`r.io/a@${d}`)), `r.io/a@${d}`);
    for (const bad of [
      'hello',
      '/x',
      'r.io/UPPER',
      'r.io/a:bad tag',
      'r.io/a@sha256:short',
      'r.io/a:-x',
      'r.io/a//b',
      'a b/c',
      `r.io/a:${'x'.repeat(129)}`,
    ]) {
      assert.throws(
        () => parseReference(bad),
        (e) => isLadingError(e, 'INVALID_REFERENCE'),
        bad,
      );
    }
  });

  test('a reference written with http:// (as OCM repositories are) says what to write instead', () => {
    assert.throws(
      () => parseReference('http://localhost:5000/hello:v1'),
      (e) =>
        isLadingError(e, 'INVALID_REFERENCE') &&
        e.message ===
          'invalid reference "http://localhost:5000/hello:v1": a registry reference names no scheme: write localhost:5000/hello:v1 (plainHttp speaks plain HTTP to it, the default for localhost)',
    );
    assert.throws(
      () => parseReference('https://ghcr.io/acme/app:v1'),
      (e) => isLadingError(e, 'INVALID_REFERENCE') && e.message.endsWith('names no scheme: write ghcr.io/acme/app:v1'),
    );
  });

  test('a mistyped digest is named as an invalid digest, user information is still masked', () => {
    for (const [raw, digest] of [
      ['localhost:5301/repo@sha256:abc', 'sha256:abc'],
      ['localhost:5301/repo@latest', 'latest'],
      ['localhost:5301/repo:v4@sha256:abc', 'sha256:abc'],
    ] as const) {
      assert.throws(
        () => parseReference(raw),
        (e) =>
          isLadingError(e, 'INVALID_REFERENCE') &&
          e.message.startsWith(`invalid reference: invalid digest "${digest}"`) &&
          !e.message.includes('user information'),
        raw,
      );
    }
    for (const raw of [
      'alice:s3cret@reg.test:5000/repo:v1',
      'alice:s3/cret@reg.test:5000/repo@sha256:abc',
      'tok3n@reg.test:5000/repo',
      'alice:1234/s3cret@reg.test:5000',
    ]) {
      assert.throws(
        () => parseReference(raw),
        (e) => isLadingError(e, 'INVALID_REFERENCE') && !e.message.includes('s3cret') && !e.message.includes('tok3n'),
        raw,
      );
    }
  });

  test('OCI layout references split at the last @ or :', () => {
    const d = `sha256:${'b'.repeat(64)}`;
    assert.deepEqual(parseLayoutReference('layout:v1'), { path: 'layout', reference: 'v1' });
    assert.deepEqual(parseLayoutReference(`a:b/layout@${d}`), { path: 'a:b/layout', reference: d });
    assert.deepEqual(parseLayoutReference('dir/x.tar'), { path: 'dir/x.tar', reference: '' });
    assert.deepEqual(parseLayoutReference('C:\\dir'), { path: 'C:\\dir', reference: '' });
    assert.throws(
      () => parseLayoutReference(':v1'),
      (e) => isLadingError(e, 'INVALID_REFERENCE'),
    );
    assert.throws(
      () => parseLayoutReference('x@sha256:zz'),
      (e) => isLadingError(e, 'INVALID_REFERENCE'),
    );
  });
});

describe('platforms', () => {
  test('parse and match', () => {
    assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(parsePlatform('windows/amd64:10.0.1'), {
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0.1',
    });
    assert.equal(parsePlatform('linux', 'amd64').architecture, 'amd64');
    assert.throws(
      () => parsePlatform('linux//x'),
      (e) => isLadingError(e, 'INVALID_ARGUMENT'),
    );
    assert.ok(
      platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm' }),
    );
    assert.ok(
      !platformMatches({ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    );
  });
});

describe('manifest parsing refuses bad input with the field path', () => {
  const mt = 'application/vnd.oci.image.manifest.v1+json';
  const good = { schemaVersion: 2, mediaType: mt, config: EmptyJsonDescriptor, layers: [] };
  const cases: [string, unknown, RegExp][] = [
    ['schema version', { ...good, schemaVersion: 1 }, /schemaVersion must be 2/],
    ['media type mismatch', { ...good, mediaType: 'application/vnd.oci.image.index.v1+json' }, /does not match/],
    ['bad layer digest', { ...good, layers: [{ ...EmptyJsonDescriptor, digest: 'sha256:1' }] }, /layers\[0\]/],
    ['negative size', { ...good, config: { ...EmptyJsonDescriptor, size: -1 } }, /config: size/],
    [
      'unknown algorithm',
      { ...good, layers: [{ ...EmptyJsonDescriptor, digest: 'foo:bar' }] },
      /unsupported digest algorithm/,
    ],
    ['layers not array', { ...good, layers: {} }, /layers must be an array/],
    ['not an object', [1], /must be a JSON object/],
    ['annotations not strings', { ...good, annotations: { a: { b: 'c' } } }, /annotations must map strings/],
    ['annotations an array', { ...good, annotations: ['a'] }, /annotations must map strings/],
    ['an image manifest that is also an index', { ...good, manifests: [] }, /must not have manifests/],
    // A value the message cannot quote is named: missing, by its kind, or cut (never `undefined`).
    ['schema version missing', { ...good, schemaVersion: undefined }, /schemaVersion must be 2, got nothing$/],
    ['size missing', { ...good, config: { ...EmptyJsonDescriptor, size: undefined } }, /config: size is missing$/],
    [
      'media type missing',
      { ...good, layers: [{ ...EmptyJsonDescriptor, mediaType: undefined }] },
      /\]: mediaType is missing$/,
    ],
    ['media type an object', { ...good, config: { ...EmptyJsonDescriptor, mediaType: {} } }, /got an object$/],
    [
      'schema version a long string',
      { ...good, schemaVersion: `${'2'.repeat(5000)}` },
      /got "2{80}…" \(5000 characters\)$/,
    ],
  ];
  for (const [name, value, pattern] of cases) {
    test(name, () => {
      assert.throws(
        () => parseNode(Buffer.from(JSON.stringify(value)), mt, 'm.json'),
        (e) =>
          isLadingError(e, 'INVALID_MANIFEST') &&
          pattern.test((e as Error).message) &&
          (e as Error).message.startsWith('m.json'),
      );
    });
  }
  test('an index that is also an image manifest (CVE-2021-41190), either way round', () => {
    const index = 'application/vnd.oci.image.index.v1+json';
    const body = (extra: object) => Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [], ...extra }));
    for (const extra of [{ layers: [] }, { config: EmptyJsonDescriptor }]) {
      assert.throws(
        () => parseNode(body(extra), index, 'i.json'),
        (e) =>
          isLadingError(e, 'INVALID_MANIFEST') &&
          /^i\.json: an index must not have config or layers/.test((e as Error).message),
      );
    }
    // null stands for absent, as distribution reads it.
    assert.equal(parseNode(body({ layers: null }), index, 'i.json').kind, 'index');
    assert.equal(parseNode(Buffer.from(JSON.stringify({ ...good, manifests: null })), mt, 'm.json').kind, 'manifest');
  });
  test('not JSON', () => {
    assert.throws(
      () => parseNode(Buffer.from('{'), mt, 'm.json'),
      (e) => isLadingError(e, 'INVALID_MANIFEST'),
    );
  });
  test('over 4 MiB', () => {
    assert.throws(
      () => parseNode(Buffer.alloc(4 * 1024 * 1024 + 1, 32), mt, 'm.json'),
      (e) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT'),
    );
  });
});
