// The conventions the library keeps across its stores: what holds resources closes with `close()`
// and with `Symbol.asyncDispose`; a registry and repository come from one reference; cancellation
// rejects one way; library errors name library options, never command-line flags.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { access, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliMessage } from '../src/cli/io.js';
import { readAll, type TargetResolver } from '../src/content/index.js';
import { CtfArchive } from '../src/ctf/api.js';
import { pullFiles } from '../src/files/api.js';
import {
  copy,
  type Descriptor,
  digestBytes,
  isLadingError,
  LadingError,
  MemoryStore,
  type ReadOnlyTarget,
  type Target,
} from '../src/index.js';
import { LayoutTarWriter, OciLayout } from '../src/layout/api.js';
import {
  type ComponentDescriptor,
  type InputMethod,
  openComponentRepository,
  transferComponentVersion,
} from '../src/ocm/api.js';
import { Registry } from '../src/registry/api.js';
import { snapshot } from './reliability-support.js';
import { pushArtifact, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('close and Symbol.asyncDispose', () => {
  test('a CTF tar disposed is written back, as close() does', async () => {
    const t = await tempDir();
    try {
      const src = new MemoryStore();
      const { manifest: root } = await pushArtifact(src, { 'a.txt': 'hello' });
      await src.tag(root, 'v1');
      const path = join(t.path, 'archive.tar');
      const archive = await CtfArchive.open(path, { mode: 'create' });
      await copy(src, 'v1', archive.repository('acme/demo'), 'v1');
      await archive[Symbol.asyncDispose]();
      const back = await CtfArchive.open(path);
      assert.equal((await back.repository('acme/demo').resolve('v1')).digest, root.digest);
      await back[Symbol.asyncDispose]();
    } finally {
      await t.cleanup();
    }
  });

  test('a layout tar writer disposed before finish leaves nothing; close() finishes it', async () => {
    const t = await tempDir();
    try {
      const src = new MemoryStore();
      const { manifest: root } = await pushArtifact(src, { 'a.txt': 'hello' });
      await src.tag(root, 'v1');
      const dropped = join(t.path, 'dropped.tar');
      const writer = await LayoutTarWriter.create(dropped);
      await copy(src, 'v1', writer, 'v1', { concurrency: 1 });
      await writer[Symbol.asyncDispose]();
      assert.equal(await exists(dropped), false);
      assert.deepEqual(await readdir(t.path), []);

      const kept = join(t.path, 'kept.tar');
      const second = await LayoutTarWriter.create(kept);
      await copy(src, 'v1', second, 'v1', { concurrency: 1 });
      await second.close();
      await second[Symbol.asyncDispose](); // after close: nothing more happens
      assert.equal((await (await OciLayout.open(kept)).resolve('v1')).digest, root.digest);
    } finally {
      await t.cleanup();
    }
  });

  test('an OCI layout closed waits for the writes under way, then refuses every call', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'layout');
      const layout = await OciLayout.open(path, { mode: 'create' });
      const bytes = Buffer.alloc(4 * 1024 * 1024, 3);
      const desc = { mediaType: 'application/octet-stream', digest: digestBytes(bytes), size: bytes.length };
      let pushed = false;
      const pushing = layout.push(desc, Readable.from([bytes.subarray(0, 1024), bytes.subarray(1024)])).then(() => {
        pushed = true;
      });
      await layout.close();
      assert.equal(pushed, true, 'close() returned after the push under way settled');
      await pushing;
      assert.deepEqual(await readdir(join(path, 'ingest')).catch(() => []), [], 'nothing staged is left');
      const closed = (e: unknown) => isLadingError(e, 'UNSUPPORTED') && /closed/.test(e.message);
      await assert.rejects(layout.exists(desc), closed);
      await assert.rejects(layout.fetch(desc), closed);
      await assert.rejects(layout.resolve(desc.digest), closed);
      await assert.rejects(layout.push(desc, bytes), closed);
      await assert.rejects(layout.tag(desc, 'v1'), closed);
      await layout[Symbol.asyncDispose](); // a second close: nothing more happens

      const again = await OciLayout.open(path);
      assert.equal(await again.exists(desc), true, 'what was pushed before close() is there');
      await again.close();
      const src = new MemoryStore();
      const { manifest: root } = await pushArtifact(src, { 'a.txt': 'in a tar' });
      await src.tag(root, 'v1');
      const tar = join(t.path, 'layout.tar');
      const writer = await LayoutTarWriter.create(tar);
      await copy(src, 'v1', writer, 'v1');
      await writer.close();
      const fromTar = await OciLayout.open(tar);
      assert.equal((await fromTar.resolve('v1')).digest, root.digest);
      await fromTar.close();
      await assert.rejects(fromTar.resolve('v1'), closed);
    } finally {
      await t.cleanup();
    }
  });

  test('a registry disposed releases its connections and can be disposed twice', async () => {
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    await registry.ping();
    await registry[Symbol.asyncDispose]();
    await registry[Symbol.asyncDispose]();
  });
});

