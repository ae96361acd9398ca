import assert from 'node:assert/strict';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { blobDescriptor, pushArtifact, pushBytes, pushImage, pushIndex, tempDir } from '../../test/support/fixtures.js';
import { fetchAll, listReferrers, MemoryStore, readAll } from '../content/index.js';
import { copy } from '../copy/index.js';
import { type Descriptor, digestBytes, isLadingError, MediaType } from '../oci/index.js';
import { CtfArchive, withCtfArchive } from './archive.js';
import { blobFileName } from './format.js';
import { referrersTag } from './referrers.js';

const repoA = 'component-descriptors/acme.org/a';
const repoB = 'component-descriptors/acme.org/b';

async function withCtf(fn: (archive: CtfArchive, dir: string) => Promise<void>): Promise<void> {
  const t = await tempDir();
  try {
    const dir = join(t.path, 'ctf');
    const archive = await CtfArchive.open(dir, { mode: 'create' });
    try {
      await fn(archive, dir);
    } finally {
      await archive.close();
    }
  } finally {
    await t.cleanup();
  }
}

async function indexText(dir: string): Promise<string> {
  return readFile(join(dir, 'artifact-index.json'), 'utf8');
}

async function allTags(target: { tags(): AsyncIterable<string[]> }): Promise<string[]> {
  const out: string[] = [];
  for await (const page of target.tags()) out.push(...page);
  return out;
}

