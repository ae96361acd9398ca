import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();
const reg = peers.plain.host;
let counter = 0;

/**
 * A library component in a registry and an application referencing it alone in a CTF: the
 * reference is only reachable through the OCM configuration's resolvers.
 */
async function split(dir: string): Promise<{ app: string; lib: string; registry: string; ref: string }> {
  const lib = `acme.org/transfer/lib${process.pid}`;
  const app = `acme.org/transfer/app${process.pid}`;
  const registry = `http://${reg}/transfer/resolvers-${process.pid}-${++counter}`;
  await writeFile(
    join(dir, 'lib.yaml'),
    `name: ${lib}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input: {type: utf8/v1, text: lib-content}\n`,
  );
  await writeFile(
    join(dir, 'app.yaml'),
    `name: ${app}\nversion: 1.0.0\nprovider:\n  name: acme.org\ncomponentReferences:\n  - name: lib\n    componentName: ${lib}\n    version: 1.0.0\n`,
  );
  await ladingOk(['add', 'cv', '-c', 'lib.yaml', '-r', 'both'], { cwd: dir });
  await ladingOk(['add', 'cv', '-c', 'app.yaml', '-r', 'both'], { cwd: dir });
  await ladingOk(['transfer', 'cv', `${join(dir, 'both')}//${lib}:1.0.0`, registry]);
  await ladingOk(['transfer', 'cv', `${join(dir, 'both')}//${app}:1.0.0`, join(dir, 'ctf')]);
  await writeFile(
    join(dir, 'resolvers.yaml'),
    `type: generic.config.ocm.software/v1\nconfigurations:\n- type: resolvers.config.ocm.software/v1alpha1\n  resolvers:\n  - repository: {type: OCIRepository/v1, baseUrl: ${registry}}\n    componentNamePattern: acme.org/transfer/lib*\n`,
  );
  await writeFile(join(dir, 'none.yaml'), 'type: generic.config.ocm.software/v1\nconfigurations: []\n');
  return { app, lib, registry, ref: `${join(dir, 'ctf')}//${app}:1.0.0` };
}

