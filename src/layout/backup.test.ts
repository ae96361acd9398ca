import assert from 'node:assert/strict';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pushArtifact, pushImage, pushIndex, withDir } from '../../test/support/fixtures.js';
import { fetchAll, listReferrers, MemoryStore } from '../content/index.js';
import { type Descriptor, digestBytes, EmptyJsonDescriptor, isLadingError } from '../oci/index.js';
import { backupRepository, backupStagingPath, restoreRepository } from './backup.js';
import { OciLayout } from './layout.js';

async function source() {
  const src = new MemoryStore();
  const a = await pushImage(src, { 'a.txt': 'a\n' });
  const b = await pushImage(src, { 'b.txt': 'b\n' });
  const index = await pushIndex(src, [a.manifest, b.manifest]);
  await src.tag(index, 'v1');
  await src.tag(b.manifest, 'v2');
  const sig = (await pushArtifact(src, { sig: 'signature' }, { subject: index, artifactType: 'application/x.sig' }))
    .manifest;
  const sbom = (await pushArtifact(src, { sbom: 'sbom' }, { subject: a.manifest, artifactType: 'application/x.sbom' }))
    .manifest;
  // A referrer of a referrer.
  const countersig = (await pushArtifact(src, { cs: 'counter' }, { subject: sig, artifactType: 'application/x.cs' }))
    .manifest;
  return { src, a, b, index, sig, sbom, countersig };
}