describe('CTF repository as a Target', () => {
  test('a new folder CTF holds an empty index and a blobs folder', async () => {
    await withCtf(async (archive, dir) => {
      assert.equal(await indexText(dir), '{"schemaVersion":1,"artifacts":null}');
      assert.deepEqual(await readdir(join(dir, 'blobs')), []);
      assert.deepEqual(await archive.repositories(), []);
      assert.equal(archive.format, 'directory');
    });
  });

  test('push records an untagged entry per manifest, tag fills it; blobs are 0444 and flat', async () => {
    await withCtf(async (archive, dir) => {
      const repo = archive.repository(repoA);
      const { manifest, config, layer } = await pushImage(repo);
      assert.equal(
        await indexText(dir),
        `{"schemaVersion":1,"artifacts":[{"repository":"${repoA}","digest":"${manifest.digest}","mediaType":"${MediaType.ImageManifest}"}]}`,
      );
      await repo.tag(manifest, '1.0.0');
      assert.equal(
        await indexText(dir),
        `{"schemaVersion":1,"artifacts":[{"repository":"${repoA}","tag":"1.0.0","digest":"${manifest.digest}","mediaType":"${MediaType.ImageManifest}"}]}`,
      );
      const names = (await readdir(join(dir, 'blobs'))).sort();
      assert.deepEqual(names, [config, layer, manifest].map((d) => blobFileName(d.digest)).sort());
      for (const name of names) assert.equal((await stat(join(dir, 'blobs', name))).mode & 0o777, 0o444);
      // no temps or locks left in the CTF root
      assert.deepEqual((await readdir(dir)).sort(), ['artifact-index.json', 'blobs']);
      assert.deepEqual(await archive.blobs(), names.map((n) => n.replace('.', ':')).sort());
    });
  });

  test('resolve by tag and digest; plain blobs by digest only; unknown references are NOT_FOUND', async () => {
    await withCtf(async (archive) => {
      const repo = archive.repository(repoA);
      const { manifest, layer } = await pushImage(repo);
      await repo.tag(manifest, 'v1');
      assert.deepEqual(await repo.resolve('v1'), {
        mediaType: manifest.mediaType,
        digest: manifest.digest,
        size: manifest.size,
      });
      assert.deepEqual(await repo.resolve(manifest.digest), await repo.resolve('v1'));
      assert.deepEqual(await repo.resolve(layer.digest), {
        mediaType: MediaType.OctetStream,
        digest: layer.digest,
        size: layer.size,
      });
      await assert.rejects(
        repo.resolve('v2'),
        (e) => isLadingError(e, 'NOT_FOUND') && /acme\.org\/a:v2/.test(e.message),
      );
      await assert.rejects(repo.resolve('bad tag'), (e) => isLadingError(e, 'INVALID_REFERENCE'));
      // the manifest belongs to repository a; b sees only a blob with that digest
      const other = archive.repository(repoB);
      assert.equal((await other.resolve(manifest.digest)).mediaType, MediaType.OctetStream);
      await assert.rejects(other.resolve('v1'), (e) => isLadingError(e, 'NOT_FOUND'));
    });
  });

  test('blobs are shared; a manifest exists in a repository only with an entry there', async () => {
    await withCtf(async (archive, dir) => {
      const mem = new MemoryStore();
      const { manifest } = await pushImage(mem);
      await mem.tag(manifest, 'v1');
      const a = archive.repository(repoA);
      const b = archive.repository(repoB);
      await copy(mem, 'v1', a, 'v1');
      const blobCount = (await readdir(join(dir, 'blobs'))).length;
      assert.equal(await b.exists(manifest), false);
      assert.equal(await b.exists({ ...manifest, mediaType: MediaType.OctetStream }), true);
      await copy(mem, 'v1', b, 'v2');
      assert.equal((await readdir(join(dir, 'blobs'))).length, blobCount);
      assert.deepEqual(await archive.repositories(), [repoA, repoB]);
      assert.deepEqual(await allTags(b), ['v2']);
      assert.equal((await b.resolve('v2')).digest, manifest.digest);
      await assert.rejects(a.push(manifest, Buffer.alloc(0)), (e) => isLadingError(e, 'ALREADY_EXISTS'));
    });
  });

  test('an index and its child manifests are all recorded in the repository', async () => {
    await withCtf(async (archive) => {
      const mem = new MemoryStore();
      const one = await pushImage(mem, { 'a.txt': 'a' });
      const two = await pushArtifact(mem, { 'b.txt': 'b' });
      const index = await pushIndex(mem, [one.manifest, two.manifest]);
      await mem.tag(index, 'multi');
      const repo = archive.repository(repoA);
      await copy(mem, 'multi', repo, 'multi');
      // children land first (in either order), the index last, and only the index is tagged
      const entries = (await repo.artifacts()).map((e) => [e.tag ?? '', e.digest, e.mediaType]);
      assert.deepEqual(entries[2], ['multi', index.digest, MediaType.ImageIndex]);
      assert.deepEqual(
        entries.slice(0, 2).sort(),
        [
          ['', one.manifest.digest, MediaType.ImageManifest],
          ['', two.manifest.digest, MediaType.ImageManifest],
        ].sort(),
      );
      const back = new MemoryStore();
      await copy(repo, 'multi', back, 'multi');
      assert.equal((await back.resolve('multi')).digest, index.digest);
    });
  });

  test('moving a tag keeps the old manifest untagged; untag removes the entry', async () => {
    await withCtf(async (archive) => {
      const repo = archive.repository(repoA);
      const first = await pushArtifact(repo, { f: 'one' });
      const second = await pushArtifact(repo, { f: 'two' });
      await repo.tag(first.manifest, 'latest');
      await repo.tag(second.manifest, 'latest');
      assert.deepEqual(
        (await repo.artifacts()).map((e) => [e.tag, e.digest]),
        [
          [undefined, first.manifest.digest],
          ['latest', second.manifest.digest],
        ],
      );
      await repo.tag(second.manifest, 'v2');
      assert.deepEqual(await allTags(repo), ['latest', 'v2']);
      await repo.untag('latest');
      assert.deepEqual(await allTags(repo), ['v2']);
      await assert.rejects(repo.untag('latest'), (e) => isLadingError(e, 'NOT_FOUND'));
      await repo.tag(first.manifest, first.manifest.digest); // by digest: no tag, entry already there
      assert.equal((await repo.artifacts()).length, 2);
      await assert.rejects(repo.tag(first.manifest, second.manifest.digest), (e) =>
        isLadingError(e, 'INVALID_REFERENCE'),
      );
      const missing = blobDescriptor(Buffer.from('nope'), MediaType.ImageManifest);
      await assert.rejects(repo.tag(missing, 'x'), (e) => isLadingError(e, 'NOT_FOUND'));
    });
  });

  test('referrers are kept in a sha256-<hex> tagged index, as upstream and oras do', async () => {
    await withCtf(async (archive) => {
      const repo = archive.repository(repoA);
      const { manifest } = await pushImage(repo);
      await repo.tag(manifest, 'v1');
      const sig = await pushArtifact(
        repo,
        { 'sig.txt': 'signature' },
        { subject: manifest, artifactType: 'application/x.sig' },
      );
      const sbom = await pushArtifact(
        repo,
        { 'sbom.json': '{}' },
        { subject: manifest, artifactType: 'application/x.sbom' },
      );
      const tag = referrersTag(manifest.digest);
      assert.ok((await allTags(repo)).includes(tag));
      const listed = await listReferrers(repo, manifest);
      assert.deepEqual(
        listed.map((r) => [r.digest, r.artifactType]),
        [
          [sig.manifest.digest, 'application/x.sig'],
          [sbom.manifest.digest, 'application/x.sbom'],
        ],
      );
      assert.deepEqual(
        (await listReferrers(repo, manifest, { artifactType: 'application/x.sbom' })).map((r) => r.digest),
        [sbom.manifest.digest],
      );
      assert.equal(listed[0]?.annotations?.['org.opencontainers.image.created'], '2026-01-01T00:00:00Z');
      // the referrers index is an ordinary image index in the repository
      const referrersIndex = JSON.parse((await fetchAll(repo, await repo.resolve(tag))).toString());
      assert.equal(referrersIndex.mediaType, MediaType.ImageIndex);
      assert.equal(referrersIndex.manifests.length, 2);
      // copying with referrers takes them along
      const out = new MemoryStore();
      await copy(repo, 'v1', out, 'v1', { includeReferrers: true });
      assert.equal(await out.exists(sig.manifest), true);
      assert.equal(await out.exists(sbom.manifest), true);
      // deleting a referrer takes it off the list
      await repo.delete(sig.manifest);
      assert.deepEqual(
        (await listReferrers(repo, manifest)).map((r) => r.digest),
        [sbom.manifest.digest],
      );
      await repo.delete(sbom.manifest);
      assert.deepEqual(await listReferrers(repo, manifest), []);
      assert.ok(!(await allTags(repo)).includes(tag));
    });
  });

  test('delete removes a manifest from one repository, and its blob once no repository has it', async () => {
    await withCtf(async (archive, dir) => {
      const a = archive.repository(repoA);
      const b = archive.repository(repoB);
      const { manifest } = await pushArtifact(a, { f: 'x' });
      await a.tag(manifest, 'v1');
      await b.push(manifest, await fetchAll(a, manifest));
      await b.tag(manifest, 'v1');
      await a.delete(manifest);
      assert.deepEqual(await a.artifacts(), []);
      assert.equal(await b.exists(manifest), true);
      await b.delete(manifest);
      await assert.rejects(readFile(join(dir, 'blobs', blobFileName(manifest.digest))), { code: 'ENOENT' });
      await assert.rejects(b.delete(manifest), (e) => isLadingError(e, 'NOT_FOUND'));
      const blob = await pushBytes(a, Buffer.from('plain'), MediaType.OctetStream);
      await a.delete(blob);
      assert.equal(await a.exists(blob), false);
    });
  });

  test('bad pushes store nothing: wrong digest, wrong size, malformed manifest', async () => {
    await withCtf(async (archive, dir) => {
      const repo = archive.repository(repoA);
      const bytes = Buffer.from('hello');
      const desc = blobDescriptor(bytes, MediaType.OctetStream);
      await assert.rejects(repo.push({ ...desc, digest: digestBytes(Buffer.from('other')) }, bytes), (e) =>
        isLadingError(e, 'DIGEST_MISMATCH'),
      );
      await assert.rejects(repo.push({ ...desc, size: 4 }, bytes), (e) => isLadingError(e, 'SIZE_MISMATCH'));
      const broken = Buffer.from('{"schemaVersion":2,"config":{}}');
      await assert.rejects(repo.push(blobDescriptor(broken, MediaType.ImageManifest), broken), (e) =>
        isLadingError(e, 'INVALID_MANIFEST'),
      );
      assert.deepEqual(await readdir(join(dir, 'blobs')), []);
      assert.deepEqual((await readdir(dir)).sort(), ['artifact-index.json', 'blobs']);
      assert.equal(await indexText(dir), '{"schemaVersion":1,"artifacts":null}');
    });
  });

  test('fetch verifies: a blob whose bytes do not match its name fails with DIGEST_MISMATCH', async () => {
    await withCtf(async (archive, dir) => {
      const repo = archive.repository(repoA);
      const desc = await pushBytes(repo, Buffer.from('right'), MediaType.OctetStream);
      const path = join(dir, 'blobs', blobFileName(desc.digest));
      await chmod(path, 0o644);
      await writeFile(path, 'wrong');
      await assert.rejects(
        readAll(await repo.fetch(desc)),
        (e) => isLadingError(e, 'DIGEST_MISMATCH') && e.message.includes(blobFileName(desc.digest)),
      );
      await writeFile(path, 'longer!');
      await assert.rejects(repo.fetch(desc), (e) => isLadingError(e, 'SIZE_MISMATCH'));
    });
  });

  test('the resolver hands out repository Targets and lists repositories', async () => {
    await withCtf(async (archive) => {
      const resolver = archive.resolver();
      const target = await resolver.targetFor(repoA);
      const { manifest } = await pushArtifact(target, { f: 'x' });
      await target.tag(manifest, '1.0.0');
      const pages: string[][] = [];
      for await (const page of resolver.repositories?.() ?? []) pages.push(page);
      assert.deepEqual(pages, [[repoA]]);
      await assert.rejects(resolver.targetFor('Upper/Case'), (e) => isLadingError(e, 'INVALID_REFERENCE'));
      await assert.rejects(resolver.targetFor('a//b'), (e) => isLadingError(e, 'INVALID_REFERENCE'));
    });
  });

  test('read-only and closed archives refuse writes', async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'ctf');
      await withCtfArchive(dir, { mode: 'create' }, async (archive) => {
        await pushArtifact(archive.repository(repoA), { f: 'x' });
      });
      const archive = await CtfArchive.open(dir);
      const repo = archive.repository(repoA);
      const [entry] = await repo.artifacts();
      const desc = await repo.resolve(entry?.digest as string);
      await assert.rejects(repo.tag(desc, 'v1'), (e) => isLadingError(e, 'UNSUPPORTED'));
      await assert.rejects(pushBytes(repo, Buffer.from('new'), MediaType.OctetStream), (e) =>
        isLadingError(e, 'UNSUPPORTED'),
      );
      await archive.close();
      await assert.rejects(repo.resolve(desc.digest), (e) => isLadingError(e, 'INVALID_ARGUMENT'));
      assert.throws(
        () => archive.repository(repoA),
        (e) => isLadingError(e, 'INVALID_ARGUMENT'),
      );
    } finally {
      await t.cleanup();
    }
  });
});