describe('Registry.fromReference', () => {
  test('host/repository[:tag], with or without a scheme, pushes and reads back', async () => {
    const src = new MemoryStore();
    const { manifest } = await pushArtifact(src, { 'a.txt': 'from a reference' });
    await src.tag(manifest, 'v1');
    const name = `from-reference/r${process.pid}`;
    const target = Registry.fromReference(`${peers.plain.host}/${name}:v1`, { plainHttp: true, push: true });
    assert.equal(target.reference, 'v1');
    assert.equal(target.repository.name, name);
    assert.equal(target.registry.host, peers.plain.host);
    await copy(src, 'v1', target.repository, target.reference);
    await target[Symbol.asyncDispose]();

    const viaScheme = Registry.fromReference(`${peers.plain.url}/${name}@${manifest.digest}`);
    assert.equal(viaScheme.registry.baseUrl.protocol, 'http:');
    assert.equal(viaScheme.reference, manifest.digest);
    assert.equal((await viaScheme.repository.resolve(viaScheme.reference)).digest, manifest.digest);
    await viaScheme.close();

    assert.equal(Registry.fromReference('ghcr.io/acme/app').registry.baseUrl.protocol, 'https:');
    assert.throws(
      () => Registry.fromReference('no-repository'),
      (e) => isLadingError(e, 'INVALID_REFERENCE'),
    );
  });
});

/** Content that sends one chunk, then waits until it is destroyed (an abort during the push). */
function stalling(first: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(first);
      }
    },
  });
}

type Store = { name: string; open: (dir: string) => Promise<Target>; close?: () => Promise<void> };

const stores: Store[] = [
  { name: 'MemoryStore', open: async () => new MemoryStore() },
  { name: 'OciLayout', open: (dir) => OciLayout.open(join(dir, 'layout'), { mode: 'create' }) },
  {
    name: 'CtfRepository (directory)',
    open: async (dir) => (await CtfArchive.open(join(dir, 'ctf'), { mode: 'create' })).repository('acme/abort'),
  },
  {
    name: 'CtfRepository (tgz)',
    open: async (dir) => (await CtfArchive.open(join(dir, 'ctf.tgz'), { mode: 'create' })).repository('acme/abort'),
  },
  {
    name: 'Repository (registry)',
    open: async () =>
      new Registry(peers.plain.host, { plainHttp: true }).repository(
        `abort/r${process.pid}-${Math.random().toString(36).slice(2)}`,
      ),
  },
];

function isAbortOf(reason: unknown) {
  return (e: unknown) => {
    assert.ok(isLadingError(e, 'ABORTED'), `not an ABORTED LadingError: ${String(e)} (${(e as Error)?.name})`);
    assert.equal(e.cause, reason);
    return true;
  };
}

