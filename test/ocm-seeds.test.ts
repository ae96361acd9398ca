import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { OciLayout } from '../src/layout/index.js';
import { digestBytes } from '../src/oci/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { pushImage, withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';
import { ocmVectors } from './support/vectors.js';

const run = promisify(execFile);
const peers = loadPeers();
const reg = peers.plain.host;
let n = 0;
/** A fresh sub path of the plain registry per test. */
const registryRepo = (name: string) => `http://${reg}/ocm-seeds/${name}-${process.pid}-${++n}`;

async function getDescriptor(ref: string, cwd?: string) {
  const r = await ladingOk(['get', 'cv', ref, '-o', 'json'], cwd ? { cwd } : {});
  return JSON.parse(r.stdout)[0];
}

/** Pulls a manifest natively (no OCM) with skopeo and unpacks it with umoci: the point of seed 000. */
async function pullNatively(dir: string, repository: string, digest: string, file: string): Promise<string> {
  const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${repository}@${digest}`], {
    encoding: 'buffer',
  });
  assert.equal(digestBytes(raw.stdout as Buffer), digest);
  const layout = join(dir, `native-${++n}`);
  await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${repository}@${digest}`, `oci:${layout}:v1`]);
  const rootfs = join(dir, `rootfs-${n}`);
  await run('umoci', ['raw', 'unpack', '--rootless', '--image', `${layout}:v1`, rootfs]);
  return readFile(join(rootfs, file), 'utf8');
}

async function writeImageLayout(dir: string, name: string, content: string) {
  const layoutDir = join(dir, name);
  const layout = await OciLayout.open(layoutDir, { mode: 'create' });
  const image = await pushImage(layout, { 'app.txt': content });
  await layout.tag(image.manifest, '1.0.0');
  return { layoutDir, image };
}