describe('two writers of one folder CTF, one of which is discarded', () => {
  async function twoWriters(fn: (a: CtfArchive, b: CtfArchive, dir: string) => Promise<void>): Promise<void> {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'ctf');
      await (await CtfArchive.open(dir, { mode: 'create' })).close();
      const a = await CtfArchive.open(dir, { mode: 'readwrite' });
      const b = await CtfArchive.open(dir, { mode: 'readwrite' });
      await fn(a, b, dir);
    } finally {
      await t.cleanup();
    }
  }
  const shared = Buffer.from('shared layer');

  test('a blob the discarded one made stays when the other recorded a manifest that uses it', async () => {
    await twoWriters(async (a, b, dir) => {
      const layer = await pushBytes(a.repository(repoA), shared, MediaType.ImageLayer);
      // b finds the blob there, skips it, and records its manifest.
      const { manifest } = await pushArtifact(b.repository(repoB), { 'shared.bin': shared });
      await b.repository(repoB).tag(manifest, 'v1');
      await b.close();
      await a.close({ commit: false });
      const check = await CtfArchive.open(dir);
      const repo = check.repository(repoB);
      const got = await repo.resolve('v1');
      assert.equal(got.digest, manifest.digest);
      assert.equal((await readAll(await repo.fetch(layer))).toString(), 'shared layer');
      await check.close();
    });
  });

  test('a blob the discarded one removed fails the other when it records a manifest that uses it, which then records nothing', async () => {
    await twoWriters(async (a, b, dir) => {
      const layer = await pushBytes(a.repository(repoA), shared, MediaType.ImageLayer);
      const repo = b.repository(repoB);
      assert.equal(await repo.exists(layer), true, 'b finds the blob there and will not write it');
      // a is discarded before b records anything: nothing in the index uses its blob, so it goes.
      await a.close({ commit: false });
      const before = await indexText(dir);
      // b goes on with the manifest that names it (its other blobs written, that one skipped).
      const mem = new MemoryStore();
      const { manifest } = await pushArtifact(mem, { 'shared.bin': shared });
      const config = JSON.parse((await fetchAll(mem, manifest)).toString()).config;
      await repo.push(config, await fetchAll(mem, config));
      await assert.rejects(
        repo.push(manifest, await fetchAll(mem, manifest)),
        (e) => isLadingError(e, 'NOT_FOUND') && /removed by another/.test(e.message),
      );
      assert.equal(await indexText(dir), before, 'nothing recorded');
      await b.close({ commit: false });
    });
  });

  test("a discarded writer undoes what it recorded after the other's last write, and keeps the rest", async () => {
    await twoWriters(async (a, b, dir) => {
      const first = await pushArtifact(a.repository(repoA), { 'a1.txt': 'a1' });
      await a.repository(repoA).tag(first.manifest, 'a1');
      const theirs = await pushArtifact(b.repository(repoB), { 'b1.txt': 'b1' });
      await b.repository(repoB).tag(theirs.manifest, 'b1');
      await b.close();
      const second = await pushArtifact(a.repository(repoA), { 'a2.txt': 'a2' });
      await a.repository(repoA).tag(second.manifest, 'a2');
      await a.close({ commit: false });
      const check = await CtfArchive.open(dir);
      assert.deepEqual(await check.repositories(), [repoA, repoB]);
      // a1 was there when b wrote: b may rely on it. a2 came after b's last write: it goes.
      assert.deepEqual(await allTags(check.repository(repoA)), ['a1']);
      assert.deepEqual(await allTags(check.repository(repoB)), ['b1']);
      assert.equal((await check.repository(repoB).resolve('b1')).digest, theirs.manifest.digest);
      await check.close();
    });
  });

  test('an entry both recorded stays when one of them is discarded', async () => {
    await twoWriters(async (a, b, dir) => {
      const mine = await pushArtifact(a.repository(repoA), { 'same.txt': 'same' });
      await a.repository(repoA).tag(mine.manifest, 'v1');
      // b records the same version (finding everything there) and succeeds.
      const theirs = await pushArtifact(b.repository(repoA), { 'same.txt': 'same' });
      await b.repository(repoA).tag(theirs.manifest, 'v1');
      await b.close();
      await a.close({ commit: false });
      const check = await CtfArchive.open(dir);
      const repo = check.repository(repoA);
      assert.equal((await repo.resolve('v1')).digest, theirs.manifest.digest);
      assert.equal((await readAll(await repo.fetch(theirs.layers[0] as Descriptor))).toString(), 'same');
      await check.close();
    });
  });
});