describe('OCM: transfer cv -r and verify cv -r find references through the configuration resolvers', () => {
  test('transfer cv -r copies a reference that only a resolver knows, local blobs included', () =>
    withDir(async (dir) => {
      const { app, lib, ref } = await split(dir);
      const failed = await lading(['--config', join(dir, 'none.yaml'), 'transfer', 'cv', '-r', ref, join(dir, 'out1')]);
      assertOneLineError(failed, new RegExp(lib.replaceAll('.', '\\.')));
      await ladingOk(['--config', join(dir, 'resolvers.yaml'), 'transfer', 'cv', '-r', ref, join(dir, 'out')]);
      // The target holds both, and the library's local blob was copied from the registry.
      for (const name of [app, lib]) {
        const r = await ladingOk(['get', 'cv', '-o', 'json', `${join(dir, 'out')}//${name}:1.0.0`]);
        assert.equal(JSON.parse(r.stdout)[0].component.name, name);
      }
      await ladingOk([
        'download',
        'resource',
        `${join(dir, 'out')}//${lib}:1.0.0`,
        '--identity',
        'name=note',
        '--output',
        join(dir, 'note'),
      ]);
      const { readFile } = await import('node:fs/promises');
      assert.equal(await readFile(join(dir, 'note'), 'utf8'), 'lib-content');
    }));

  test('transfer cv -r --dry-run names the resolver repository as the source of the reference; the spec runs', () =>
    withDir(async (dir) => {
      const { app, lib, registry, ref } = await split(dir);
      const cfg = ['--config', join(dir, 'resolvers.yaml')];
      const out = join(dir, 'out');
      const r = await ladingOk([...cfg, 'transfer', 'cv', '-r', '--dry-run', '-o', 'json', ref, out]);
      const spec = JSON.parse(r.stdout) as Spec;
      const get = spec.transformations.find((t) => t.type.endsWith('GetLocalResource/v1alpha1')) as Node;
      assert.equal(get.type, 'OCIGetLocalResource/v1alpha1');
      assert.equal(get.spec.component, lib);
      const base = registry.slice('http://'.length).split('/')[0] as string;
      assert.deepEqual(get.spec.repository, {
        type: 'OCIRepository/v1',
        baseUrl: `http://${base}`,
        subPath: registry.slice(`http://${base}/`.length),
      });
      assert.deepEqual(
        spec.transformations.filter((t) => t.type === 'CTFAddComponentVersion/v1alpha1').map((t) => t.id),
        [lib, app].map((n) => `${transformId(n)}Upload`),
      );
      await writeFile(join(dir, 'spec.json'), r.stdout);
      await ladingOk(['transfer', 'cv', '--transfer-spec', join(dir, 'spec.json')]);
      for (const name of [app, lib]) await ladingOk(['get', 'cv', `${out}//${name}:1.0.0`]);
    }));

  test('verify cv -r checks each referenced digest, finding the reference through a resolver', () =>
    withDir(async (dir) => {
      const { lib, ref, registry } = await split(dir);
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      await ladingOk(['sign', 'cv', '--private-key', join(dir, 'k.pem'), ref]);
      const plain = await ladingOk(['verify', 'cv', '--public-key', join(dir, 'pub.pem'), ref]);
      assert.doesNotMatch(plain.stderr, /referenced/);
      const cfg = ['--config', join(dir, 'resolvers.yaml')];
      const r = await ladingOk([...cfg, 'verify', 'cv', '-r', '--public-key', join(dir, 'pub.pem'), ref]);
      assert.match(r.stderr, new RegExp(`Verified the digest of referenced ${lib.replaceAll('.', '\\.')}:1\\.0\\.0`));
      const none = await lading([
        '--config',
        join(dir, 'none.yaml'),
        'verify',
        'cv',
        '-r',
        '--public-key',
        join(dir, 'pub.pem'),
        ref,
      ]);
      assertOneLineError(none, /lib/);
      // The library changes in the registry after the app pinned it: the reference no longer verifies.
      await writeFile(
        join(dir, 'lib2.yaml'),
        `name: ${lib}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input: {type: utf8/v1, text: swapped}\n`,
      );
      await ladingOk(['add', 'cv', '-c', 'lib2.yaml', '-r', 'swap', '--component-version-conflict-policy', 'replace'], {
        cwd: dir,
      });
      await ladingOk(['transfer', 'cv', `${join(dir, 'swap')}//${lib}:1.0.0`, registry]);
      const bad = await lading([...cfg, 'verify', 'cv', '-r', '--public-key', join(dir, 'pub.pem'), ref]);
      assertOneLineError(bad, /component reference lib .*hashes to/);
    }));
});

type Node = { type: string; id: string; spec: Record<string, unknown> };

/** Upstream's transformation ID of `<name>` at version 1.0.0. */
function transformId(name: string): string {
  return `transform${[...name.split(/[./]/), '1', '0', '0'].map((w) => w.slice(0, 1).toUpperCase() + w.slice(1).toLowerCase()).join('')}`;
}
type Spec = { environment: Record<string, unknown>; transformations: Node[] };

/** A CTF with a local blob (`note`) and an image in the registry referenced by OCIImage/v1 (`image`). */
async function seeded(dir: string): Promise<{ ctf: string; component: string; target: string; image: string }> {
  const component = `acme.org/spec/app${process.pid}`;
  const n = ++counter;
  await writeFile(join(dir, 'a.txt'), `image content ${n}\n`);
  const image = `${reg}/transfer/img-${process.pid}-${n}:v1`;
  await ladingOk(['push', '--plain-http', image, 'a.txt'], { cwd: dir });
  await writeFile(
    join(dir, 'c.yaml'),
    `name: ${component}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input: {type: utf8/v1, text: note-content}\n  - name: image\n    type: ociImage\n    version: 1.0.0\n    relation: external\n    access: {type: OCIImage/v1, imageReference: http://${image}}\n`,
  );
  await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], { cwd: dir });
  return {
    ctf: join(dir, 'ctf'),
    component,
    target: `http://${reg}/transfer/spec-${process.pid}-${n}`,
    image,
  };
}

async function dryRun(args: string[], cwd?: string): Promise<Spec> {
  const r = await ladingOk(['transfer', 'cv', '--dry-run', '-o', 'json', ...args], cwd ? { cwd } : {});
  return JSON.parse(r.stdout);
}