describe('cancellation rejects with ABORTED, the reason as cause', () => {
  for (const store of stores) {
    test(`${store.name}: push, fetch and copy, aborted before and during the call`, async () => {
      const t = await tempDir();
      try {
        const target = await store.open(t.path);
        const bytes = Buffer.alloc(256 * 1024, 7);
        const desc = { mediaType: 'application/octet-stream', digest: digestBytes(bytes), size: bytes.length };

        const before = new AbortController();
        const reason = new Error('stopped by the test');
        before.abort(reason);
        await assert.rejects(target.push(desc, bytes, { signal: before.signal }), isAbortOf(reason));
        assert.equal(await target.exists(desc), false);

        const during = new AbortController();
        const content = stalling(bytes.subarray(0, 1024));
        const pushing = target.push(desc, content, { signal: during.signal });
        setTimeout(() => during.abort(reason), 50);
        await assert.rejects(pushing, isAbortOf(reason));
        assert.equal(await target.exists(desc), false);

        await target.push(desc, bytes);
        await assert.rejects(target.fetch(desc, { signal: before.signal }), isAbortOf(reason));

        const src = new MemoryStore();
        const { manifest } = await pushArtifact(src, { 'a.txt': 'abort me' });
        await src.tag(manifest, 'v1');
        await assert.rejects(copy(src, 'v1', target, 'v1', { signal: before.signal }), isAbortOf(reason));
        const slow = new AbortController();
        const slowSource: ReadOnlyTarget = {
          fetch: async (d: Descriptor) =>
            d.mediaType === manifest.mediaType ? src.fetch(d) : stalling(Buffer.from('ab')),
          exists: (d: Descriptor) => src.exists(d),
          resolve: (reference: string) => src.resolve(reference),
        };
        const copying = copy(slowSource, 'v1', target, 'v2', { signal: slow.signal });
        setTimeout(() => slow.abort(reason), 50);
        await assert.rejects(copying, isAbortOf(reason));
      } finally {
        await t.cleanup();
      }
    });
  }
});

describe('every call that takes a signal rejects an aborted one the same way', () => {
  for (const store of stores) {
    test(`${store.name}: resolve, exists, tag, fetchBytes, tags and referrers reject ABORTED with the reason`, async () => {
      const t = await tempDir();
      try {
        const target = await store.open(t.path);
        const { manifest } = await pushArtifact(target, { 'a.txt': 'abort me' });
        await target.tag(manifest, 'v1');
        const before = new AbortController();
        const reason = new Error('stopped by the test');
        before.abort(reason);
        const o = { signal: before.signal };
        await assert.rejects(target.resolve('v1', o), isAbortOf(reason));
        await assert.rejects(target.resolve(manifest.digest, o), isAbortOf(reason));
        await assert.rejects(target.exists(manifest, o), isAbortOf(reason));
        await assert.rejects(target.tag(manifest, 'v2', o), isAbortOf(reason));
        const t2 = target as Partial<{
          fetchBytes: (d: Descriptor, o: object) => Promise<Buffer>;
          tags: (o: object) => AsyncIterable<string[]>;
          referrers: (d: Descriptor, o: object) => AsyncIterable<Descriptor[]>;
        }>;
        if (t2.fetchBytes) await assert.rejects(t2.fetchBytes(manifest, o), isAbortOf(reason));
        const drain = async (pages: AsyncIterable<unknown>) => {
          for await (const _ of pages);
        };
        if (t2.tags) await assert.rejects(drain(t2.tags(o)), isAbortOf(reason));
        if (t2.referrers) await assert.rejects(drain(t2.referrers(manifest, o)), isAbortOf(reason));
      } finally {
        await t.cleanup();
      }
    });
  }

  test('Registry: ping and repositories reject ABORTED with the reason', async () => {
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    try {
      const before = new AbortController();
      const reason = new Error('stopped by the test');
      before.abort(reason);
      await assert.rejects(registry.ping({ signal: before.signal }), isAbortOf(reason));
      await assert.rejects(async () => {
        for await (const _ of registry.repositories({ signal: before.signal }));
      }, isAbortOf(reason));
    } finally {
      await registry.close();
    }
  });
});

