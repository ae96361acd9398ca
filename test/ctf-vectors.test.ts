// Reading CTFs written by the previous OCM reference library (upstream's compatibility vectors):
// bindings/go/ctf/testdata/compatibility/{01,02}, as Test_CTF_Basic_ReadOnly_Compatibility and
// Test_CTF_Advanced_ReadOnly_Compatibility read them, plus every blob verified on the way.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import tarStream from 'tar-stream';
import { fetchAll, readAll } from '../src/content/index.js';
import { copy } from '../src/copy/index.js';
import { ArtifactSetMediaType, CtfArchive, type CtfRepository, readArtifactSet } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { type Descriptor, isLadingError, type Manifest, MediaType } from '../src/oci/index.js';
import { tempDir } from './support/fixtures.js';
import { ocmVectors } from './support/vectors.js';

const compat = join(ocmVectors, 'bindings/go/ctf/testdata/compatibility');
const repoName = 'component-descriptors/github.com/acme.org/helloworld';
const localBlob = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

async function tagsOf(repo: CtfRepository): Promise<string[]> {
  const out: string[] = [];
  for await (const page of repo.tags()) out.push(...page);
  return out;
}

async function untar(bytes: Buffer): Promise<{ name: string; mode: number; mtime: number; text: string }[]> {
  const extract = tarStream.extract();
  const out: { name: string; mode: number; mtime: number; text: string }[] = [];
  const feeding = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([bytes]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    const h = entry.header;
    out.push({ name: h.name, mode: h.mode, mtime: h.mtime.getTime(), text: Buffer.concat(chunks).toString('utf8') });
  }
  await feeding;
  return out;
}

/** Every blob of the archive, fetched through the repository Target: its name must be its digest. */
async function verifyAllBlobs(archive: CtfArchive, repo: CtfRepository): Promise<number> {
  const digests = await archive.blobs();
  for (const digest of digests) {
    const desc = await repo.resolve(digest);
    const bytes = await readAll(await repo.fetch(desc), 1 << 20);
    assert.equal(bytes.length, desc.size);
  }
  return digests.length;
}

/** Reads the component version the way the OCM layer will: tag → manifest → config and layers. */
async function readComponentVersion(repo: CtfRepository) {
  const root = await repo.resolve('1.0.0');
  // OCM v1 wrote no mediaType into the index; it reads as an image manifest
  assert.equal(root.mediaType, MediaType.ImageManifest);
  const manifestBytes = await fetchAll(repo, root);
  const manifest = JSON.parse(manifestBytes.toString()) as Manifest;
  const config = JSON.parse((await fetchAll(repo, manifest.config)).toString());
  const layers: Buffer[] = [];
  for (const layer of manifest.layers) layers.push(await readAll(await repo.fetch(layer), 1 << 20));
  return { root, manifest, manifestBytes, config, layers };
}

/** Drops what legitimately differs between independently written copies: digests and creationTime. */
function normalised(text: string): string {
  return text
    .replace(/sha256:[0-9a-f]{64}/g, (d) => (d === localBlob ? d : 'sha256:<digest>'))
    .replace(/creationTime: .*/, '');
}

describe('OCM v1 compatibility vector 01 (directory, .tar, .tar.gz)', () => {
  const forms = [
    ['transport-archive', 'directory'],
    ['transport-archive.tar', 'tar'],
    ['transport-archive.tar.gz', 'tgz'],
  ] as const;

  for (const [name, format] of forms) {
    test(`${format}: index, tags, component-descriptor manifest, verified config and layers`, async () => {
      const before = new Set(await readdir(tmpdir()));
      const archive = await CtfArchive.open(join(compat, '01', name));
      try {
        assert.equal(archive.format, format);
        assert.equal(archive.writable, false);
        assert.deepEqual(await archive.repositories(), [repoName]);
        const artifacts = await archive.artifacts();
        assert.equal(artifacts.length, 1);
        assert.equal(artifacts[0]?.tag, '1.0.0');
        assert.equal(artifacts[0]?.mediaType, undefined);
        const repo = archive.repository(repoName);
        assert.deepEqual(await tagsOf(repo), ['1.0.0']);
        const cv = await readComponentVersion(repo);
        assert.equal(cv.root.digest, artifacts[0]?.digest);
        assert.equal(cv.manifest.config.mediaType, 'application/vnd.ocm.software.component.config.v1+json');
        assert.deepEqual(
          cv.manifest.layers.map((l) => l.mediaType),
          ['application/vnd.ocm.software.component-descriptor.v2+yaml+tar', MediaType.OctetStream],
        );
        assert.equal(cv.config.componentDescriptorLayer.digest, cv.manifest.layers[0]?.digest);
        assert.equal(cv.layers[1]?.toString(), 'test');
        assert.equal(cv.manifest.layers[1]?.digest, localBlob);
        assert.equal(await verifyAllBlobs(archive, repo), 4);
        await assert.rejects(repo.tag(cv.root, 'again'), (e) => isLadingError(e, 'UNSUPPORTED'));
      } finally {
        await archive.close();
      }
      if (format === 'tar') {
        // a read-only tar is read in place: nothing is unpacked anywhere
        const after = (await readdir(tmpdir())).filter((n) => !before.has(n) && n.includes('transport-archive'));
        assert.deepEqual(after, []);
      }
      const leftovers = (await readdir(tmpdir())).filter((n) => !before.has(n) && n.includes('transport-archive'));
      assert.deepEqual(leftovers, [], 'the unpacked copy of a tgz is removed on close');
    });
  }

  test('the three forms hold the same index and component version (up to digests and creationTime)', async () => {
    const seen: string[] = [];
    for (const [name] of forms) {
      const archive = await CtfArchive.open(join(compat, '01', name));
      try {
        const repo = archive.repository(repoName);
        const cv = await readComponentVersion(repo);
        const descriptorTar = await untar(cv.layers[0] as Buffer);
        assert.deepEqual(
          descriptorTar.map((e) => [e.name, e.mode, new Date(e.mtime).toISOString()]),
          [['component-descriptor.yaml', 0, '2022-01-01T00:00:00.000Z']],
        );
        seen.push(
          JSON.stringify({
            index: normalised(JSON.stringify(await archive.artifacts())),
            manifest: normalised(cv.manifestBytes.toString()),
            config: normalised(JSON.stringify(cv.config)),
            descriptor: normalised(descriptorTar[0]?.text ?? ''),
            local: cv.layers[1]?.toString(),
          }),
        );
      } finally {
        await archive.close();
      }
    }
    assert.equal(seen[1], seen[0]);
    assert.equal(seen[2], seen[0]);
    assert.match(seen[0] as string, /software\.ocm\.componentversion.*github\.com\/acme\.org\/helloworld:1\.0\.0/);
  });
});

