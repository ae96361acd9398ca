import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pushBytes, tempDir } from '../../test/support/fixtures.js';
import { fetchAll } from '../content/index.js';
import { type Descriptor, digestBytes, encodeManifest, MediaType } from '../oci/index.js';
import { CtfArchive } from './archive.js';
import type { CtfRepository } from './repository.js';

const repo = 'component-descriptors/acme.org/many';

/** A small manifest of its own per version (one layer holding the version's name). */
async function versionManifest(target: CtfRepository, i: number): Promise<{ desc: Descriptor; bytes: Buffer }> {
  const config = await pushBytes(target, Buffer.from('{}'), MediaType.ImageConfig);
  const layer = await pushBytes(target, Buffer.from(`version ${i}`), MediaType.ImageLayer);
  const bytes = Buffer.from(
    encodeManifest({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers: [layer] }),
  );
  return { desc: { mediaType: MediaType.ImageManifest, digest: digestBytes(bytes), size: bytes.length }, bytes };
}

async function allTags(target: CtfRepository): Promise<string[]> {
  const out: string[] = [];
  for await (const page of target.tags()) out.push(...page);
  return out;
}

/** Every version listed, and each one's manifest and layer read back, verified. */
async function checkVersions(path: string, count: number): Promise<void> {
  const archive = await CtfArchive.open(path);
  try {
    const target = archive.repository(repo);
    const tags = await allTags(target);
    assert.equal(tags.length, count);
    assert.deepEqual(new Set(tags), new Set(Array.from({ length: count }, (_, i) => `1.0.${i}`)));
    for (let i = 0; i < count; i++) {
      const root = await target.resolve(`1.0.${i}`);
      const manifest = JSON.parse((await fetchAll(target, root)).toString());
      assert.equal((await fetchAll(target, manifest.layers[0])).toString(), `version ${i}`);
    }
    // Exactly one entry per version: a manifest recorded with its tag, as a push and a tag record it.
    assert.equal((await archive.artifacts()).length, count);
  } finally {
    await archive.close();
  }
}

describe('a CTF with thousands of versions', () => {
  const count = 2000;

  for (const name of ['ctf', 'ctf.tgz', 'ctf.tar']) {
    test(`${name}: 2,000 versions of one component, each listed and readable after the close`, async () => {
      const t = await tempDir();
      try {
        const path = join(t.path, name);
        const archive = await CtfArchive.open(path, { mode: 'create', batchIndex: true });
        const target = archive.repository(repo);
        for (let i = 0; i < count; i++) {
          const { desc, bytes } = await versionManifest(target, i);
          await target.pushReference(desc, bytes, `1.0.${i}`);
        }
        // Read back through the same handle before the close: what is kept in memory counts.
        assert.equal((await allTags(target)).length, count);
        await archive.close();
        await checkVersions(path, count);
      } finally {
        await t.cleanup();
      }
    });
  }

  test('pushReference writes the same index as a push and then a tag', async () => {
    const t = await tempDir();
    try {
      const texts: string[] = [];
      for (const way of ['push+tag', 'pushReference']) {
        const path = join(t.path, way);
        const archive = await CtfArchive.open(path, { mode: 'create' });
        const target = archive.repository(repo);
        for (let i = 0; i < 3; i++) {
          const { desc, bytes } = await versionManifest(target, i);
          if (way === 'push+tag') {
            await target.push(desc, bytes);
            await target.tag(desc, `1.0.${i}`);
          } else {
            await target.pushReference(desc, bytes, `1.0.${i}`);
          }
        }
        // The tag moved to another version keeps the old one, untagged: the same both ways.
        const moved = await target.resolve('1.0.2');
        const again = await target.resolve('1.0.0');
        if (way === 'push+tag') await target.tag(again, '1.0.2');
        else await target.pushReference(again, await fetchAll(target, again), '1.0.2');
        assert.notEqual(moved.digest, again.digest);
        await archive.close();
        texts.push(await readFile(join(path, 'artifact-index.json'), 'utf8'));
      }
      assert.equal(texts[1], texts[0]);
    } finally {
      await t.cleanup();
    }
  });
});

