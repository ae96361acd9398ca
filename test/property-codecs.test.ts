// Property-based tests (fast-check, fixed seeds, bounded runs): the reference parser, the OCI
// manifest and index codecs, the tar reader, the component descriptor codec and normalisation.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { TarFiles } from '../src/archive/index.js';
import {
  type Descriptor,
  encodeIndex,
  encodeManifest,
  formatReference,
  type Index,
  isLadingError,
  type Manifest,
  MediaType,
  parseNode,
  parseReference,
  type Reference,
} from '../src/oci/index.js';
import {
  type ComponentDescriptor,
  DescriptorMediaType,
  decodeDescriptor,
  encodeDescriptorJson,
  encodeDescriptorYaml,
  type Resource,
} from '../src/ocm/index.js';
import { normalise } from '../src/ocm/signing/index.js';
import { tarBytes } from './reliability-support.js';

/** Seeds and run counts, as docs/reliability.md records them. */
export const Runs = { seed: 42, numRuns: 300 } as const;

function codeOf(error: unknown): string {
  return isLadingError(error) ? error.code : `not a LadingError: ${String((error as Error)?.stack ?? error)}`;
}

// ---------------------------------------------------------------------------------------------
// generators

const lower = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
const alnum = (min: number, max: number) => fc.string({ unit: lower, minLength: min, maxLength: max });
const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: n, maxLength: n });

const registryArb = fc
  .tuple(
    fc.array(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/), { minLength: 1, maxLength: 3 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([labels, port]) => `${labels.join('.')}${port === undefined ? '' : `:${port}`}`);
const componentArb = fc
  .tuple(alnum(1, 6), fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), alnum(1, 6)), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([sep, part]) => sep + part).join(''));
const repositoryArb = fc.array(componentArb, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
const digestArb = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(128).map((h) => `sha512:${h}`),
  hex(96).map((h) => `sha384:${h}`),
);
const tagArb = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
const referenceArb: fc.Arbitrary<Reference> = fc.record({
  registry: registryArb,
  repository: repositoryArb,
  reference: fc.oneof(fc.constant(''), tagArb, digestArb),
});

const mediaTypeArb = fc.constantFrom(
  MediaType.ImageLayer,
  MediaType.ImageLayerGzip,
  MediaType.ImageConfig,
  MediaType.Empty,
  'application/vnd.acme.thing+json',
  'text/plain',
);
const annotationsArb = fc.option(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 20 })),
  {
    nil: undefined,
  },
);
const descriptorArb: fc.Arbitrary<Descriptor> = fc
  .record({
    mediaType: mediaTypeArb,
    digest: digestArb,
    size: fc.maxSafeNat(),
    annotations: annotationsArb,
    urls: fc.option(fc.array(fc.webUrl(), { maxLength: 2 }), { nil: undefined }),
    artifactType: fc.option(mediaTypeArb, { nil: undefined }),
    platform: fc.option(
      fc.record({ architecture: fc.constantFrom('amd64', 'arm64'), os: fc.constantFrom('linux', 'windows') }),
      { nil: undefined },
    ),
  })
  .map((d) => Object.fromEntries(Object.entries(d).filter(([, v]) => v !== undefined)) as unknown as Descriptor);
const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({
    config: descriptorArb,
    layers: fc.array(descriptorArb, { maxLength: 4 }),
    subject: fc.option(descriptorArb, { nil: undefined }),
    artifactType: fc.option(mediaTypeArb, { nil: undefined }),
    annotations: annotationsArb,
  })
  .map((m) => ({
    schemaVersion: 2 as const,
    mediaType: MediaType.ImageManifest,
    ...(Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as Omit<Manifest, 'schemaVersion'>),
  }));
const indexArb: fc.Arbitrary<Index> = fc
  .record({ manifests: fc.array(descriptorArb, { maxLength: 4 }), annotations: annotationsArb })
  .map((i) => ({
    schemaVersion: 2 as const,
    mediaType: MediaType.ImageIndex,
    manifests: i.manifests,
    ...(i.annotations ? { annotations: i.annotations } : {}),
  }));

// ---------------------------------------------------------------------------------------------

describe('the registry reference parser', () => {
  test('parse ∘ format is the identity on valid references', () => {
    fc.assert(
      fc.property(referenceArb, (ref) => {
        assert.deepEqual(parseReference(formatReference(ref)), { ...ref });
      }),
      Runs,
    );
  });

  test('arbitrary strings parse or fail with INVALID_REFERENCE, nothing else', () => {
    const near = fc
      .tuple(referenceArb, fc.array(fc.tuple(fc.nat(), fc.string({ maxLength: 3 })), { maxLength: 3 }))
      .map(([ref, edits]) => {
        let text = formatReference(ref);
        for (const [at, insert] of edits) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i);
        }
        return text;
      });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), near), (raw) => {
        try {
          const ref = parseReference(raw);
          // What parses must print back to something that parses to the same reference.
          assert.deepEqual(parseReference(formatReference(ref)), ref);
        } catch (error) {
          assert.equal(codeOf(error), 'INVALID_REFERENCE');
        }
      }),
      { ...Runs, numRuns: 1000 },
    );
  });
});