describe('OCM: transfer cv --dry-run prints the transfer spec upstream builds, and writes nothing', () => {
  test('the spec has upstream node types, IDs and CEL references; yaml, json and ndjson agree; the target stays untouched', () =>
    withDir(async (dir) => {
      const { ctf, component, target } = await seeded(dir);
      const ref = `${ctf}//${component}:1.0.0`;
      const spec = await dryRun(['--copy-resources', ref, target]);
      const id = `transformAcmeOrgSpecApp${process.pid}100`;
      assert.deepEqual(Object.keys(spec), ['environment', 'transformations']);
      assert.deepEqual(Object.keys(spec.environment), [id]);
      assert.deepEqual(
        spec.transformations.map((t) => [t.type, t.id]),
        [
          ['CTFGetLocalResource/v1alpha1', `${id}GettransformNote100`],
          ['OCIAddLocalResource/v1alpha1', `${id}AddtransformNote100`],
          ['GetOCIArtifact/v1alpha1', `${id}GettransformImage100`],
          ['OCIAddLocalResource/v1alpha1', `${id}AddtransformImage100`],
          ['OCIAddComponentVersion/v1alpha1', `${id}Upload`],
          ['FileCleanup/v1alpha1', 'fileBufferCleanup'],
        ],
      );
      const [get, add, , , upload] = spec.transformations as [Node, Node, Node, Node, Node];
      assert.deepEqual(get.spec.repository, { filePath: ctf, type: 'CommonTransportFormat/v1' });
      assert.deepEqual(get.spec.resourceIdentity, { name: 'note', version: '1.0.0' });
      assert.equal(add.spec.file, `\${${id}GettransformNote100.output.file}`);
      const base = target.slice('http://'.length).split('/')[0] as string;
      assert.deepEqual(add.spec.repository, {
        baseUrl: `http://${base}`,
        subPath: target.slice(`http://${base}/`.length),
        type: 'OCIRepository/v1',
      });
      const descriptor = upload.spec.descriptor as { component: { resources: string[] } };
      assert.deepEqual(descriptor.component.resources, [
        `\${${id}AddtransformNote100.output.resource}`,
        `\${${id}AddtransformImage100.output.resource}`,
      ]);
      // Without --copy-resources only the local blob travels; the image keeps its access.
      const plain = await dryRun([ref, target]);
      assert.deepEqual(
        plain.transformations.map((t) => t.type),
        [
          'CTFGetLocalResource/v1alpha1',
          'OCIAddLocalResource/v1alpha1',
          'OCIAddComponentVersion/v1alpha1',
          'FileCleanup/v1alpha1',
        ],
      );
      assert.equal(
        (
          (plain.transformations[2] as { spec: Record<string, unknown> }).spec.descriptor as {
            component: { resources: string[] };
          }
        ).component.resources[1],
        `\${environment.${id}.component.resources[1]}`,
      );
      // The three output formats are the same document.
      const { parse } = await import('yaml');
      const yaml = await ladingOk(['transfer', 'cv', '--dry-run', '--copy-resources', ref, target]);
      assert.deepEqual(parse(yaml.stdout), spec);
      const nd = await ladingOk(['transfer', 'cv', '--dry-run', '-o', 'ndjson', '--copy-resources', ref, target]);
      assert.equal(nd.stdout.trim().split('\n').length, 1);
      assert.deepEqual(JSON.parse(nd.stdout), spec);
      // Nothing was written: the target has no such component version, a CTF target does not exist.
      const got = await lading(['get', 'cv', `${target}//${component}:1.0.0`]);
      assert.notEqual(got.code, 0);
      await ladingOk(['transfer', 'cv', '--dry-run', ref, join(dir, 'out-ctf')]);
      const { existsSync } = await import('node:fs');
      assert.equal(existsSync(join(dir, 'out-ctf')), false);
    }));
});

