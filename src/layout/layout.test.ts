import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { blobDescriptor, pushArtifact, pushBytes, pushImage, pushIndex, tempDir } from '../../test/support/fixtures.js';
import { orasVectors, zotLayouts } from '../../test/support/vectors.js';
import { writeDirectoryAsTar } from '../archive/index.js';
import { fetchAll, listReferrers, MemoryStore, readAll, verifiedStream } from '../content/index.js';
import { copy, fetchReference } from '../copy/index.js';
import {
  type Descriptor,
  digestBytes,
  EmptyJsonBytes,
  EmptyJsonDescriptor,
  encodeManifest,
  isLadingError,
  MaxManifestBytes,
  MediaType,
} from '../oci/index.js';
import { blobPath, OciLayout } from './layout.js';

describe('reading upstream layouts', () => {
  test('oras e2e artifacts layout: tags, content, referrers', async () => {
    const layout = await OciLayout.open(join(zotLayouts, 'artifacts'));
    const foobar = await layout.resolve('foobar');
    assert.equal(foobar.digest, 'sha256:fd6ed2f36b5465244d5dc86cb4e7df0ab8a9d24adc57825099f522fe009a22bb');
    const manifest = JSON.parse((await fetchAll(layout, foobar)).toString());
    const titles = manifest.layers.map(
      (l: { annotations: Record<string, string> }) => l.annotations['org.opencontainers.image.title'],
    );
    assert.deepEqual(titles, ['foo1', 'foo2', 'bar']);
    assert.equal((await readAll(await layout.fetch(manifest.layers[2]))).toString(), 'bar');
    const multi = await layout.resolve('multi');
    assert.equal(multi.mediaType, MediaType.ImageIndex);
    const referrers = await listReferrers(layout, foobar);
    assert.ok(referrers.length > 0, 'foobar has referrers in the e2e layout');
    for (const r of referrers) {
      const m = JSON.parse((await fetchAll(layout, r)).toString());
      assert.equal(m.subject.digest, foobar.digest);
    }
    const tags: string[] = [];
    for await (const page of layout.tags()) tags.push(...page);
    assert.ok(tags.includes('empty') && tags.includes('unnamed'));
  });

  test('a layout whose index.json has "manifests": null, and digest resolution of a plain blob', async () => {
    const layout = await OciLayout.open(join(zotLayouts, 'blobs'));
    const desc = await layout.resolve('sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae');
    assert.equal(desc.mediaType, MediaType.OctetStream);
    assert.equal((await readAll(await layout.fetch(desc))).toString(), 'foo');
  });

  test('oras-go tar layouts, with and without ./ prefixes', async () => {
    const dir = join(orasVectors, 'oras-project/oras-go/content/oci/testdata');
    const a = await OciLayout.open(join(dir, 'hello-world.tar'));
    const b = await OciLayout.open(join(dir, 'hello-world-prefixed-path.tar'));
    const ra = await a.resolve('latest');
    assert.deepEqual(await b.resolve('latest'), ra);
    assert.equal(ra.mediaType, MediaType.DockerManifestList);
    const target = await tempDir();
    try {
      const out = await OciLayout.open(join(target.path, 'copy'), { mode: 'create' });
      // The list names several platforms; the tar holds only one of their manifests.
      const list = JSON.parse((await fetchAll(b, ra)).toString());
      const present = [];
      for (const m of list.manifests) if (await b.exists(m)) present.push(m);
      assert.equal(present.length, 1);
      await copy(b, present[0].digest, out, 'v1');
      assert.equal((await out.resolve('v1')).digest, present[0].digest);
      await assert.rejects(
        () => copy(a, 'latest', out, 'all'),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
      await assert.rejects(
        () => out.resolve('all'),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
      await assert.rejects(
        () => b.push(ra, Buffer.alloc(0)),
        (e) => isLadingError(e, 'UNSUPPORTED'),
      );
    } finally {
      await target.cleanup();
    }
  });
});

/**
 * Runs `body` (TypeScript with OciLayout and pushArtifact imported, `path` and `who` from its
 * arguments) as a process of its own for each of `writers` at once; resolves with their exit codes.
 */
async function writerProcesses(
  dir: string,
  path: string,
  writers: string[],
  body: string,
  options = "{ mode: 'create' }",
): Promise<number[]> {
  const script = join(dir, 'writer.mts');
  const layoutModule = fileURLToPath(new URL('./layout.ts', import.meta.url));
  const fixtures = fileURLToPath(new URL('../../test/support/fixtures.ts', import.meta.url));
  await writeFile(
    script,
    `import { OciLayout } from ${JSON.stringify(layoutModule)};
import { pushArtifact } from ${JSON.stringify(fixtures)};
const [path, who] = process.argv.slice(2);
const layout = await OciLayout.open(path, ${options});
${body}`,
  );
  const run = (who: string) =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, path, who], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      child.on('error', reject);
      child.on('exit', (code) => resolve(code ?? -1));
    });
  return Promise.all(writers.map(run));
}

