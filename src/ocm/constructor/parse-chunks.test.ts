import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkChars, componentChunks, parseConstructor, parseInChunks, parseWhole } from './parse.js';

const file = 'component-constructor.yaml';

/** A component of the usual shape: one utf8 input resource, and an access one without a version. */
function component(i: number, indent = '  '): string {
  const lines = [
    `- name: acme.org/scale/c${i}`,
    '  version: 1.0.0',
    '  provider:',
    '    name: acme.org',
    '  resources:',
    '    - name: text',
    '      type: plainText',
    '      input:',
    '        type: utf8/v1',
    `        text: "component ${i}"`,
    // An unknown input field: a warning per component, worded with its line.
    ...(i % 3 === 0 ? ['        txet: typo'] : []),
    '    - name: image',
    '      type: ociImage',
    '      access:',
    '        type: ociArtifact',
    `        imageReference: ghcr.io/acme/img:${i}`,
  ];
  return lines.map((l) => `${indent}${l}\n`).join('');
}

function manyComponents(count: number, o: { indent?: string; between?: (i: number) => string; tail?: string } = {}) {
  let text = '# many components\ncomponents:\n';
  for (let i = 0; i < count; i++) text += (o.between?.(i) ?? '') + component(i, o.indent);
  return text + (o.tail ?? '');
}

/** Chunked as parsed whole, for pieces of one component, a few, and the default size. */
function assertSameAsWhole(text: string, o: { chunked: boolean }): void {
  const whole = (() => {
    try {
      return { value: parseWhole(text, file) };
    } catch (error) {
      return { error };
    }
  })();
  for (const size of [1, 700, ChunkChars]) {
    const chunked = parseInChunks(text, file, size);
    if (!o.chunked) {
      assert.equal(chunked, undefined, `left to the whole parse (pieces of ${size})`);
      continue;
    }
    assert.ok(chunked, `read in pieces of ${size}`);
    assert.ok('value' in whole, `the whole parse fails (${String(whole.error)}), the chunked one must not answer`);
    assert.deepEqual(chunked, whole.value);
  }
  // What parseConstructor answers is the whole parse's, either way.
  if ('value' in whole) assert.deepEqual(parseConstructor(text, { file, env: false }), whole.value);
  else assert.throws(() => parseConstructor(text, { file, env: false }), whole.error as Error);
}

describe('parseConstructor in pieces', () => {
  test('a constructor of 3,000 components is parsed a piece at a time: each piece holds whole components and is bounded', () => {
    const text = manyComponents(3000);
    const spans = componentChunks(text);
    assert.ok(spans);
    assert.equal(spans.items.length, 3000);
    assert.equal(spans.end, text.length);
    // Each item starts a component's line, and the largest holds no more than one component.
    for (const [i, at] of spans.items.entries()) assert.ok(text.startsWith(`  - name: acme.org/scale/c${i}\n`, at));
    const widest = Math.max(...spans.items.map((at, i) => (spans.items[i + 1] ?? spans.end) - at));
    assert.ok(widest < 600, `a component takes ${widest} characters`);
    const result = parseInChunks(text, file);
    assert.ok(result, 'read in pieces');
    assert.equal(result.components.length, 3000);
    assert.deepEqual(result, parseWhole(text, file));
    // Locations and warnings name the file's lines, as the whole parse does.
    assert.equal(result.components[2999]?.location.line, 3 + 2999 * 15 + 1000);
    assert.equal(result.warnings.length, 1000 + 3000);
  });

  const shapes: Record<string, string> = {
    'items at column 0, a root key after them': manyComponents(5, { indent: '', tail: 'other: 1\n' }),
    'comments and blank lines between items, at any column': manyComponents(6, {
      between: (i) => (i % 2 ? '\n# between\n\n' : '   # indented comment\n'),
    }),
    'CRLF line breaks': manyComponents(4).replaceAll('\n', '\r\n'),
    'a block scalar and a quoted string whose lines look like items': `components:
  - name: acme.org/a
    version: 1.0.0
    provider: {name: acme}
    labels:
      - name: text
        value: |
          - name: not/an/item
          - another
      - name: quoted
        value: "first
          - still the string"
  - name: acme.org/b
    version: 1.0.0
    provider: {name: acme, labels: [{name: x, value: [1, 2]}]}
`,
    'nested sequences at the same column as the keys': `components:
- name: acme.org/a
  version: 1.0.0
  provider:
    name: acme
  componentReferences:
  - name: ref
    componentName: acme.org/b
    version: 1.0.0
- name: acme.org/b
  version: 1.0.0
  provider:
    name: acme
`,
    'an inline merge key': `components:
  - name: acme.org/a
    version: 1.0.0
    provider:
      <<: {name: acme}
`,
  };
  for (const [name, text] of Object.entries(shapes)) {
    test(`${name}: the same as the whole parse`, () => assertSameAsWhole(text, { chunked: true }));
  }

  const refused: Record<string, string> = {
    'an anchor in one component and its alias in another': manyComponents(2)
      .replace('provider:\n      name: acme.org', 'provider: &p\n      name: acme.org')
      .replace(/(c1\n {4}version: 1.0.0\n {4}provider:)\n {6}name: acme.org/, '$1 *p'),
    'an invalid component after valid ones': `${manyComponents(3)}  - name: acme.org/bad\n    version: 1.0.0\n`,
    'a YAML error in the last component': `${manyComponents(3)}  - name: [unclosed\n`,
    'a component built twice': manyComponents(2) + component(0, '  '),
    'components twice': `${manyComponents(2)}components: []\n`,
    'a document marker': `---\n${manyComponents(2)}`,
    'two documents': `${manyComponents(2)}---\nfoo: 1\n`,
    'a flow sequence': 'components: [{name: acme.org/a, version: 1.0.0, provider: {name: acme}}]\n',
    'a tab before an item': manyComponents(2).replace('  - name: acme.org/scale/c1', '\t- name: acme.org/scale/c1'),
    'items indented less further down': `${manyComponents(2)} - name: acme.org/odd\n   version: 1.0.0\n   provider: {name: a}\n`,
    'a __proto__ key': `${manyComponents(1)}    __proto__: {name: x}\n`,
    'a .nan value': `${manyComponents(2)}    labels:\n      - name: x\n        value: {ratio: .nan}\n`,
    'an .inf value': `${manyComponents(2)}    labels:\n      - name: x\n        value: -.inf\n`,
  };
  for (const [name, text] of Object.entries(refused)) {
    test(`${name}: left to the whole parse, which answers as before`, () =>
      assertSameAsWhole(text, { chunked: false }));
  }

  test('a single component (no components list) is parsed whole', () => {
    const text = 'name: acme.org/a\nversion: 1.0.0\nprovider: {name: acme}\n';
    assert.equal(componentChunks(text), undefined);
    assert.deepEqual(parseConstructor(text, { file, env: false }), parseWhole(text, file));
  });
});
