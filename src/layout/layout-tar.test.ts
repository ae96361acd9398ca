import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pushImage, withDir } from '../../test/support/fixtures.js';
import { TarFiles } from '../archive/index.js';
import { fetchAll, MemoryStore } from '../content/index.js';
import { copyGraph } from '../copy/index.js';
import { digestBytes, isLadingError } from '../oci/index.js';
import { OciLayout } from './layout.js';
import { LayoutTarWriter } from './layout-tar.js';

describe('LayoutTarWriter', () => {
  test('a graph copy into it gives a layout tar that lists only what was tagged', () =>
    withDir(async (dir) => {
      const src = new MemoryStore();
      const image = await pushImage(src);
      const out = join(dir, 'image.tar');
      const tar = await LayoutTarWriter.create(out);
      await copyGraph(src, tar, image.manifest, { concurrency: 1 });
      await tar.tag(image.manifest, 'v1');
      assert.deepEqual(await tar.resolve('v1'), image.manifest);
      await tar.finish();

      const entries = [...(await TarFiles.open(out)).entries()].map((e) => e.path);
      assert.equal(entries[0], 'oci-layout');
      assert.equal(entries.at(-1), 'index.json');
      assert.equal(entries.at(-2), `blobs/sha256/${image.manifest.digest.slice(7)}`, 'children before their parent');
      const layout = await OciLayout.open(out);
      assert.deepEqual(layout.manifests(), [image.manifest]);
      assert.deepEqual(await layout.resolve('v1'), image.manifest);
      for (const desc of [image.manifest, image.config, image.layer]) {
        assert.equal(digestBytes(await fetchAll(layout, desc)), desc.digest);
      }
      assert.deepEqual(await readdir(dir), ['image.tar']);
    }));

  test('a digest reference lists the root without a name; the same graph gives the same bytes', () =>
    withDir(async (dir) => {
      const src = new MemoryStore();
      const image = await pushImage(src);
      const write = async (name: string) => {
        const tar = await LayoutTarWriter.create(join(dir, name));
        await copyGraph(src, tar, image.manifest, { concurrency: 1 });
        await tar.tag(image.manifest, image.manifest.digest);
        await tar.finish();
        return readFile(join(dir, name));
      };
      const [a, b] = [await write('a.tar'), await write('b.tar')];
      assert.ok(a.equals(b));
      const index = JSON.parse(String(await (await TarFiles.open(join(dir, 'a.tar'))).readSmall('index.json', 1024)));
      assert.deepEqual(index.manifests, [image.manifest]);
    }));

  test('content that is not what its descriptor says spoils the tar: nothing is left behind', () =>
    withDir(async (dir) => {
      const out = join(dir, 'bad.tar');
      const tar = await LayoutTarWriter.create(out);
      const bytes = Buffer.from('the real bytes');
      const desc = { mediaType: 'application/octet-stream', digest: digestBytes(bytes), size: bytes.length };
      await assert.rejects(tar.push(desc, Buffer.from('other bytes...')), (e) => isLadingError(e, 'DIGEST_MISMATCH'));
      await assert.rejects(tar.push({ ...desc, digest: digestBytes(Buffer.from('x')) }, bytes));
      await assert.rejects(tar.finish());
      await tar.abort();
      assert.deepEqual(await readdir(dir), []);
    }));
});
