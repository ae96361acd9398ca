import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pushArtifact, pushImage, pushIndex, tempDir } from '../../test/support/fixtures.js';
import { type Content, fetchAll, MemoryStore, type Op, type Target } from '../content/index.js';
import { OciLayout } from '../layout/index.js';
import { abortError, type Descriptor, isLadingError, LadingError } from '../oci/index.js';
import { copy, copyGraph } from './copy.js';

/** Wraps a target to count pushes, track concurrency, and fail on demand. */
class Instrumented implements Target {
  pushes: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  readonly inner: Target;
  readonly failOn: ((desc: Descriptor, n: number) => boolean) | undefined;
  constructor(inner: Target, failOn?: (desc: Descriptor, n: number) => boolean) {
    this.inner = inner;
    this.failOn = failOn;
  }
  fetch(desc: Descriptor, o?: Op) {
    return this.inner.fetch(desc, o);
  }
  exists(desc: Descriptor, o?: Op) {
    return this.inner.exists(desc, o);
  }
  resolve(ref: string, o?: Op) {
    return this.inner.resolve(ref, o);
  }
  tag(desc: Descriptor, ref: string, o?: Op) {
    return this.inner.tag(desc, ref, o);
  }
  async push(desc: Descriptor, content: Content, o?: Op) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((r) => setTimeout(r, 5));
      if (this.failOn?.(desc, this.pushes.length))
        throw new LadingError('IO_ERROR', `injected failure on ${desc.digest}`);
      await this.inner.push(desc, content, o);
      this.pushes.push(desc.digest);
    } finally {
      this.inFlight--;
    }
  }
}

async function multiPlatform(store: MemoryStore) {
  const images = [];
  for (const arch of ['amd64', 'arm64', 'riscv64']) {
    const img = await pushImage(store, { [`${arch}.txt`]: `built for ${arch}\n` });
    images.push({ ...img.manifest, platform: { os: 'linux', architecture: arch } });
  }
  const index = await pushIndex(store, images);
  await store.tag(index, 'multi');
  return { index, images };
}