describe('upstream vector: ocm add cv with a file input', () => {
  test('get cv -o yaml prints exactly what upstream asserts; the stored blobs have the upstream digests', () =>
    withDir(async (dir) => {
      const vec = join(ocmVectors, 'extracted/cli-add-cv-file-input-examples-01');
      await copyFile(join(vec, 'component-constructor.yaml'), join(dir, 'component-constructor.yaml'));
      await writeFile(join(dir, 'test-file.txt'), 'foobar');
      const add = await ladingOk(['add', 'cv'], { cwd: dir });
      assert.equal(
        add.stdout,
        ' COMPONENT                │ VERSION │ PROVIDER     \n──────────────────────────┼─────────┼──────────────\n ocm.software/examples-01 │ 1.0.0   │ ocm.software \n',
      );
      const yaml = await ladingOk(['get', 'cv', './transport-archive//ocm.software/examples-01:1.0.0', '-o', 'yaml'], {
        cwd: dir,
      });
      assert.equal(yaml.stdout, `${(await readFile(join(vec, 'get-cv-output.yaml'), 'utf8')).trimEnd()}\n`);
      const blobs = await readdir(join(dir, 'transport-archive', 'blobs'));
      // Descriptor and config digests derived from upstream's code (vectors/ocm/INDEX.md §8).
      assert.ok(
        blobs.some((b) => b.startsWith('sha256.f91fd3ee')),
        blobs.join(' '),
      );
      assert.ok(
        blobs.some((b) => b.startsWith('sha256.898c414c')),
        blobs.join(' '),
      );
      const tree = await ladingOk(['get', 'cv', './transport-archive//ocm.software/examples-01', '-o', 'tree'], {
        cwd: dir,
      });
      // Byte for byte what upstream's test asserts for this version (go-pretty: every cell padded).
      assert.equal(
        tree.stdout,
        ` NESTING  COMPONENT                 VERSION  PROVIDER      IDENTITY${' '.repeat(36)}\n` +
          ' └─       ocm.software/examples-01  1.0.0    ocm.software  name=ocm.software/examples-01,version=1.0.0 \n',
      );
      const dl = await ladingOk(
        [
          'download',
          'resource',
          './transport-archive//ocm.software/examples-01:1.0.0',
          '--identity',
          'name=my-file',
          '--output',
          'out.txt',
        ],
        { cwd: dir },
      );
      assert.match(dl.stderr, /Downloaded name=my-file/);
      assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'foobar');
    }));

  test('conflict policies, and bad constructors that leave the archive as it was', () =>
    withDir(async (dir) => {
      const vec = join(ocmVectors, 'extracted/cli-add-cv-file-input-examples-01');
      await copyFile(join(vec, 'component-constructor.yaml'), join(dir, 'component-constructor.yaml'));
      await writeFile(join(dir, 'test-file.txt'), 'foobar');
      await ladingOk(['add', 'cv'], { cwd: dir });
      const snapshot = async () => ({
        index: await readFile(join(dir, 'transport-archive', 'artifact-index.json'), 'utf8'),
        blobs: (await readdir(join(dir, 'transport-archive', 'blobs'))).sort(),
      });
      const before = await snapshot();
      assertOneLineError(await lading(['add', 'cv'], { cwd: dir }), /already exists/);
      await ladingOk(['add', 'cv', '--component-version-conflict-policy', 'skip'], { cwd: dir });
      assert.deepEqual(await snapshot(), before);
      await writeFile(join(dir, 'test-file.txt'), 'changed');
      await ladingOk(['add', 'cv', '--component-version-conflict-policy', 'replace'], { cwd: dir });
      assert.notDeepEqual((await snapshot()).index, before.index);
      const after = await snapshot();
      const bad: [string, string, RegExp][] = [
        [
          'missing file',
          'name: acme.org/bad\nversion: 1.0.0\nprovider:\n  name: acme\nresources:\n  - name: res\n    type: blob\n    input:\n      type: file/v1\n      path: ./nope.txt\n',
          /nope\.txt/,
        ],
        [
          'unknown input type',
          'name: acme.org/bad\nversion: 1.0.0\nprovider:\n  name: acme\nresources:\n  - name: res\n    type: blob\n    input:\n      type: teleport/v1\n',
          /teleport/,
        ],
        ['version as a number', 'name: acme.org/bad\nversion: 1.0\nprovider:\n  name: acme\n', /:2: .*version/],
        [
          'duplicate identity',
          'name: acme.org/bad\nversion: 1.0.0\nprovider:\n  name: acme\nresources:\n  - name: res\n    type: blob\n    input: {type: utf8/v1, text: a}\n  - name: res\n    type: blob\n    input: {type: utf8/v1, text: b}\n',
          /duplicate|identity/i,
        ],
      ];
      for (const [what, text, pattern] of bad) {
        await writeFile(join(dir, 'bad.yaml'), text);
        assertOneLineError(await lading(['add', 'cv', '-c', 'bad.yaml'], { cwd: dir }), pattern);
        assert.deepEqual(await snapshot(), after, `${what}: the archive changed`);
        // A new archive is not even created.
        assertOneLineError(await lading(['add', 'cv', '-c', 'bad.yaml', '-r', 'fresh-archive'], { cwd: dir }), pattern);
        await assert.rejects(() => readdir(join(dir, 'fresh-archive')), `${what}: a new archive was left behind`);
      }
    }));
});

