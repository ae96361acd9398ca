import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDirectoryAsTar } from '../src/archive/index.js';
import { fetchAll } from '../src/content/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { digestBytes, isLadingError, MediaType } from '../src/oci/index.js';
import { openComponentRepository } from '../src/ocm/open.js';
import { ComponentVersionRepository, OcmMediaType, registryResolver } from '../src/ocm/repository/index.js';
import { Registry } from '../src/registry/index.js';
import { componentDescriptor, pushImage, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const peers = loadPeers();

async function buildVersion(repo: ComponentVersionRepository, name: string, version: string, layoutTar: string) {
  const desc = componentDescriptor(name, version);
  const text = Buffer.from('hello from a local blob\n');
  const local = await repo.addLocalBlob(name, { mediaType: 'text/plain', open: () => Readable.from([text]) });
  const image = await repo.addLocalBlob(
    name,
    {
      mediaType: OcmMediaType.OciLayoutTar,
      open: async () => (await import('node:fs')).createReadStream(layoutTar),
    },
    { referenceName: 'acme.org/image:1.0.0' },
  );
  desc.component.resources = [
    { name: 'text', version, type: 'plainText', relation: 'local', access: local.access, digest: local.digest },
    { name: 'image', version, type: 'ociImage', relation: 'local', access: image.access, digest: image.digest },
  ];
  const result = await repo.addComponentVersion(desc);
  return { desc, result, text, image };
}

async function imageLayoutTar(dir: string) {
  const layoutDir = join(dir, 'image-layout');
  const layout = await OciLayout.open(layoutDir, { mode: 'create' });
  const image = await pushImage(layout, { 'app.txt': 'the app\n' });
  await layout.tag(image.manifest, '1.0.0');
  await writeDirectoryAsTar(layoutDir, join(dir, 'image.tar'));
  return { tar: join(dir, 'image.tar'), image };
}

describe('component versions in an OCI store', () => {
  test('CTF: add with a local blob and an embedded OCI layout, read back, list, download', async () => {
    const t = await tempDir();
    try {
      const { tar, image } = await imageLayoutTar(t.path);
      const archivePath = join(t.path, 'transport-archive');
      const archive = await CtfArchive.open(archivePath, { mode: 'create' });
      const repo = new ComponentVersionRepository(archive.resolver());
      const { result, text } = await buildVersion(repo, 'acme.org/hello', '1.0.0+build.7', tar);
      assert.equal(result.result, 'added');
      assert.equal(result.root.mediaType, MediaType.ImageIndex, 'a native OCI artifact makes it the index form');
      const again = await repo.getComponentVersion('acme.org/hello', '1.0.0+build.7');
      assert.equal(again.descriptor.component.version, '1.0.0+build.7');
      const resources = again.descriptor.component.resources ?? [];
      assert.equal(resources[1]?.access.localReference, image.manifest.digest);
      assert.equal(resources[1]?.access.mediaType, MediaType.ImageManifest);
      assert.deepEqual(await repo.listComponentVersions('acme.org/hello'), ['1.0.0+build.7']);
      const index = JSON.parse(await readFile(join(archivePath, 'artifact-index.json'), 'utf8'));
      assert.ok(
        index.artifacts.some(
          (a: { repository: string; tag?: string }) =>
            a.repository === 'component-descriptors/acme.org/hello' && a.tag === '1.0.0.build-build.7',
        ),
      );
      const out = join(t.path, 'text.out');
      await repo.writeLocalBlob(again, resources[0]?.access as never, out);
      assert.ok((await readFile(out)).equals(text));
      const layoutOut = join(t.path, 'image.out.tar');
      await repo.writeLocalBlob(again, resources[1]?.access as never, layoutOut, { layoutTag: '1.0.0' });
      const inspect = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${layoutOut}:1.0.0`])).stdout);
      assert.equal(inspect.Digest, image.manifest.digest);
      await assert.rejects(
        () => buildVersion(repo, 'acme.org/hello', '1.0.0+build.7', tar),
        (e) => isLadingError(e, 'ALREADY_EXISTS'),
      );
      await archive.close();
    } finally {
      await t.cleanup();
    }
  });

  test('writeLocalBlob aborted while it writes rejects ABORTED and leaves no file, temp or final', async () => {
    const t = await tempDir();
    try {
      const archive = await CtfArchive.open(join(t.path, 'ctf'), { mode: 'create' });
      const repo = new ComponentVersionRepository(archive.resolver());
      const chunk = Buffer.alloc(1024 * 1024, 7);
      const big = await repo.addLocalBlob('acme.org/big', {
        mediaType: 'application/octet-stream',
        open: () =>
          Readable.from(
            (function* () {
              for (let i = 0; i < 128; i++) yield chunk;
            })(),
          ),
      });
      const desc = componentDescriptor('acme.org/big', '1.0.0');
      desc.component.resources = [
        { name: 'big', version: '1.0.0', type: 'blob', relation: 'local', access: big.access, digest: big.digest },
      ];
      await repo.addComponentVersion(desc);
      const stored = await repo.getComponentVersion('acme.org/big', '1.0.0');
      const outDir = join(t.path, 'out');
      await mkdir(outDir);
      const stop = new AbortController();
      const reason = new Error('stopped by the test');
      // Aborted as soon as the write has begun: its first file appears in the folder.
      const watcher = watch(outDir, () => stop.abort(reason));
      try {
        await assert.rejects(
          repo.writeLocalBlob(stored, big.access as never, join(outDir, 'big.bin'), { signal: stop.signal }),
          (e: unknown) => isLadingError(e, 'ABORTED') && e.cause === reason,
        );
      } finally {
        watcher.close();
      }
      assert.ok(stop.signal.aborted, 'the write began');
      assert.deepEqual(await readdir(outDir), []);
      await archive.close();
    } finally {
      await t.cleanup();
    }
  });

  test('registry: the same mapping, and the embedded image is natively pullable with skopeo', async () => {
    const t = await tempDir();
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    try {
      const { tar, image } = await imageLayoutTar(t.path);
      const repo = new ComponentVersionRepository(registryResolver(registry, { subPath: 'ocm-test', write: true }));
      const name = `acme.org/reg${process.pid}`;
      await buildVersion(repo, name, '2.0.0', tar);
      const stored = await repo.getComponentVersion(name, '2.0.0');
      assert.equal(stored.descriptor.component.name, name);
      assert.deepEqual(await repo.listComponentVersions(name), ['2.0.0']);
      const ref = `${peers.plain.host}/ocm-test/component-descriptors/${name}@${image.manifest.digest}`;
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
        encoding: 'buffer',
      });
      assert.equal(digestBytes(raw.stdout as Buffer), image.manifest.digest);
      await mkdir(join(t.path, 'pulled'));
      await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(t.path, 'pulled')}:v1`]);
      await run('umoci', [
        'raw',
        'unpack',
        '--rootless',
        '--image',
        `${join(t.path, 'pulled')}:v1`,
        join(t.path, 'rootfs'),
      ]);
      assert.equal(await readFile(join(t.path, 'rootfs', 'app.txt'), 'utf8'), 'the app\n');
    } finally {
      await registry.close();
      await t.cleanup();
    }
  });

  test('a local blob given with its bytes is stored from them (CTF and registry): checked, and no stream opened', async () => {
    const t = await tempDir();
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    const archive = await CtfArchive.open(join(t.path, 'ctf'), { mode: 'create' });
    try {
      const bytes = Buffer.from('in memory\n');
      const noStream = () => {
        throw new Error('the bytes are given: no stream is opened');
      };
      const stores = {
        ctf: new ComponentVersionRepository(archive.resolver()),
        registry: new ComponentVersionRepository(registryResolver(registry, { subPath: 'ocm-bytes', write: true })),
      };
      for (const [kind, repo] of Object.entries(stores)) {
        const name = `acme.org/bytes-${kind}${process.pid}`;
        const blob = { mediaType: 'text/plain', size: bytes.length, digest: digestBytes(bytes), bytes, open: noStream };
        const added = await repo.addLocalBlob(name, blob);
        assert.equal(added.access.localReference, digestBytes(bytes));
        const desc = componentDescriptor(name, '1.0.0');
        desc.component.resources = [
          {
            name: 'text',
            version: '1.0.0',
            type: 'blob',
            relation: 'local',
            access: added.access,
            digest: added.digest,
          },
        ];
        await repo.addComponentVersion(desc);
        const target = await repo.target(name);
        const got = await fetchAll(target, { mediaType: 'text/plain', digest: digestBytes(bytes), size: bytes.length });
        assert.equal(got.toString(), 'in memory\n', kind);
        // Bytes that are not what the digest says are refused, as a stream of them would be.
        const wrong = { ...blob, digest: digestBytes(Buffer.from('in memorx\n')) };
        await assert.rejects(repo.addLocalBlob(`${name}-wrong`, wrong), (e: unknown) =>
          isLadingError(e, 'DIGEST_MISMATCH'),
        );
      }
    } finally {
      await archive.close();
      await registry.close();
      await t.cleanup();
    }
  });

  test('openComponentRepository: one mode option for CTF archives and registries, disposable', async () => {
    const t = await tempDir();
    try {
      const archive = join(t.path, 'modes.tgz');
      await assert.rejects(openComponentRepository(archive, { mode: 'readwrite' }), (e) =>
        isLadingError(e, 'NOT_FOUND'),
      );
      await assert.rejects(openComponentRepository(archive), (e) => isLadingError(e, 'NOT_FOUND'));
      const created = await openComponentRepository(archive, { mode: 'create' });
      await created.repository.addComponentVersion(componentDescriptor('acme.org/modes', '1.0.0'));
      await created[Symbol.asyncDispose](); // writes the tgz back
      const again = await openComponentRepository(archive, { mode: 'readwrite' });
      await again.repository.addComponentVersion(componentDescriptor('acme.org/modes', '1.1.0'));
      await again.close();
      const read = await openComponentRepository({
        kind: 'CommonTransportFormat',
        type: 'CommonTransportFormat/v1',
        filePath: archive,
      });
      assert.deepEqual((await read.repository.listComponentVersions('acme.org/modes')).sort(), ['1.0.0', '1.1.0']);
      await read[Symbol.asyncDispose]();

      const registry = await openComponentRepository(`${peers.plain.url}/modes-${process.pid}`, { mode: 'readwrite' });
      await registry.repository.addComponentVersion(componentDescriptor('acme.org/modes', '2.0.0'));
      await registry[Symbol.asyncDispose]();
      const back = await openComponentRepository(`${peers.plain.url}/modes-${process.pid}`);
      assert.deepEqual(await back.repository.listComponentVersions('acme.org/modes'), ['2.0.0']);
      await back.close();
    } finally {
      await t.cleanup();
    }
  });

  test('reads the component version written by upstream OCM v1 (compatibility vector 01)', async () => {
    const { ocmVectors } = await import('./support/vectors.js');
    for (const form of ['transport-archive', 'transport-archive.tar', 'transport-archive.tar.gz']) {
      const archive = await CtfArchive.open(join(ocmVectors, 'bindings/go/ctf/testdata/compatibility/01', form), {
        mode: 'readonly',
      });
      try {
        const repo = new ComponentVersionRepository(archive.resolver());
        const stored = await repo.getComponentVersion('github.com/acme.org/helloworld', '1.0.0');
        const resource = stored.descriptor.component.resources?.[0];
        assert.equal(resource?.name, 'resource');
        const work = await tempDir();
        try {
          const out = join(work.path, 'r');
          await repo.writeLocalBlob(stored, resource?.access as never, out);
          assert.equal(await readFile(out, 'utf8'), 'test');
        } finally {
          await work.cleanup();
        }
        assert.deepEqual(await repo.listComponentVersions('github.com/acme.org/helloworld'), ['1.0.0']);
      } finally {
        await archive.close();
      }
    }
  });

  test('lists a version written before the version annotation existed (a component-config manifest), as upstream', async () => {
    const { ocmVectors } = await import('./support/vectors.js');
    const t = await tempDir();
    try {
      // vector 01 with the manifest's annotations removed, as older OCM and component-cli wrote it
      const archive = await CtfArchive.open(
        join(ocmVectors, 'bindings/go/ctf/testdata/compatibility/01/transport-archive'),
      );
      const copyPath = join(t.path, 'old');
      const old = await CtfArchive.open(copyPath, { mode: 'create' });
      const name = 'github.com/acme.org/helloworld';
      const from = archive.repository(`component-descriptors/${name}`);
      const to = old.repository(`component-descriptors/${name}`);
      const top = await from.resolve('1.0.0');
      const manifest = JSON.parse((await fetchAll(from, top)).toString());
      for (const blob of [manifest.config, ...manifest.layers]) await to.push(blob, await fetchAll(from, blob));
      delete manifest.annotations;
      const bytes = Buffer.from(JSON.stringify(manifest));
      const plain = { mediaType: MediaType.ImageManifest, digest: digestBytes(bytes), size: bytes.length };
      await to.push(plain, bytes);
      await to.tag(plain, '1.0.0');
      // a manifest of another kind under another tag is no version
      const other = Buffer.from(JSON.stringify({ ...manifest, config: manifest.layers[1] }));
      const otherDesc = { mediaType: MediaType.ImageManifest, digest: digestBytes(other), size: other.length };
      await to.push(otherDesc, other);
      await to.tag(otherDesc, 'not-a-version');
      await old.close();
      await archive.close();
      const back = await CtfArchive.open(copyPath, { mode: 'readonly' });
      try {
        const repo = new ComponentVersionRepository(back.resolver());
        assert.deepEqual(await repo.listComponentVersions(name), ['1.0.0']);
        assert.equal((await repo.getComponentVersion(name, '1.0.0')).descriptor.component.version, '1.0.0');
      } finally {
        await back.close();
      }
    } finally {
      await t.cleanup();
    }
  });
});

