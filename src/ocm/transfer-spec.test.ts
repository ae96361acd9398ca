import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import type { ComponentDescriptor } from './descriptor/model.js';
import { absentList } from './descriptor/null-lists.js';
import { refuseComponentStore } from './repository/mapping.js';
import { buildTransferSpec, parseTransferSpec, runTransferSpec, transformationId } from './transfer-spec.js';

describe('transfer spec', () => {
  test('transformation IDs are upstream camel case of the sorted identity values', () => {
    // The example of upstream's identityToTransformationID.
    assert.equal(transformationId({ name: 'ocm.software/my-app', version: '1.0.0' }), 'transformOcmSoftwareMyApp100');
    // Keys sorted: architecture before name; empty words dropped.
    assert.equal(
      transformationId({ name: 'img', architecture: 'arm64', version: '1.0.0--x' }),
      'transformArm64Img100X',
    );
    // Upstream keeps the `+` of build metadata (and a name's `_`), then refuses the ID it made
    // (lower camel case: letters and digits); every other character splits a word here.
    assert.equal(
      transformationId({ name: 'acme.org/my_app', version: '1.0.0+build.1' }),
      'transformAcmeOrgMyApp100Build1',
    );
  });

  test('versions (and resources) whose IDs coincide get distinct ones; the spec reads back', () => {
    const version = (v: string): ComponentDescriptor => ({
      meta: { schemaVersion: 'v2' },
      component: {
        name: 'acme.org/a',
        version: v,
        provider: { name: 'acme.org' },
        repositoryContexts: absentList(),
        resources: ['r', 'r'].map((name, i) => ({
          name,
          version: v,
          type: 'blob',
          relation: 'local' as const,
          ...(i === 1 ? { extraIdentity: { x: '+' } } : { extraIdentity: { x: '-' } }),
          access: { type: 'LocalBlob/v1', localReference: `sha256:${'a'.repeat(64)}`, mediaType: 'text/plain' },
        })),
        sources: absentList(),
        componentReferences: absentList(),
      },
    });
    const ctf = (filePath: string) => ({
      kind: 'CommonTransportFormat' as const,
      type: 'CommonTransportFormat/v1',
      filePath,
    });
    const spec = buildTransferSpec(
      ['1.0.0-rc.1', '1.0.0-rc1', '1.0.0+build.1'].map((v) => ({ descriptor: version(v), source: ctf('./a') })),
      ctf('./b'),
    );
    assert.deepEqual(Object.keys(spec.environment), [
      'transformAcmeOrgA100Rc1',
      'transformAcmeOrgA100Rc1N2',
      'transformAcmeOrgA100Build1',
    ]);
    const ids = spec.transformations.map((t) => t.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(ids.includes('transformAcmeOrgA100Rc1N2GettransformR100Rc1N2'), ids.join(' '));
    for (const id of ids) assert.match(id, /^[a-z][A-Za-z0-9]*$/);
    // What --dry-run prints, --transfer-spec takes.
    assert.equal(parseTransferSpec(JSON.parse(JSON.stringify(spec)), 'f.yaml').transformations.length, ids.length);
  });

  test('a minimal spec parses; its problems name the field', () => {
    const good = {
      transformations: [{ type: 'FileCleanup/v1alpha1', id: 'cleanup', spec: { files: [] } }],
    };
    assert.deepEqual(parseTransferSpec(good, 'f.yaml').transformations[0]?.id, 'cleanup');
    const cases: [unknown, RegExp][] = [
      [{ transformations: [] }, /^f\.yaml: transformations: must be a non-empty list/],
      [
        { transformations: [{ type: 'FileCleanup/v1alpha1', id: 'c', spec: {} }] },
        /transformations\[0\]\.spec\.files: is required/,
      ],
      [
        {
          transformations: [
            { type: 'FileCleanup/v1alpha1', id: 'c', spec: { files: [] } },
            { type: 'FileCleanup/v1alpha1', id: 'c', spec: { files: [] } },
          ],
        },
        /transformations\[1\]\.id: "c" is used twice/,
      ],
      [
        { transformations: [{ type: 'FileCleanup/v1alpha1', id: 'c', spec: { files: ['${c.spec.files}'] } }] },
        /refers to its own transformation/,
      ],
      [
        { transformations: [{ type: 'FileCleanup/v1alpha1', id: 'environment', spec: { files: [] } }] },
        /"environment" is reserved/,
      ],
      [
        { transformations: [{ type: 'FileCleanup/v1alpha1', id: '__proto__', spec: { files: [] } }] },
        /"__proto__" is reserved/,
      ],
      [
        {
          transformations: [{ type: 'OCIAddLocalResource/v1alpha1', id: 'a', spec: { globalAccessPolicy: 'always' } }],
        },
        /globalAccessPolicy|is required/,
      ],
    ];
    for (const [doc, pattern] of cases) {
      assert.throws(
        () => parseTransferSpec(doc, 'f.yaml'),
        (e: unknown) => isLadingError(e, 'INVALID_ARGUMENT') && pattern.test((e as Error).message),
      );
    }
  });

  test('a cycle of references is refused before anything is opened; deep nesting is refused', async () => {
    const spec = parseTransferSpec(
      {
        transformations: [
          { type: 'FileCleanup/v1alpha1', id: 'a', spec: { files: ['${b.spec.files}'] } },
          { type: 'FileCleanup/v1alpha1', id: 'b', spec: { files: ['${a.spec.files}'] } },
        ],
      },
      'f.yaml',
    );
    await assert.rejects(
      runTransferSpec(spec, 'f.yaml', {
        open: () => {
          throw new Error('opened');
        },
      }),
      /f\.yaml: transformations\[0\] \(a\): its references form a cycle/,
    );
    let deep: unknown = {};
    for (let i = 0; i < 5000; i++) deep = { x: deep };
    assert.throws(
      () => parseTransferSpec({ environment: deep, transformations: [] }, 'f.yaml'),
      /f\.yaml: nested deeper than 1000 levels/,
    );
    assert.throws(() => parseTransferSpec(JSON.parse('{"__proto__": {}}'), 'f.yaml'), /__proto__/);
  });

  // The old regex backtracked in cubic time: 3,000 spaces took ~8 s, so 100,000 would take days;
  // the linear splitter reads them in milliseconds. The timeout is a hang guard, not a measurement.
  test('a has() expression is split in linear time (a long run of spaces cannot hold the CPU)', {
    timeout: 120_000,
  }, () => {
    const expr = `\${has(a.spec.files) ?${' '.repeat(100_000)}x}`;
    const spec = parseTransferSpec(
      {
        transformations: [
          { type: 'FileCleanup/v1alpha1', id: 'a', spec: { files: [] } },
          {
            type: 'FileCleanup/v1alpha1',
            id: 'b',
            spec: { files: [expr, '${has(a.spec.files) ? a.spec.files : []}'] },
          },
        ],
      },
      'f.yaml',
    );
    assert.equal(spec.transformations.length, 2);
  });

  test('expressions that copy values over and over are bounded: a spec cannot multiply the work', async () => {
    // Before the run-time list check, a chain of FileCleanup nodes whose `files` was an object
    // copied each node twice over; `files` must now be a list of file outputs, so the expansion is
    // shown with one node that copies a 1,000-value environment entry 2,000 times.
    const big = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 'v']));
    const spec = parseTransferSpec(
      {
        environment: { big },
        transformations: [
          { type: 'FileCleanup/v1alpha1', id: 'c', spec: { files: Array(2000).fill('${environment.big}') } },
        ],
      },
      'f.yaml',
    );
    await assert.rejects(
      runTransferSpec(spec, 'f.yaml', {
        open: () => {
          throw new Error('opened');
        },
      }),
      (e: unknown) =>
        isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /f\.yaml: transformations\[0\]/.test((e as Error).message),
    );
  });

  test('a non-list where a list is expected, and unknown or non-string repository fields, are one error naming the field', async () => {
    const at = (spec: Record<string, unknown>, type = 'CTFGetComponentVersion/v1alpha1') => ({
      transformations: [{ type, id: 'n', spec }],
    });
    const ctf = { type: 'CommonTransportFormat/v1', filePath: './ctf' };
    const oci = { type: 'OCIRepository/v1', baseUrl: 'http://localhost:5000' };
    const cv = { component: 'acme.org/a', version: '1.0.0' };
    const cases: [unknown, RegExp][] = [
      [
        at({ files: 'x' }, 'FileCleanup/v1alpha1'),
        /^f\.yaml: transformations\[0\]\.spec\.files: must be a list, got a string$/,
      ],
      [
        at({ files: { a: 1 } }, 'FileCleanup/v1alpha1'),
        /transformations\[0\]\.spec\.files: must be a list, got an object$/,
      ],
      [
        at({ ...cv, repository: { ...ctf, filepath: './other' } }),
        /^f\.yaml: transformations\[0\]\.spec\.repository\.filepath: unknown field for a CommonTransportFormat repository \(allowed: type, filePath, accessMode\)$/,
      ],
      [
        at({ ...cv, repository: { ...oci, insecure: true } }, 'OCIGetComponentVersion/v1alpha1'),
        /transformations\[0\]\.spec\.repository\.insecure: unknown field for a OCIRepository repository \(allowed: type, baseUrl, subPath\)$/,
      ],
      [
        at({ ...cv, repository: { ...oci, subPath: 3 } }, 'OCIGetComponentVersion/v1alpha1'),
        /repository\.subPath: must be a string$/,
      ],
      [at({ ...cv, repository: ['x'] }), /transformations\[0\]\.spec\.repository: must be an object, got a list$/],
      // A type the message cannot quote whole is cut.
      [
        { transformations: [{ type: 'x'.repeat(70_000), id: 'n', spec: {} }] },
        /unknown transformation type "x{80}…" \(70000 characters\) \(known: /,
      ],
      // YAML's .nan: no JSON holds it; refused with its place before anything runs.
      [
        {
          environment: { e: { ratio: Number.NaN } },
          transformations: [{ type: 'FileCleanup/v1alpha1', id: 'c', spec: {} }],
        },
        /^f\.yaml: environment\.e\.ratio: not a number JSON can hold/,
      ],
      // A spec left out is said to be missing in words (not `a undefined`).
      [
        { transformations: [{ type: 'CTFGetComponentVersion/v1alpha1', id: 'n' }] },
        /\.spec: must be an object, got nothing$/,
      ],
    ];
    for (const [doc, pattern] of cases) {
      assert.throws(
        () => parseTransferSpec(doc, 'f.yaml'),
        (e: unknown) => isLadingError(e, 'INVALID_ARGUMENT') && pattern.test((e as Error).message),
        pattern.source,
      );
    }
    // The upstream fields pass, a `${…}` for a whole value is decided when it runs; there a
    // non-list or an unknown field is refused before anything is opened.
    parseTransferSpec(at({ ...cv, repository: { ...ctf, accessMode: 'readwrite|create' } }), 'f.yaml');
    const late = parseTransferSpec(
      {
        environment: { r: { ...ctf, filepath: './other' }, f: 'x' },
        transformations: [
          { type: 'FileCleanup/v1alpha1', id: 'c', spec: { files: '${environment.f}' } },
          { type: 'CTFGetComponentVersion/v1alpha1', id: 'g', spec: { ...cv, repository: '${environment.r}' } },
        ],
      },
      'f.yaml',
    );
    const never = {
      open: () => {
        throw new Error('opened');
      },
    };
    const onlyFiles = parseTransferSpec({ ...late, transformations: [late.transformations[0]] }, 'f.yaml');
    await assert.rejects(
      runTransferSpec(onlyFiles, 'f.yaml', never),
      /^LadingError: f\.yaml: transformations\[0\]\.spec\.files: must be a list, got a string$/,
    );
    const onlyRepository = parseTransferSpec({ ...late, transformations: [late.transformations[1]] }, 'f.yaml');
    await assert.rejects(
      runTransferSpec(onlyRepository, 'f.yaml', never),
      /^LadingError: f\.yaml: transformations\[0\]\.spec\.repository\.filepath: unknown field/,
    );
  });

  test('the spec keeps creationTime (upstream drops it and breaks signatures) and signatures', () => {
    const descriptor: ComponentDescriptor = {
      meta: { schemaVersion: 'v2' },
      component: {
        name: 'acme.org/a',
        version: '1.0.0',
        creationTime: '2026-01-01T00:00:00Z',
        provider: { name: 'acme.org' },
        repositoryContexts: absentList(),
        resources: [
          {
            name: 'r',
            version: '1.0.0',
            type: 'blob',
            relation: 'local',
            access: { type: 'LocalBlob/v1', localReference: `sha256:${'a'.repeat(64)}`, mediaType: 'text/plain' },
          },
        ],
        sources: absentList(),
        componentReferences: absentList(),
      },
      signatures: [
        {
          name: 's',
          digest: {
            hashAlgorithm: 'SHA-256',
            normalisationAlgorithm: 'jsonNormalisation/v4alpha1',
            value: 'b'.repeat(64),
          },
          signature: { algorithm: 'RSASSA-PSS', value: 'c', mediaType: 'application/vnd.ocm.signature.rsa' },
        },
      ],
    };
    const spec = buildTransferSpec(
      [{ descriptor, source: { kind: 'CommonTransportFormat', type: 'CommonTransportFormat/v1', filePath: './a' } }],
      { kind: 'CommonTransportFormat', type: 'CommonTransportFormat/v1', filePath: './b' },
    );
    const upload = spec.transformations.find((t) => t.id === 'transformAcmeOrgA100Upload');
    const d = upload?.spec.descriptor as { component: Record<string, unknown>; signatures: string };
    assert.equal(d.component.creationTime, '${environment.transformAcmeOrgA100.component.creationTime}');
    assert.equal(d.signatures, '${environment.transformAcmeOrgA100.signatures}');
  });
});

describe('standalone artifacts stay out of component versions', () => {
  test('refuseComponentStore: a component-descriptors path component, with or without scheme, tag or digest', () => {
    for (const bad of [
      'http://host:5000/a/component-descriptors/acme.org/x:1.0.0',
      `host/component-descriptors/x@sha256:${'a'.repeat(64)}`,
      'host/sub/component-descriptors',
      'host/sub/component-descriptors:1.0',
    ]) {
      assert.throws(
        () => refuseComponentStore(bad, 'where'),
        (e) =>
          isLadingError(e, 'INVALID_DESCRIPTOR') &&
          /^where: .* lies where an OCM repository keeps component versions/.test(e.message),
        bad,
      );
    }
    for (const good of [
      'host/component-descriptors-x/y:1',
      'host/a/b:component-descriptors',
      'component-descriptors.example.com/a:1',
    ]) {
      refuseComponentStore(good, 'where');
    }
  });
});
