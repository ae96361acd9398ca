import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pushArtifact, pushImage, pushIndex, withDir } from '../../test/support/fixtures.js';
import { fetchAll, MemoryStore } from '../content/index.js';
import { OciLayout } from '../layout/index.js';
import { digestBytes, isLadingError, MediaType } from '../oci/index.js';
import { configPlatform, platformConfig } from './platform.js';
import { referrerTree } from './referrer-tree.js';
import { fetchReference, resolveRoot, soleReference } from './resolve.js';
import { tagAll, tagBytes } from './tag.js';

const linux = (architecture: string) => ({ os: 'linux', architecture });

describe('the platform of an image config', () => {
  test('is read as Go unmarshals ocispec.Platform', () => {
    const read = (text: string) => configPlatform(Buffer.from(text));
    assert.deepEqual(read('{"os":"linux","architecture":"arm64","variant":"v8","os.features":["a"]}'), {
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
      'os.features': ['a'],
    });
    // null leaves the struct empty; a wrong type or no JSON at all makes Unmarshal fail.
    assert.deepEqual(read('null'), { os: '', architecture: '' });
    assert.equal(read('{"os":5}'), undefined);
    assert.equal(read('[]'), undefined);
    assert.equal(read('not json'), undefined);
  });

  test('written for --artifact-platform, it reads back the same', () => {
    const platform = { os: 'linux', architecture: 'arm', variant: 'v7', 'os.version': '6.1' };
    const bytes = platformConfig(platform);
    assert.equal(
      Buffer.from(bytes).toString(),
      '{"architecture":"arm","os":"linux","os.version":"6.1","variant":"v7"}',
    );
    assert.deepEqual(configPlatform(bytes), platform);
  });
});

describe('resolving a root', () => {
  async function multiPlatform() {
    const store = new MemoryStore();
    const amd64 = await pushImage(store, { 'a.txt': 'amd64\n' });
    const arm64 = await pushImage(store, { 'b.txt': 'arm64\n' });
    const index = await pushIndex(store, [
      { ...amd64.manifest, platform: linux('amd64') },
      { ...arm64.manifest, platform: linux('arm64') },
    ]);
    await store.tag(index, 'multi');
    await store.tag(amd64.manifest, 'single');
    return { store, index, amd64: amd64.manifest, arm64: arm64.manifest };
  }

  test('a platform picks the child of an index, or checks an image against its config', async () => {
    const { store, index, arm64, amd64 } = await multiPlatform();
    assert.equal((await resolveRoot(store, 'multi')).digest, index.digest);
    assert.equal((await resolveRoot(store, 'multi', { platform: linux('arm64') })).digest, arm64.digest);
    assert.equal((await resolveRoot(store, 'single', { platform: linux('amd64') })).digest, amd64.digest);
    await assert.rejects(
      resolveRoot(store, 'single', { platform: linux('arm64') }),
      (e: unknown) => isLadingError(e, 'NOT_FOUND') && /built for linux\/amd64, not linux\/arm64/.test(e.message),
    );
  });

  test('fetchReference returns the chosen manifest with its own bytes', async () => {
    const { store, arm64 } = await multiPlatform();
    const { desc, bytes } = await fetchReference(store, 'multi', { platform: linux('arm64') });
    assert.equal(desc.digest, arm64.digest);
    assert.equal(digestBytes(bytes), arm64.digest);
  });

  test('without a reference, a layout means its only tag or only manifest; other stores nothing', async () => {
    await withDir(async (dir) => {
      const layout = await OciLayout.open(dir, { mode: 'create' });
      const image = await pushImage(layout);
      assert.equal(await soleReference(layout), image.manifest.digest);
      await layout.tag(image.manifest, 'v1');
      assert.equal(await soleReference(layout), 'v1');
      await layout.tag(image.manifest, 'v2');
      assert.equal(await soleReference(layout), undefined);
      const memory = new MemoryStore();
      await memory.tag(await pushImage(memory).then((i) => i.manifest), 'v1');
      assert.equal(await soleReference(memory), undefined);
    });
  });
});

describe('tagging', () => {
  test('tagBytes stores a manifest and tags it; tagAll applies every tag once', async () => {
    await withDir(async (dir) => {
      const source = new MemoryStore();
      const image = await pushImage(source);
      const layout = await OciLayout.open(dir, { mode: 'create' });
      for (const blob of [image.config, image.layer]) await layout.push(blob, await fetchAll(source, blob));
      const bytes = await fetchAll(source, image.manifest);
      await tagBytes(layout, image.manifest, bytes, 'v1');
      assert.equal((await layout.resolve('v1')).digest, image.manifest.digest);
      const tagged: string[] = [];
      await tagAll(layout, image.manifest, ['a', 'b', 'c'], { concurrency: 2, onTagged: (t) => tagged.push(t) });
      assert.deepEqual(tagged.sort(), ['a', 'b', 'c']);
      const tags: string[] = [];
      for await (const page of layout.tags()) tags.push(...page);
      assert.deepEqual(tags, ['a', 'b', 'c', 'v1']);
    });
  });
});

describe('referrer trees', () => {
  test('each referrer once, and a chain past the depth bound is refused with the caller’s advice', async () => {
    const store = new MemoryStore();
    const subject = (await pushImage(store)).manifest;
    let below = subject;
    for (let i = 0; i < 66; i++) {
      const signature = await pushArtifact(store, { [`sig${i}`]: `s${i}` }, { subject: below, artifactType: 'x/sig' });
      below = signature.manifest;
    }
    const two = await referrerTree(store, subject, { depth: 2 });
    assert.equal(two.length, 1);
    assert.equal(two[0]?.referrers.length, 1);
    assert.deepEqual(two[0]?.referrers[0]?.referrers, []);
    await assert.rejects(
      referrerTree(store, subject, { advice: (bound) => `fewer (${bound})` }),
      (e: unknown) =>
        isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /nest deeper than 64 levels .*; fewer \(depth\)$/.test(e.message),
    );
    assert.equal((await referrerTree(store, subject, { artifactType: MediaType.ImageManifest })).length, 0);
  });
});