describe('OCI manifest and index codecs', () => {
  test('encodeManifest → parseNode → encodeManifest is stable', () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const bytes = encodeManifest(m);
        const node = parseNode(bytes, MediaType.ImageManifest, 'property');
        assert.equal(node.kind, 'manifest');
        if (node.kind === 'manifest') assert.deepEqual(encodeManifest(node.manifest), bytes);
      }),
      Runs,
    );
  });

  test('encodeIndex → parseNode → encodeIndex is stable', () => {
    fc.assert(
      fc.property(indexArb, (i) => {
        const bytes = encodeIndex(i);
        const node = parseNode(bytes, MediaType.ImageIndex, 'property');
        assert.equal(node.kind, 'index');
        if (node.kind === 'index') assert.deepEqual(encodeIndex(node.index), bytes);
      }),
      Runs,
    );
  });

  test('arbitrary JSON and bytes fail only with INVALID_MANIFEST or SIZE_EXCEEDS_LIMIT', () => {
    const jsonish = fc.oneof(
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      // a real manifest with one field replaced by anything
      fc
        .tuple(
          manifestArb,
          fc.constantFrom('config', 'layers', 'schemaVersion', 'subject', 'mediaType'),
          fc.jsonValue(),
        )
        .map(([m, key, value]) => {
          const doc = JSON.parse(Buffer.from(encodeManifest(m)).toString('utf8')) as Record<string, unknown>;
          doc[key] = value;
          return Buffer.from(JSON.stringify(doc));
        }),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
    );
    const types = fc.constantFrom(
      MediaType.ImageManifest,
      MediaType.ImageIndex,
      MediaType.DockerManifest,
      MediaType.ArtifactManifest,
    );
    fc.assert(
      fc.property(jsonish, types, (bytes, mediaType) => {
        try {
          parseNode(bytes, mediaType, 'property');
        } catch (error) {
          assert.ok(['INVALID_MANIFEST', 'SIZE_EXCEEDS_LIMIT'].includes(codeOf(error)), codeOf(error));
        }
      }),
      { ...Runs, numRuns: 1000 },
    );
  });
});

describe('the tar reader', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lading-prop-tar-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const valid = tarBytes(
    [
      { name: 'oci-layout', data: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'blobs/', type: '5' },
      { name: 'blobs/sha256/aa', data: 'x'.repeat(700) },
      { name: 'link', type: '2', linkname: 'blobs/sha256/aa' },
      { name: 'long', data: 'y', pax: { path: `deep/${'p'.repeat(150)}` } },
      { name: 'index.json', data: '{"schemaVersion":2,"manifests":[]}' },
    ],
    { abs: '/nonexistent' },
  );

  test('random mutations never crash, never read outside the file, fail only with stable codes', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat({ max: valid.length }), { nil: undefined }),
        async (edits, cut) => {
          const bytes = Buffer.from(valid);
          for (const [at, value] of edits) bytes[at] = value;
          const data = cut === undefined ? bytes : bytes.subarray(0, cut);
          const file = join(dir, `m${n++}.tar`);
          await writeFile(file, data);
          try {
            const tar = await TarFiles.open(file);
            for (const entry of tar.entries()) {
              assert.ok(
                entry.offset >= 0 && entry.offset + entry.size <= data.length,
                'an entry lies outside the file',
              );
              if (entry.type !== 'file') continue;
              const chunks: Buffer[] = [];
              for await (const c of await tar.open(entry.path)) chunks.push(c as Buffer);
              const got = Buffer.concat(chunks);
              assert.equal(got.length, entry.size);
              assert.ok(got.equals(data.subarray(entry.offset, entry.offset + entry.size)));
            }
            for (const path of ['oci-layout', 'index.json', 'blobs/sha256/aa', 'link', '../x']) {
              await tar.readSmall(path, 1 << 20).catch((error: unknown) => {
                assert.ok(['NOT_FOUND', 'UNSUPPORTED', 'PATH_TRAVERSAL'].includes(codeOf(error)), codeOf(error));
              });
            }
          } catch (error) {
            assert.ok(['INVALID_ARCHIVE', 'NOT_FOUND', 'UNSUPPORTED'].includes(codeOf(error)), codeOf(error));
          } finally {
            await rm(file, { force: true });
          }
        },
      ),
      Runs,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// component descriptors