describe('backupRepository and restoreRepository', () => {
  test('a .partial staging path that is a link, a file or a folder of something else is refused, untouched', () =>
    withDir(async (dir) => {
      const s = await source();
      const out = join(dir, 'b.tar');
      const victim = join(dir, 'victim');
      await mkdir(join(victim, 'ingest'), { recursive: true });
      await writeFile(join(victim, 'ingest', 'keep'), 'mine');
      await symlink(victim, backupStagingPath(out));
      const refused = (e: unknown) => isLadingError(e, 'INVALID_ARGUMENT') && /\.partial/.test((e as Error).message);
      await assert.rejects(backupRepository(s.src, out), refused);
      assert.deepEqual((await readdir(victim)).sort(), ['ingest']);
      assert.deepEqual(await readdir(join(victim, 'ingest')), ['keep']);
      const other = join(dir, 'c.tar');
      await mkdir(backupStagingPath(other));
      await writeFile(join(backupStagingPath(other), 'notes.txt'), 'mine');
      await assert.rejects(backupRepository(s.src, other), refused);
      assert.deepEqual(await readdir(backupStagingPath(other)), ['notes.txt']);
      await assert.rejects(stat(other), /ENOENT/);
    }));

  test('a tar backup into a folder not made yet makes it; nothing but the tar is left there', () =>
    withDir(async (dir) => {
      const s = await source();
      const out = join(dir, 'new', 'folder', 'b.tar');
      await backupRepository(s.src, out);
      // The staging folder and its lock beside it are gone.
      assert.deepEqual(await readdir(join(dir, 'new', 'folder')), ['b.tar']);
      const tar = await OciLayout.open(out);
      await fetchAll(tar, await tar.resolve('v1'));
      await tar.close();
    }));

  test('a tag whose content is damaged fails alone: the tags after it are still backed up', () =>
    withDir(async (dir) => {
      const src = await OciLayout.open(join(dir, 'src'), { mode: 'create' });
      const bad = await pushArtifact(src, { 'bad.txt': 'damaged at rest' });
      await src.tag(bad.manifest, 'bad');
      const good = await pushArtifact(src, { 'good.txt': 'fine' });
      await src.tag(good.manifest, 'good');
      // The bad tag's layer no longer matches its digest.
      const layer = bad.layers[0] as Descriptor;
      await writeFile(join(dir, 'src', 'blobs', 'sha256', layer.digest.slice(7)), 'DAMAGED AT REST');
      const failed: string[] = [];
      const out = join(dir, 'backup');
      const result = await backupRepository(src, out, { onTagFailed: (tag) => failed.push(tag) });
      assert.deepEqual(failed, ['bad']);
      assert.deepEqual(
        result.tags.map((t) => t.tag),
        ['good'],
      );
      const copy = await OciLayout.open(out);
      assert.equal((await copy.resolve('good')).digest, good.manifest.digest);
    }));

  test('an interrupted backup resumes: what landed is verified, not copied again', () =>
    withDir(async (dir) => {
      const s = await source();
      const out = join(dir, 'layout');
      const abort = new AbortController();
      let copied = 0;
      await assert.rejects(
        backupRepository(s.src, out, {
          includeReferrers: true,
          concurrency: 1,
          signal: abort.signal,
          postCopy: () => {
            if (++copied === 4) abort.abort(new Error('interrupted'));
          },
        }),
      );
      const before = await readdir(join(out, 'blobs', 'sha256'));
      assert.ok(before.length >= 4 && before.length < 12, `${before.length} blobs landed`);

      const pulled: string[] = [];
      const skipped: string[] = [];
      const result = await backupRepository(s.src, out, {
        includeReferrers: true,
        postCopy: (d) => {
          pulled.push(d.digest);
        },
        onSkipped: (d) => {
          skipped.push(d.digest);
        },
      });
      assert.deepEqual(
        result.tags.map((t) => [t.tag, t.digest, t.referrers]),
        [
          ['v1', s.index.digest, 3],
          ['v2', s.b.manifest.digest, 0],
        ],
      );
      for (const name of before) assert.ok(!pulled.includes(`sha256:${name}`), `${name} was copied again`);
      assert.ok(skipped.length > 0);
      const layout = await OciLayout.open(out);
      assert.deepEqual((await layout.resolve('v1')).digest, s.index.digest);
      const refs = (d: Descriptor) => listReferrers(layout, d).then((l) => l.map((r) => r.digest));
      assert.deepEqual(await refs(s.index), [s.sig.digest]);
      assert.deepEqual(await refs(s.a.manifest), [s.sbom.digest]);
      assert.deepEqual(await refs(s.sig), [s.countersig.digest]);
    }));

  test('a blob two manifests share, corrupted in the layout, is reported once and copied again', () =>
    withDir(async (dir) => {
      const s = await source();
      const out = join(dir, 'layout');
      await backupRepository(s.src, out, { includeReferrers: true });
      // The empty config every referrer shares: same size, other bytes.
      await writeFile(join(out, 'blobs', 'sha256', EmptyJsonDescriptor.digest.slice(7)), '[]');
      const corrupt: string[] = [];
      await backupRepository(s.src, out, {
        includeReferrers: true,
        concurrency: 4,
        onCorrupt: (d) => {
          corrupt.push(d.digest);
        },
      });
      assert.deepEqual(corrupt, [EmptyJsonDescriptor.digest]);
      const layout = await OciLayout.open(out);
      assert.equal(digestBytes(await fetchAll(layout, EmptyJsonDescriptor)), EmptyJsonDescriptor.digest);
    }));

  test('a tar backup is staged beside the tar, restores with the same digests, and lists referrers untagged', () =>
    withDir(async (dir) => {
      const s = await source();
      const out = join(dir, 'b.TAR');
      const exporting: string[] = [];
      const result = await backupRepository(s.src, out, {
        tags: ['v1'],
        includeReferrers: true,
        onExporting: (p) => {
          exporting.push(p);
        },
      });
      assert.equal(result.format, 'tar');
      assert.equal(result.size, (await stat(out)).size);
      assert.deepEqual(exporting, [out]);
      await assert.rejects(stat(backupStagingPath(out)), /ENOENT/);
      const layout = await OciLayout.open(out);
      assert.deepEqual(
        layout
          .manifests()
          .map((m) => m.digest)
          .sort(),
        [s.index.digest, s.sig.digest, s.sbom.digest, s.countersig.digest].sort(),
      );
      const dst = new MemoryStore();
      const restored = await restoreRepository(out, dst);
      assert.deepEqual(
        restored.tags.map((t) => [t.tag, t.referrers]),
        [['v1', 3]],
      );
      assert.equal((await dst.resolve('v1')).digest, s.index.digest);
      for (const d of [s.a.layer, s.b.config, s.sig, s.sbom, s.countersig]) assert.ok(await dst.exists(d), d.digest);
    }));

  test('restore refuses a layout whose tag is not a valid tag, before anything is pushed', () =>
    withDir(async (dir) => {
      const s = await source();
      const out = join(dir, 'layout');
      await backupRepository(s.src, out, { tags: ['v2'] });
      const layout = await OciLayout.open(out, { mode: 'readwrite' });
      await layout.tag(s.b.manifest, 'x'.repeat(129));
      const dst = new MemoryStore();
      await assert.rejects(
        restoreRepository(out, dst),
        (e) => isLadingError(e) && e.code === 'INVALID_REFERENCE' && /is not a valid tag/.test(e.message),
      );
      assert.equal(await dst.exists(s.b.config), false);
      // Selecting only the valid tag works.
      await restoreRepository(out, dst, { tags: ['v2'] });
      assert.equal((await dst.resolve('v2')).digest, s.b.manifest.digest);
    }));
});
