import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ComponentDescriptor } from './descriptor/model.js';
import { absentList } from './descriptor/null-lists.js';
import { buildTransferSpec, parseTransferSpec } from './transfer-spec.js';

// Words that the spec's own node names are made of, so that a version or resource name can spell them.
const word = fc.constantFrom('gettransform', 'addtransform', 'upload', 'transform', 'n2', 'r', 'x', '1', '0');
const sep = fc.constantFrom('-', '.', '');
const tail = fc.array(fc.tuple(sep, word), { maxLength: 5 }).map((parts) => parts.map(([s, w]) => s + w).join(''));
const version = tail.map((t) => (t === '' ? '1.0.0' : `1.0.0-${t.replace(/^[-.]+/, '').replace(/\.(?=\.|$)/g, '')}`));
const resource = fc.record({
  name: fc.constantFrom('r', 'x'),
  version: fc.constantFrom('1.0.0', '1.0.0-upload', '1.0.0-x', '1.0.0-n2'),
});
/** A version that spells another version's ID and the start of one of its node names (`1.0.0-gettransform-r-1-0-0`). */
const spelling = fc
  .tuple(fc.constantFrom('gettransform', 'addtransform'), fc.constantFrom('r', 'x'))
  .map(([node, name]) => `${node}-${name}-1-0-0`);

function descriptor(v: string, resources: { name: string; version: string }[]): ComponentDescriptor {
  return {
    meta: { schemaVersion: 'v2' },
    component: {
      name: 'acme.org/a',
      version: v,
      provider: { name: 'acme.org' },
      repositoryContexts: absentList(),
      resources: resources.map((r, i) => ({
        ...r,
        type: 'blob',
        relation: 'local' as const,
        ...(resources.length > 1 ? { extraIdentity: { i: String(i) } } : {}),
        access: { type: 'LocalBlob/v1', localReference: `sha256:${'a'.repeat(64)}`, mediaType: 'text/plain' },
      })),
      sources: absentList(),
      componentReferences: absentList(),
    },
  };
}
const ctf = (filePath: string) => ({
  kind: 'CommonTransportFormat' as const,
  type: 'CommonTransportFormat/v1',
  filePath,
});

test('transfer-spec IDs: what --dry-run writes for any versions and resources, --transfer-spec reads; IDs unique and stable', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(version, { minLength: 1, maxLength: 4 }),
      fc.array(spelling, { maxLength: 2 }),
      fc.array(resource, { maxLength: 3 }),
      (base, spelled, resources) => {
        const versions = [
          ...new Set([...base, ...spelled.map((t) => `${base[0]}-${t}`.replace(/^1\.0\.0--/, '1.0.0-'))]),
        ];
        const build = () =>
          buildTransferSpec(
            versions.map((v) => ({ descriptor: descriptor(v, resources), source: ctf('./a') })),
            ctf('./b'),
          );
        const spec = build();
        const ids = spec.transformations.map((t) => t.id);
        assert.equal(new Set(ids).size, ids.length, ids.join(' '));
        assert.equal(Object.keys(spec.environment).length, versions.length);
        for (const id of ids) assert.match(id, /^[a-z][A-Za-z0-9]*$/);
        assert.equal(parseTransferSpec(JSON.parse(JSON.stringify(spec)), 'f.yaml').transformations.length, ids.length);
        assert.deepEqual(build(), spec);
      },
    ),
    { numRuns: 2000, seed: 24 },
  );
});

test("transfer-spec IDs: a version that spells another one's node name (1.0.0 with r:1.0.0-upload, 1.0.0-gettransform-r-1-0-0)", () => {
  const spec = buildTransferSpec(
    ['1.0.0', '1.0.0-gettransform-r-1-0-0'].map((v) => ({
      descriptor: descriptor(v, [{ name: 'r', version: '1.0.0-upload' }]),
      source: ctf('./a'),
    })),
    ctf('./b'),
  );
  const ids = spec.transformations.map((t) => t.id);
  assert.equal(new Set(ids).size, ids.length, ids.join(' '));
  parseTransferSpec(JSON.parse(JSON.stringify(spec)), 'f.yaml');
});