describe('component references', () => {
  test('a reference is pinned by the upstream normalised digest, and get cv --recursive follows it', () =>
    withDir(async (dir) => {
      await copyFile(
        join(ocmVectors, 'extracted/cli-add-cv-reference-digest/referenced-constructor.yaml'),
        join(dir, 'referenced.yaml'),
      );
      await writeFile(
        join(dir, 'root.yaml'),
        'name: ocm.software/root\nversion: 1.0.0\nprovider:\n  name: ocm.software\ncomponentReferences:\n  - name: ref\n    componentName: ocm.software/referenced\n    version: 1.0.0\n',
      );
      await ladingOk(['add', 'cv', '-c', 'referenced.yaml'], { cwd: dir });
      await ladingOk(['add', 'cv', '-c', 'root.yaml'], { cwd: dir });
      const root = await getDescriptor('./transport-archive//ocm.software/root:1.0.0', dir);
      // Upstream asserts this digest (cli/cmd/cmd_test.go Test_Add_Component_Version_With_Reference_Digest).
      assert.deepEqual(root.component.componentReferences[0].digest, {
        hashAlgorithm: 'SHA-256',
        normalisationAlgorithm: 'jsonNormalisation/v4alpha1',
        value: 'faacbf3c44a80bcf590dcd7cce4c0813047d35f379b0dc5cc497327d451be025',
      });
      const tree = await ladingOk(
        ['get', 'cv', './transport-archive//ocm.software/root:1.0.0', '--recursive', '-o', 'tree'],
        { cwd: dir },
      );
      assert.match(tree.stdout, /ocm\.software\/root/);
      assert.match(tree.stdout, /ocm\.software\/referenced/);
      assertOneLineError(
        await lading(['add', 'cv', '-c', 'root.yaml', '-r', 'elsewhere'], { cwd: dir }),
        /neither in the constructor nor in elsewhere/,
      );
      await assert.rejects(() => readdir(join(dir, 'elsewhere')));
    }));

  test("add cv finds a reference through the configuration's resolvers, as upstream; get cv --recursive <ref> works", () =>
    withDir(async (dir) => {
      await copyFile(
        join(ocmVectors, 'extracted/cli-add-cv-reference-digest/referenced-constructor.yaml'),
        join(dir, 'referenced.yaml'),
      );
      await writeFile(
        join(dir, 'root.yaml'),
        'name: ocm.software/root\nversion: 1.0.0\nprovider:\n  name: ocm.software\ncomponentReferences:\n  - name: ref\n    componentName: ocm.software/referenced\n    version: 1.0.0\n',
      );
      await ladingOk(['add', 'cv', '-c', 'referenced.yaml', '-r', 'libs'], { cwd: dir });
      await writeFile(
        join(dir, 'config.yaml'),
        `type: generic.config.ocm.software/v1\nconfigurations:\n  - type: resolvers.config.ocm.software/v1alpha1\n    resolvers:\n      - repository: {type: CommonTransportFormat/v1, filePath: ${join(dir, 'libs')}}\n        componentNamePattern: ocm.software/*\n`,
      );
      // Upstream's flags, as a script written for it passes them.
      await ladingOk(
        [
          '--config',
          'config.yaml',
          'add',
          'cv',
          '-c',
          'root.yaml',
          '--external-component-version-copy-policy',
          'skip',
          '--display-mode',
          'static',
        ],
        { cwd: dir },
      );
      const root = await getDescriptor('./transport-archive//ocm.software/root:1.0.0', dir);
      assert.equal(
        root.component.componentReferences[0].digest.value,
        'faacbf3c44a80bcf590dcd7cce4c0813047d35f379b0dc5cc497327d451be025',
      );
      // Not copied (skip).
      assertOneLineError(
        await lading(['get', 'cv', './transport-archive//ocm.software/referenced:1.0.0'], { cwd: dir }),
        /not found/,
      );
      // pflag's NoOptDefVal: `--recursive` before the reference does not take it as the depth.
      const tree = await ladingOk(
        [
          '--config',
          'config.yaml',
          'get',
          'cv',
          '--recursive',
          './transport-archive//ocm.software/root:1.0.0',
          '-o',
          'tree',
        ],
        { cwd: dir },
      );
      assert.match(tree.stdout, /ocm\.software\/referenced/);
      assertOneLineError(
        await lading(['get', 'cv', '--recursive'], { cwd: dir }),
        /missing required argument 'reference'/,
      );
      assert.match((await ladingOk(['get', '--help'])).stdout, /component-version\|cv \[options\] <reference> /);
      assert.match(
        (await ladingOk(['get', 'cv', '--help'])).stdout,
        /^Usage: lading get component-version\|cv \[options\] <reference>$/m,
      );
    }));
  test('add cv --external-component-version-copy-policy copy-or-fail copies referenced versions, with theirs, into the target first', () =>
    withDir(async (dir) => {
      const component = (name: string, text: string, ref?: string) =>
        `- name: acme.org/${name}\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n  - name: ${name}\n    type: blob\n    input:\n      type: utf8/v1\n      text: ${text}\n${
          ref
            ? `  componentReferences:\n  - name: ${ref}\n    componentName: acme.org/${ref}\n    version: 1.0.0\n`
            : ''
        }`;
      await writeFile(
        join(dir, 'libs.yaml'),
        `components:\n${component('leaf', 'leaf text')}${component('mid', 'mid text', 'leaf')}`,
      );
      await writeFile(join(dir, 'root.yaml'), `components:\n${component('root', 'root text', 'mid')}`);
      await writeFile(join(dir, 'broken.yaml'), `components:\n${component('broken', 'x', 'nowhere')}`);
      await ladingOk(['add', 'cv', '-c', 'libs.yaml', '-r', 'libs'], { cwd: dir });
      await writeFile(
        join(dir, 'config.yaml'),
        `type: generic.config.ocm.software/v1\nconfigurations:\n  - type: resolvers.config.ocm.software/v1alpha1\n    resolvers:\n      - repository: {type: CommonTransportFormat/v1, filePath: ${join(dir, 'libs')}}\n        componentNamePattern: acme.org/*\n`,
      );
      const add = (file: string, target: string, ...more: string[]) =>
        lading(
          [
            '--config',
            'config.yaml',
            'add',
            'cv',
            '-c',
            file,
            '-r',
            target,
            ...more,
            '--external-component-version-copy-policy',
            'copy-or-fail',
          ],
          { cwd: dir },
        );
      const added = await add('root.yaml', 'target');
      assert.equal(added.code, 0, added.stderr);
      for (const name of ['root', 'mid', 'leaf']) {
        const out = join(dir, `${name}.txt`);
        // From the target alone (no configuration): the local blobs were copied by value.
        await ladingOk(
          ['download', 'resource', `./target//acme.org/${name}:1.0.0`, '--identity', `name=${name}`, '--output', out],
          { cwd: dir },
        );
        assert.equal(await readFile(out, 'utf8'), `${name} text`);
      }
      const mid = await getDescriptor('./libs//acme.org/mid:1.0.0', dir);
      const copied = await getDescriptor('./target//acme.org/mid:1.0.0', dir);
      assert.deepEqual(copied.component.componentReferences, mid.component.componentReferences);
      // Again, over what the target has now: nothing fails, nothing changes.
      const before = await ladingOk(['get', 'cv', './target//acme.org/mid:1.0.0', '-o', 'json'], { cwd: dir });
      const again = await add('root.yaml', 'target', '--component-version-conflict-policy', 'replace');
      assert.equal(again.code, 0, again.stderr);
      assert.equal(
        (await ladingOk(['get', 'cv', './target//acme.org/mid:1.0.0', '-o', 'json'], { cwd: dir })).stdout,
        before.stdout,
      );
      // A reference found nowhere fails the add, and the target is left as it was.
      const listing = await readdir(join(dir, 'target', 'blobs'));
      assertOneLineError(await add('broken.yaml', 'target'), /acme\.org\/nowhere:1\.0\.0/);
      assert.deepEqual(await readdir(join(dir, 'target', 'blobs')), listing);
      assertOneLineError(await lading(['get', 'cv', './target//acme.org/broken:1.0.0'], { cwd: dir }), /not found/);
    }));
});