describe('OCM v1 compatibility vector 02', () => {
  test('without-resource: three blobs, a descriptor-only component version', async () => {
    const archive = await CtfArchive.open(join(compat, '02/without-resource'));
    try {
      const repo = archive.repository(repoName);
      const cv = await readComponentVersion(repo);
      assert.equal(cv.manifest.layers.length, 1);
      const [descriptor] = await untar(cv.layers[0] as Buffer);
      assert.match(descriptor?.text ?? '', /type: ociArtifact/);
      assert.equal(await verifyAllBlobs(archive, repo), 3);
    } finally {
      await archive.close();
    }
  });

  test('with-resource: the resource is a v1 artifact set, read as a Target and copied out', async () => {
    const archive = await CtfArchive.open(join(compat, '02/with-resource'));
    const t = await tempDir();
    try {
      const repo = archive.repository(repoName);
      const cv = await readComponentVersion(repo);
      assert.equal(await verifyAllBlobs(archive, repo), 4);
      const setLayer = cv.manifest.layers[1] as Descriptor;
      assert.equal(setLayer.mediaType, ArtifactSetMediaType);
      assert.equal(
        setLayer.annotations?.['software.ocm.artifact'],
        '[{"kind":"resource","identity":{"name":"mychart"}}]',
      );

      const set = await readArtifactSet(await repo.fetch(setLayer), { where: setLayer.digest });
      try {
        assert.equal(set.index.manifests.length, 1);
        assert.deepEqual(await set.blobs(), [
          'sha256:62be4af3382a4493cb7f1dd4ec47bcb28f1863b615fc9e4a1dceefbe93898dd0',
          'sha256:fd3d24bc39ab37023193443468452911b5ba52cc32f3f955a5cd16f06402f848',
          'sha256:fe377feb37894d493a846a6cfa5c084b4ffc7be1ec837497364bc0c97d1412ab',
        ]);
        assert.equal(set.main?.digest, 'sha256:62be4af3382a4493cb7f1dd4ec47bcb28f1863b615fc9e4a1dceefbe93898dd0');
        const tags: string[] = [];
        for await (const page of set.tags()) tags.push(...page);
        assert.deepEqual(tags, ['6.7.1']);
        const root = await set.resolve('6.7.1');
        assert.equal(root.digest, set.main?.digest);
        const manifest = JSON.parse((await fetchAll(set, root)).toString()) as Manifest;
        assert.equal(manifest.config.mediaType, 'application/vnd.cncf.helm.config.v1+json');
        const chartConfig = JSON.parse((await fetchAll(set, manifest.config)).toString());
        assert.equal(chartConfig.name, 'podinfo');
        const chart = await readAll(await set.fetch(manifest.layers[0] as Descriptor), 1 << 20);
        assert.equal(chart.length, 14867);
        // the conversion upstream offers: into a standard OCI layout, and into a CTF repository
        const layout = await OciLayout.open(join(t.path, 'layout'), { mode: 'create' });
        await copy(set, '6.7.1', layout, '6.7.1');
        assert.equal((await layout.resolve('6.7.1')).digest, root.digest);
        const ctf = await CtfArchive.open(join(t.path, 'ctf.tgz'), { mode: 'create' });
        await copy(set, '6.7.1', ctf.repository('jakobmoellerdev/podinfo/podinfo'), '6.7.1');
        await ctf.close();
        const back = await CtfArchive.open(join(t.path, 'ctf.tgz'));
        assert.equal((await back.repository('jakobmoellerdev/podinfo/podinfo').resolve('6.7.1')).digest, root.digest);
        await back.close();
      } finally {
        await set.close();
      }
      await assert.rejects(set.resolve('6.7.1'), (e) => isLadingError(e, 'INVALID_ARGUMENT'));
    } finally {
      await archive.close();
      await t.cleanup();
    }
  });
});