describe('two versions that share a tag (`1.0.0-rc+x` and `1.0.0-rc.build-x`)', () => {
  for (const where of ['CTF', 'registry'] as const) {
    test(`${where}: the other version is neither there nor stored over the one that is, under any policy`, async () => {
      const t = await tempDir();
      const opened =
        where === 'CTF'
          ? await openComponentRepository(join(t.path, 'ctf'), { mode: 'create' })
          : await openComponentRepository(`${peers.plain.url}/tagshare-${process.pid}`, { mode: 'readwrite' });
      try {
        const repo = opened.repository;
        const name = 'acme.org/tagshare';
        const refused = (e: unknown) =>
          isLadingError(e, 'ALREADY_EXISTS') &&
          (e as Error).message ===
            `component version ${name}:1.0.0-rc.build-x cannot be stored: its tag 1.0.0-rc.build-x holds ${name}:1.0.0-rc+x, another version stored under the same tag`;
        const first = await repo.addComponentVersion(componentDescriptor(name, '1.0.0-rc+x'));
        const check = async () => {
          assert.equal(await repo.hasComponentVersion(name, '1.0.0-rc+x'), true);
          assert.equal(await repo.hasComponentVersion(name, '1.0.0-rc.build-x'), false);
          assert.equal(await repo.storedVersionAtTag(name, '1.0.0-rc.build-x'), '1.0.0-rc+x');
          for (const conflictPolicy of ['abort-and-fail', 'skip', 'replace'] as const) {
            await assert.rejects(
              repo.addComponentVersion(componentDescriptor(name, '1.0.0-rc.build-x'), { conflictPolicy }),
              refused,
            );
          }
          // Reading is as before: the stored version, and the other refused for what it holds.
          assert.equal((await repo.getComponentVersion(name, '1.0.0-rc+x')).descriptor.component.version, '1.0.0-rc+x');
          await assert.rejects(repo.getComponentVersion(name, '1.0.0-rc.build-x'), (e) =>
            isLadingError(e, 'INVALID_DESCRIPTOR'),
          );
        };
        await check();
        assert.equal((await repo.getComponentVersion(name, '1.0.0-rc+x')).root.digest, first.root.digest);
        // The same version is a conflict the policy settles, as before.
        const skipped = await repo.addComponentVersion(componentDescriptor(name, '1.0.0-rc+x'), {
          conflictPolicy: 'skip',
        });
        assert.equal(skipped.result, 'skipped');

        // A manifest without the version annotation (another tool's): the descriptor says.
        const target = await repo.target(name);
        const manifest = JSON.parse((await fetchAll(target, first.root)).toString('utf8'));
        delete manifest.annotations;
        const bytes = Buffer.from(JSON.stringify(manifest));
        const bare = { mediaType: MediaType.ImageManifest, digest: digestBytes(bytes), size: bytes.length };
        await target.push(bare, bytes);
        await target.tag(bare, '1.0.0-rc.build-x');
        await check();
      } finally {
        await opened.close();
        await t.cleanup();
      }
    });
  }
});