const wordArb = fc.stringMatching(/^[a-z][a-z0-9]{1,10}$/);
const textArb = fc.string({ maxLength: 16 });
const labelValueArb = fc.oneof(
  textArb,
  fc.integer(),
  fc.boolean(),
  fc.dictionary(wordArb, fc.oneof(textArb, fc.integer()), { maxKeys: 3 }),
);
const labelsArb = fc.option(
  fc.uniqueArray(fc.record({ name: wordArb, value: labelValueArb }), {
    selector: (l) => l.name,
    minLength: 1,
    maxLength: 3,
  }),
  { nil: undefined },
);
const versionArb = fc
  .tuple(fc.nat(20), fc.nat(20), fc.nat(20), fc.option(wordArb, { nil: undefined }))
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`);
const extraArb = fc.option(fc.dictionary(wordArb, textArb, { minKeys: 1, maxKeys: 2 }), { nil: undefined });
const accessArb = fc.record({
  type: fc.constant('localBlob/v1'),
  localReference: digestArb,
  mediaType: mediaTypeArb,
  referenceName: fc.option(textArb, { nil: undefined }),
});
const digestSpecArb = fc.option(
  fc.record({
    hashAlgorithm: fc.constant('SHA-256'),
    normalisationAlgorithm: fc.constantFrom('genericBlobDigest/v1', 'ociArtifactDigest/v1'),
    value: hex(64),
  }),
  { nil: undefined },
);

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const descriptorModelArb: fc.Arbitrary<ComponentDescriptor> = fc
  .record({
    name: fc.tuple(wordArb, wordArb).map(([a, b]) => `acme.org/${a}/${b}`),
    version: versionArb,
    provider: wordArb,
    labels: labelsArb,
    resources: fc.uniqueArray(
      fc.record({
        name: wordArb,
        version: versionArb,
        type: fc.constantFrom('blob', 'ociImage', 'helmChart'),
        relation: fc.constantFrom('local', 'external'),
        labels: labelsArb,
        extraIdentity: extraArb,
        access: accessArb,
        digest: digestSpecArb,
      }),
      { selector: (r) => r.name, maxLength: 3 },
    ),
    sources: fc.uniqueArray(
      fc.record({ name: wordArb, version: versionArb, type: fc.constant('git'), access: accessArb }),
      { selector: (s) => s.name, maxLength: 2 },
    ),
    references: fc.uniqueArray(
      fc.record({ name: wordArb, version: versionArb, componentName: wordArb.map((w) => `acme.org/${w}`) }),
      { selector: (r) => r.name, maxLength: 2 },
    ),
  })
  .map(
    (d): ComponentDescriptor => ({
      meta: { schemaVersion: 'v2' },
      component: clean({
        name: d.name,
        version: d.version,
        provider: { name: d.provider },
        labels: d.labels,
        repositoryContexts: [],
        // `clean` drops the undefined optionals that exactOptionalPropertyTypes forbids.
        resources: d.resources.map((r) => clean({ ...r, access: clean(r.access) }) as unknown as Resource),
        sources: d.sources.map((s) => ({ ...s, access: clean(s.access) })),
        componentReferences: d.references,
      }) as unknown as ComponentDescriptor['component'],
    }),
  );

/** The same JSON with every object's members in another order. */
function shuffleKeys(value: unknown, rand: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rand));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).map(([k, v]) => [k, shuffleKeys(v, rand)] as const);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [entries[i], entries[j]] = [entries[j] as (typeof entries)[number], entries[i] as (typeof entries)[number]];
  }
  return Object.fromEntries(entries);
}

describe('the component descriptor codec', () => {
  test('decode ∘ encode round-trips, in JSON and in YAML', () => {
    fc.assert(
      fc.property(descriptorModelArb, (model) => {
        const json = encodeDescriptorJson(model);
        const back = decodeDescriptor(json, DescriptorMediaType.Json, 'property', { strict: true });
        assert.deepEqual(encodeDescriptorJson(back), json, 'JSON encoding is stable');
        const fromYaml = decodeDescriptor(encodeDescriptorYaml(model), DescriptorMediaType.Yaml, 'property', {
          strict: true,
        });
        assert.deepEqual(fromYaml, back, 'YAML reads back as JSON does');
        assert.deepEqual(decodeDescriptor(encodeDescriptorJson(back), DescriptorMediaType.Json, 'again'), back);
      }),
      { ...Runs, numRuns: 200 },
    );
  });

  test('normalisation does not depend on the order of object members', () => {
    fc.assert(
      fc.property(descriptorModelArb, fc.integer(), (model, seed) => {
        const json = Buffer.from(encodeDescriptorJson(model)).toString('utf8');
        let state = seed >>> 0 || 1;
        const rand = () => {
          state = (Math.imul(state, 1103515245) + 12345) >>> 0;
          return state / 2 ** 32;
        };
        const shuffled = JSON.stringify(shuffleKeys(JSON.parse(json), rand));
        const a = normalise(decodeDescriptor(Buffer.from(json), DescriptorMediaType.Json, 'a'));
        const b = normalise(decodeDescriptor(Buffer.from(shuffled), DescriptorMediaType.Json, 'b'));
        assert.equal(createHash('sha256').update(a).digest('hex'), createHash('sha256').update(b).digest('hex'));
      }),
      { ...Runs, numRuns: 200 },
    );
  });
});