describe('OCM: transfer cv --transfer-spec runs an upstream transfer spec', () => {
  test('a saved dry-run spec transfers the version, local blob and image by value', () =>
    withDir(async (dir) => {
      const { ctf, component, target } = await seeded(dir);
      // Signed: the signature travels in the spec and still verifies in the target.
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      await ladingOk(['sign', 'cv', '--private-key', join(dir, 'k.pem'), `${ctf}//${component}:1.0.0`]);
      const spec = await dryRun(['--copy-resources', `${ctf}//${component}:1.0.0`, target]);
      await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
      const r = await ladingOk(['transfer', 'cv', '--transfer-spec', join(dir, 'spec.json')]);
      await ladingOk(['verify', 'cv', '--public-key', join(dir, 'pub.pem'), `${target}//${component}:1.0.0`]);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^Transferred ${component.replaceAll('.', '\\.')}:1\\.0\\.0 => `, 'm'));
      // Run again, the target already holds the same version: said as a plain repeat says it.
      const again = await ladingOk(['transfer', 'cv', '--transfer-spec', join(dir, 'spec.json')]);
      assert.match(
        again.stderr,
        new RegExp(`^Unchanged \\(already in the target\\) ${component.replaceAll('.', '\\.')}:1\\.0\\.0 => `, 'm'),
      );
      assert.doesNotMatch(again.stderr, /^Transferred /m);
      const got = JSON.parse((await ladingOk(['get', 'cv', '-o', 'json', `${target}//${component}:1.0.0`])).stdout)[0];
      const [note, image] = got.component.resources;
      assert.equal(note.access.type, 'LocalBlob/v1');
      assert.equal(image.access.type, 'LocalBlob/v1');
      assert.equal(image.access.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.equal(image.access.localReference, `sha256:${image.digest.value}`);
      await ladingOk([
        'download',
        'resource',
        `${target}//${component}:1.0.0`,
        '--identity',
        'name=note',
        '--output',
        join(dir, 'note'),
      ]);
      const { readFile } = await import('node:fs/promises');
      assert.equal(await readFile(join(dir, 'note'), 'utf8'), 'note-content');
      // The image is a native manifest in the component's repository of the target registry.
      const repo = `${target.slice('http://'.length)}/component-descriptors/${component}`;
      const resolved = await ladingOk(['resolve', '--plain-http', `${repo}@${image.access.localReference}`]);
      assert.equal(resolved.stdout.trim(), image.access.localReference);
      // The spec from stdin does the same (and finds everything in place).
      await ladingOk(['transfer', 'cv', '--transfer-spec', '-'], { input: JSON.stringify(spec) });
      // On to another registry with --upload-as ociArtifact: the image, now a local blob with a
      // referenceName, becomes a standalone artifact there (AddOCIArtifact).
      const second = `${target}-second`;
      const onward = await dryRun(['--upload-as', 'ociArtifact', `${target}//${component}:1.0.0`, second]);
      assert.deepEqual(
        onward.transformations.map((t) => t.type),
        [
          'OCIGetLocalResource/v1alpha1',
          'OCIAddLocalResource/v1alpha1',
          'OCIGetLocalResource/v1alpha1',
          'AddOCIArtifact/v1alpha1',
          'OCIAddComponentVersion/v1alpha1',
          'FileCleanup/v1alpha1',
        ],
      );
      await ladingOk(['transfer', 'cv', '--transfer-spec', '-'], { input: JSON.stringify(onward) });
      const moved = JSON.parse(
        (await ladingOk(['get', 'cv', '-o', 'json', `${second}//${component}:1.0.0`])).stdout,
      )[0];
      const standalone = moved.component.resources[1];
      assert.deepEqual(standalone.access, {
        type: 'ociArtifact/v1',
        imageReference: `${second}/${image.access.referenceName}`,
      });
      assert.deepEqual(standalone.digest, image.digest);
      const pulled = await ladingOk([
        'resolve',
        '--plain-http',
        `${second.slice('http://'.length)}/${image.access.referenceName}`,
      ]);
      assert.equal(pulled.stdout.trim(), image.access.localReference);
    }));

  test('a saved spec run with --username/--password writes to the registry it names, an --upload-as target included', () =>
    withDir(async (dir) => {
      const { ctf, component } = await seeded(dir);
      // The target asks for a token: the spec's AddComponentVersion and TransferOCIArtifact nodes
      // both name it, so both get the command's credentials.
      const target = `http://${peers.token.host}/transfer/authed-${process.pid}-${++counter}`;
      const spec = await dryRun([
        '--copy-resources',
        '--upload-as',
        'ociArtifact',
        `${ctf}//${component}:1.0.0`,
        target,
      ]);
      await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
      const creds = ['--username', peers.token.username, '--password', peers.token.password];
      await ladingOk(['transfer', 'cv', '--transfer-spec', join(dir, 'spec.json'), ...creds]);
      const got = await ladingOk(['get', 'cv', '-o', 'json', ...creds, `${target}//${component}:1.0.0`]);
      assert.equal(JSON.parse(got.stdout)[0].component.resources[1].access.type, 'ociArtifact/v1');
    }));

  test('--upload-as ociArtifact: the image streams registry to registry (TransferOCIArtifact) and stands beside the component', () =>
    withDir(async (dir) => {
      const { ctf, component, target, image } = await seeded(dir);
      const ref = `${ctf}//${component}:1.0.0`;
      const spec = await dryRun(['--copy-resources', '--upload-as', 'ociArtifact', ref, target]);
      const transfer = spec.transformations.find((t) => t.type === 'TransferOCIArtifact/v1alpha1') as Node;
      const repoTag = image.slice(image.indexOf('/') + 1);
      assert.equal(
        (transfer.spec.targetResource as { access: { imageReference: string } }).access.imageReference,
        `${target}/${repoTag}`,
      );
      await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
      // --transfer-spec with --dry-run checks and prints the spec, and runs nothing.
      const shown = await ladingOk([
        'transfer',
        'cv',
        '--dry-run',
        '-o',
        'json',
        '--transfer-spec',
        join(dir, 'spec.json'),
      ]);
      assert.deepEqual(JSON.parse(shown.stdout), spec);
      assert.notEqual((await lading(['get', 'cv', `${target}//${component}:1.0.0`])).code, 0);
      await ladingOk(['transfer', 'cv', '--transfer-spec', join(dir, 'spec.json')]);
      const got = JSON.parse((await ladingOk(['get', 'cv', '-o', 'json', `${target}//${component}:1.0.0`])).stdout)[0];
      const copied = got.component.resources[1];
      assert.deepEqual(copied.access, { type: 'ociArtifact/v1', imageReference: `${target}/${repoTag}` });
      const resolved = await ladingOk(['resolve', '--plain-http', `${target.slice('http://'.length)}/${repoTag}`]);
      assert.equal(resolved.stdout.trim(), `sha256:${copied.digest.value}`);
    }));

  test('--upload-as ociArtifact: an image named into component-descriptors/ is refused before anything is written, also from a spec', () =>
    withDir(async (dir) => {
      const component = `acme.org/guard/app${process.pid}`;
      const n = ++counter;
      await writeFile(join(dir, 'a.txt'), 'not what it claims\n');
      // The image's path becomes the standalone copy's name: this one lands among the target's
      // component versions, where it could retag one.
      const image = `${reg}/evil-${process.pid}-${n}/component-descriptors/acme.org/victim:1.0.0`;
      await ladingOk(['push', '--plain-http', image, 'a.txt'], { cwd: dir });
      await writeFile(
        join(dir, 'c.yaml'),
        `name: ${component}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: image\n    type: ociImage\n    version: 1.0.0\n    access: {type: OCIImage/v1, imageReference: http://${image}}\n`,
      );
      await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], { cwd: dir });
      const target = `http://${reg}/transfer/guard-${process.pid}-${n}`;
      const args = [
        '--copy-resources',
        '--upload-as',
        'ociArtifact',
        `${join(dir, 'ctf')}//${component}:1.0.0`,
        target,
      ];
      assertOneLineError(
        await lading(['transfer', 'cv', ...args]),
        /component-descriptors\/acme\.org\/victim:1\.0\.0 lies where an OCM repository keeps component versions/,
      );
      assert.notEqual((await lading(['get', 'cv', `${target}//${component}:1.0.0`])).code, 0, 'nothing transferred');
      const taken = await lading([
        'resolve',
        '--plain-http',
        `${target.slice('http://'.length)}/evil-${process.pid}-${n}/component-descriptors/acme.org/victim:1.0.0`,
      ]);
      assert.notEqual(taken.code, 0, 'no artifact pushed there');
      await writeFile(join(dir, 'spec.json'), JSON.stringify(await dryRun(args)));
      assertOneLineError(
        await lading(['transfer', 'cv', '--transfer-spec', join(dir, 'spec.json')]),
        /spec\.json: transformations\[\d+\]\.spec\.targetResource\.access\.imageReference: .* lies where an OCM repository keeps component versions/,
      );
      assert.notEqual(
        (
          await lading([
            'resolve',
            '--plain-http',
            `${target.slice('http://'.length)}/evil-${process.pid}-${n}/component-descriptors/acme.org/victim:1.0.0`,
          ])
        ).code,
        0,
      );
    }));

  test('seed 000: an edited spec keeps the image by reference; globalAccessPolicy: auto adds global access', () =>
    withDir(async (dir) => {
      const { ctf, component, target, image } = await seeded(dir);
      const spec = await dryRun(['--copy-resources', `${ctf}//${component}:1.0.0`, target]);
      const id = Object.keys(spec.environment)[0] as string;
      // Keep the image by reference: drop its Get/Add nodes and take the resource from the environment.
      spec.transformations = spec.transformations.filter((t) => !t.id.endsWith('transformImage100'));
      const upload = spec.transformations.find((t) => t.id.endsWith('Upload')) as Node;
      (upload.spec.descriptor as { component: { resources: string[] } }).component.resources[1] =
        `\${environment.${id}.component.resources[1]}`;
      const cleanup = spec.transformations.find((t) => t.type === 'FileCleanup/v1alpha1') as Node;
      cleanup.spec.files = (cleanup.spec.files as string[]).filter((f) => !f.includes('Image'));
      // And ask for global access on the local blob.
      const addNote = spec.transformations.find((t) => t.type === 'OCIAddLocalResource/v1alpha1') as Node;
      addNote.spec.globalAccessPolicy = 'auto';
      const { stringify } = await import('yaml');
      await writeFile(join(dir, 'spec.yaml'), stringify(spec));
      await ladingOk(['transfer', 'cv', '--transfer-spec', join(dir, 'spec.yaml')]);
      const got = JSON.parse((await ladingOk(['get', 'cv', '-o', 'json', `${target}//${component}:1.0.0`])).stdout)[0];
      const [note, kept] = got.component.resources;
      assert.equal(kept.access.type, 'OCIImage/v1');
      assert.match(kept.access.imageReference, new RegExp(`^http://${image.replaceAll('.', '\\.')}@sha256:`));
      const host = target.slice('http://'.length);
      assert.deepEqual(note.access.globalAccess, {
        type: 'OCIImageLayer/v1',
        ref: `${host}/component-descriptors/${component}@${note.access.localReference}`,
        mediaType: 'text/plain',
        digest: note.access.localReference,
        size: 'note-content'.length,
      });
      // The image itself was not copied into the component's repository.
      const repo = `${host}/component-descriptors/${component}`;
      const missing = await lading(['resolve', '--plain-http', `${repo}@sha256:${kept.digest.value}`]);
      assert.notEqual(missing.code, 0);
      // The global access reaches the blob in the registry.
      const blob = await ladingOk(['blob', 'fetch', '--plain-http', '--output', '-', note.access.globalAccess.ref]);
      assert.equal(blob.stdout, 'note-content');
    }));
});