describe('graph copy', () => {
  test('children before parents, each node once, tagged at the destination', async () => {
    const src = new MemoryStore();
    const { index } = await multiPlatform(src);
    const dst = new Instrumented(new MemoryStore());
    const seen: string[] = [];
    const root = await copy(src, 'multi', dst, 'v1', { postCopy: (d) => void seen.push(d.mediaType) });
    assert.equal(root.digest, index.digest);
    assert.equal(new Set(dst.pushes).size, dst.pushes.length, 'no node pushed twice');
    assert.equal(dst.pushes.length, 10); // 3 × (layer, config, manifest) + index
    assert.equal(dst.pushes.at(-1), index.digest, 'the root lands last');
    assert.equal((await dst.resolve('v1')).digest, index.digest);
    const firstManifest = seen.indexOf('application/vnd.oci.image.manifest.v1+json');
    assert.ok(seen.indexOf('application/vnd.oci.image.config.v1+json') < firstManifest);
  });

  test('what the destination has is skipped, with its whole sub-graph', async () => {
    const src = new MemoryStore();
    await multiPlatform(src);
    const inner = new MemoryStore();
    await copy(src, 'multi', inner, 'multi');
    const dst = new Instrumented(inner);
    const skipped: string[] = [];
    await copy(src, 'multi', dst, 'again', { onSkipped: (d) => void skipped.push(d.digest) });
    assert.deepEqual(dst.pushes, []);
    assert.equal(skipped.length, 1, 'the root is present, so nothing below it is even looked at');
  });

  test('concurrency is bounded, and a parent never holds a slot: concurrency 1 finishes a deep graph', async () => {
    const src = new MemoryStore();
    const { index } = await multiPlatform(src);
    const dst = new Instrumented(new MemoryStore());
    await copyGraph(src, dst, index, { concurrency: 1 });
    assert.equal(dst.maxInFlight, 1);
    assert.equal(dst.pushes.length, 10);
    const dst3 = new Instrumented(new MemoryStore());
    await copyGraph(src, dst3, index, { concurrency: 3 });
    assert.ok(dst3.maxInFlight <= 3 && dst3.maxInFlight > 1, `max in flight ${dst3.maxInFlight}`);
  });

  test("an index's children are taken a window at a time: the first lands before the last is looked at", async () => {
    const src = new MemoryStore();
    const children = [];
    for (let i = 0; i < 200; i++) children.push((await pushArtifact(src, { [`f${i}`]: `content ${i}` })).manifest);
    const index = await pushIndex(src, children);
    const events: string[] = [];
    const dst = new (class extends Instrumented {
      override exists(desc: Descriptor, o?: Op) {
        events.push(`exists ${desc.digest}`);
        return super.exists(desc, o);
      }
      override async push(desc: Descriptor, content: Content, o?: Op) {
        await super.push(desc, content, o);
        events.push(`push ${desc.digest}`);
      }
    })(new MemoryStore());
    await copyGraph(src, dst, index, { concurrency: 3 });
    const first = events.indexOf(`push ${children[0]?.digest}`);
    const last = events.indexOf(`exists ${children[199]?.digest}`);
    assert.ok(first >= 0 && last >= 0);
    // All 200 started at once (as before) looked at every child before the first could land.
    assert.ok(first < last, `first child pushed at event ${first}, last child looked at at event ${last}`);
    for (const c of children) assert.ok(await dst.inner.exists(c), c.digest);
  });

  test('a destination failing mid-way leaves no manifest and no tag behind', async () => {
    const src = new MemoryStore();
    const { manifest } = await pushArtifact(src, { a: 'a', b: 'b', c: 'c', d: 'd' });
    await src.tag(manifest, 'v1');
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(join(t.path, 'dst'), { mode: 'create' });
      const dst = new Instrumented(layout, (_d, n) => n === 2);
      await assert.rejects(
        () => copy(src, 'v1', dst, 'v1', { concurrency: 1 }),
        (e) => isLadingError(e, 'IO_ERROR'),
      );
      const reopened = await OciLayout.open(join(t.path, 'dst'));
      assert.deepEqual(reopened.manifests(), []);
      await assert.rejects(
        () => reopened.resolve('v1'),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
      // A rerun completes and skips what arrived.
      const again = new Instrumented(layout);
      await copy(src, 'v1', again, 'v1');
      assert.equal(again.pushes.length, 6 - dst.pushes.length);
      assert.equal((await reopened.resolve(manifest.digest)).digest, manifest.digest);
    } finally {
      await t.cleanup();
    }
  });

  test('a failed copy rejects only once every transfer it started has stopped', async () => {
    const src = new MemoryStore();
    const { manifest } = await pushArtifact(src, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    await src.tag(manifest, 'v1');
    let writing = 0;
    class Slow extends Instrumented {
      override async push(desc: Descriptor, content: Content, o?: Op) {
        if (desc.size === 1 && desc.digest !== failing) {
          writing++;
          // A write that does not watch the signal, as a file write does not.
          await new Promise((r) => setTimeout(r, 100));
          writing--;
        }
        return super.push(desc, content, o);
      }
    }
    const layers = JSON.parse((await fetchAll(src, manifest)).toString()).layers as Descriptor[];
    const failing = (layers[0] as Descriptor).digest;
    const dst = new Slow(new MemoryStore(), (d) => d.digest === failing);
    await assert.rejects(copy(src, 'v1', dst, 'v1', { concurrency: 3 }), /injected failure/);
    assert.equal(writing, 0, 'no write was still under way when the copy rejected');
  });

  test('the first failure is what the copy rejects with, never the cancellation of its siblings', async () => {
    const src = new MemoryStore();
    const { manifest } = await pushArtifact(src, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    await src.tag(manifest, 'v1');
    const layers = JSON.parse((await fetchAll(src, manifest)).toString()).layers as Descriptor[];
    const failing = (layers[0] as Descriptor).digest;
    /** A destination that takes a manifest with its tag in one call, as a registry does. */
    class Registryish extends Instrumented {
      pushReference(desc: Descriptor, content: Content, ref: string, o?: Op) {
        return this.push(desc, content, o).then(() => this.inner.tag(desc, ref, o));
      }
      override async push(desc: Descriptor, content: Content, o?: Op) {
        if (desc.digest === failing) throw new LadingError('DIGEST_MISMATCH', 'injected mismatch');
        // The other transfers run until they are cancelled, and then reject as stores do.
        if (desc.size === 1) {
          await new Promise<void>((_r, reject) =>
            o?.signal?.addEventListener('abort', () => reject(abortError(o.signal as AbortSignal)), { once: true }),
          );
        }
        return super.push(desc, content, o);
      }
    }
    for (const dst of [new Registryish(new MemoryStore()), new Instrumented(new MemoryStore())]) {
      for (let i = 0; i < 5; i++) {
        const into = dst instanceof Registryish ? dst : new Registryish(new MemoryStore());
        await assert.rejects(copy(src, 'v1', into, 'v1'), (e: unknown) => {
          assert.ok(isLadingError(e, 'DIGEST_MISMATCH'), String(e));
          return true;
        });
        await assert.rejects(copyGraph(src, into, manifest), (e: unknown) => isLadingError(e, 'DIGEST_MISMATCH'));
      }
    }
  });

  test('referrers travel with -r (includeReferrers), found through predecessors', async () => {
    const src = new MemoryStore();
    const { manifest } = await pushArtifact(src, { 'app.bin': 'application' });
    await src.tag(manifest, 'v1');
    const sig = await pushArtifact(
      src,
      { 'sig.json': '{"sig":1}' },
      { subject: manifest, artifactType: 'application/vnd.example.sig' },
    );
    const sbomOfSig = await pushArtifact(
      src,
      { 'meta.json': '{}' },
      { subject: sig.manifest, artifactType: 'application/vnd.example.meta' },
    );
    const without = new MemoryStore();
    await copy(src, 'v1', without, 'v1');
    assert.equal(await without.exists(sig.manifest), false);
    const dst = new MemoryStore();
    await copy(src, 'v1', dst, 'v1', { includeReferrers: true });
    assert.equal(await dst.exists(sig.manifest), true);
    assert.equal(await dst.exists(sbomOfSig.manifest), true);
  });

  test('-r tags the root last: a referrer that cannot be read writes nothing, one that cannot be copied leaves no tag', async () => {
    // What the source's referrers API lists for the image (and nothing for the rest).
    const listed: Descriptor[] = [];
    class Listing extends MemoryStore {
      async *referrers(subject: Descriptor): AsyncIterable<Descriptor[]> {
        yield subject.digest === manifest.digest ? listed : [];
      }
    }
    const src = new Listing();
    const { manifest } = await pushArtifact(src, { 'app.bin': 'application' });
    await src.tag(manifest, 'v1');
    const sig = await pushArtifact(src, { 'sig.json': '{"sig":1}' }, { subject: manifest });
    listed.push(sig.manifest);
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(join(t.path, 'dst'), { mode: 'create' });
      // A referrer the source lists but cannot give: found before the first write.
      listed.push({ ...sig.manifest, digest: `sha256:${'0'.repeat(64)}` });
      const unread = new Instrumented(layout);
      await assert.rejects(
        () => copy(src, 'v1', unread, 'v1', { includeReferrers: true }),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
      assert.deepEqual(unread.pushes, []);
      listed.pop();
      // A referrer whose blob cannot be written: the root may be there, its tag is not.
      const failing = new Instrumented(layout, (d) => d.digest === sig.layers[0]?.digest);
      await assert.rejects(
        () => copy(src, 'v1', failing, 'v1', { includeReferrers: true }),
        (e) => isLadingError(e, 'IO_ERROR'),
      );
      await assert.rejects(
        () => (async () => (await OciLayout.open(join(t.path, 'dst'))).resolve('v1'))(),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
      await copy(src, 'v1', layout, 'v1', { includeReferrers: true });
      assert.equal((await layout.resolve('v1')).digest, manifest.digest);
      assert.equal(await layout.exists(sig.manifest), true);
    } finally {
      await t.cleanup();
    }
  });

  test('-r copies only referrers whose own subject is the image: a listing that names the referrer of another image is not believed', async () => {
    // The source's referrers listing (as a registry's referrers API answers) claims every
    // manifest that has a subject for the image.
    const claimed: Descriptor[] = [];
    class Lying extends MemoryStore {
      async *referrers(): AsyncIterable<Descriptor[]> {
        yield claimed;
      }
    }
    const src = new Lying();
    const { manifest } = await pushArtifact(src, { 'app.bin': 'application' });
    await src.tag(manifest, 'v1');
    const other = await pushArtifact(src, { 'other.bin': 'another image' });
    const real = await pushArtifact(src, { 'sig.json': '{"sig":1}' }, { subject: manifest });
    const foreign = await pushArtifact(src, { 'sig.json': '{"sig":2}' }, { subject: other.manifest });
    claimed.push(real.manifest, foreign.manifest);
    const dst = new MemoryStore();
    await copy(src, 'v1', dst, 'v1', { includeReferrers: true });
    assert.equal(await dst.exists(real.manifest), true);
    assert.equal(await dst.exists(foreign.manifest), false, "another image's referrer was copied as this one's");
  });

  test('progress hooks report every byte exactly once, whatever the stores', async () => {
    const t = await tempDir();
    try {
      const memory = new MemoryStore();
      // A big layer streams; a small one moves as bytes out of a store that reads it whole (a layout).
      const big = Buffer.alloc(300_000, 1);
      const small = Buffer.alloc(1_000, 2);
      const { manifest, layers } = await pushArtifact(memory, { big, small });
      const layout = await OciLayout.open(join(t.path, 'a'), { mode: 'create' });
      const pairs: [Target, Target][] = [
        [memory, new MemoryStore()],
        [memory, layout],
        [layout, await OciLayout.open(join(t.path, 'b'), { mode: 'create' })],
        [layout, new MemoryStore()],
      ];
      for (const [src, dst] of pairs) {
        const bytes = new Map<string, number>();
        await copyGraph(src, dst, manifest, {
          onProgress: (d, n) => bytes.set(d.digest, (bytes.get(d.digest) ?? 0) + n),
        });
        assert.equal(bytes.get(layers[0]?.digest ?? ''), 300_000);
        assert.equal(bytes.get(layers[1]?.digest ?? ''), 1_000);
      }
    } finally {
      await t.cleanup();
    }
  });

  test('an invalid concurrency is refused', async () => {
    await assert.rejects(
      () =>
        copyGraph(
          new MemoryStore(),
          new MemoryStore(),
          { mediaType: 'x/y', digest: 'sha256:0', size: 0 },
          { concurrency: 0 },
        ),
      (e) => isLadingError(e, 'INVALID_ARGUMENT'),
    );
  });
});

describe('graph copy: mount before any existence check', () => {
  /** A destination that mounts what `mountable` holds and logs its calls, over a memory store. */
  class Mounting extends Instrumented {
    calls: string[] = [];
    readonly mountable: Set<string>;
    constructor(inner: Target, mountable: Iterable<string>) {
      super(inner);
      this.mountable = new Set(mountable);
    }
    override async exists(desc: Descriptor, o?: Op) {
      this.calls.push(`exists ${desc.digest}`);
      return super.exists(desc, o);
    }
    /** What a mount of a blob not mountable does: answer false, or fail as a registry without mounts can. */
    refusal: Error | undefined;
    async mount(desc: Descriptor, _from: string): Promise<boolean> {
      this.calls.push(`mount ${desc.digest}`);
      if (!this.mountable.has(desc.digest)) {
        if (this.refusal) throw this.refusal;
        return false;
      }
      await this.inner.push(desc, await fetchAll(source, desc));
      return true;
    }
  }
  let source: MemoryStore;

  test('a mounted blob costs one call; a refused mount is followed by the check, and a blob there already is skipped', async () => {
    source = new MemoryStore();
    const { manifest, layer, config } = await pushImage(source, { 'm.txt': 'mount me\n' });
    const inner = new MemoryStore();
    // The config is at the destination already but cannot be mounted; the layer can be.
    await inner.push(config, await fetchAll(source, config));
    const dst = new Mounting(inner, [layer.digest]);
    const mounted: string[] = [];
    const skipped: string[] = [];
    await copyGraph(source, dst, manifest, {
      mountFrom: () => ['elsewhere'],
      onMounted: (d) => void mounted.push(d.digest),
      onSkipped: (d) => void skipped.push(d.digest),
    });
    assert.deepEqual(mounted, [layer.digest]);
    assert.deepEqual(skipped, [config.digest]);
    assert.deepEqual(dst.pushes, [manifest.digest], 'nothing uploaded but the manifest');
    assert.deepEqual(
      dst.calls.filter((c) => !c.endsWith(manifest.digest)).sort(),
      [`exists ${config.digest}`, `mount ${config.digest}`, `mount ${layer.digest}`].sort(),
      'no existence check before a mount',
    );
  });

  test('a mount the registry answers with an error leaves the blob it holds skipped, as the existence check ORAS asks first would', async () => {
    source = new MemoryStore();
    const { manifest, layer, config } = await pushImage(source, { 'm.txt': 'no mounts here\n' });
    const inner = new MemoryStore();
    await inner.push(config, await fetchAll(source, config));
    await inner.push(layer, await fetchAll(source, layer));
    const dst = new Mounting(inner, []);
    // A registry without cross-repository mounts (405), or one that fails them (500).
    dst.refusal = new LadingError('REGISTRY_ERROR', 'POST …/blobs/uploads/?mount=…: 405 Method Not Allowed');
    const skipped: string[] = [];
    await copyGraph(source, dst, manifest, {
      mountFrom: () => ['elsewhere'],
      onSkipped: (d) => void skipped.push(d.digest),
    });
    assert.deepEqual(skipped.sort(), [config.digest, layer.digest].sort());
    assert.deepEqual(dst.pushes, [manifest.digest], 'nothing uploaded but the manifest');
  });

  test('a mount the registry answers with an error fails the copy of a blob it does not hold, with that error', async () => {
    source = new MemoryStore();
    const { manifest } = await pushImage(source, { 'm.txt': 'no mounts, no blob\n' });
    const dst = new Mounting(new MemoryStore(), []);
    dst.refusal = new LadingError('REGISTRY_ERROR', 'POST …/blobs/uploads/?mount=…: 405 Method Not Allowed');
    await assert.rejects(
      copyGraph(source, dst, manifest, { mountFrom: () => ['elsewhere'] }),
      (e) => e === dst.refusal,
    );
    assert.deepEqual(dst.pushes, []);
  });

  test('a mount that fails otherwise (another digest named, a credential helper failing) is not taken back by an existence check', async () => {
    source = new MemoryStore();
    const { manifest, layer } = await pushImage(source, { 'm.txt': 'lying mount\n' });
    const inner = new MemoryStore();
    await inner.push(layer, await fetchAll(source, layer));
    for (const refusal of [
      new LadingError('DIGEST_MISMATCH', `mount of ${layer.digest} produced sha256:${'0'.repeat(64)}`),
      new LadingError('IO_ERROR', 'credential helper docker-credential-x get: exited 1'),
    ]) {
      const dst = new Mounting(inner, []);
      dst.refusal = refusal;
      await assert.rejects(copyGraph(source, dst, manifest, { mountFrom: () => ['elsewhere'] }), (e) => e === refusal);
      assert.ok(!dst.calls.includes(`exists ${layer.digest}`), `${refusal.code}: no existence check`);
    }
  });
});
