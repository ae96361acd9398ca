import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isLadingError } from '../../oci/index.js';
import { normalise } from '../signing/normalise.js';
import { decodeDescriptor } from './decode.js';
import { encodeDescriptor, encodeDescriptorJson, encodeDescriptorTar, encodeDescriptorYaml } from './encode.js';
import { goYaml, goYamlKeyLess } from './go-yaml.js';
import {
  canonicalIdentity,
  findDuplicateIdentities,
  formatIdentity,
  identityOf,
  matchesIdentity,
  parseIdentity,
  selectByIdentity,
} from './identity.js';
import { DescriptorMediaType } from './media-types.js';
import type { ComponentDescriptor } from './model.js';
import { absentList, cloneDescriptor } from './null-lists.js';
import { formatProvider, parseProvider } from './provider.js';
import type { SchemaProblem } from './schema.js';
import { sortedJson } from './sorted-json.js';
import { assertValidDescriptor, formatProblems, validateDescriptor, validateDescriptorDocument } from './validate.js';
import { isTaggableVersion, tagToVersion, versionToTag } from './version-tag.js';

const vectors = new URL('../../../test/fixtures/upstream/ocm/', import.meta.url);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** A descriptor whose four lists are absent, as upstream v2 writes a constructed one: `null`. */
function minimal(): ComponentDescriptor {
  return {
    meta: { schemaVersion: 'v2' },
    component: {
      name: 'acme.org/demo',
      version: '1.0.0',
      repositoryContexts: absentList(),
      provider: { name: 'acme' },
      resources: absentList(),
      sources: absentList(),
      componentReferences: absentList(),
    },
  };
}

describe('descriptor codecs against upstream vectors', () => {
  it('decodes the V1-written +yaml+tar descriptor of CTF compatibility/01 and re-encodes it byte-identically', () => {
    const dir = new URL('bindings/go/ctf/testdata/compatibility/01/transport-archive/blobs/', vectors);
    const blobs = readdirSync(dir).map((f) => readFileSync(new URL(f, dir)));
    const tar = blobs.find((b) => b.subarray(257, 262).toString() === 'ustar');
    assert.ok(tar, 'the archive holds a descriptor tar');
    assert.equal(sha256(tar), '7164be671f47d4f2b427363b3efd144c2705219e5046d23a28a181ce602cf152');
    const problems: SchemaProblem[] = [];
    const desc = decodeDescriptor(tar, DescriptorMediaType.YamlTar, 'blob 7164be', {
      onProblem: (p) => problems.push(p),
    });
    assert.deepEqual(problems, []);
    assert.equal(desc.component.name, 'github.com/acme.org/helloworld');
    assert.deepEqual(desc.component.provider, { name: 'acme.org' });
    assert.deepEqual(desc.component.repositoryContexts, []);
    assert.equal(desc.component.creationTime, '2025-03-18T09:44:42Z');
    assert.equal(desc.component.resources?.[0]?.access.type, 'localBlob');
    assert.ok(Buffer.from(encodeDescriptorTar(desc)).equals(tar));
    // The same bytes under the gardener media types.
    assert.deepEqual(decodeDescriptor(tar, DescriptorMediaType.LegacyYamlTar, 'x'), desc);
    assert.deepEqual(decodeDescriptor(tar, DescriptorMediaType.LegacyConfigYamlTar, 'x'), desc);
  });

  it('encodes the examples-01 descriptor as upstream stores it (descriptor blob f91fd3ee…) and as the asserted YAML', () => {
    const yaml = readFileSync(new URL('extracted/cli-add-cv-file-input-examples-01/descriptor.yaml', vectors));
    const desc = decodeDescriptor(yaml, DescriptorMediaType.Yaml, 'descriptor.yaml', { strict: true });
    const json = encodeDescriptorJson(desc);
    assert.match(sha256(json), /^f91fd3ee/);
    assert.equal(
      Buffer.from(json).toString(),
      '{"component":{"componentReferences":null,"name":"ocm.software/examples-01","provider":"ocm.software","repositoryContexts":null,' +
        '"resources":[{"access":{"localReference":"sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2",' +
        '"mediaType":"text/plain; charset=utf-8","type":"LocalBlob/v1"},"digest":{"hashAlgorithm":"SHA-256",' +
        '"normalisationAlgorithm":"genericBlobDigest/v1","value":"c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"},' +
        '"name":"my-file","relation":"local","type":"blob","version":"1.0.0"}],"sources":null,"version":"1.0.0"},"meta":{"schemaVersion":"v2"}}',
    );
    assert.ok(Buffer.from(encodeDescriptorYaml(desc)).equals(yaml));
    const again = decodeDescriptor(json, DescriptorMediaType.Json, 'json');
    assert.deepEqual(again, desc);
    assert.ok(Buffer.from(encodeDescriptorJson(again)).equals(Buffer.from(json)), 'json → decode → encode is stable');
    assert.deepEqual(decodeDescriptor(json, DescriptorMediaType.LegacyJson, 'legacy'), desc);
  });

  it('reads the normalisation conformance input (V1 ocmcli descriptor) without schema problems and keeps every field', () => {
    const input = readFileSync(
      new URL(
        'bindings/go/descriptor/normalisation/json/v4alpha1/testdata/conformance/legacy/jsonNormalisation/v3/01/input.yaml',
        vectors,
      ),
    );
    const problems: SchemaProblem[] = [];
    const desc = decodeDescriptor(input, DescriptorMediaType.Yaml, 'input.yaml', {
      onProblem: (p) => problems.push(p),
    });
    assert.deepEqual(formatProblems(problems), []);
    assert.equal(desc.component.name, 'ocm.software/ocmcli');
    assert.equal(desc.component.resources?.length, 6);
    assert.equal(desc.component.sources?.[0]?.access.type, 'github');
    const round = decodeDescriptor(encodeDescriptorJson(desc), DescriptorMediaType.Json, 'round');
    assert.deepEqual(round, desc);
  });
});