describe('a folder CTF with batchIndex', () => {
  test('the index is written on close; two such writers keep each other entries', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'ctf');
      await (await CtfArchive.open(path, { mode: 'create' })).close();
      const before = await readFile(join(path, 'artifact-index.json'), 'utf8');
      const a = await CtfArchive.open(path, { mode: 'readwrite', batchIndex: true });
      const b = await CtfArchive.open(path, { mode: 'readwrite', batchIndex: true });
      const ta = a.repository(repo);
      const tb = b.repository('component-descriptors/acme.org/other');
      for (let i = 0; i < 50; i++) {
        const va = await versionManifest(ta, i);
        await ta.pushReference(va.desc, va.bytes, `1.0.${i}`);
        const vb = await versionManifest(tb, i);
        await tb.pushReference(vb.desc, vb.bytes, `2.0.${i}`);
      }
      assert.equal(await readFile(join(path, 'artifact-index.json'), 'utf8'), before, 'nothing written yet');
      await b.close();
      // a sees b's entries now, with its own still to be written on top.
      assert.deepEqual(await a.repositories(), [
        'component-descriptors/acme.org/many',
        'component-descriptors/acme.org/other',
      ]);
      assert.equal((await allTags(ta)).length, 50);
      await a.close();
      const check = await CtfArchive.open(path);
      assert.equal((await allTags(check.repository(repo))).length, 50);
      assert.equal((await allTags(check.repository('component-descriptors/acme.org/other'))).length, 50);
      assert.equal((await check.artifacts()).length, 100);
      await check.close();
    } finally {
      await t.cleanup();
    }
  });

  test('a discarded session leaves the index and the blobs as they were', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'ctf');
      await (await CtfArchive.open(path, { mode: 'create' })).close();
      const before = await readFile(join(path, 'artifact-index.json'), 'utf8');
      const archive = await CtfArchive.open(path, { mode: 'readwrite', batchIndex: true });
      const target = archive.repository(repo);
      for (let i = 0; i < 20; i++) {
        const { desc, bytes } = await versionManifest(target, i);
        await target.pushReference(desc, bytes, `1.0.${i}`);
      }
      await archive.close({ commit: false });
      assert.equal(await readFile(join(path, 'artifact-index.json'), 'utf8'), before);
      assert.deepEqual(await readdir(join(path, 'blobs')), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe('a folder CTF asked many times', () => {
  test('asking whether it holds a manifest costs no trip through the thread pool', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'ctf');
      const archive = await CtfArchive.open(path, { mode: 'create', batchIndex: true });
      const target = archive.repository(repo);
      const { desc, bytes } = await versionManifest(target, 0);
      await target.pushReference(desc, bytes, '1.0.0');
      // Each answer checks that the index file is unchanged (another writer may have written it)
      // and that the blob is there: a stat each, small enough to make directly, several times a
      // version recorded.
      let trips = 0;
      const hook = createHook({
        init(_id, type) {
          if (type.startsWith('FSREQ')) trips++;
        },
      }).enable();
      try {
        for (let i = 0; i < 100; i++) {
          assert.equal(await target.exists(desc), true);
          assert.equal((await target.resolve('1.0.0')).digest, desc.digest);
        }
      } finally {
        hook.disable();
      }
      assert.equal(trips, 0);
      await archive.close();
    } finally {
      await t.cleanup();
    }
  });
});

describe('a CTF answering many questions in a row', () => {
  for (const name of ['ctf', 'ctf.tgz']) {
    test(`${name}: lets the event loop turn (timers, a Ctrl-C) while it works`, async () => {
      const t = await tempDir();
      try {
        const archive = await CtfArchive.open(join(t.path, name), { mode: 'create', batchIndex: true });
        const target = archive.repository(repo);
        const { desc, bytes } = await versionManifest(target, 0);
        await target.pushReference(desc, bytes, '1.0.0');
        // Direct system calls, and an index kept in memory: nothing in these answers needs the
        // loop, so only the store itself can let it turn.
        let fired = false;
        setTimeout(() => {
          fired = true;
        }, 1);
        const start = performance.now();
        let asked = 0;
        while (!fired && performance.now() - start < 2000) {
          assert.equal(await target.exists(desc), true);
          asked++;
        }
        assert.ok(fired, `a timer due in 1 ms had not run after ${asked} answers in 2 s`);
        await archive.close();
      } finally {
        await t.cleanup();
      }
    });
  }
});
