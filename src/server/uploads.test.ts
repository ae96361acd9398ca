// Uploads and the blob pool against a store on disk: what must hold when a commit fails half-way
// or a blob is deleted (faults a client cannot produce on demand).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { RegistryStore } from './storage.js';
import { Uploads } from './uploads.js';

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

async function withStore(run: (store: RegistryStore, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'lading-uploads-'));
  try {
    await run(await RegistryStore.open(root), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('uploads', () => {
  test('a commit that fails after the pool took the file ends the upload: no later chunk writes into the stored blob', async () => {
    await withStore(async (store, root) => {
      const uploads = new Uploads(store);
      const data = randomBytes(1000);
      const digest = sha256(data);
      const { id } = await uploads.start('a/repo');
      assert.equal(await uploads.append('a/repo', id, Readable.from([data])), data.length);
      // The pool link is made, then the repository's fails (a full disk, a crash).
      const commit = store.commit.bind(store);
      store.commit = async (...args: Parameters<RegistryStore['commit']>) => {
        await commit(...args);
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      };
      await assert.rejects(uploads.finish('a/repo', id, digest), /no space left/);
      store.commit = commit;
      assert.equal(await uploads.status('a/repo', id), undefined, 'the upload is gone');
      assert.equal(await uploads.append('a/repo', id, Readable.from([Buffer.from('EVIL')])), undefined);
      const pool = join(root, '_lading', 'blobs', 'sha256', digest.slice(7));
      assert.deepEqual(await readFile(pool), data, 'the pool blob is what was verified');
    });
  });

  test('a blob deleted from its only repository is not mounted from the pool into another', async () => {
    await withStore(async (store) => {
      const uploads = new Uploads(store);
      const data = Buffer.from('a secret layer');
      const digest = sha256(data);
      const { id } = await uploads.start('owner/app');
      await uploads.append('owner/app', id, Readable.from([data]));
      await uploads.finish('owner/app', id, digest);
      assert.equal(await store.mount('other/app', digest, undefined), true, 'held by a repository: mountable');
      await store.locked('owner/app', (dir) => store.removeBlob(dir, digest));
      await store.locked('other/app', (dir) => store.removeBlob(dir, digest));
      assert.equal(await store.mount('third/app', digest, undefined), false, 'no repository holds it any more');
      assert.equal(await store.blobSize('third/app', digest), undefined);
    });
  });

  test('an index.json that would outgrow what is read back is not written: the repository stays editable', async () => {
    await withStore(async (store, root) => {
      const data = Buffer.from('{}');
      const digest = sha256(data);
      await store.putManifestBlob('big/repo', digest, data);
      const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: data.length };
      await store.locked('big/repo', async (dir) => {
        const state = await store.stateIn(dir, 'big/repo');
        store.recordManifest(state, desc, 'v1');
        await store.writeState(dir, state, 'big/repo');
        const huge = { ...desc, annotations: { note: 'x'.repeat(17 * 1024 * 1024) } };
        store.recordManifest(state, huge, 'v2');
        await assert.rejects(
          store.writeState(dir, state, 'big/repo'),
          (e: Error & { code?: string }) =>
            e.code === 'SIZE_EXCEEDS_LIMIT' && e.message.startsWith('big/repo: ') && !e.message.includes(root),
        );
      });
      const after = await store.state('big/repo');
      assert.deepEqual([...(after?.tags.keys() ?? [])], ['v1']);
      // An index over the cap from before the cap existed can still shrink.
      const { writeFile } = await import('node:fs/promises');
      const { encodeIndexJson } = await import('../layout/index-json.js');
      const over = await store.locked('big/repo', (dir) => store.stateIn(dir, 'big/repo'));
      store.recordManifest(over, { ...desc, annotations: { note: 'x'.repeat(17 * 1024 * 1024) } }, 'v2');
      store.recordManifest(over, { ...desc, annotations: { note: 'y'.repeat(1024 * 1024) } }, 'v3');
      await writeFile(join(root, 'big', 'repo', 'index.json'), encodeIndexJson(over));
      await store.locked('big/repo', async (dir) => {
        const state = await store.stateIn(dir, 'big/repo');
        state.tags.delete('v3');
        await store.writeState(dir, state, 'big/repo');
      });
      assert.deepEqual([...((await store.state('big/repo'))?.tags.keys() ?? [])].sort(), ['v1', 'v2']);
    });
  });

  test('uploads left open do not pile up: past the limit the one idle longest goes, and with none idle a new one is refused', async () => {
    await withStore(async (store, root) => {
      const uploads = new Uploads(store, { maxOpen: 3, idleMs: 50 });
      const first = await uploads.start('a/repo');
      await uploads.start('a/repo');
      await uploads.start('a/repo');
      await assert.rejects(
        uploads.start('a/repo'),
        (e: Error) => e.name === 'ServerBusy' && /uploads are open/.test(e.message),
      );
      await new Promise((resolve) => setTimeout(resolve, 80));
      const fourth = await uploads.start('a/repo');
      assert.equal(await uploads.status('a/repo', first.id), undefined, 'the oldest idle upload made room');
      assert.equal(await uploads.status('a/repo', fourth.id), 0);
      const files = await readdir(join(root, '_lading', 'uploads'));
      assert.equal(files.filter((f) => !f.endsWith('.json')).length, 3, 'its files are gone too');
      // A burst of starts at once: the cap holds, not just one start at a time.
      const burst = new Uploads(store, { maxOpen: 3, idleMs: 60_000 });
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => burst.start('b/repo')));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    });
  });

  test('one client holds at most its share of the uploads; its own idle ones make room; asking how far one got is no use of it', async () => {
    await withStore(async (store) => {
      const uploads = new Uploads(store, { maxOpen: 10, maxPerOwner: 2, idleMs: 50 });
      const a1 = await uploads.start('a/repo', { owner: 'address 10.0.0.1' });
      await uploads.start('a/repo', { owner: 'address 10.0.0.1' });
      await assert.rejects(uploads.start('a/repo', { owner: 'address 10.0.0.1' }), (e: Error) =>
        /2 uploads of this client are open/.test(e.message),
      );
      // A burst from the client at its limit: none gets through.
      const burst = await Promise.allSettled(
        Array.from({ length: 5 }, () => uploads.start('a/repo', { owner: 'address 10.0.0.1' })),
      );
      assert.equal(burst.filter((r) => r.status === 'fulfilled').length, 0);
      // Others are not held back by it.
      await uploads.start('a/repo', { owner: 'address 10.0.0.2' });
      await uploads.start('a/repo');
      // Status requests keep nothing alive: once idle, the client's oldest upload makes room.
      const ticker = setInterval(() => void uploads.status('a/repo', a1.id), 10);
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
      } finally {
        clearInterval(ticker);
      }
      const a3 = await uploads.start('a/repo', { owner: 'address 10.0.0.1' });
      assert.equal(await uploads.status('a/repo', a1.id), undefined, 'the idle one went, asked about or not');
      assert.equal(await uploads.status('a/repo', a3.id), 0);
    });
  });
});