describe('writing layouts', () => {
  test('a small blob whose push is called off before its write is not written', async () => {
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(join(t.path, 'out'), { mode: 'create' });
      const bytes = Buffer.from('called off');
      const desc = { mediaType: MediaType.ImageLayer, digest: digestBytes(bytes), size: bytes.length };
      const controller = new AbortController();
      const pushed = layout.push(desc, bytes, { signal: controller.signal });
      // The push has started (the signal was not aborted then) and waits on its folders.
      controller.abort();
      await assert.rejects(pushed, (e) => isLadingError(e, 'ABORTED'));
      await layout.close();
      assert.equal(await (await OciLayout.open(join(t.path, 'out'))).exists(desc), false);
    } finally {
      await t.cleanup();
    }
  });

  test('every pushed manifest is recorded; tags are ref.name annotations; the result re-opens', async () => {
    const t = await tempDir();
    try {
      const mem = new MemoryStore();
      const { manifest } = await pushArtifact(mem, { 'a.txt': 'alpha', 'b.txt': 'beta' });
      await mem.tag(manifest, 'v1');
      const path = join(t.path, 'out');
      const layout = await OciLayout.open(path, { mode: 'create' });
      await copy(mem, 'v1', layout, 'v1');
      await layout.tag(manifest, 'latest');
      const index = JSON.parse(await readFile(join(path, 'index.json'), 'utf8'));
      assert.equal(index.schemaVersion, 2);
      const names = index.manifests.map(
        (m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'],
      );
      assert.deepEqual(names.sort(), ['latest', 'v1']);
      assert.equal(await readFile(join(path, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
      const again = await OciLayout.open(path);
      assert.equal((await again.resolve('latest')).digest, manifest.digest);
      await layout.untag('latest');
      assert.equal((await OciLayout.open(path)).manifests().length, 1);
      await assert.rejects(
        () => OciLayout.open(path).then((l) => l.resolve('latest')),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
      const blobs = await readdir(join(path, 'blobs/sha256'));
      assert.equal(blobs.length, 4); // {} config, two layers, manifest
    } finally {
      await t.cleanup();
    }
  });

  test('pushReference stores a manifest with its tag in one step; one already there is only tagged; bad input records nothing', async () => {
    const t = await tempDir();
    try {
      const mem = new MemoryStore();
      const { manifest } = await pushArtifact(mem, { 'r.txt': 'by reference' });
      const bytes = await fetchAll(mem, manifest);
      const path = join(t.path, 'out');
      const layout = await OciLayout.open(path, { mode: 'create' });
      await layout.pushReference(manifest, bytes, 'v1');
      assert.deepEqual(await layout.resolve('v1'), manifest);
      assert.deepEqual(await fetchAll(layout, manifest), bytes);
      await layout.pushReference(manifest, bytes, 'v2');
      await layout.pushReference(manifest, bytes, manifest.digest);
      const reopened = await OciLayout.open(path);
      assert.deepEqual(reopened.manifests(), [manifest]);
      const tags: string[] = [];
      for await (const page of reopened.tags()) tags.push(...page);
      assert.deepEqual(tags, ['v1', 'v2']);

      const other = await pushArtifact(mem, { 'o.txt': 'other' });
      const otherBytes = await fetchAll(mem, other.manifest);
      await assert.rejects(
        () => layout.pushReference(other.manifest, Buffer.from(otherBytes).fill(32, 0, 1), 'bad'),
        (e) => isLadingError(e, 'DIGEST_MISMATCH'),
      );
      await assert.rejects(
        () => layout.pushReference(other.manifest, otherBytes, manifest.digest),
        (e) => isLadingError(e, 'INVALID_REFERENCE'),
      );
      const blob = Buffer.from('not a manifest');
      await assert.rejects(
        () =>
          layout.pushReference({ mediaType: 'text/plain', digest: digestBytes(blob), size: blob.length }, blob, 'b'),
        (e) => isLadingError(e, 'INVALID_ARGUMENT'),
      );
      await assert.rejects(
        () => reopened.pushReference(other.manifest, otherBytes, 'ro'),
        (e) => isLadingError(e, 'UNSUPPORTED'),
      );
      const after = await OciLayout.open(path);
      assert.deepEqual(after.manifests(), [manifest]);
      assert.equal(await after.exists(other.manifest), false);
    } finally {
      await t.cleanup();
    }
  });

  test('a copy into a layout tags the root as it lands, and a root already there is reported skipped and tagged', async () => {
    const t = await tempDir();
    try {
      const mem = new MemoryStore();
      const { manifest } = await pushArtifact(mem, { 'c.txt': 'copied' });
      await mem.tag(manifest, 'v1');
      const layout = await OciLayout.open(join(t.path, 'out'), { mode: 'create' });
      const copied: string[] = [];
      const skipped: string[] = [];
      const hooks = {
        postCopy: (d: { digest: string }) => void copied.push(d.digest),
        onSkipped: (d: { digest: string }) => void skipped.push(d.digest),
      };
      await copy(mem, 'v1', layout, 'v1', hooks);
      assert.ok(copied.includes(manifest.digest));
      assert.deepEqual(skipped, []);
      await copy(mem, 'v1', layout, 'v2', hooks);
      assert.deepEqual(skipped, [manifest.digest]);
      const reopened = await OciLayout.open(join(t.path, 'out'));
      assert.equal((await reopened.resolve('v1')).digest, manifest.digest);
      assert.equal((await reopened.resolve('v2')).digest, manifest.digest);
      assert.deepEqual(reopened.manifests(), [manifest]);
    } finally {
      await t.cleanup();
    }
  });

  test('a ref name is refused only when no reference could be it: empty, blank, with whitespace or control characters (INVALID_REFERENCE)', async () => {
    const t = await tempDir();
    try {
      const src = new MemoryStore();
      const { manifest } = await pushArtifact(src, { 'a.txt': 'a' });
      await src.tag(manifest, 'v1');
      const layout = await OciLayout.open(join(t.path, 'layout'), { mode: 'create' });
      const tarPath = join(t.path, 'out.tar');
      const { LayoutTarWriter } = await import('./layout-tar.js');
      const tar = await LayoutTarWriter.create(tarPath);
      // Names a tag grammar refuses (a path, a leading underscore, a double one) stay writable, as
      // oras-go keeps any non-empty ref name; a whole reference (with its ':') is fix-oras's part.
      const good = ['v1', '_under', 'a__b', 'acme/app', 'a'.repeat(200)];
      const bad = ['', 'bad tag', ' v1', 'v1\n', 'tab\there', 'nul\u0000', 'zero\u200bwidth'];
      for (const dst of [layout, new MemoryStore(), tar]) {
        await copy(src, 'v1', dst, 'v1');
        for (const name of good) {
          await dst.tag(manifest, name);
          assert.equal((await dst.resolve(name)).digest, manifest.digest, name);
        }
        for (const name of bad) {
          // (copy's empty destination reference means "leave it untagged".)
          if (name)
            await assert.rejects(
              copy(src, 'v1', dst, name),
              (e: unknown) => isLadingError(e, 'INVALID_REFERENCE'),
              JSON.stringify(name),
            );
          await assert.rejects(
            dst.tag(manifest, name),
            (e: unknown) => isLadingError(e, 'INVALID_REFERENCE'),
            JSON.stringify(name),
          );
        }
      }
      await tar.close();
      const index = JSON.parse(await readFile(join(t.path, 'layout', 'index.json'), 'utf8'));
      const names = index.manifests.map(
        (m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'],
      );
      assert.deepEqual(names.sort(), [...good].sort());
    } finally {
      await t.cleanup();
    }
  });

  test('index.json updates made together, and one made by another handle between them, all land', async () => {
    const t = await tempDir();
    try {
      const a = await OciLayout.open(t.path, { mode: 'create' });
      await a.push(EmptyJsonDescriptor, EmptyJsonBytes);
      const manifest = (n: number) =>
        encodeManifest({
          schemaVersion: 2,
          mediaType: MediaType.ImageManifest,
          artifactType: 'application/vnd.test',
          config: EmptyJsonDescriptor,
          layers: [],
          annotations: { n: String(n) },
        });
      const descs = Array.from({ length: 40 }, (_, n) => ({
        mediaType: MediaType.ImageManifest,
        digest: digestBytes(manifest(n)),
        size: manifest(n).length,
      }));
      // Pushes, tags and a failing untag in flight at once: the untag fails alone.
      const first = await Promise.allSettled([
        ...descs.slice(0, 30).map((d, n) => a.push(d, manifest(n))),
        a.untag('never-there'),
      ]);
      assert.deepEqual(
        first.map((r) => r.status),
        [...Array(30).fill('fulfilled'), 'rejected'],
      );
      assert.ok(isLadingError((first[30] as PromiseRejectedResult).reason, 'NOT_FOUND'));
      await Promise.all(descs.slice(0, 10).map((d, n) => a.tag(d, `t${n}`)));
      // Another writer changes index.json behind this handle's back: its entries must survive.
      const b = await OciLayout.open(t.path, { mode: 'readwrite' });
      await b.push(descs[30] as Descriptor, manifest(30));
      await b.tag(descs[30] as Descriptor, 'from-b');
      await b.close();
      await Promise.all(descs.slice(31).map((d, i) => a.push(d, manifest(31 + i))));
      await a.untag('t0');
      await a.close();
      const index = JSON.parse(await readFile(join(t.path, 'index.json'), 'utf8'));
      const digests = new Set(index.manifests.map((m: Descriptor) => m.digest));
      for (const d of descs) assert.ok(digests.has(d.digest), `${d.digest} is listed`);
      const names = index.manifests
        .map((m: Descriptor) => m.annotations?.['org.opencontainers.image.ref.name'])
        .filter(Boolean)
        .sort();
      assert.deepEqual(names, ['from-b', 't1', 't2', 't3', 't4', 't5', 't6', 't7', 't8', 't9']);
      const reopened = await OciLayout.open(t.path);
      assert.equal((await reopened.resolve('from-b')).digest, descs[30]?.digest);
      await reopened.close();
    } finally {
      await t.cleanup();
    }
  });

  test('a copy of an index lists every child in index.json by the time it resolves; a failed one by close', async () => {
    const t = await tempDir();
    try {
      const src = new MemoryStore();
      const children = [];
      for (let n = 0; n < 6; n++) children.push((await pushArtifact(src, { [`f${n}`]: `content ${n}` })).manifest);
      const index = await pushIndex(src, children);
      await src.tag(index, 'v1');
      const dst = await OciLayout.open(join(t.path, 'ok'), { mode: 'create' });
      await copy(src, 'v1', dst, 'v1');
      // Read from disk before close: what the copy said it wrote is listed.
      const listed = JSON.parse(await readFile(join(t.path, 'ok', 'index.json'), 'utf8'));
      const digests = listed.manifests.map((m: Descriptor) => m.digest).sort();
      assert.deepEqual(digests, [index.digest, ...children.map((c) => c.digest)].sort());
      await dst.close();

      // The last child's layer is missing from the source: the copy fails after the others landed.
      const broken = new MemoryStore();
      const kept = [];
      for (let n = 0; n < 5; n++) kept.push((await pushArtifact(broken, { [`f${n}`]: `content ${n}` })).manifest);
      const ghost = blobDescriptor(Buffer.from('never pushed'), MediaType.ImageLayer);
      const lastBytes = encodeManifest({
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        artifactType: 'application/vnd.test',
        config: EmptyJsonDescriptor,
        layers: [ghost],
      });
      const last = await pushBytes(broken, lastBytes, MediaType.ImageManifest);
      const brokenIndex = await pushIndex(broken, [...kept, last]);
      await broken.tag(brokenIndex, 'v1');
      const partial = await OciLayout.open(join(t.path, 'partial'), { mode: 'create' });
      await assert.rejects(copy(broken, 'v1', partial, 'v1', { concurrency: 1 }), (e: unknown) =>
        isLadingError(e, 'NOT_FOUND'),
      );
      await partial.close();
      const after = JSON.parse(await readFile(join(t.path, 'partial', 'index.json'), 'utf8'));
      const present = [];
      for (const c of kept) {
        const file = join(t.path, 'partial', 'blobs', 'sha256', c.digest.slice('sha256:'.length));
        if (
          await readFile(file).then(
            () => true,
            () => false,
          )
        )
          present.push(c.digest);
      }
      assert.ok(present.length > 0, 'some children landed before the failure');
      assert.deepEqual(after.manifests.map((m: Descriptor) => m.digest).sort(), present.sort());
    } finally {
      await t.cleanup();
    }
  });

  test('a child manifest another process deletes before it is listed is not listed, after an earlier write too', async () => {
    const t = await tempDir();
    try {
      const manifest = (n: number) =>
        encodeManifest({
          schemaVersion: 2,
          mediaType: MediaType.ImageManifest,
          artifactType: 'application/vnd.test',
          config: EmptyJsonDescriptor,
          layers: [],
          annotations: { n: String(n) },
        });
      const desc = (n: number): Descriptor => ({
        mediaType: MediaType.ImageManifest,
        digest: digestBytes(manifest(n)),
        size: manifest(n).length,
      });
      const layout = await OciLayout.open(t.path, { mode: 'create' });
      await layout.push(EmptyJsonDescriptor, EmptyJsonBytes);
      // A write of this handle's own first: index.json then holds the bytes it wrote.
      await layout.push(desc(0), manifest(0));
      await layout.pushChildManifest(desc(1), manifest(1));
      await layout.pushChildManifest(desc(2), manifest(2));
      // Another process removes one (its own delete, a cleanup) before the list is written.
      await rm(join(t.path, 'blobs', 'sha256', desc(1).digest.slice('sha256:'.length)));
      await layout.close();
      const index = JSON.parse(await readFile(join(t.path, 'index.json'), 'utf8'));
      const listed = index.manifests.map((m: Descriptor) => m.digest).sort();
      assert.deepEqual(listed, [desc(0).digest, desc(2).digest].sort());
    } finally {
      await t.cleanup();
    }
  });

  test('a tag or a push with a tag called just before close completes: close waits for it, never refuses it', async () => {
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(t.path, { mode: 'create' });
      const { manifest } = await pushArtifact(layout, { a: 'a' });
      const tagged = layout.tag(manifest, 'v1');
      const bytes = await fetchAll(layout, manifest);
      const pushed = layout.pushReference(manifest, bytes, 'v2');
      await layout.close();
      // They started before close: they looked the manifest up after it, and were refused as closed.
      await tagged;
      await pushed;
      const reopened = await OciLayout.open(t.path);
      assert.equal((await reopened.resolve('v1')).digest, manifest.digest);
      assert.equal((await reopened.resolve('v2')).digest, manifest.digest);
      await reopened.close();
    } finally {
      await t.cleanup();
    }
  });

  test('opening a layout whose ingest/ is a planted link removes nothing where it points', async () => {
    const t = await tempDir();
    try {
      const root = join(t.path, 'layout');
      await (await OciLayout.open(root, { mode: 'create' })).close();
      const elsewhere = join(t.path, 'elsewhere');
      await mkdir(elsewhere);
      // Named as a temp of a process that no longer runs.
      const kept = '.notes.2147483646.0123456789ab.tmp';
      await writeFile(join(elsewhere, kept), 'mine');
      await rm(join(root, 'ingest'), { recursive: true, force: true });
      await symlink(elsewhere, join(root, 'ingest'));
      await (await OciLayout.open(root, { mode: 'readwrite' })).close();
      assert.deepEqual(await readdir(elsewhere), [kept]);
    } finally {
      await t.cleanup();
    }
  });

  // The blob folder stays open a moment between writes (one opening for a copy's many blobs): a
  // folder removed, or swapped for a link, in that moment must not take the next write. The check
  // of a folder kept open looks at every folder below the root, as opening it does.
  const betweenTwoWrites: {
    name: string;
    change: (root: string, scratch: string) => Promise<void>;
    after: (second: Promise<Descriptor>, o: { root: string; scratch: string; first: Descriptor }) => Promise<void>;
  }[] = [
    {
      name: 'a blob folder removed between two writes gets the second write in the folder made again',
      change: (root) => rm(join(root, 'blobs', 'sha256'), { recursive: true }),
      after: async (second, { root }) => {
        const desc = await second;
        assert.equal((await readFile(join(root, blobPath(desc.digest)))).toString(), 'second');
      },
    },
    {
      name: 'a blob folder whose parent is swapped for a link to it between two writes is refused',
      change: async (root, scratch) => {
        await rename(join(root, 'blobs'), join(scratch, 'moved'));
        await symlink(join(scratch, 'moved'), join(root, 'blobs'));
      },
      after: async (second, { scratch, first }) => {
        await assert.rejects(second, (e) => isLadingError(e, 'INVALID_LAYOUT'));
        assert.deepEqual(await readdir(join(scratch, 'moved', 'sha256')), [first.digest.slice('sha256:'.length)]);
      },
    },
    {
      name: 'a blob folder swapped for a link between two writes sends nothing where the link points',
      change: async (root, scratch) => {
        await mkdir(join(scratch, 'elsewhere'));
        await rename(join(root, 'blobs', 'sha256'), join(scratch, 'moved'));
        await symlink(join(scratch, 'elsewhere'), join(root, 'blobs', 'sha256'));
      },
      after: async (second, { scratch }) => {
        await assert.rejects(second, (e) => isLadingError(e, 'INVALID_LAYOUT'));
        assert.deepEqual(await readdir(join(scratch, 'elsewhere')), []);
      },
    },
  ];
  for (const c of betweenTwoWrites) {
    test(c.name, async () => {
      const t = await tempDir();
      try {
        const root = join(t.path, 'layout');
        const layout = await OciLayout.open(root, { mode: 'create' });
        const first = await pushBytes(layout, Buffer.from('first'), 'application/octet-stream');
        await c.change(root, t.path);
        const second = pushBytes(layout, Buffer.from('second'), 'application/octet-stream');
        second.catch(() => {});
        await c.after(second, { root, scratch: t.path, first });
        await layout.close();
      } finally {
        await t.cleanup();
      }
    });
  }

  test('concurrent pushes of the same blob in one process are safe', async () => {
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(t.path, { mode: 'create' });
      const bytes = Buffer.alloc(3 * 1024 * 1024, 7);
      const desc = { mediaType: 'application/octet-stream', digest: digestBytes(bytes), size: bytes.length };
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => layout.push(desc, bytes)));
      assert.ok(results.some((r) => r.status === 'fulfilled'));
      for (const r of results) if (r.status === 'rejected') assert.ok(isLadingError(r.reason, 'ALREADY_EXISTS'));
      assert.equal((await readAll(await layout.fetch(desc), 4 * 1024 * 1024)).equals(bytes), true);
    } finally {
      await t.cleanup();
    }
  });

  test('two processes writing one layout at once lose nothing', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'shared');
      await OciLayout.open(path, { mode: 'create' });
      const body = `for (let i = 0; i < 15; i++) {
  const { manifest } = await pushArtifact(layout, { [who + i]: who + ' ' + i });
  await layout.tag(manifest, who + '-' + i);
}
`;
      assert.deepEqual(await writerProcesses(t.path, path, ['a', 'b'], body), [0, 0]);
      const layout = await OciLayout.open(path);
      const tags: string[] = [];
      for await (const page of layout.tags()) tags.push(...page);
      assert.equal(tags.length, 30);
      assert.equal(layout.manifests().length, 30);
      for (const tag of tags) await fetchAll(layout, await layout.resolve(tag));
    } finally {
      await t.cleanup();
    }
  });

  test("processes that make the same new layout at once all succeed, and none loses the others' tags", async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'new', 'layout');
      const body =
        'const { manifest } = await pushArtifact(layout, { [who]: who });\nawait layout.tag(manifest, who);\n';
      assert.deepEqual(await writerProcesses(t.path, path, ['a', 'b', 'c'], body), [0, 0, 0]);
      const layout = await OciLayout.open(path);
      const tags: string[] = [];
      for await (const page of layout.tags()) tags.push(...page);
      assert.deepEqual(tags, ['a', 'b', 'c']);
      assert.deepEqual((await readdir(path)).sort(), ['blobs', 'index.json', 'ingest', 'oci-layout']);
      // The same with the layout made by each one's first write.
      const later = join(t.path, 'later', 'layout');
      const options = "{ mode: 'create', createOnWrite: true }";
      assert.deepEqual(await writerProcesses(t.path, later, ['d', 'e', 'f'], body, options), [0, 0, 0]);
      const tagsLater: string[] = [];
      for await (const page of (await OciLayout.open(later)).tags()) tagsLater.push(...page);
      assert.deepEqual(tagsLater, ['d', 'e', 'f']);
    } finally {
      await t.cleanup();
    }
  });

  test('createOnWrite: nothing is made until the first write, which makes the layout; it reads as empty until then', async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'a', 'later');
      const layout = await OciLayout.open(dir, { mode: 'create', createOnWrite: true });
      assert.deepEqual(await readdir(t.path), [], 'not even the folder above');
      const blob = { mediaType: 'text/plain', digest: digestBytes(Buffer.from('one')), size: 3 };
      assert.equal(await layout.exists(blob), false);
      const calls = [
        () => layout.resolve('v1'),
        () => layout.resolve(blob.digest),
        () => layout.untag('v1'),
        () => layout.delete(blob),
        () => layout.tag(blob, 'v1'),
      ];
      for (const call of calls) await assert.rejects(call, (e) => isLadingError(e, 'NOT_FOUND'));
      await layout.close();
      assert.deepEqual(await readdir(t.path), [], 'closing makes nothing either');
      const again = await OciLayout.open(dir, { mode: 'create', createOnWrite: true });
      const { manifest } = await pushArtifact(again, { 'a.txt': 'alpha' });
      await again.tag(manifest, 'v1');
      assert.deepEqual((await readdir(dir)).sort(), ['blobs', 'index.json', 'ingest', 'oci-layout']);
      const read = await OciLayout.open(dir);
      assert.equal((await read.resolve('v1')).digest, manifest.digest);
      // A failed first write (content that is not what its descriptor says) still made the layout, empty.
      const other = join(t.path, 'b');
      const failing = await OciLayout.open(other, { mode: 'create', createOnWrite: true });
      await assert.rejects(() => failing.push(blob, Buffer.from('two')));
      assert.deepEqual((await (await OciLayout.open(other)).manifests()).length, 0);
    } finally {
      await t.cleanup();
    }
  });

  test('a layout directory written by lading becomes a tar layout lading reads back', async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'dir');
      const layout = await OciLayout.open(dir, { mode: 'create' });
      const { manifest } = await pushImage(layout);
      await layout.tag(manifest, 'v1');
      await writeDirectoryAsTar(dir, join(t.path, 'image.tar'));
      const tarLayout = await OciLayout.open(join(t.path, 'image.tar'));
      assert.equal((await tarLayout.resolve('v1')).digest, manifest.digest);
      const back = await OciLayout.open(join(t.path, 'back'), { mode: 'create' });
      await copy(tarLayout, 'v1', back, 'v1');
      assert.equal((await back.resolve('v1')).digest, manifest.digest);
    } finally {
      await t.cleanup();
    }
  });
});