describe('reading a descriptor whose elements share an identity', () => {
  it('is refused with DUPLICATE_IDENTITY: a selection by identity would be ambiguous', () => {
    const desc = minimal();
    const resource = (text: string) => ({
      name: 'res',
      version: '1.0.0',
      type: 'blob',
      relation: 'local' as const,
      access: { type: 'localBlob/v1', localReference: `sha256:${text.repeat(64)}`, mediaType: 'text/plain' },
    });
    desc.component.resources = [resource('a'), resource('b')];
    const bytes = encodeDescriptorJson(desc);
    assert.throws(
      () => decodeDescriptor(bytes, DescriptorMediaType.Json, 'component-descriptor.json'),
      (e) =>
        isLadingError(e, 'DUPLICATE_IDENTITY') &&
        /component-descriptor\.json: duplicate identities: resource identity "name=res,version=1\.0\.0"/.test(
          e.message,
        ),
    );
  });
});

describe('descriptor wire rules (Go omitempty)', () => {
  it('writes null for absent lists, [] for empty ones, and omits empty optional fields', () => {
    const desc = minimal();
    assert.equal(
      Buffer.from(encodeDescriptorJson(desc)).toString(),
      '{"component":{"componentReferences":null,"name":"acme.org/demo","provider":"acme","repositoryContexts":null,"resources":null,"sources":null,"version":"1.0.0"},"meta":{"schemaVersion":"v2"}}',
    );
    desc.component.resources = [];
    desc.component.labels = [];
    desc.signatures = [];
    desc.nestedDigests = [];
    assert.match(Buffer.from(encodeDescriptorJson(desc)).toString(), /"resources":\[\]/);
    assert.doesNotMatch(Buffer.from(encodeDescriptorJson(desc)).toString(), /labels|signatures|nestedDigests/);
  });

  it('reads absent lists as plain empty arrays and writes them back as null; a new empty array is []', () => {
    // Keys sorted, as upstream stores them.
    const wire = (list: string | undefined) => {
      const l = (k: string) => (list === undefined ? '' : `"${k}":${list},`);
      return Buffer.from(
        `{"component":{${l('componentReferences')}"name":"acme.org/demo","provider":"acme",` +
          `${l('repositoryContexts')}${l('resources')}${l('sources')}"version":"1.0.0"},"meta":{"schemaVersion":"v2"}}`,
      );
    };
    // Go's v2 types: nil lists are null (or left out by hand); V1 writes [] for the same component.
    const nulls = wire('null');
    const empties = wire('[]');
    for (const bytes of [nulls, empties]) {
      const desc = decodeDescriptor(bytes, DescriptorMediaType.Json, 'x');
      for (const list of ['repositoryContexts', 'resources', 'sources', 'componentReferences'] as const) {
        assert.ok(Array.isArray(desc.component[list]), `${list} is an array`);
        assert.equal(desc.component[list].length, 0);
      }
      assert.ok(Buffer.from(encodeDescriptorJson(desc)).equals(bytes), 'decode → encode keeps the bytes');
      assert.ok(Buffer.from(encodeDescriptorJson(cloneDescriptor(desc))).equals(bytes), 'cloneDescriptor keeps them');
      assert.ok(
        Buffer.from(encodeDescriptorJson({ ...desc, component: { ...desc.component } })).equals(bytes),
        'a spread keeps the arrays and so the wire form',
      );
      // What is signed does not depend on the wire form of an empty list.
      assert.equal(normalise(structuredClone(desc)).toString(), normalise(desc).toString());
    }
    const left = decodeDescriptor(wire(undefined), DescriptorMediaType.Json, 'x');
    assert.ok(Buffer.from(encodeDescriptorJson(left)).equals(nulls), 'lists left out are nil: written null');
    const desc = decodeDescriptor(nulls, DescriptorMediaType.Json, 'x');
    desc.component.sources = [];
    desc.component.resources.push({
      name: 'r',
      version: '1.0.0',
      type: 'blob',
      relation: 'local',
      access: { type: 'none' },
    });
    const json = Buffer.from(encodeDescriptorJson(desc)).toString();
    assert.match(json, /"sources":\[\]/, 'a new empty array is written []');
    assert.match(json, /"resources":\[\{/, 'a list given entries is written with them');
    assert.match(json, /"componentReferences":null/);
    desc.component.resources.pop();
    assert.match(Buffer.from(encodeDescriptorJson(desc)).toString(), /"resources":null/, 'emptied again: absent');
  });

  it('writes an absent reference digest as three empty strings and reads it back as absent', () => {
    const desc = minimal();
    desc.component.componentReferences = [{ name: 'child', version: '1.0.0', componentName: 'acme.org/child' }];
    const json = Buffer.from(encodeDescriptorJson(desc)).toString();
    assert.match(json, /"digest":\{"hashAlgorithm":"","normalisationAlgorithm":"","value":""\}/);
    const back = decodeDescriptor(Buffer.from(json), DescriptorMediaType.Json, 'x');
    assert.equal(back.component.componentReferences?.[0]?.digest, undefined);
  });

  it('keeps version "" on elements, label version, signatures and nestedDigests; drops label merge and signature timestamp', () => {
    const desc = minimal();
    desc.component.sources = [{ name: 'src', version: '', type: 'git', access: { type: 'gitHub', repoUrl: 'x' } }];
    desc.component.labels = [
      { name: 'l', value: { b: 1, a: [true, null] }, signing: true, version: 'v1', merge: { algorithm: 'default' } },
    ];
    desc.signatures = [
      {
        name: 'sig',
        digest: { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'jsonNormalisation/v4alpha1', value: 'ab' },
        signature: { algorithm: 'RSASSA-PSS', value: 'cd', mediaType: 'application/vnd.ocm.signature.rsa.pss' },
        timestamp: { value: 'x' },
      },
    ];
    desc.nestedDigests = [
      { name: 'acme.org/n', version: '1.0.0', resourceDigests: [{ name: 'r', version: '1', digest: null }] },
    ];
    const json = Buffer.from(encodeDescriptorJson(desc)).toString();
    assert.match(json, /"labels":\[\{"name":"l","signing":true,"value":\{"a":\[true,null\],"b":1\},"version":"v1"\}\]/);
    assert.match(json, /"version":""/);
    assert.doesNotMatch(json, /merge|timestamp/);
    assert.match(
      json,
      /"nestedDigests":\[\{"name":"acme.org\/n","resourceDigests":\[\{"digest":null,"name":"r","version":"1"\}\],"version":"1.0.0"\}\]/,
    );
  });

  it('escapes like Go and sorts keys bytewise', () => {
    const desc = minimal();
    desc.component.labels = [{ name: 'html', value: '<a href="x">&</a>\u2028' }];
    const json = Buffer.from(encodeDescriptorJson(desc)).toString();
    assert.ok(json.includes('"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e\\u2028"'));
    assert.equal(
      sortedJson({ b: 1, B: 2, é: 3, a: 1e21, z: 1e-7, n: -0 }),
      '{"B":2,"a":1e+21,"b":1,"n":-0,"z":1e-7,"é":3}',
    );
  });

  it('encodes for every descriptor media type and refuses others', () => {
    const desc = minimal();
    for (const mediaType of Object.values(DescriptorMediaType)) {
      assert.deepEqual(decodeDescriptor(encodeDescriptor(desc, mediaType), mediaType, mediaType), desc);
    }
    assert.throws(
      () => encodeDescriptor(desc, 'application/json'),
      (e) => isLadingError(e, 'INVALID_MEDIA_TYPE'),
    );
    assert.throws(
      () => decodeDescriptor(Buffer.from('{}'), 'text/plain', 'x'),
      (e) => isLadingError(e, 'INVALID_MEDIA_TYPE'),
    );
  });
});

describe('provider forms', () => {
  it('writes the name, or the JSON form when labels are set, and reads both', () => {
    assert.equal(formatProvider({ name: 'acme' }), 'acme');
    const withLabels = { name: 'acme', labels: [{ name: 'team', value: { b: 'x', a: 1 }, signing: true }] };
    const text = formatProvider(withLabels);
    assert.equal(text, '{"name":"acme","labels":[{"name":"team","value":{"a":1,"b":"x"},"signing":true}]}');
    assert.deepEqual(parseProvider(text), withLabels);
    assert.deepEqual(parseProvider('  {"name":"x"}'), { name: 'x' });
    assert.equal(formatProvider({ name: 'acme', labels: [] }), '{"name":"acme"}');
    assert.deepEqual(parseProvider({ name: 'obj' }), { name: 'obj' });
    assert.throws(() => formatProvider({ name: '' }), /provider name is empty/);
    assert.throws(
      () => parseProvider('{bad'),
      (e) => isLadingError(e, 'INVALID_DESCRIPTOR'),
    );
  });

  it('round-trips a descriptor whose provider is the JSON form', () => {
    const desc = minimal();
    desc.component.provider = { name: 'acme', labels: [{ name: 'a', value: 'b' }] };
    const json = encodeDescriptorJson(desc);
    assert.match(
      Buffer.from(json).toString(),
      /"provider":"\{\\"name\\":\\"acme\\",\\"labels\\":\[\{\\"name\\":\\"a\\",\\"value\\":\\"b\\"\}\]\}"/,
    );
    assert.deepEqual(decodeDescriptor(json, DescriptorMediaType.Json, 'x'), desc);
  });
});

describe('descriptor validation', () => {
  it('warns by default, naming JSON paths, and fails in strict mode', () => {
    const document = (name: string, resourceName: string) =>
      Buffer.from(
        JSON.stringify({
          meta: { schemaVersion: 'v2' },
          component: {
            name,
            version: '1.0.0',
            provider: 'acme',
            repositoryContexts: null,
            sources: null,
            componentReferences: null,
            resources: [
              {
                name: resourceName,
                version: '1.0.0',
                type: 'blob',
                relation: 'sideways',
                access: { type: 'localBlob' },
              },
            ],
          },
        }),
      );
    const bad = document('acme.org/app', 'data');
    const problems: SchemaProblem[] = [];
    const desc = decodeDescriptor(bad, DescriptorMediaType.Json, 'blob', { onProblem: (p) => problems.push(p) });
    assert.equal(desc.component.resources?.[0]?.relation, 'sideways');
    const lines = formatProblems(problems);
    assert.ok(
      lines.some((l) => l.startsWith('component.resources[0].relation: must be one of "local", "external"')),
      lines.join('\n'),
    );
    assert.throws(
      () => decodeDescriptor(bad, DescriptorMediaType.Json, 'blob', { strict: true }),
      (e) =>
        isLadingError(e, 'INVALID_DESCRIPTOR') &&
        /blob: component\.resources\[0\]\.relation: must be one of/.test((e as Error).message),
    );
    // Names identify the component and its elements (and become paths and tags): never only a warning.
    for (const [name, resourceName, field] of [
      ['Not A Name', 'data', /component\.name "Not A Name"/],
      ['acme.org/app', 'x', /component\.resources\[0\]\.name "x"/],
    ] as const) {
      assert.throws(
        () => decodeDescriptor(document(name, resourceName), DescriptorMediaType.Json, 'blob', { onProblem: () => {} }),
        (e) => isLadingError(e, 'INVALID_DESCRIPTOR') && field.test((e as Error).message),
      );
    }
  });

  it('merges the branches of a nullable field into one message', () => {
    const desc = minimal();
    (desc.component as unknown as Record<string, unknown>).labels = undefined;
    const doc = JSON.parse(Buffer.from(encodeDescriptorJson(desc)).toString());
    doc.component.sources = 'none';
    const lines = formatProblems(validateDescriptorDocument(doc));
    assert.deepEqual(lines, ['component.sources: must be array or null']);
  });

  it('rejects wrong JSON types the way Go decoding does', () => {
    const doc = { meta: { schemaVersion: 'v2' }, component: { name: 'acme.org/x', version: 1, provider: 'a' } };
    assert.throws(
      () => decodeDescriptor(Buffer.from(JSON.stringify(doc)), DescriptorMediaType.Json, 'blob'),
      (e) =>
        isLadingError(e, 'INVALID_DESCRIPTOR') &&
        /blob: component\.version: must be a string, got number/.test((e as Error).message),
    );
  });

  it('refuses a YAML descriptor whose aliases expand it past the descriptor limit, naming the line and path', () => {
    // 3 MB anchored once and aliased 24 times: 75 MB of data, 25 aliases (maxAliasCount lets 100 through).
    const big = 'x'.repeat(3_000_000);
    let text = `meta: {schemaVersion: v2}\ncomponent:\n  name: acme.org/x\n  version: 1.0.0\n  provider: acme\n  labels:\n  - name: l0\n    value: &big "${big}"\n`;
    for (let i = 1; i < 25; i++) text += `  - name: l${i}\n    value: *big\n`;
    assert.throws(
      () => decodeDescriptor(Buffer.from(text), DescriptorMediaType.Yaml, 'blob'),
      (e) =>
        isLadingError(e, 'INVALID_DESCRIPTOR') &&
        /^blob: not valid YAML: line 52, component\.labels\[22\]\.value: YAML aliases expand the document past 67108864 bytes/.test(
          (e as Error).message,
        ) &&
        !(e as Error).message.includes('\n'),
    );
    // The same aliases over a small value are fine, and an alias inside its own anchor is not.
    const small = text.replace(big, 'x');
    assert.equal(decodeDescriptor(Buffer.from(small), DescriptorMediaType.Yaml, 'blob').component.labels?.length, 25);
    const loop =
      'meta: {schemaVersion: v2}\ncomponent: &c\n  name: acme.org/x\n  version: 1.0.0\n  provider: acme\n  labels:\n  - {name: l, value: *c}\n';
    assert.throws(
      () => decodeDescriptor(Buffer.from(loop), DescriptorMediaType.Yaml, 'blob'),
      (e) =>
        isLadingError(e, 'INVALID_DESCRIPTOR') &&
        /^blob: not valid YAML: line 7, component\.labels\[0\]\.value: the alias \*c is inside the node it refers to$/.test(
          (e as Error).message,
        ),
    );
  });

  it('finds duplicate identities (name + version + extraIdentity)', () => {
    const desc = minimal();
    const access = { type: 'localBlob', localReference: 'x', mediaType: '' };
    desc.component.resources = [
      { name: 'ab', version: '1', type: 'blob', relation: 'local', access, extraIdentity: { os: 'linux' } },
      { name: 'ab', version: '1', type: 'blob', relation: 'local', access, extraIdentity: { os: 'darwin' } },
      { name: 'ab', version: '1', type: 'blob', relation: 'local', access, extraIdentity: { os: 'linux' } },
    ];
    assert.deepEqual(validateDescriptor(desc), []);
    assert.throws(
      () => assertValidDescriptor(desc),
      (e) =>
        isLadingError(e, 'DUPLICATE_IDENTITY') &&
        /"name=ab,os=linux,version=1" appears 2 times \(resource indices 0, 2\)/.test((e as Error).message),
    );
  });
});

describe('identities', () => {
  it('builds, prints, parses and matches identities as upstream', () => {
    assert.deepEqual(identityOf({ name: 'r', version: '', extraIdentity: { os: 'linux' } }), {
      os: 'linux',
      name: 'r',
    });
    assert.equal(
      formatIdentity(identityOf({ name: 'r', version: '1.0', extraIdentity: { os: 'linux' } })),
      'name=r,os=linux,version=1.0',
    );
    assert.deepEqual(parseIdentity(' name = r , os=linux'), { name: 'r', os: 'linux' });
    assert.throws(
      () => parseIdentity('name='),
      (e) => isLadingError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => parseIdentity('name'),
      (e) => isLadingError(e, 'INVALID_ARGUMENT'),
    );
    assert.ok(matchesIdentity({ name: 'r' }, { name: 'r', version: '1' }));
    assert.ok(!matchesIdentity({ name: 'r', os: 'x' }, { name: 'r', version: '1' }));
    const elements = [
      { name: 'r', version: '1', extraIdentity: { os: 'linux' } },
      { name: 'r', version: '1', extraIdentity: { os: 'darwin' } },
    ];
    assert.equal(selectByIdentity(elements, { name: 'r', os: 'darwin' }), elements[1]);
    assert.equal(selectByIdentity(elements, { name: 'r' }), elements[0]);
    // Unlike upstream's FNV hash of key+value concatenations, the canonical form cannot collide.
    assert.notEqual(canonicalIdentity({ a: 'bc' }), canonicalIdentity({ ab: 'c' }));
    assert.deepEqual(findDuplicateIdentities('source', [{ name: 'x' }, { name: 'x', version: '' }]), [
      { kind: 'source', identity: { name: 'x' }, indices: [0, 1] },
    ]);
  });
});

describe('version ↔ tag', () => {
  it('replaces the first + with .build-', () => {
    assert.equal(versionToTag('1.2.3+ci.42'), '1.2.3.build-ci.42');
    assert.equal(versionToTag('1.2.3'), '1.2.3');
    assert.equal(versionToTag('1.0.0+a+b'), '1.0.0.build-a+b');
    assert.equal(tagToVersion('1.2.3.build-ci.42'), '1.2.3+ci.42');
    assert.ok(isTaggableVersion('v1.0.0-rc.1+build.5'));
    assert.ok(!isTaggableVersion('1.0.0+a+b'));
  });
});

describe('go-yaml v2 emitter', () => {
  const golden = JSON.parse(readFileSync(new URL('testdata/go-yaml-cases.json', import.meta.url), 'utf8')) as {
    cases: { json: string; yaml: string }[];
  };

  it(`matches sigs.k8s.io/yaml output byte for byte on ${golden.cases.length} recorded cases`, () => {
    for (const c of golden.cases) assert.equal(goYaml(JSON.parse(c.json)), c.yaml, c.json);
  });

  it('orders keys like go-yaml v2 (digit runs by value, non-letters first)', () => {
    const keys = ['b', 'a10', 'a9', 'A', '_x', '1', 'a-b'].sort((x, y) =>
      goYamlKeyLess(x, y) ? -1 : goYamlKeyLess(y, x) ? 1 : 0,
    );
    assert.deepEqual(keys, ['_x', '1', 'A', 'a-b', 'a9', 'a10', 'b']);
  });
});
