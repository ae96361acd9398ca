import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { writeDirectoryAsTar } from '../src/archive/index.js';
import { fetchAll, MemoryStore } from '../src/content/index.js';
import { copy } from '../src/copy/index.js';
import { LayoutTarWriter, OciLayout } from '../src/layout/index.js';
import { MediaType } from '../src/oci/index.js';
import { pushArtifact, pushImage, tempDir } from './support/fixtures.js';

const run = promisify(execFile);

/** skopeo as a user who is not root: this one, or nobody when the tests run as root. */
function skopeoNotRoot(args: string[]): Promise<{ stdout: Buffer }> {
  if (process.getuid?.() !== 0) return run('skopeo', args, { encoding: 'buffer' });
  const user = ['--reuid=65534', '--regid=65534', '--clear-groups'];
  return run('setpriv', [...user, '--', 'skopeo', ...args], {
    encoding: 'buffer',
    env: { ...process.env, HOME: '/nonexistent' },
  });
}

/** Layouts cross between lading and two independent OCI clients, umoci and skopeo, in both directions. */
describe('OCI layout interop with umoci and skopeo', () => {
  test('a layout built by umoci is read and copied by lading', async () => {
    const t = await tempDir();
    try {
      const layoutDir = join(t.path, 'umoci-layout');
      await mkdir(join(t.path, 'payload'));
      await writeFile(join(t.path, 'payload', 'greeting.txt'), 'made by umoci\n');
      await run('umoci', ['init', '--layout', layoutDir]);
      await run('umoci', ['new', '--image', `${layoutDir}:v1`]);
      await run('umoci', ['insert', '--image', `${layoutDir}:v1`, join(t.path, 'payload'), '/data']);
      await run('umoci', ['gc', '--layout', layoutDir]);
      const layout = await OciLayout.open(layoutDir);
      const root = await layout.resolve('v1');
      const manifest = JSON.parse((await fetchAll(layout, root)).toString());
      assert.equal(manifest.layers.length, 1);
      const out = await OciLayout.open(join(t.path, 'copy'), { mode: 'create' });
      await copy(layout, 'v1', out, 'v1');
      const layerBytes = await fetchAll(out, manifest.layers[0], { limit: 64 * 1024 * 1024 });
      assert.ok(gunzipSync(layerBytes).includes(Buffer.from('made by umoci')));
      // umoci reads lading's copy back.
      const { stdout } = await run('umoci', ['stat', '--image', `${join(t.path, 'copy')}:v1`, '--json']);
      assert.equal(JSON.parse(stdout).history.length >= 1, true);
    } finally {
      await t.cleanup();
    }
  });

  test('a layout written by skopeo is read by lading with the same digests', async () => {
    const t = await tempDir();
    try {
      const src = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const { manifest } = await pushImage(src, { 'a.txt': 'from lading\n' });
      await src.tag(manifest, 'v1');
      await run('skopeo', [
        'copy',
        '--preserve-digests',
        `oci:${join(t.path, 'src')}:v1`,
        `oci:${join(t.path, 'skopeo-out')}:copied`,
      ]);
      const viaSkopeo = await OciLayout.open(join(t.path, 'skopeo-out'));
      const root = await viaSkopeo.resolve('copied');
      assert.equal(root.digest, manifest.digest);
      await fetchAll(viaSkopeo, root);
    } finally {
      await t.cleanup();
    }
  });

  test('what lading writes, umoci stats, lists and unpacks, and skopeo inspects', async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'lading');
      const layout = await OciLayout.open(dir, { mode: 'create' });
      const { manifest } = await pushImage(layout, { 'hello.txt': 'hello from lading\n' });
      await layout.tag(manifest, 'v1');
      const ls = await run('umoci', ['ls', '--layout', dir]);
      assert.deepEqual(ls.stdout.trim().split('\n'), ['v1']);
      await run('umoci', ['stat', '--image', `${dir}:v1`]);
      await run('umoci', ['raw', 'unpack', '--rootless', '--image', `${dir}:v1`, join(t.path, 'rootfs')]);
      assert.equal(await readFile(join(t.path, 'rootfs', 'hello.txt'), 'utf8'), 'hello from lading\n');
      const inspect = JSON.parse((await run('skopeo', ['inspect', `oci:${dir}:v1`])).stdout);
      assert.equal(inspect.Digest, manifest.digest);
      assert.equal(inspect.Os, 'linux');
    } finally {
      await t.cleanup();
    }
  });

  test('an ORAS-style artifact written by lading keeps its exact manifest bytes through skopeo', async () => {
    const t = await tempDir();
    try {
      const mem = new MemoryStore();
      const { manifest } = await pushArtifact(mem, { 'model.bin': Buffer.alloc(4096, 3), 'README.md': '# model\n' });
      await mem.tag(manifest, 'art');
      const dir = join(t.path, 'art');
      const layout = await OciLayout.open(dir, { mode: 'create' });
      await copy(mem, 'art', layout, 'art');
      const raw = (await run('skopeo', ['inspect', '--raw', `oci:${dir}:art`], { encoding: 'buffer' }))
        .stdout as Buffer;
      assert.ok(raw.equals(await fetchAll(mem, manifest)));
      // Through a tar layout and back out with GNU tar, skopeo still finds the same manifest.
      await writeDirectoryAsTar(dir, join(t.path, 'art.tar'));
      await mkdir(join(t.path, 'untarred'));
      await run('tar', ['-xf', join(t.path, 'art.tar'), '-C', join(t.path, 'untarred')]);
      const again = (
        await run('skopeo', ['inspect', '--raw', `oci:${join(t.path, 'untarred')}:art`], { encoding: 'buffer' })
      ).stdout as Buffer;
      assert.ok(again.equals(raw));
      const tarLayout = await OciLayout.open(join(t.path, 'art.tar'));
      assert.equal((await tarLayout.resolve('art')).mediaType, MediaType.ImageManifest);
    } finally {
      await t.cleanup();
    }
  });

  test('skopeo run by a user who is not root reads the layout tars lading writes', async () => {
    // containers/storage, unpacking a tar for anyone but root, cannot make a folder the tar does
    // not name (it creates it owned by root): each folder must come before its files.
    const t = await tempDir();
    try {
      await chmod(t.path, 0o755);
      const dir = join(t.path, 'layout');
      const layout = await OciLayout.open(dir, { mode: 'create' });
      const { manifest } = await pushImage(layout, { 'hello.txt': 'hello, whoever you are\n' });
      await layout.tag(manifest, 'v1');
      const written = join(t.path, 'written.tar');
      const writer = await LayoutTarWriter.create(written);
      await copy(layout, 'v1', writer, 'v1', { concurrency: 1 });
      await writer.finish();
      const folder = join(t.path, 'folder.tar');
      await writeDirectoryAsTar(dir, folder);
      for (const tar of [written, folder]) {
        await chmod(tar, 0o644);
        const raw = (await skopeoNotRoot(['inspect', '--raw', `oci-archive:${tar}:v1`])).stdout;
        assert.ok(raw.equals(await fetchAll(layout, manifest)), tar);
      }
    } finally {
      await t.cleanup();
    }
  });
});