describe('transfer of a component tree', () => {
  test('-r brings the referenced versions along; creationTime and the normalised digest survive', () =>
    withDir(async (dir) => {
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `components:
  - name: acme.org/child
    version: 2.0.0
    creationTime: "2026-01-02T03:04:05Z"
    provider:
      name: acme.org
    resources:
      - name: notes
        type: blob
        input:
          type: utf8/v1
          text: child notes
  - name: acme.org/parent
    version: 1.0.0
    provider:
      name: acme.org
    componentReferences:
      - name: child
        componentName: acme.org/child
        version: 2.0.0
`,
      );
      await ladingOk(['add', 'cv'], { cwd: dir });
      const before = (await ladingOk(['hash', 'cv', './transport-archive//acme.org/child:2.0.0'], { cwd: dir })).stdout;
      const target = registryRepo('tree');
      const flat = await ladingOk(['transfer', 'cv', './transport-archive//acme.org/parent:1.0.0', target], {
        cwd: dir,
      });
      assert.doesNotMatch(flat.stdout, /acme\.org\/child/);
      assertOneLineError(await lading(['get', 'cv', `${target}//acme.org/child:2.0.0`]), /not found/);
      const deep = await ladingOk(['transfer', 'cv', '-r', './transport-archive//acme.org/parent:1.0.0', target], {
        cwd: dir,
      });
      assert.match(deep.stderr, /^Transferred acme\.org\/child:2\.0\.0/m);
      const child = await getDescriptor(`${target}//acme.org/child:2.0.0`);
      assert.equal(child.component.creationTime, '2026-01-02T03:04:05Z');
      assert.equal((await ladingOk(['hash', 'cv', `${target}//acme.org/child:2.0.0`])).stdout, before);
      const tree = await ladingOk(['get', 'cv', `${target}//acme.org/parent:1.0.0`, '--recursive', '-o', 'tree']);
      assert.match(tree.stdout, /acme\.org\/child\s+2\.0\.0/);
    }));
});

