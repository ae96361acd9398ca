import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { readAll } from '../src/content/index.js';
import { isLadingError } from '../src/oci/index.js';
import {
  assembleDescriptor,
  type ConstructorComponent,
  DescriptorMediaType,
  decodeDescriptor,
  encodeDescriptorJson,
  encodeDescriptorYaml,
  type InputBlob,
  type InputResult,
  localBlobAccess,
  parseConstructor,
  runElementInput,
} from '../src/ocm/index.js';

const vectors = new URL('./fixtures/upstream/ocm/', import.meta.url);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'lading-ocm-constructor-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

async function bytesOf(blob: InputBlob): Promise<Buffer> {
  return readAll(await blob.open(), 1 << 30);
}

/** Runs every input of a component and records the local-blob access upstream would write. */
async function construct(
  component: ConstructorComponent,
  workingDirectory: string,
): Promise<{ blobs: Map<string, Buffer>; resources: Map<number, InputResult> }> {
  const blobs = new Map<string, Buffer>();
  const resources = new Map<number, InputResult>();
  for (const [i, r] of (component.resources ?? []).entries()) {
    if (!r.input) continue;
    const blob = await runElementInput(r, { workingDirectory, tempDir: work });
    const bytes = await bytesOf(blob);
    blobs.set(r.name, bytes);
    resources.set(i, {
      access: localBlobAccess({
        localReference: blob.digest as string,
        mediaType: blob.mediaType || 'application/octet-stream',
      }),
      blobDigest: blob.digest as string,
    });
    await blob.dispose?.();
  }
  return { blobs, resources };
}