describe('progress is reported the same way by every store', () => {
  for (const store of stores) {
    test(`${store.name}: push and fetch report each chunk's size, adding up to the content's`, async () => {
      const t = await tempDir();
      try {
        const target = await store.open(t.path);
        const bytes = Buffer.alloc(4 * 65536, 5);
        const desc = { mediaType: 'application/octet-stream', digest: digestBytes(bytes), size: bytes.length };
        const chunks = Array.from({ length: 4 }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
        const pushed: number[] = [];
        await target.push(desc, Readable.from(chunks), { onProgress: (n) => pushed.push(n) });
        assert.deepEqual(pushed, [65536, 65536, 65536, 65536], 'deltas, one per chunk');
        const fetched: number[] = [];
        const stream = await target.fetch(desc, { onProgress: (n) => fetched.push(n) });
        assert.ok((await readAll(stream, bytes.length + 1)).equals(bytes));
        assert.ok(fetched.length > 0, 'fetch reports progress');
        assert.equal(
          fetched.reduce((a, b) => a + b, 0),
          bytes.length,
        );
      } finally {
        await t.cleanup();
      }
    });
  }
});

describe('copy reports progress per descriptor the same way into every store', () => {
  for (const store of stores) {
    test(`into ${store.name}: every node written reports exactly its size, the root manifest and a referrer included`, async () => {
      const t = await tempDir();
      try {
        const src = new MemoryStore();
        const { manifest, layers } = await pushArtifact(src, {
          'big.bin': Buffer.alloc(200_000, 3),
          'small.txt': 'hi',
        });
        await src.tag(manifest, 'v1');
        const referrer = await pushArtifact(
          src,
          { 'sig.json': '{"sig":1}' },
          { subject: manifest, artifactType: 'application/vnd.example.sig' },
        );
        const target = await store.open(t.path);
        const moved = new Map<string, number>();
        const written = new Map<string, number>();
        await copy(src, 'v1', target, 'v1', {
          includeReferrers: true,
          onProgress: (d, n) => moved.set(d.digest, (moved.get(d.digest) ?? 0) + n),
          postCopy: (d) => void written.set(d.digest, d.size),
        });
        for (const d of [manifest, referrer.manifest, ...layers]) {
          assert.ok(written.has(d.digest), `${d.digest} was written`);
        }
        assert.deepEqual(moved, written, 'each descriptor written reports its size, once');
      } finally {
        await t.cleanup();
      }
    });
  }
});

describe('no progress is reported once the signal has aborted', () => {
  test('pullFiles from a registry and copy into a layout stop reporting at the abort', async () => {
    const t = await tempDir();
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    try {
      const src = new MemoryStore();
      const big = Buffer.alloc(64 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      const { manifest } = await pushArtifact(src, { 'big.bin': big, 'other.bin': big.subarray(1) });
      await src.tag(manifest, 'v1');
      const repository = registry.repository(`progress-abort/r${process.pid}-${Date.now()}`);
      await copy(src, 'v1', repository, 'v1');
      const runs: [
        string,
        (o: { signal: AbortSignal; onProgress: (d: Descriptor, n: number) => void }) => Promise<unknown>,
      ][] = [
        ['pullFiles', (o) => pullFiles(repository, 'v1', { output: join(t.path, 'pulled'), ...o })],
        [
          'copy into a layout',
          async (o) => copy(src, 'v1', await OciLayout.open(join(t.path, 'layout'), { mode: 'create' }), 'v1', o),
        ],
      ];
      for (const [name, run] of runs) {
        const stop = new AbortController();
        const reason = new Error('stopped by the test');
        let after = 0;
        const onProgress = (_d: Descriptor, n: number) => {
          if (stop.signal.aborted) after += n;
          else if (n > 0) stop.abort(reason);
        };
        await assert.rejects(run({ signal: stop.signal, onProgress }), isAbortOf(reason));
        assert.equal(after, 0, `${name}: bytes reported after the abort`);
      }
    } finally {
      await registry.close();
      await t.cleanup();
    }
  });
});

describe('the descriptor encoders fail with a LadingError', () => {
  test('a value JSON and YAML cannot hold is INVALID_DESCRIPTOR, not a TypeError', async () => {
    const ocm = await import('../src/ocm/api.js');
    const descriptor = (value: unknown): ComponentDescriptor => ({
      meta: { schemaVersion: 'v2' },
      component: {
        name: 'acme.org/encode',
        version: '1.0.0',
        provider: { name: 'acme.org' },
        repositoryContexts: [],
        resources: [],
        sources: [],
        componentReferences: [],
        labels: [{ name: 'bad', value: value as never }],
      },
    });
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, 1n, () => 1]) {
      assert.throws(
        () => ocm.encodeDescriptorJson(descriptor(value)),
        (e) => isLadingError(e, 'INVALID_DESCRIPTOR'),
      );
    }
    for (const value of [1n, () => 1, Symbol('s')]) {
      assert.throws(
        () => ocm.encodeDescriptorYaml(descriptor(value)),
        (e) => isLadingError(e, 'INVALID_DESCRIPTOR'),
      );
    }
  });
});