describe('bad layouts are refused with the file and the field', () => {
  async function withLayout(fn: (dir: string) => Promise<void>) {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'l');
      const layout = await OciLayout.open(dir, { mode: 'create' });
      const { manifest } = await pushArtifact(layout, { 'f.txt': 'content' });
      await layout.tag(manifest, 'v1');
      await fn(dir);
    } finally {
      await t.cleanup();
    }
  }

  const corruptions: [string, string, string, RegExp][] = [
    ['index.json not JSON', 'index.json', '{"schemaVersion":2,', /index\.json: not valid JSON/],
    // The file may be one its reader was never meant to show (a link's target): none of it is quoted.
    ['index.json of text', 'index.json', 'secret-token', /index\.json: not valid JSON$/],
    [
      'index.json wrong schemaVersion',
      'index.json',
      '{"schemaVersion":1,"manifests":[]}',
      /index\.json: schemaVersion must be 2/,
    ],
    [
      'index.json manifests not an array',
      'index.json',
      '{"schemaVersion":2,"manifests":{}}',
      /manifests must be an array/,
    ],
    [
      'index.json bad digest',
      'index.json',
      '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:zz","size":1}]}',
      /manifests\[0\]/,
    ],
    [
      'oci-layout wrong version',
      'oci-layout',
      '{"imageLayoutVersion":"2.0.0"}',
      /oci-layout: unsupported imageLayoutVersion/,
    ],
  ];
  for (const [name, file, content, pattern] of corruptions) {
    test(name, async () => {
      await withLayout(async (dir) => {
        await writeFile(join(dir, file), content);
        await assert.rejects(
          () => OciLayout.open(dir),
          (e) =>
            isLadingError(e, 'INVALID_LAYOUT') &&
            pattern.test((e as Error).message) &&
            (e as Error).message.includes(dir),
        );
      });
    });
  }

  test('create on a folder whose oci-layout is of another version and has no index.json still refuses it', async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'half');
      await mkdir(dir);
      await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"2.0.0"}');
      await assert.rejects(
        () => OciLayout.open(dir, { mode: 'create' }),
        (e) =>
          isLadingError(e, 'INVALID_LAYOUT') && /oci-layout: unsupported imageLayoutVersion/.test((e as Error).message),
      );
      assert.deepEqual(await readdir(dir), ['oci-layout'], 'nothing added to a folder that is refused');
    } finally {
      await t.cleanup();
    }
  });

  test("create on a folder whose index.json is not a layout's (a web project's) refuses it as it was found", async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'web');
      await mkdir(dir);
      await writeFile(join(dir, 'index.json'), '{"name":"my app"}');
      for (const mode of ['create', 'readwrite'] as const) {
        await assert.rejects(
          () => OciLayout.open(dir, { mode }),
          (e) =>
            isLadingError(e, 'INVALID_LAYOUT') && /index\.json: schemaVersion must be 2/.test((e as Error).message),
        );
        assert.deepEqual(await readdir(dir), ['index.json'], `${mode}: no oci-layout or blobs/ left in the folder`);
      }
      assert.equal(await readFile(join(dir, 'index.json'), 'utf8'), '{"name":"my app"}');
    } finally {
      await t.cleanup();
    }
  });

  test('open modes: readonly reads, readwrite writes an existing layout, create makes one', async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'modes');
      await assert.rejects(
        () => OciLayout.open(dir, { mode: 'readwrite' }),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
      const created = await OciLayout.open(dir, { mode: 'create' });
      assert.equal(created.writable, true);
      await pushBytes(created, Buffer.from('one'), 'text/plain');
      const readonly = await OciLayout.open(dir);
      assert.equal(readonly.writable, false);
      await assert.rejects(() => pushBytes(readonly, Buffer.from('two'), 'text/plain'));
      const readwrite = await OciLayout.open(dir, { mode: 'readwrite' });
      assert.equal(readwrite.writable, true);
      const desc = await pushBytes(readwrite, Buffer.from('two'), 'text/plain');
      assert.equal(await readonly.exists(desc), true);
      await assert.rejects(
        () => OciLayout.open(dir, { mode: 'write' as never }),
        (e) => isLadingError(e, 'INVALID_ARGUMENT'),
      );
    } finally {
      await t.cleanup();
    }
  });

  test('a missing directory is NOT_FOUND; a missing blob is NOT_FOUND naming the layout', async () => {
    await assert.rejects(
      () => OciLayout.open('/nonexistent/lading'),
      (e) => isLadingError(e, 'NOT_FOUND'),
    );
    await withLayout(async (dir) => {
      const layout = await OciLayout.open(dir);
      const desc = await layout.resolve('v1');
      const m = JSON.parse((await fetchAll(layout, desc)).toString());
      const { rm } = await import('node:fs/promises');
      await rm(join(dir, blobPath(m.layers[0].digest)));
      await assert.rejects(
        () => layout.fetch(m.layers[0]),
        (e) => isLadingError(e, 'NOT_FOUND') && (e as Error).message.includes(dir),
      );
    });
  });

  test('a manifest over the size limit is refused naming the layout (directory and tar) and the digest', async () => {
    const t = await tempDir();
    try {
      const dir = join(t.path, 'big');
      await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
      const put = async (bytes: Buffer) => {
        const digest = digestBytes(bytes, 'sha256');
        await writeFile(join(dir, blobPath(digest)), bytes);
        return { digest, size: bytes.length };
      };
      const config = await put(Buffer.from('{}'));
      const manifest = {
        mediaType: MediaType.ImageManifest,
        ...(await put(
          Buffer.from(
            JSON.stringify({
              schemaVersion: 2,
              mediaType: MediaType.ImageManifest,
              config: { mediaType: MediaType.Empty, ...config },
              layers: [],
              annotations: { big: 'x'.repeat(MaxManifestBytes) },
            }),
          ),
        )),
      };
      await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
      const ref = { ...manifest, annotations: { 'org.opencontainers.image.ref.name': 'v1' } };
      await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [ref] }));
      const tar = join(t.path, 'big.tar');
      await writeDirectoryAsTar(dir, tar);
      for (const path of [dir, tar]) {
        const layout = await OciLayout.open(path);
        const refused = (where: string) => (e: unknown) =>
          isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && (e as Error).message.startsWith(`${where}: `);
        await assert.rejects(fetchAll(layout, manifest), refused(`${path}@${manifest.digest}`));
        await assert.rejects(fetchReference(layout, 'v1'), refused(`${path}@${manifest.digest}`));
        await assert.rejects(copy(layout, 'v1', new MemoryStore()), refused(`${path}@${manifest.digest}`));
        await layout.close();
      }
      // A manifest over the limit pushed into a layout names the layout too.
      const out = await OciLayout.open(join(t.path, 'out'), { mode: 'create' });
      await assert.rejects(
        out.push(manifest, Readable.from([Buffer.alloc(0)])),
        (e: unknown) =>
          isLadingError(e, 'SIZE_EXCEEDS_LIMIT') &&
          (e as Error).message.startsWith(`${join(t.path, 'out')}@${manifest.digest}: `),
      );
      await out.close();
    } finally {
      await t.cleanup();
    }
  });

  test('a blob corrupted at rest fails its digest, and a copy of it leaves the destination without the manifest', async () => {
    await withLayout(async (dir) => {
      const layout = await OciLayout.open(dir);
      const desc = await layout.resolve('v1');
      const m = JSON.parse((await fetchAll(layout, desc)).toString());
      await writeFile(join(dir, blobPath(m.layers[0].digest)), 'CONTENT'); // same size, other bytes
      await assert.rejects(
        () => layout.fetch(m.layers[0]).then((s) => readAll(s)),
        (e) => isLadingError(e, 'DIGEST_MISMATCH'),
      );
      const t = await tempDir();
      try {
        const out = await OciLayout.open(join(t.path, 'o'), { mode: 'create' });
        await assert.rejects(
          () => copy(layout, 'v1', out, 'v1'),
          (e) => isLadingError(e, 'DIGEST_MISMATCH'),
        );
        assert.equal(out.manifests().length, 0);
        await assert.rejects(
          () => out.resolve('v1'),
          (e) => isLadingError(e, 'NOT_FOUND'),
        );
        assert.equal(await out.exists(m.layers[0]), false);
        const ingest = await readdir(join(t.path, 'o', 'ingest')).catch(() => []);
        assert.deepEqual(ingest, [], 'no temp file left behind');
      } finally {
        await t.cleanup();
      }
    });
  });

  test('fetchBytes reads a blob whole, verified: longer, shorter or changed is refused, naming the file', async () => {
    await withLayout(async (dir) => {
      const layout = await OciLayout.open(dir);
      const m = JSON.parse((await fetchAll(layout, await layout.resolve('v1'))).toString());
      const layer = m.layers[0];
      assert.equal((await layout.fetchBytes(layer)).toString(), 'content');
      const file = join(dir, blobPath(layer.digest));
      for (const [bytes, code, message] of [
        ['content!', 'SIZE_MISMATCH', /larger than the expected 7 bytes/],
        ['conten', 'SIZE_MISMATCH', /got 6 bytes, expected 7/],
        ['CONTENT', 'DIGEST_MISMATCH', /does not match/],
      ] as const) {
        await writeFile(file, bytes);
        await assert.rejects(
          () => layout.fetchBytes(layer),
          (e) => isLadingError(e, code) && message.test(e.message) && e.message.includes(blobPath(layer.digest)),
        );
      }
      await rm(file);
      await assert.rejects(
        () => layout.fetchBytes(layer),
        (e) => isLadingError(e, 'NOT_FOUND') && e.message.includes(dir),
      );
    });
  });

  test('a blob of many read buffers copies file to file byte for byte; one changed byte in its middle stores nothing', async () => {
    const t = await tempDir();
    try {
      // 5.5 MiB: six reads of the file-to-file copy, several in flight at once, the last one short.
      const bytes = randomBytes(5.5 * 1024 * 1024);
      const from = await OciLayout.open(join(t.path, 'from'), { mode: 'create' });
      const desc = await pushBytes(from, bytes, MediaType.ImageLayer);
      const good = await OciLayout.open(join(t.path, 'good'), { mode: 'create' });
      let counted = 0;
      await good.push(desc, await from.fetch(desc), { onProgress: (n) => (counted += n) });
      assert.ok((await readFile(join(t.path, 'good', blobPath(desc.digest)))).equals(bytes));
      assert.equal(counted, bytes.length);

      const stored = join(t.path, 'from', blobPath(desc.digest));
      const changed = Buffer.from(bytes);
      const at = 3 * 1024 * 1024 + 17;
      changed.writeUInt8(changed.readUInt8(at) ^ 1, at);
      await writeFile(stored, changed);
      const bad = await OciLayout.open(join(t.path, 'bad'), { mode: 'create' });
      await assert.rejects(
        async () => bad.push(desc, await from.fetch(desc)),
        (e) =>
          isLadingError(e, 'DIGEST_MISMATCH') &&
          (e as Error).message.startsWith(`${stored}: `) &&
          (e as Error).message.includes(desc.digest),
      );
      assert.equal(await bad.exists(desc), false);
      assert.deepEqual(await readdir(join(t.path, 'bad', 'ingest')).catch(() => []), [], 'no temp file left behind');
    } finally {
      await t.cleanup();
    }
  });

  test('a verified download in many small chunks is stored byte for byte in batches; a changed byte or an abort stores nothing', async () => {
    const t = await tempDir();
    // 3.3 MiB in 64 KiB chunks arriving one per tick, as a registry's response body does: several
    // write batches, later chunks arriving while one is being written, the last batch short.
    const bytes = randomBytes(3.3 * 1024 * 1024);
    const desc = { mediaType: MediaType.ImageLayer, digest: digestBytes(bytes), size: bytes.length };
    const download = (data: Buffer, onChunk?: (i: number) => void) =>
      verifiedStream(
        new Readable({
          read() {
            const at = (this as { at?: number }).at ?? 0;
            (this as { at?: number }).at = at + 64 * 1024;
            setImmediate(() => {
              onChunk?.(at / (64 * 1024));
              this.push(at < data.length ? data.subarray(at, at + 64 * 1024) : null);
            });
          },
        }),
        desc,
        { where: 'the download' },
      );
    try {
      const good = await OciLayout.open(join(t.path, 'good'), { mode: 'create' });
      let counted = 0;
      await good.push(desc, download(bytes), { onProgress: (n) => (counted += n) });
      assert.ok((await readFile(join(t.path, 'good', blobPath(desc.digest)))).equals(bytes));
      assert.equal(counted, bytes.length);

      const changed = Buffer.from(bytes);
      changed.writeUInt8(changed.readUInt8(2 * 1024 * 1024 + 5) ^ 1, 2 * 1024 * 1024 + 5);
      const bad = await OciLayout.open(join(t.path, 'bad'), { mode: 'create' });
      await assert.rejects(
        () => bad.push(desc, download(changed)),
        (e) => isLadingError(e, 'DIGEST_MISMATCH') && (e as Error).message.startsWith('the download: '),
      );
      assert.equal(await bad.exists(desc), false);
      assert.deepEqual(await readdir(join(t.path, 'bad', 'ingest')), [], 'no temp file left behind');

      const controller = new AbortController();
      await assert.rejects(
        () =>
          bad.push(
            desc,
            download(bytes, (i) => i === 30 && controller.abort()),
            { signal: controller.signal },
          ),
        (e) => isLadingError(e, 'ABORTED'),
      );
      assert.equal(await bad.exists(desc), false);
      assert.deepEqual(await readdir(join(t.path, 'bad', 'ingest')), [], 'no temp file left behind');
    } finally {
      await t.cleanup();
    }
  });

  test('pushing content that does not match its descriptor stores nothing', async () => {
    await withLayout(async (dir) => {
      const layout = await OciLayout.open(dir, { mode: 'create' });
      const good = Buffer.from('good bytes');
      const desc = { mediaType: 'text/plain', digest: digestBytes(good), size: good.length };
      await assert.rejects(
        () => layout.push(desc, Buffer.from('evil bytes')),
        (e) => isLadingError(e, 'DIGEST_MISMATCH'),
      );
      await assert.rejects(
        () => layout.push(desc, Buffer.from('good bytes!')),
        (e) => isLadingError(e, 'SIZE_MISMATCH'),
      );
      await assert.rejects(
        () => layout.push(desc, Buffer.from('good')),
        (e) => isLadingError(e, 'SIZE_MISMATCH'),
      );
      assert.equal(await layout.exists(desc), false);
      const manifestBytes = Buffer.from('{"schemaVersion":2,"config":{}}');
      await assert.rejects(
        () => pushBytes(layout, manifestBytes, MediaType.ImageManifest),
        (e) => isLadingError(e, 'INVALID_MANIFEST'),
      );
      assert.equal((await OciLayout.open(dir)).manifests().length, 1);
    });
  });
});