describe('constructor → descriptor, against upstream vectors', () => {
  it('examples-01 (File/v1 input, sniffed media type) gives the descriptor upstream asserts, byte for byte', async () => {
    const dir = join(work, 'examples-01');
    mkdirSync(dir);
    const source = readFileSync(
      new URL('extracted/cli-add-cv-file-input-examples-01/component-constructor.yaml', vectors),
    );
    writeFileSync(
      join(dir, 'test-file.txt'),
      readFileSync(new URL('extracted/cli-add-cv-file-input-examples-01/test-file.txt', vectors)),
    );
    const ctor = parseConstructor(source, { env: {} });
    const component = ctor.components[0] as ConstructorComponent;
    const { resources } = await construct(component, dir);
    const desc = assembleDescriptor(component, { resources });
    const expectedYaml = readFileSync(new URL('extracted/cli-add-cv-file-input-examples-01/descriptor.yaml', vectors));
    assert.equal(Buffer.from(encodeDescriptorYaml(desc)).toString(), expectedYaml.toString());
    assert.match(sha256(encodeDescriptorJson(desc)), /^f91fd3ee/);
    assert.deepEqual(desc, decodeDescriptor(expectedYaml, DescriptorMediaType.Yaml, 'expected'));
  });

  it('CTF compatibility/01 (utf8 text input) yields the blob stored in the archive', async () => {
    const ctor = parseConstructor(
      readFileSync(new URL('bindings/go/ctf/testdata/compatibility/01/component-constructor.yaml', vectors)),
      {
        env: {},
      },
    );
    const component = ctor.components[0] as ConstructorComponent;
    assert.equal(component.name, 'github.com/acme.org/helloworld');
    const resource = component.resources?.[0];
    assert.equal(resource?.inputType, 'UTF8/v1');
    assert.equal(resource?.version, '6.7.1');
    assert.equal(resource?.relation, 'local');
    const { blobs } = await construct(component, work);
    assert.equal(
      sha256(blobs.get('resource') as Buffer),
      '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    );
  });

  it('CTF compatibility/02 (ociArtifact access) keeps the access as written and defaults the relation to external', () => {
    const ctor = parseConstructor(
      readFileSync(new URL('bindings/go/ctf/testdata/compatibility/02/component-constructor.yaml', vectors)),
      {
        env: {},
      },
    );
    const desc = assembleDescriptor(ctor.components[0] as ConstructorComponent);
    const resource = desc.component.resources?.[0];
    assert.deepEqual(resource?.access, {
      type: 'ociArtifact',
      imageReference: 'ghcr.io/jakobmoellerdev/podinfo/podinfo:6.7.1',
    });
    assert.equal(resource?.relation, 'external');
    assert.equal(resource?.digest, undefined);
    assert.deepEqual(desc.component.sources, []);
    assert.match(
      Buffer.from(encodeDescriptorJson(desc)).toString(),
      /"repositoryContexts":null,.*"sources":null/,
      'lists the constructor does not have are stored as null, as upstream stores them',
    );
  });

  it('the referenced-component vector parses as a single component with a defaulted version', () => {
    const ctor = parseConstructor(
      readFileSync(new URL('extracted/cli-add-cv-reference-digest/referenced-constructor.yaml', vectors)),
      {
        env: {},
      },
    );
    assert.equal(ctor.components.length, 1);
    assert.equal(ctor.components[0]?.resources?.[0]?.version, '1.0.0');
  });
});

describe('seed "Input and Access Types" examples', () => {
  const header = 'name: acme.org/seed\nversion: 1.0.0\nprovider:\n  name: acme.org\n';

  it('Dir/v1 with compress and reproducible', async () => {
    const dir = join(work, 'dir-seed');
    mkdirSync(join(dir, 'deploy'), { recursive: true });
    writeFileSync(join(dir, 'deploy/app.yaml'), 'kind: Deployment\n');
    const ctor = parseConstructor(
      `${header}resources:\n- name: deploy-manifests\n  type: blob\n  input:\n    type: Dir/v1\n    path: ./deploy\n    compress: true\n    reproducible: true\n`,
      { env: {} },
    );
    const r = ctor.components[0]?.resources?.[0];
    assert.ok(r);
    const blob = await runElementInput(r, { workingDirectory: dir, tempDir: work });
    assert.equal(blob.mediaType, 'application/x-tar+gzip');
    const tar = gunzipSync(await bytesOf(blob));
    assert.equal(tar.subarray(0, 3).toString(), './\0');
    await blob.dispose?.();
  });

  it('File/v1 with a media type, and file/v1 with the OCI layout media type', async () => {
    const dir = join(work, 'file-seed');
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.yaml'), 'a: 1\n');
    writeFileSync(
      join(dir, 'oci-artifact.tar'),
      readFileSync(new URL('bindings/go/oci/transformer/testdata/oci-layout.tar.gz', vectors)),
    );
    const ctor = parseConstructor(
      `${header}resources:\n- name: config\n  type: blob\n  input:\n    type: File/v1\n    path: ./config.yaml\n    mediaType: application/yaml\n` +
        `- name: my-oci-artifact\n  type: ociArtifact\n  input:\n    type: file/v1\n    path: ./oci-artifact.tar\n    mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n`,
      { env: {} },
    );
    const [config, layout] = ctor.components[0]?.resources ?? [];
    assert.ok(config && layout);
    assert.equal((await runElementInput(config, { workingDirectory: dir })).mediaType, 'application/yaml');
    assert.equal(
      (await runElementInput(layout, { workingDirectory: dir })).mediaType,
      'application/vnd.ocm.software.oci.layout.v1+tar',
    );
  });

  it('Helm/v1 local chart with repository; the seed remote charts parse to an http and an oci location', async () => {
    const dir = join(work, 'helm-seed');
    mkdirSync(join(dir, 'charts/myapp/templates'), { recursive: true });
    writeFileSync(join(dir, 'charts/myapp/Chart.yaml'), 'apiVersion: v2\nname: myapp\nversion: 1.0.0\n');
    writeFileSync(join(dir, 'charts/myapp/templates/cm.yaml'), 'kind: ConfigMap\n');
    const ctor = parseConstructor(
      `${header}resources:\n- name: my-chart\n  type: helmChart\n  input:\n    type: Helm/v1\n    path: ./charts/myapp\n    repository: charts/myapp:1.0.0\n` +
        `- name: ingress-chart\n  type: helmChart\n  input:\n    type: Helm/v1\n    helmRepository: https://github.com/kubernetes/ingress-nginx/releases/download/helm-chart-4.14.0/ingress-nginx-4.14.0.tgz\n` +
        `- name: podinfo-chart\n  type: helmChart\n  input:\n    type: Helm/v1\n    helmRepository: oci://ghcr.io/stefanprodan/charts/podinfo:6.9.1\n    repository: charts/podinfo:6.9.1\n`,
      { env: {} },
    );
    const [local, http, oci] = ctor.components[0]?.resources ?? [];
    assert.ok(local && http && oci);
    const blob = await runElementInput(local, { workingDirectory: dir });
    assert.equal(blob.mediaType, 'application/vnd.ocm.software.oci.layout.v1+tar+gzip');
    // Downloading them needs the internet; the download itself is tested against local servers
    // in test/ocm-helm.test.ts.
    const { parseHelmRepository } = await import('../src/ocm/input/helm-remote.js');
    assert.equal(parseHelmRepository(String(http.input?.helmRepository)).kind, 'url');
    assert.equal(parseHelmRepository(String(oci.input?.helmRepository)).kind, 'oci');
  });

  it('UTF8/v1 json', async () => {
    const ctor = parseConstructor(
      `${header}resources:\n- name: config-data\n  type: blob\n  input:\n    type: UTF8/v1\n    json:\n      replicas: 3\n      env: production\n`,
      { env: {} },
    );
    const r = ctor.components[0]?.resources?.[0];
    assert.ok(r);
    const blob = await runElementInput(r, { workingDirectory: work });
    assert.equal((await bytesOf(blob)).toString(), '{"env":"production","replicas":3}');
  });

  it('access types keep their fields; versions and relations as written', () => {
    const ctor = parseConstructor(
      `${header}resources:
- name: app-image
  type: ociImage
  version: 1.0.0
  relation: external
  access:
    type: OCIImage/v1
    imageReference: ghcr.io/acme/myapp:1.0.0
- name: data
  type: blob
  version: 1.0.0
  relation: local
  access:
    type: LocalBlob/v1
    localReference: sha256:57563cb4a3e5c06a22c95aaa445
    mediaType: application/octet-stream
- name: layer-data
  type: blob
  version: 1.0.0
  relation: external
  access:
    type: OCIImageLayer/v1
    ref: ghcr.io/acme/myapp
    digest: sha256:abc123
    size: 1048576
    mediaType: application/octet-stream
- name: mariadb-chart
  type: helmChart
  version: 12.2.7
  relation: external
  access:
    type: Helm/v1
    helmChart: mariadb:12.2.7
    helmRepository: https://charts.bitnami.com/bitnami
- name: readme
  type: blob
  version: 1.0.0
  relation: external
  access:
    type: File/v1alpha1
    uri: file:///path/to/readme.md
    mediaType: text/markdown
`,
      { env: {} },
    );
    const desc = assembleDescriptor(ctor.components[0] as ConstructorComponent);
    const access = desc.component.resources?.map((r) => r.access) ?? [];
    assert.deepEqual(
      access.map((a) => a.type),
      ['OCIImage/v1', 'LocalBlob/v1', 'OCIImageLayer/v1', 'Helm/v1', 'File/v1alpha1'],
    );
    assert.equal(access[2]?.size, 1048576);
    assert.deepEqual(
      desc.component.resources?.map((r) => r.relation),
      ['external', 'local', 'external', 'external', 'external'],
    );
  });
});

describe('constructor semantics', () => {
  it('a constructor built in code with one component version twice is refused before anything is stored', async () => {
    const ocm = await import('../src/ocm/api.js');
    const one = parseConstructor(
      'components:\n- name: acme.org/twice\n  version: 1.0.0\n  provider: {name: first}\n- name: acme.org/twice\n  version: 1.0.1\n  provider: {name: second}\n',
      { env: {} },
    );
    const [first, second] = one.components;
    assert.ok(first && second);
    const ctor = { ...one, components: [first, { ...second, version: '1.0.0' }] };
    const repo = await ocm.openComponentRepository(join(work, 'twice-ctf'), { mode: 'create' });
    await assert.rejects(
      ocm.constructComponentVersions(ctor, repo.repository, { workingDirectory: work }),
      (e) =>
        isLadingError(e, 'DUPLICATE_IDENTITY') &&
        (e as Error).message ===
          'component-constructor.yaml:5: components[1]: duplicate component version acme.org/twice:1.0.0: component-constructor.yaml:2: components[0] has the same name and version',
    );
    assert.equal(await repo.repository.hasComponentVersion('acme.org/twice', '1.0.0'), false);
    await repo.close();
  });

  it("an access resource without version (seed 001's examples) gets the component's version, with a warning", () => {
    const ctor = parseConstructor(
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  access: {type: ociArtifact, imageReference: x}\n- name: r2\n  type: blob\n  version: 2.0.0\n  access: {type: ociArtifact, imageReference: "y"}\n',
      { env: {} },
    );
    assert.deepEqual(
      ctor.components[0]?.resources?.map((r) => r.version),
      ['1.0.0', '2.0.0'],
    );
    assert.deepEqual(ctor.warnings, [
      `component-constructor.yaml:5: resources[0]: resource "r1" given by access has no version; using the component's version 1.0.0 (upstream's schema requires one)`,
    ]);
  });

  it('reads both the single and the components: form, with environment expansion and YAML 1.1 booleans', () => {
    const text =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: constructor text with ${...} variables
      'components:\n- name: acme.org/${NAME}\n  version: $VERSION\n  provider:\n    name: acme\n  resources:\n  - name: r1\n    type: blob\n    input: {type: utf8, text: x, compress: yes}\n- name: acme.org/two\n  version: 2.0.0\n  provider: {name: acme}\n';
    const ctor = parseConstructor(text, { env: { NAME: 'one', VERSION: '1.2.3' } });
    assert.deepEqual(
      ctor.components.map((c) => `${c.name}:${c.version}`),
      ['acme.org/one:1.2.3', 'acme.org/two:2.0.0'],
    );
    assert.equal(ctor.components[0]?.resources?.[0]?.input?.compress, true);
    assert.equal(ctor.components[0]?.resources?.[0]?.location.line, 7);
  });

  it('converts labels and providers as upstream: label version dropped, provider labels → JSON provider', () => {
    const ctor = parseConstructor(
      'name: acme.org/x\nversion: 1.0.0\nprovider:\n  name: acme\n  labels:\n  - {name: team, value: {b: 2, a: 1}}\nlabels:\n- {name: l, value: v, version: v1, signing: true}\ncreationTime: "2024-01-01T00:00:00Z"\nsources:\n- name: src\n  type: git\n  access: {type: gitHub, repoUrl: github.com/acme/x}\n- name: src2\n  type: blob\n  input: {type: utf8, text: s}\ncomponentReferences: []\n',
      { env: {} },
    );
    const component = ctor.components[0] as ConstructorComponent;
    const desc = assembleDescriptor(component, {
      sources: new Map([[1, { access: localBlobAccess({ localReference: 'sha256:00', mediaType: '' }) }]]),
    });
    assert.deepEqual(desc.component.labels, [{ name: 'l', value: 'v', signing: true }]);
    assert.equal(desc.component.creationTime, '2024-01-01T00:00:00Z');
    assert.deepEqual(desc.component.componentReferences, []);
    assert.equal(desc.component.sources?.[0]?.version, '', 'access sources keep their (empty) version');
    assert.equal(desc.component.sources?.[1]?.version, '1.0.0', 'input sources get the component version');
    const json = Buffer.from(encodeDescriptorJson(desc)).toString();
    // what is stored is read back, the empty source version included (as upstream reads it)
    const back = decodeDescriptor(Buffer.from(json), DescriptorMediaType.Json, 'stored');
    assert.equal(back.component.sources?.[0]?.version, '');
    assert.ok(
      json.includes(
        '"provider":"{\\"name\\":\\"acme\\",\\"labels\\":[{\\"name\\":\\"team\\",\\"value\\":{\\"a\\":1,\\"b\\":2}}]}"',
      ),
      json,
    );
  });

  it('checks a given reference digest against the computed one', () => {
    const ctor = parseConstructor(
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\ncomponentReferences:\n- name: ref\n  componentName: acme.org/y\n  version: 1.0.0\n  digest: {hashAlgorithm: SHA-256, normalisationAlgorithm: jsonNormalisation/v4alpha1, value: aa}\n',
      { env: {} },
    );
    const component = ctor.components[0] as ConstructorComponent;
    const computed = { hashAlgorithm: 'SHA-256', normalisationAlgorithm: 'jsonNormalisation/v4alpha1', value: 'bb' };
    assert.throws(
      () => assembleDescriptor(component, { referenceDigests: new Map([[0, computed]]) }),
      (e) =>
        isLadingError(e, 'DIGEST_MISMATCH') &&
        /^component-constructor\.yaml:5: componentReferences\[0\]: digest mismatch/.test((e as Error).message),
    );
  });

  it('warns about unknown input fields, which upstream ignores', () => {
    const ctor = parseConstructor(
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  input:\n    type: utf8\n    text: x\n    txet: y\n',
      {
        env: {},
      },
    );
    assert.deepEqual(ctor.warnings, [
      'component-constructor.yaml:10: resources[0].input.txet: unknown field "txet" (ignored, as upstream does)',
    ]);
  });
});

describe('bad constructors: one clear error with file:line and path', () => {
  const file = 'component-constructor.yaml';
  const accessHead =
    'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  version: 1.0.0\n';
  const cases: [string, string, string, RegExp][] = [
    [
      'unknown input type',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  input:\n    type: docker/v1\n    path: x\n',
      'UNKNOWN_TYPE',
      /^component-constructor\.yaml:8: resources\[0\]\.input\.type: unknown input type "docker\/v1"/,
    ],
    [
      'duplicate identity',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  input: {type: utf8, text: a}\n- name: r1\n  version: 1.0.0\n  type: blob\n  input: {type: utf8, text: b}\n',
      'DUPLICATE_IDENTITY',
      /^component-constructor\.yaml:8: resources\[1\]: duplicate identity "name=r1,version=1\.0\.0": resources\[0\] \(line 5\) has the same identity$/,
    ],
    [
      'access and input together',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  access: {type: ociArtifact, imageReference: x}\n  input: {type: utf8, text: a}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:5: resources\[0\]: only one of access or input may be set, but both are present$/,
    ],
    [
      'a misspelt input',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  inptu: {type: utf8, text: a}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:5: resources\[0\]: either access or input must be set \(did you mean "input" for "inptu"\?\)$/,
    ],
    [
      'neither access nor input',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:5: resources\[0\]: either access or input must be set$/,
    ],
    [
      'a version that is not semver',
      'name: acme.org/x\nversion: one.two\nprovider: {name: acme}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:2: version: must be a semantic version such as 1\.0\.0 or v1\.2\.3-rc\.1$/,
    ],
    [
      'bad component name',
      'name: Acme/X\nversion: 1.0.0\nprovider: {name: acme}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:1: name: must be a lower-case component name: a DNS domain and a path, such as acme\.org\/my-component$/,
    ],
    [
      'version as a number',
      'components:\n- name: acme.org/x\n  version: 1.0\n  provider: {name: acme}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:3: components\[0\]\.version: must be string \(the YAML value 1\.0 is read as a number; quote it: "1\.0"\)$/,
    ],
    [
      'wrong input field type',
      'components:\n  - name: acme.org/x\n    version: 1.0.0\n    provider:\n      name: acme\n    resources:\n      - name: one\n        type: blob\n        input: {type: utf8, text: a}\n      - name: two\n        type: blob\n        input: {type: utf8, text: b}\n      - name: three\n        type: blob\n        input:\n          type: File/v1\n          path: 5\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:17: components\[0\]\.resources\[2\]\.input\.path: must be string/,
    ],
    [
      'relation external on an input',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  relation: external\n  input: {type: utf8, text: a}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:7: resources\[0\]\.relation: must be "local"$/,
    ],
    [
      'provider without a name',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {labels: []}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:3: provider: provider name is empty$/,
    ],
    [
      'unknown field',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nrepositoryContexts: []\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:4: repositoryContexts: unknown field "repositoryContexts"$/,
    ],
    [
      'OCIImage access: imageReference not a string',
      `${accessHead}  access: {type: OCIImage/v1, imageReference: 5}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:8: resources\[0\]\.access\.imageReference: must be string for access type OCIImage\/v1 \(the YAML value 5 is read as a number; quote it: "5"\)$/,
    ],
    [
      'OCIImage access without imageReference',
      `${accessHead}  access:\n    type: OCIImage/v1\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:9: resources\[0\]\.access\.imageReference: is required for access type OCIImage\/v1$/,
    ],
    [
      'ociArtifact (an alias) with an empty imageReference',
      `${accessHead}  access: {type: ociArtifact, imageReference: ""}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:8: resources\[0\]\.access\.imageReference: must not be empty$/,
    ],
    [
      'Helm access: helmRepository not a string',
      `${accessHead}  access:\n    type: Helm/v1\n    helmChart: mariadb:12.2.7\n    helmRepository: 7\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:11: resources\[0\]\.access\.helmRepository: must be string for access type Helm\/v1 /,
    ],
    [
      'Helm access without helmChart',
      `${accessHead}  access: {type: helm, helmRepository: https://charts.example.org}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:8: resources\[0\]\.access\.helmChart: is required for access type Helm\/v1$/,
    ],
    [
      'OCIImageLayer access: size not an integer',
      `${accessHead}  access: {type: OCIImageLayer/v1, ref: ghcr.io/acme/x, digest: "sha256:${'a'.repeat(64)}", size: 1.5}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:8: resources\[0\]\.access\.size: must be integer for access type OCIImageLayer\/v1$/,
    ],
    [
      'LocalBlob access without localReference',
      `${accessHead}  access: {type: localBlob, mediaType: ""}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:8: resources\[0\]\.access\.localReference: is required for access type LocalBlob\/v1$/,
    ],
    [
      'LocalBlob access without mediaType',
      `${accessHead}  access: {type: LocalBlob/v1, localReference: "sha256:${'a'.repeat(64)}"}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:8: resources\[0\]\.access\.mediaType: is required for access type LocalBlob\/v1$/,
    ],
    [
      'File access with uri as a list',
      `${accessHead}  access:\n    type: File/v1alpha1\n    uri: [file:///a]\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:10: resources\[0\]\.access\.uri: must be string for access type File\/v1alpha1$/,
    ],
    [
      'Wget access of a source: a header that is not a list',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nsources:\n- name: s1\n  type: blob\n  access:\n    type: wget\n    url: https://example.org/x\n    header: {Accept: text/plain}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:10: sources\[0\]\.access\.header\.Accept: must be a list of strings$/,
    ],
    [
      'one component version twice in a components list: both lines named',
      'components:\n- name: acme.org/x\n  version: 1.0.0\n  provider: {name: acme}\n- name: acme.org/y\n  version: 1.0.0\n  provider: {name: acme}\n- name: acme.org/x\n  version: 1.0.0\n  provider: {name: other}\n',
      'DUPLICATE_IDENTITY',
      /^component-constructor\.yaml:8: components\[2\]: duplicate component version acme\.org\/x:1\.0\.0: components\[0\] \(line 2\) has the same name and version$/,
    ],
    [
      'a key named __proto__ in a label value (the descriptor could not be read back)',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nlabels:\n- name: ok\n  value:\n    a: [{b: 1}, {__proto__: {polluted: true}}]\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:7: labels\[0\]\.value\.a\[1\]\.__proto__: a key named "__proto__" is not accepted$/,
    ],
    [
      'a key named __proto__ in an extra identity',
      `${accessHead}  extraIdentity:\n    os: linux\n    __proto__: x\n  access: {type: OCIImage/v1, imageReference: ghcr.io/acme/x:1}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:10: resources\[0\]\.extraIdentity\.__proto__: a key named "__proto__" is not accepted$/,
    ],
    [
      'a version too long for an OCI tag',
      `name: acme.org/x\nversion: 1.0.0-${'a'.repeat(120)}+build\nprovider: {name: acme}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:2: version: too long: stored as an OCI tag of 138 characters, over the 128 a tag may have$/,
    ],
    [
      'name in an extra identity',
      `${accessHead}  extraIdentity: {name: r2}\n  access: {type: OCIImage/v1, imageReference: ghcr.io/acme/x:1}\n`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:8: resources\[0\]\.extraIdentity\.name: "name" may not be an extra identity attribute \(the element's own name is part of its identity\)$/,
    ],
    [
      'version in the extra identity of a source',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nsources:\n- name: s1\n  type: blob\n  extraIdentity:\n    os: linux\n    version: 9.9.9\n  input: {type: utf8, text: a}\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:9: sources\[0\]\.extraIdentity\.version: "version" may not be an extra identity attribute/,
    ],
    [
      'several schema problems: all on one line, in document order',
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nlabels: 5\nfoo: 1\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:4: labels: must be array; component-constructor\.yaml:5: foo: unknown field "foo"$/,
    ],
    [
      'many schema problems: the first ten, and how many more',
      `name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\n${Array.from({ length: 13 }, (_, i) => `f${i}: 1\n`).join('')}`,
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:4: f0: unknown field "f0"; (component-constructor\.yaml:\d+: f\d+: unknown field "f\d+"; ){9}and 3 more$/,
    ],
    [
      'YAML syntax',
      'name: acme.org/x\nversion: [1.0.0\n',
      'INVALID_CONSTRUCTOR',
      /^component-constructor\.yaml:\d+: not valid YAML: /,
    ],
  ];
  for (const [name, text, code, message] of cases) {
    it(name, () => {
      assert.throws(
        () => parseConstructor(text, { file, env: {} }),
        (e) =>
          isLadingError(e, code as never) && message.test((e as Error).message) && !(e as Error).message.includes('\n'),
      );
    });
  }

  it('aliases that expand past the descriptor limit: refused at the alias that crosses it, before anything runs', () => {
    // A 1 MB label anchored once and aliased 99 times was stored as a 100 MB descriptor that
    // get cv then refused; at 6 MB it ended in "Invalid string length", with no file named.
    const big = 'x'.repeat(1_000_000);
    let text = `name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nlabels:\n- name: l0\n  value: &big "${big}"\n`;
    for (let i = 1; i < 100; i++) text += `- name: l${i}\n  value: *big\n`;
    assert.throws(
      () => parseConstructor(text, { file, env: {} }),
      (e) =>
        isLadingError(e, 'INVALID_CONSTRUCTOR') &&
        /^component-constructor\.yaml:140: labels\[67\]\.value: YAML aliases expand the document past 67108864 bytes \(the descriptor limit\)$/.test(
          (e as Error).message,
        ),
    );
    const loop = 'name: acme.org/x\nversion: 1.0.0\nprovider: &p {name: acme, labels: [{name: l, value: *p}]}\n';
    assert.throws(
      () => parseConstructor(loop, { file, env: {} }),
      (e) =>
        isLadingError(e, 'INVALID_CONSTRUCTOR') &&
        /^component-constructor\.yaml:3: provider\.labels\[0\]\.value: the alias \*p is inside the node it refers to$/.test(
          (e as Error).message,
        ),
    );
  });

  it('a descriptor that would encode past the limit it is read back with is not stored', async () => {
    const ocm = await import('../src/ocm/api.js');
    // Go's JSON escapes "<" as "\u003c": 12 MB of YAML data, 72 MB of descriptor.
    const value = '<'.repeat(1_500_000);
    let text = `name: acme.org/large\nversion: 1.0.0\nprovider: {name: acme}\nlabels:\n- name: l0\n  value: &v "${value}"\n`;
    for (let i = 1; i < 8; i++) text += `- name: l${i}\n  value: *v\n`;
    const ctor = parseConstructor(text, { file, env: {} });
    const ctf = join(work, 'too-large-ctf');
    const repo = await ocm.openComponentRepository(ctf, { mode: 'create' });
    await assert.rejects(
      ocm.constructComponentVersions(ctor, repo.repository, { workingDirectory: work }),
      (e) =>
        isLadingError(e, 'SIZE_EXCEEDS_LIMIT') &&
        /^component-constructor\.yaml:1: \(component\): component version acme\.org\/large:1\.0\.0: the descriptor is \d+ bytes, over the 67108864-byte limit of a descriptor that can be read back$/.test(
          (e as Error).message,
        ),
    );
    assert.equal(await repo.repository.hasComponentVersion('acme.org/large', '1.0.0'), false);
    await repo.close();
  });

  it('accesses of types lading does not know are kept as written, whatever their fields', () => {
    const ctor = parseConstructor(
      `${accessHead}  access: {type: acme.org.Custom/v1, imageReference: 5, helmChart: [1]}\n`,
      { file, env: {} },
    );
    assert.deepEqual(ctor.components[0]?.resources[0]?.access, {
      type: 'acme.org.Custom/v1',
      imageReference: 5,
      helmChart: [1],
    });
  });

  it('missing file: the input error names the file, the line and the input path', async () => {
    const ctor = parseConstructor(
      'name: acme.org/x\nversion: 1.0.0\nprovider: {name: acme}\nresources:\n- name: r1\n  type: blob\n  input:\n    type: file\n    path: ./nope.txt\n',
      {
        file,
        env: {},
      },
    );
    const r = ctor.components[0]?.resources?.[0];
    assert.ok(r);
    await assert.rejects(
      runElementInput(r, { workingDirectory: work }),
      (e) =>
        isLadingError(e, 'NOT_FOUND') &&
        /^component-constructor\.yaml:5: resources\[0\]\.input: path "\.\/nope\.txt": no such file or directory/.test(
          (e as Error).message,
        ),
    );
  });
});

describe('Dir/v1 into a CTF', () => {
  it('the tar is produced once and hashed as it is stored: the digest and bytes it would have measured; an abort half way leaves nothing', async () => {
    const ocm = await import('../src/ocm/api.js');
    const { dirInput } = await import('../src/ocm/index.js');
    const { readdir } = await import('node:fs/promises');
    const { Transform } = await import('node:stream');
    const dir = join(work, 'dir-ctf');
    mkdirSync(join(dir, 'tree', 'sub'), { recursive: true });
    // Several write batches of the store, and a file of several reads.
    writeFileSync(join(dir, 'tree', 'a.bin'), Buffer.alloc(3 * 1024 * 1024 + 123, 'a'));
    writeFileSync(join(dir, 'tree', 'sub', 'b.txt'), 'b\n');
    const spec = { type: 'Dir/v1', path: 'tree', reproducible: true };
    const measured = await dirInput(spec, { workingDirectory: dir });
    const tar = await bytesOf(measured);
    assert.equal(`sha256:${sha256(tar)}`, measured.digest);
    const ctor = parseConstructor(
      `name: acme.org/dir\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n- name: tree\n  type: blob\n  input:\n    type: Dir/v1\n    path: ./tree\n    reproducible: true\n`,
      { env: {} },
    );
    const dirMethod = ocm.builtinInputMethods.get(ocm.InputType.Dir) as NonNullable<
      ReturnType<typeof ocm.builtinInputMethods.get>
    >;
    let opened = 0;
    let digestGiven: string | undefined = 'not run';
    let cut: (() => void) | undefined;
    const methods = new Map(ocm.builtinInputMethods);
    methods.set(ocm.InputType.Dir, async (s, context) => {
      const blob = await dirMethod(s, context);
      digestGiven = blob.digest;
      return {
        ...blob,
        open: async () => {
          opened++;
          const stream = await blob.open();
          if (!cut) return stream;
          let seen = 0;
          const stop = cut;
          return stream.pipe(
            new Transform({
              transform(chunk: Buffer, _e, done) {
                seen += chunk.length;
                if (seen > 1024 * 1024) stop();
                done(null, chunk);
              },
            }),
          );
        },
      };
    });

    const ctf = join(work, 'dir-ctf', 'ctf');
    const repo = await ocm.openComponentRepository(ctf, { mode: 'create' });
    const before = (await readdir(ctf)).sort();
    const building = new AbortController();
    cut = () => building.abort(new Error('stopped half way'));
    await assert.rejects(
      ocm.constructComponentVersions(ctor, repo.repository, {
        workingDirectory: dir,
        inputMethods: methods,
        signal: building.signal,
      }),
      (e) => isLadingError(e, 'ABORTED'),
    );
    assert.deepEqual((await readdir(ctf)).sort(), before, 'no blob and no temp file in the CTF');
    assert.deepEqual(await readdir(join(ctf, 'blobs')).catch(() => []), []);

    cut = undefined;
    opened = 0;
    const [descriptor] = await ocm.constructComponentVersions(ctor, repo.repository, {
      workingDirectory: dir,
      inputMethods: methods,
    });
    assert.equal(digestGiven, undefined, 'the input left the digest to the store');
    assert.equal(opened, 1, 'the tar was produced once');
    const access = descriptor?.component.resources?.[0]?.access as { localReference?: string } | undefined;
    assert.equal(access?.localReference, measured.digest);
    const stored = readFileSync(join(ctf, 'blobs', `sha256.${sha256(tar)}`));
    assert.ok(stored.equals(tar), 'the stored blob is the tar, byte for byte');
  });
});