describe('library errors speak the library, the CLI adds its flags', () => {
  test('no message outside src/cli names a command-line flag or command', () => {
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const wrong: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (!['cli'].includes(entry.name) || dir !== src) walk(path);
        } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
          readFileSync(path, 'utf8')
            .split('\n')
            .forEach((line, i) => {
              if (/^\s*(\/\/|\*|\/\*\*)/.test(line)) return; // comments may say what the CLI does
              if (/['"`][^'"`]*(?:(?:^|[\s(])--[a-z][a-z-]+|lading (?:login|logout))/.test(line))
                wrong.push(`${path.slice(src.length + 1)}:${i + 1}: ${line.trim()}`);
            });
        }
      }
    };
    walk(src);
    assert.deepEqual(wrong, []);
  });

  test('a conflict names the library option; the command line says its flag instead', async () => {
    const t = await tempDir();
    try {
      const opened = await openComponentRepository(join(t.path, 'ctf'), { mode: 'create' });
      const descriptor: ComponentDescriptor = {
        meta: { schemaVersion: 'v2' },
        component: {
          name: 'acme.org/hints',
          version: '1.0.0',
          provider: { name: 'acme.org' },
          repositoryContexts: [],
          resources: [],
          sources: [],
          componentReferences: [],
        },
      };
      await opened.repository.addComponentVersion(descriptor);
      const error = await opened.repository.addComponentVersion(descriptor).then(
        () => assert.fail('a second add must conflict'),
        (e: unknown) => e,
      );
      await opened.close();
      assert.ok(isLadingError(error, 'ALREADY_EXISTS'));
      assert.equal(error.hint?.key, 'conflictPolicy');
      assert.match(error.message, /already exists \(conflictPolicy 'skip' or 'replace' allows it\)$/);
      assert.doesNotMatch(error.message, /--/);
      assert.match(cliMessage(error), /already exists \(use --component-version-conflict-policy skip or replace\)$/);
      // Wrapped, the hint of the cause is still put in the command line's words.
      const wrapped = new LadingError('ALREADY_EXISTS', `transfer failed: ${error.message}`, { cause: error });
      assert.match(cliMessage(wrapped), /^transfer failed: .*\(use --component-version-conflict-policy/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('copying an image by value without imageSource', () => {
  test('transferComponentVersion({ copyResources: true }) of an OCIImage/v1 resource names the option imageSource', async () => {
    const t = await tempDir();
    try {
      const source = await openComponentRepository(join(t.path, 'src'), { mode: 'create' });
      const target = await openComponentRepository(join(t.path, 'dst'), { mode: 'create' });
      const descriptor: ComponentDescriptor = {
        meta: { schemaVersion: 'v2' },
        component: {
          name: 'acme.org/image',
          version: '1.0.0',
          provider: { name: 'acme.org' },
          repositoryContexts: [],
          resources: [
            {
              name: 'app',
              version: '1.0.0',
              type: 'ociImage',
              relation: 'external',
              access: { type: 'OCIImage/v1', imageReference: 'registry.example/acme/app:1.0.0' },
            },
          ],
          sources: [],
          componentReferences: [],
        },
      };
      await source.repository.addComponentVersion(descriptor);
      const error = await transferComponentVersion(source.repository, target.repository, 'acme.org/image', '1.0.0', {
        copyResources: true,
      }).then(
        () => assert.fail('an image cannot be read without imageSource'),
        (e: unknown) => e,
      );
      await source.close();
      await target.close();
      assert.ok(isLadingError(error, 'UNSUPPORTED'), String(error));
      assert.equal(error.hint?.key, 'imageSource');
      assert.match(error.message, /\(give imageSource, .*\)$/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('entry functions check what an untyped caller passes', () => {
  test('pullFiles without an output and pushFiles with bare strings are INVALID_ARGUMENT, nothing touched', async () => {
    const { pullFiles, pushFiles } = await import('../src/files/api.js');
    const store = new MemoryStore();
    await assert.rejects(
      pullFiles(store, 'v1', {} as never),
      (e) => isLadingError(e, 'INVALID_ARGUMENT') && /options\.output/.test(e.message),
    );
    await assert.rejects(
      pushFiles(store, ['a.txt'] as never),
      (e) => isLadingError(e, 'INVALID_ARGUMENT') && /list of \{ path \} objects/.test(e.message),
    );
  });
});

describe('the OCM tasks report events of one shape', () => {
  test('construct and transfer events say kind, name and status alike', async () => {
    const t = await tempDir();
    try {
      const ocm = await import('../src/ocm/api.js');
      const opened = await ocm.openComponentRepository(join(t.path, 'ctf'), { mode: 'create' });
      const ctor = ocm.parseConstructor(
        'components:\n  - name: acme.org/events\n    version: 1.0.0\n    provider:\n      name: acme.org\n    resources:\n      - name: note\n        type: blob\n        input:\n          type: utf8\n          text: hello\n---\ncomponents: []\n',
      );
      const built: { kind: string; name?: string; status: string }[] = [];
      const warnings: string[] = [];
      await ocm.constructComponentVersions(ctor, opened.repository, {
        workingDirectory: t.path,
        onEvent: (e) => built.push(e),
        onWarning: (message) => warnings.push(message),
      });
      assert.equal(warnings.length, 1);
      assert.match(warnings[0] as string, /only the first of 2 YAML documents is used/);
      assert.ok(built.some((e) => e.kind === 'warning'));
      const target = await ocm.openComponentRepository(join(t.path, 'target'), { mode: 'create' });
      const moved: { kind: string; name?: string; status: string }[] = [];
      await ocm.transferComponentVersion(opened.repository, target.repository, 'acme.org/events', '1.0.0', {
        onEvent: (e) => moved.push(e),
      });
      await target.close();
      await opened.close();
      assert.ok(
        built.some((e) => e.kind === 'resource' && e.name === 'note'),
        JSON.stringify(built),
      );
      assert.ok(
        built.some((e) => e.kind === 'component' && e.status === 'added'),
        JSON.stringify(built),
      );
      assert.ok(
        moved.some((e) => e.kind === 'resource' && e.name === 'note' && e.status === 'copied'),
        JSON.stringify(moved),
      );
      assert.ok(
        moved.some((e) => e.kind === 'component' && e.status === 'added'),
        JSON.stringify(moved),
      );
      for (const e of moved) assert.equal(e.name === undefined, e.kind === 'component', JSON.stringify(e));
    } finally {
      await t.cleanup();
    }
  });
});

describe('cancellation of the OCM tasks', () => {
  test('construct, sign, verify and transfer reject an aborted signal as ABORTED with its reason', async () => {
    const t = await tempDir();
    try {
      const { generateKeyPairSync } = await import('node:crypto');
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const ocm = await import('../src/ocm/api.js');
      const opened = await ocm.openComponentRepository(join(t.path, 'ctf'), { mode: 'create' });
      const ctor = ocm.parseConstructor(
        'components:\n  - name: acme.org/abort\n    version: 1.0.0\n    provider:\n      name: acme.org\n',
      );
      const stopped = new AbortController();
      const reason = new Error('stopped');
      stopped.abort(reason);
      const signal = stopped.signal;
      await assert.rejects(
        ocm.constructComponentVersions(ctor, opened.repository, { workingDirectory: t.path, signal }),
        isAbortOf(reason),
      );
      await ocm.constructComponentVersions(ctor, opened.repository, { workingDirectory: t.path });
      const name = 'acme.org/abort';
      await assert.rejects(
        ocm.signComponentVersion(opened.repository, name, '1.0.0', { privateKey, signal }),
        isAbortOf(reason),
      );
      await ocm.signComponentVersion(opened.repository, name, '1.0.0', { privateKey });
      await assert.rejects(
        ocm.verifyComponentVersion(opened.repository, name, '1.0.0', { publicKey, signal }),
        isAbortOf(reason),
      );
      const target = await ocm.openComponentRepository(join(t.path, 'target'), { mode: 'create' });
      await assert.rejects(
        ocm.transferComponentVersion(opened.repository, target.repository, name, '1.0.0', { signal }),
        isAbortOf(reason),
      );
      assert.deepEqual(await target.repository.listComponentVersions(name), []);
      await target.close();
      await opened.close();
    } finally {
      await t.cleanup();
    }
  });
});

/**
 * A stream that yields the first half of `bytes`, then calls `stop` and yields nothing more until
 * it is destroyed: whoever reads it is cut off in the middle, and only a cancellation that
 * reaches the read ends the call.
 */
function cutOff(bytes: Buffer, stop: () => void): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (sent) return stop();
      sent = true;
      this.push(bytes.subarray(0, Math.max(1, bytes.length >> 1)));
    },
  });
}

/** `resolver` whose targets cut off the first fetch that `match` picks (see {@link cutOff}). */
function cuttingResolver(
  resolver: TargetResolver,
  match: (desc: Descriptor) => boolean,
  stop: () => void,
): TargetResolver {
  let cut = false;
  return {
    targetFor: async (repository, o) => {
      const target = await resolver.targetFor(repository, o);
      return new Proxy(target, {
        get(t, p) {
          // Without its one-call read of small blobs, so that every read is the stream cut here.
          if (p === 'fetchBytes') return undefined;
          if (p === 'fetch') {
            return async (desc: Descriptor, op?: { signal?: AbortSignal }) => {
              if (cut || !match(desc)) return t.fetch(desc, op);
              cut = true;
              return cutOff(await readAll(await t.fetch(desc, op), desc.size + 1, desc.digest), stop);
            };
          }
          const v = Reflect.get(t, p, t);
          return typeof v === 'function' ? v.bind(t) : v;
        },
      });
    },
  };
}

describe('cancellation of the OCM tasks in the middle of the call', () => {
  test('construct, sign, verify and transfer aborted mid-read reject ABORTED with the reason and leave the stores as they were', {
    timeout: 60_000,
  }, async () => {
    const t = await tempDir();
    try {
      const { generateKeyPairSync } = await import('node:crypto');
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const ocm = await import('../src/ocm/api.js');
      const name = 'acme.org/midway';
      const work = join(t.path, 'work');
      const spool = join(t.path, 'spool');
      await mkdir(work);
      await mkdir(spool);
      const data = Buffer.alloc(2 * 1024 * 1024, 'lading ');
      await writeFile(join(work, 'data.bin'), data);
      const ctor = ocm.parseConstructor(
        `components:
  - name: ${name}
    version: 1.0.0
    provider:
      name: acme.org
    resources:
      - name: data
        type: blob
        input:
          type: file
          path: data.bin
          mediaType: application/octet-stream
`,
      );
      const ctf = join(t.path, 'ctf');
      const opened = await ocm.openComponentRepository(ctf, { mode: 'create' });
      const empty = await snapshot(ctf);

      // construct: the input's bytes stop half way through the upload.
      const building = new AbortController();
      const reason = new Error('stopped half way');
      const methods = new Map(ocm.builtinInputMethods);
      const file = methods.get(ocm.InputType.File) as InputMethod;
      methods.set(ocm.InputType.File, async (spec, context) => {
        const blob = await file(spec, context);
        return { ...blob, open: () => cutOff(data, () => building.abort(reason)) };
      });
      await assert.rejects(
        ocm.constructComponentVersions(ctor, opened.repository, {
          workingDirectory: work,
          tempDir: spool,
          inputMethods: methods,
          signal: building.signal,
        }),
        isAbortOf(reason),
      );
      assert.deepEqual(await opened.repository.listComponentVersions(name), []);
      assert.deepEqual(await snapshot(ctf), empty, 'construct left no blob, entry or temp file in the CTF');
      assert.deepEqual(await readdir(spool), [], 'construct left nothing in its temp folder');

      await ocm.constructComponentVersions(ctor, opened.repository, { workingDirectory: work, tempDir: spool });
      const built = await snapshot(ctf);
      const isData = (d: Descriptor) => d.digest === digestBytes(data);
      const isDescriptor = (d: Descriptor) => d.mediaType.includes('ocm.software.component-descriptor');

      // sign: the stored descriptor stops half way through its read.
      const signing = new AbortController();
      const cutSigner = new ocm.ComponentVersionRepository(
        cuttingResolver(opened.repository.resolver, isDescriptor, () => signing.abort(reason)),
        opened.repository.options,
      );
      await assert.rejects(
        ocm.signComponentVersion(cutSigner, name, '1.0.0', { privateKey, signal: signing.signal }),
        isAbortOf(reason),
      );
      assert.deepEqual(await snapshot(ctf), built, 'sign stored nothing');
      await ocm.signComponentVersion(opened.repository, name, '1.0.0', { privateKey });
      const signed = await snapshot(ctf);

      // verify with digests: the resource's content stops half way through.
      const verifying = new AbortController();
      const cutVerifier = new ocm.ComponentVersionRepository(
        cuttingResolver(opened.repository.resolver, isData, () => verifying.abort(reason)),
        opened.repository.options,
      );
      await assert.rejects(
        ocm.verifyComponentVersion(cutVerifier, name, '1.0.0', {
          publicKey,
          verifyDigests: true,
          signal: verifying.signal,
        }),
        isAbortOf(reason),
      );
      assert.deepEqual(await snapshot(ctf), signed);
      // Uncut, it reports the bytes it reads as every other task does: by descriptor, each byte once.
      const read = new Map<string, number>();
      await ocm.verifyComponentVersion(opened.repository, name, '1.0.0', {
        publicKey,
        verifyDigests: true,
        onProgress: (d, n) => read.set(d.digest, (read.get(d.digest) ?? 0) + n),
      });
      assert.deepEqual([...read], [[digestBytes(data), data.length]]);

      // transfer: the local blob stops half way through its copy into a fresh CTF.
      const targetPath = join(t.path, 'target');
      const target = await ocm.openComponentRepository(targetPath, { mode: 'create' });
      const before = await snapshot(targetPath);
      const moving = new AbortController();
      const cutSource = new ocm.ComponentVersionRepository(
        cuttingResolver(opened.repository.resolver, isData, () => moving.abort(reason)),
        opened.repository.options,
      );
      await assert.rejects(
        ocm.transferComponentVersion(cutSource, target.repository, name, '1.0.0', { signal: moving.signal }),
        isAbortOf(reason),
      );
      assert.deepEqual(await target.repository.listComponentVersions(name), []);
      assert.deepEqual(await snapshot(targetPath), before, 'transfer left no blob, entry or temp file');
      await ocm.transferComponentVersion(opened.repository, target.repository, name, '1.0.0');
      assert.deepEqual(await target.repository.listComponentVersions(name), ['1.0.0']);
      await target.close();
      await opened.close();
      assert.deepEqual(await snapshot(ctf), signed);
    } finally {
      await t.cleanup();
    }
  });
});