describe('OCM: hostile transfer specs are refused with one line naming the file and the field', () => {
  test('unknown types and fields, bad IDs and references, missing resources, path and URL abuse', () =>
    withDir(async (dir) => {
      const { ctf, component } = await seeded(dir);
      const out = join(dir, 'out');
      const spec = await dryRun([`${ctf}//${component}:1.0.0`, out]);
      const { existsSync } = await import('node:fs');
      const file = join(dir, 'bad.json');
      /** Runs an edited copy of the spec and checks the error; the target is never created. */
      const refused = async (edit: (s: Spec) => unknown, pattern: RegExp) => {
        const copy = structuredClone(spec);
        const replaced = edit(copy);
        await writeFile(file, typeof replaced === 'string' ? replaced : JSON.stringify(replaced ?? copy));
        const r = await lading(['transfer', 'cv', '--transfer-spec', file]);
        assertOneLineError(r, pattern);
        assert.ok(r.stderr.includes(file), `names the file: ${r.stderr}`);
        assert.equal(existsSync(out), false, `nothing written for ${pattern}`);
      };
      const node = (s: Spec, type: string) => s.transformations.find((t) => t.type === type) as Node;
      await refused((s) => {
        (s.transformations[0] as Node).type = 'RunShell/v1alpha1';
      }, /transformations\[0\]\.type: unknown transformation type "RunShell\/v1alpha1"/);
      await refused((s) => {
        (s.transformations[0] as Node).type = 'GetHelmChart/v1alpha1';
      }, /transformations\[0\]\.type: GetHelmChart\/v1alpha1 is an upstream transformation lading does not run/);
      await refused((s) => {
        node(s, 'CTFGetLocalResource/v1alpha1').spec.resourceIdentity = { name: 'nope' };
      }, /has no resource \{"name":"nope"\}/);
      await refused((s) => {
        node(s, 'CTFAddLocalResource/v1alpha1').spec.file = { type: 'File/v1alpha1', uri: 'file:///etc/passwd' };
      }, /transformations\[1\]\.spec\.file: must be the file output of a Get transformation/);
      await refused((s) => {
        node(s, 'CTFGetLocalResource/v1alpha1').spec.outputPath = '/tmp/x';
      }, /transformations\[0\]\.spec\.outputPath: unknown field/);
      await refused((s) => {
        node(s, 'CTFGetLocalResource/v1alpha1').spec.repository = {
          type: 'OCIRepository/v1',
          baseUrl: 'http://registry.example.com',
        };
      }, /transformations\[0\]\.spec\.repository\.type: a CTF transformation needs a CommonTransportFormat repository/);
      await refused((s) => {
        node(s, 'CTFAddComponentVersion/v1alpha1').spec.repository = {
          type: 'CommonTransportFormat/v1',
          filePath: 'file:///tmp/x',
        };
      }, /spec\.repository\.filePath: a path on this machine, not a URL/);
      await refused((s) => {
        (s.transformations[0] as Node).id = 'a.b';
      }, /transformations\[0\]\.id: must be an identifier/);
      await refused((s) => {
        node(s, 'CTFAddLocalResource/v1alpha1').spec.resource = '${nowhere.output.resource}';
      }, /transformations\[1\]\.spec\.resource: .* names no transformation called "nowhere"/);
      await refused((s) => {
        node(s, 'CTFAddLocalResource/v1alpha1').spec.resource =
          `\${${(s.transformations[0] as Node).id}.output.resource + 1}`;
      }, /unsupported expression/);
      await refused((s) => {
        node(s, 'CTFAddLocalResource/v1alpha1').spec.component = '${environment.x';
      }, /unterminated \$\{/);
      await refused((s) => ({ ...s, extra: true }), /extra: unknown field/);
      await refused(() => '- just\n- a list\n', /\(document\): a transfer spec is an object/);
      await refused(() => 'transformations: [\n', /not YAML or JSON/);
      // A local blob no Add node copies would dangle in the target: refused before the version is written.
      await refused((s) => {
        s.transformations = s.transformations.filter(
          (t) => !t.type.includes('LocalResource') && t.type !== 'FileCleanup/v1alpha1',
        );
        const id = Object.keys(s.environment)[0] as string;
        (
          node(s, 'CTFAddComponentVersion/v1alpha1').spec.descriptor as { component: { resources: string[] } }
        ).component.resources[0] = `\${environment.${id}.component.resources[0]}`;
      }, /resources\[0\]: resource note is a local blob .* that no Add transformation of this spec puts into/);
      // Not a regular file.
      const fifo = await lading(['transfer', 'cv', '--transfer-spec', '/dev/zero']);
      assertOneLineError(fifo, /\/dev\/zero: a transfer spec must be a regular file/);
      // Positional arguments do not mix with a spec.
      const mixed = await lading(['transfer', 'cv', '--transfer-spec', file, `${ctf}//${component}:1.0.0`, out]);
      assertOneLineError(mixed, /positional arguments are not allowed with --transfer-spec/);
    }));

  test('a plain-http registry that is not loopback is refused; a digest mismatch stops the run before any write', () =>
    withDir(async (dir) => {
      const { ctf, component } = await seeded(dir);
      const out = join(dir, 'out');
      const spec = await dryRun(['--copy-resources', `${ctf}//${component}:1.0.0`, out]);
      const get = spec.transformations.find((t) => t.type === 'GetOCIArtifact/v1alpha1') as Node;
      const resource = get.spec.resource as { access: { imageReference: string }; digest: { value: string } };
      const file = join(dir, 'bad.json');
      const { existsSync } = await import('node:fs');
      resource.access.imageReference = 'http://registry.example.com/evil:v1';
      await writeFile(file, JSON.stringify(spec));
      assertOneLineError(await lading(['transfer', 'cv', '--transfer-spec', file]), /registry\.example\.com/);
      assert.equal(existsSync(out), false);
      const again = await dryRun(['--copy-resources', `${ctf}//${component}:1.0.0`, out]);
      const get2 = again.transformations.find((t) => t.type === 'GetOCIArtifact/v1alpha1') as Node;
      (get2.spec.resource as { digest: { value: string } }).digest.value = '0'.repeat(64);
      await writeFile(file, JSON.stringify(again));
      assertOneLineError(await lading(['transfer', 'cv', '--transfer-spec', file]), /digest/i);
      assert.equal(existsSync(out), false);
    }));
});
