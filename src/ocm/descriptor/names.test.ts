import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../../oci/index.js';
import { decodeDescriptor } from './decode.js';
import { DescriptorMediaType } from './media-types.js';
import { isElementName, NamePattern } from './names.js';
import { readOcmSchema } from './schema.js';

function document(patch: (c: Record<string, unknown>) => void): Uint8Array {
  const component: Record<string, unknown> = {
    name: 'acme.org/app',
    version: '1.0.0',
    provider: 'acme.org',
    repositoryContexts: null,
    sources: null,
    componentReferences: null,
    resources: [
      {
        name: 'data',
        version: '1.0.0',
        type: 'blob',
        relation: 'local',
        access: { type: 'LocalBlob/v1', localReference: `sha256:${'a'.repeat(64)}`, mediaType: 'text/plain' },
      },
    ],
  };
  patch(component);
  return Buffer.from(JSON.stringify({ meta: { schemaVersion: 'v2' }, component }));
}

const decode = (bytes: Uint8Array) => decodeDescriptor(bytes, DescriptorMediaType.Json, 'ctf//acme.org/app:1.0.0');

describe('descriptor names', () => {
  test("the patterns are the schema's own", () => {
    const defs = readOcmSchema('component-descriptor-v2.schema.json').$defs as Record<string, { pattern?: string }>;
    assert.equal(NamePattern.component.source, defs.componentName?.pattern?.replaceAll('/', '\\/'));
    assert.equal(NamePattern.identityKey.source, defs.identityAttributeKey?.pattern);
    assert.equal(NamePattern.version.source, defs.relaxedSemver?.pattern);
  });

  test('element names are single path components by construction', () => {
    for (const bad of ['../x', '/root/.bashrc', '.', '..', 'a/b', 'a\\b', 'x', 'A-b', 'a.b', 'a\nb', ''])
      assert.equal(isElementName(bad), false, bad);
    for (const good of ['data', 'my-image', 'a_b+c', '0x']) assert.equal(isElementName(good), true, good);
  });

  const refused: [string, (c: Record<string, unknown>) => void, RegExp][] = [
    [
      'a resource name that is a path',
      (c) => (((c.resources as { name: string }[])[0] as { name: string }).name = '../x'),
      /resources\[0\]\.name "\.\.\/x"/,
    ],
    [
      'an absolute resource name',
      (c) => (((c.resources as { name: string }[])[0] as { name: string }).name = '/root/.bashrc'),
      /resources\[0\]\.name/,
    ],
    ['a component name with ..', (c) => (c.name = 'acme.org/../../etc'), /component\.name/],
    ['a component version with a slash', (c) => (c.version = '1.0.0/../2'), /component\.version/],
    [
      'a reference to a component name that is not one',
      (c) => (c.componentReferences = [{ name: 'dep', componentName: 'EVIL', version: '1.0.0' }]),
      /componentReferences\[0\]\.componentName "EVIL"/,
    ],
    [
      'an extra identity key with a control character',
      (c) => (((c.resources as object[])[0] as { extraIdentity?: object }).extraIdentity = { 'o\u001bs': 'linux' }),
      /extraIdentity key "o\\u001bs"/,
    ],
  ];
  for (const [what, patch, message] of refused) {
    test(`refused on every read: ${what}`, () => {
      assert.throws(
        () => decode(document(patch)),
        (e) =>
          isLadingError(e, 'INVALID_DESCRIPTOR') &&
          message.test(e.message) &&
          e.message.includes('ctf//acme.org/app:1.0.0'),
      );
    });
  }

  test('a descriptor with valid names still decodes', () => {
    assert.equal(decode(document(() => {})).component.resources?.[0]?.name, 'data');
  });

  test('a source given by access without a version (upstream stores `version: ""`) decodes; a resource does not', () => {
    const source = { name: 'src', version: '', type: 'git', access: { type: 'gitHub', repoUrl: 'x', commit: 'c' } };
    assert.equal(decode(document((c) => (c.sources = [source]))).component.sources?.[0]?.version, '');
    assert.throws(
      () => decode(document((c) => (((c.resources as object[])[0] as { version: string }).version = ''))),
      (e) => isLadingError(e, 'INVALID_DESCRIPTOR') && /resources\[0\]\.version ""/.test((e as Error).message),
    );
  });
});