describe('download resource through its access', () => {
  test('an OCIImageLayer/v1 resource is fetched from its registry by digest, verified', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'layer.bin'), Buffer.alloc(40_000, 7));
      const remote = `${reg}/layers/src-${process.pid}:v1`;
      await ladingOk(['push', '--plain-http', remote, 'layer.bin'], { cwd: dir });
      const manifest = JSON.parse((await ladingOk(['manifest', 'fetch', '--plain-http', remote])).stdout);
      const layer = manifest.layers[0];
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `name: acme.org/layer
version: 1.0.0
provider:
  name: acme.org
resources:
  - name: layer
    type: blob
    version: 1.0.0
    access:
      type: ociBlob
      ref: http://${reg}/layers/src-${process.pid}
      mediaType: ${layer.mediaType}
      digest: ${layer.digest}
      size: ${layer.size}
`,
      );
      await ladingOk(['add', 'cv'], { cwd: dir });
      await ladingOk(
        [
          'download',
          'resource',
          './transport-archive//acme.org/layer:1.0.0',
          '--identity',
          'name=layer',
          '--output',
          'got.bin',
        ],
        { cwd: dir },
      );
      assert.ok((await readFile(join(dir, 'got.bin'))).equals(Buffer.alloc(40_000, 7)));
    }));
});

describe('shared content in one component version', () => {
  test('the same image embedded twice moves once, even with parallel copies', () =>
    withDir(async (dir) => {
      // Two folders holding the same image (the fixture is deterministic).
      const a = await writeImageLayout(dir, 'layout-a', 'shared app\n');
      const b = await writeImageLayout(dir, 'layout-b', 'shared app\n');
      assert.equal(a.image.manifest.digest, b.image.manifest.digest);
      const res = (n: string, p: string) =>
        `  - name: ${n}\n    type: ociImage\n    input:\n      type: dir/v1\n      path: ./${p}\n      mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n`;
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `name: acme.org/shared\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n${res('one', 'layout-a')}${res('two', 'layout-b')}`,
      );
      await ladingOk(['add', 'cv'], { cwd: dir });
      const target = registryRepo('shared');
      const t = await ladingOk(
        ['transfer', 'cv', '--concurrency', '4', './transport-archive//acme.org/shared:1.0.0', target],
        { cwd: dir },
      );
      const copiedLayers = (
        t.stderr.match(/^Copied\s+[0-9a-f]{12} application\/vnd\.oci\.image\.layer\.v1\.tar\+gzip$/gm) ?? []
      ).length;
      assert.equal(copiedLayers, 1, t.stderr);
      const stored = await getDescriptor(`${target}//acme.org/shared:1.0.0`);
      assert.equal(
        stored.component.resources[0].access.localReference,
        stored.component.resources[1].access.localReference,
      );
    }));
});

describe('seed 000: working with OCI (native access after transfer)', () => {
  test('use case 1: an OCI layout made with lading push, embedded by dir/v1, transferred, pulled natively', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'app.txt'), 'embedded app\n');
      // An image layout (umoci-readable) instead of a bare artifact, so umoci can unpack it at the end.
      const { image } = await writeImageLayout(dir, 'demo-layout', 'embedded app\n');
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `components:
  - name: github.com/acme.org/native-oci-demo
    version: 1.0.0
    provider:
      name: acme.org
    resources:
      - name: demo-image
        type: ociImage
        input:
          type: dir/v1
          path: ./demo-layout
          mediaType: application/vnd.ocm.software.oci.layout.v1+tar
`,
      );
      await ladingOk(['add', 'cv'], { cwd: dir });
      const local = await getDescriptor('./transport-archive//github.com/acme.org/native-oci-demo:1.0.0', dir);
      const access = local.component.resources[0].access;
      assert.equal(access.type, 'LocalBlob/v1');
      assert.equal(access.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(access.localReference, image.manifest.digest);
      const target = registryRepo('uc1');
      const t1 = await ladingOk(
        [
          'transfer',
          'cv',
          '--copy-resources',
          './transport-archive//github.com/acme.org/native-oci-demo:1.0.0',
          target,
        ],
        { cwd: dir },
      );
      assert.match(t1.stderr, /^Transferred github\.com\/acme\.org\/native-oci-demo:1\.0\.0/m);
      const t2 = await ladingOk(
        [
          'transfer',
          'cv',
          '--copy-resources',
          './transport-archive//github.com/acme.org/native-oci-demo:1.0.0',
          target,
        ],
        { cwd: dir },
      );
      assert.match(t2.stderr, /^Unchanged/m, 'a second identical transfer uploads nothing and says so');
      assert.doesNotMatch(t2.stderr, /^Copied/m);
      const remote = await getDescriptor(`${target}//github.com/acme.org/native-oci-demo:1.0.0`);
      assert.deepEqual(remote.component.resources[0].access, access);
      const repository = `${target.slice('http://'.length)}/component-descriptors/github.com/acme.org/native-oci-demo`;
      assert.equal(await pullNatively(dir, repository, access.localReference, 'app.txt'), 'embedded app\n');
      const pulled = await ladingOk([
        'pull',
        '--plain-http',
        `${repository}@${access.localReference}`,
        '-o',
        join(dir, 'oras-pull'),
      ]);
      assert.match(pulled.stdout, /^Pulled \[registry\]/m);
    }));

  test('use case 2: an external image, pinned by add cv, copied by value with --copy-resources', () =>
    withDir(async (dir) => {
      const { layoutDir, image } = await writeImageLayout(dir, 'upstream-image', 'external app\n');
      const source = `${reg}/external/transfer-demo-${process.pid}`;
      await run('skopeo', [
        'copy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${layoutDir}:1.0.0`,
        `docker://${source}:1.0.0`,
      ]);
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `name: github.com/acme.org/transfer-demo
version: 1.0.0
provider:
  name: acme.org
resources:
  - name: image
    type: ociImage
    version: 1.0.0
    access:
      type: ociArtifact
      imageReference: http://${source}:1.0.0
`,
      );
      await ladingOk(['add', 'cv'], { cwd: dir });
      const local = await getDescriptor('./transport-archive//github.com/acme.org/transfer-demo:1.0.0', dir);
      const before = local.component.resources[0];
      assert.equal(before.relation, 'external');
      assert.equal(
        before.access.imageReference,
        `http://${source}:1.0.0@${image.manifest.digest}`,
        'pinned to the digest',
      );
      assert.equal(before.digest.value, image.manifest.digest.slice(7));
      const target = registryRepo('uc2');
      await ladingOk(
        ['transfer', 'cv', '--copy-resources', './transport-archive//github.com/acme.org/transfer-demo:1.0.0', target],
        { cwd: dir },
      );
      const after = (await getDescriptor(`${target}//github.com/acme.org/transfer-demo:1.0.0`)).component.resources[0];
      assert.equal(after.access.type, 'LocalBlob/v1');
      assert.equal(after.access.localReference, image.manifest.digest);
      assert.equal(after.access.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(after.access.referenceName, `external/transfer-demo-${process.pid}:1.0.0`);
      assert.equal(after.relation, 'external', 'relation is kept');
      assert.deepEqual(after.digest, before.digest, 'the digest is kept');
      const repository = `${target.slice('http://'.length)}/component-descriptors/github.com/acme.org/transfer-demo`;
      assert.equal(await pullNatively(dir, repository, image.manifest.digest, 'app.txt'), 'external app\n');
      // Without --copy-resources only local blobs move: the access still points at the source.
      const plain = registryRepo('uc2-ref');
      await ladingOk(['transfer', 'cv', './transport-archive//github.com/acme.org/transfer-demo:1.0.0', plain], {
        cwd: dir,
      });
      const kept = (await getDescriptor(`${plain}//github.com/acme.org/transfer-demo:1.0.0`)).component.resources[0];
      assert.equal(kept.access.type, 'ociArtifact');
      // With --upload-as ociArtifact the image becomes a standalone artifact in the target registry.
      const standalone = registryRepo('uc2-artifact');
      await ladingOk(
        [
          'transfer',
          'cv',
          '--copy-resources',
          '--upload-as',
          'ociArtifact',
          './transport-archive//github.com/acme.org/transfer-demo:1.0.0',
          standalone,
        ],
        { cwd: dir },
      );
      const art = (await getDescriptor(`${standalone}//github.com/acme.org/transfer-demo:1.0.0`)).component
        .resources[0];
      // As upstream writes it: the legacy type name, the target's base URL with its scheme.
      assert.equal(art.access.type, 'ociArtifact/v1');
      assert.equal(art.access.imageReference, `${standalone}/external/transfer-demo-${process.pid}:1.0.0`);
      const expectedRef = `${standalone.slice('http://'.length)}/external/transfer-demo-${process.pid}:1.0.0`;
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${expectedRef}`], {
        encoding: 'buffer',
      });
      assert.equal(digestBytes(raw.stdout as Buffer), image.manifest.digest);
      // lading reads it back through that access, over plain HTTP as its scheme says.
      const out = join(dir, 'standalone-layout');
      await ladingOk([
        'download',
        'resource',
        `${standalone}//github.com/acme.org/transfer-demo:1.0.0`,
        '--identity',
        `name=${art.name}`,
        '--output',
        out,
      ]);
      await access(join(out, 'index.json'));
    }));

  test('use case 3: an artifact fetched from a registry into a layout, embedded, transferred between registries', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'model.bin'), Buffer.alloc(50_000, 5));
      const remote = `${reg}/fetched/oci-demo-${process.pid}:1.0.0`;
      await ladingOk(['push', '--plain-http', remote, 'model.bin'], { cwd: dir });
      await ladingOk(['cp', '--from-plain-http', remote, '--to-oci-layout', './fetched:1.0.0'], { cwd: dir });
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `name: github.com/acme.org/fetched-oci-demo
version: 1.0.0
provider:
  name: acme.org
resources:
  - name: model
    type: ociArtifact
    input:
      type: dir/v1
      path: ./fetched
      mediaType: application/vnd.ocm.software.oci.layout.v1+tar
`,
      );
      const first = registryRepo('uc3-a');
      await ladingOk(['add', 'cv', '-r', first], { cwd: dir });
      const second = registryRepo('uc3-b');
      const moved = await ladingOk(['transfer', 'cv', `${first}//github.com/acme.org/fetched-oci-demo:1.0.0`, second]);
      // Both repositories are on one registry: the blobs are mounted there, not downloaded and re-sent.
      assert.match(moved.stderr, /^Mounted [0-9a-f]{12} /m);
      assert.doesNotMatch(moved.stderr, /^Copied +[0-9a-f]{12} model\.bin/m);
      const res = (await getDescriptor(`${second}//github.com/acme.org/fetched-oci-demo:1.0.0`)).component.resources[0];
      const repository = `${second.slice('http://'.length)}/component-descriptors/github.com/acme.org/fetched-oci-demo`;
      await ladingOk(['pull', '--plain-http', `${repository}@${res.access.localReference}`, '-o', join(dir, 'out')]);
      assert.ok((await readFile(join(dir, 'out', 'model.bin'))).equals(Buffer.alloc(50_000, 5)));
      // And back into a CTF archive as a tgz, readable offline.
      await ladingOk([
        'transfer',
        'cv',
        `${second}//github.com/acme.org/fetched-oci-demo:1.0.0`,
        join(dir, 'offline.tgz'),
      ]);
      const offline = await getDescriptor(`${join(dir, 'offline.tgz')}//github.com/acme.org/fetched-oci-demo:1.0.0`);
      assert.equal(offline.component.resources[0].access.localReference, res.access.localReference);
      await ladingOk([
        'download',
        'resource',
        `${join(dir, 'offline.tgz')}//github.com/acme.org/fetched-oci-demo:1.0.0`,
        '--identity',
        'name=model',
        '--output',
        join(dir, 'model'),
      ]);
      // Unpacked (--extraction-policy auto, the default) into an OCI image layout folder, as upstream.
      const inspect = JSON.parse((await run('skopeo', ['inspect', '--raw', `oci:${join(dir, 'model')}`])).stdout);
      assert.equal(inspect.layers[0].annotations['org.opencontainers.image.title'], 'model.bin');
      await mkdir(join(dir, 'dry'));
      const dry = await ladingOk([
        'transfer',
        'cv',
        '--dry-run',
        '-o',
        'json',
        `${second}//github.com/acme.org/fetched-oci-demo:1.0.0`,
        join(dir, 'dry', 'never.tgz'),
      ]);
      // Upstream's transfer spec: read from the registry, add into the CTF.
      assert.deepEqual(
        JSON.parse(dry.stdout)
          .transformations.slice(0, 2)
          .map((t: { type: string }) => t.type),
        ['OCIGetLocalResource/v1alpha1', 'CTFAddLocalResource/v1alpha1'],
      );
      await assert.rejects(() => readFile(join(dir, 'dry', 'never.tgz')), 'a dry run writes nothing');
    }));
});
