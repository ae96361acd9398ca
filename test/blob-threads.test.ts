// Blobs fetched by other threads (registry/blob-threads.ts) into a layout or a CTF: against the
// real registries (plain, TLS with Basic auth, bearer tokens), and against the in-process fault
// server for what they cannot be made to do: answers the threads leave to the main thread, a
// body that is not the blob, a connection cut mid-body, a kept connection gone stale, Ctrl-C.
// LADING_FETCH_THREADS sends every blob the threads' way, whatever the core count.
process.env.LADING_FETCH_THREADS = '2';

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fetchAll, type Target } from '../src/content/index.js';
import { copy } from '../src/copy/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { pullFiles } from '../src/files/index.js';
import { OciLayout } from '../src/layout/index.js';
import { type Descriptor, isLadingError } from '../src/oci/index.js';
import { blobThreadCounts } from '../src/registry/blob-threads.js';
import { Registry, type RegistryOptions } from '../src/registry/index.js';
import { FaultServer, SecondOrigin } from './support/fault-server.js';
import { pushArtifact, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();

function files(count: number, size: number): Record<string, Buffer> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${i}.bin`, randomBytes(size + i)]));
}

/** Copies `tag` into a new layout, counting progress; checks every layer there against the source bytes. */
async function pullIntoLayout(
  src: Target,
  tag: string,
  layers: Descriptor[],
  sources: Buffer[],
  options: { signal?: AbortSignal; concurrency?: number } = {},
) {
  const t = await tempDir();
  const progress = new Map<string, number>();
  try {
    const layout = await OciLayout.open(join(t.path, 'layout'), { mode: 'create' });
    await copy(src, tag, layout, tag, {
      onProgress: (d, n) => {
        progress.set(d.digest, (progress.get(d.digest) ?? 0) + n);
      },
      ...options,
    });
    for (const [i, layer] of layers.entries()) {
      assert.ok((await fetchAll(layout, layer)).equals(sources[i] as Buffer), `layer ${i}`);
      // Each byte told once, also where a thread gave the blob back half-written.
      assert.equal(progress.get(layer.digest), layer.size, `progress of layer ${i}`);
    }
    await layout.close();
  } finally {
    await t.cleanup();
  }
}

/**
 * A fault-server registry whose blob GETs answer 307 to an object store of the test's own, which
 * answers each object with `answer`; `count` blobs of ~300 KiB pushed and tagged v1 there.
 */
async function behindRedirects(
  name: string,
  count: number,
  answer: (req: http.IncomingMessage, res: http.ServerResponse, data: Buffer) => void,
) {
  const server = await FaultServer.start();
  const objects = new Map<string, Buffer>();
  const store = createServer((req, res) => {
    const data = objects.get(new URL(req.url ?? '/', 'http://x').pathname);
    if (!data) return void res.writeHead(404).end();
    answer(req, res, data);
  });
  await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', resolve));
  const storeUrl = `http://127.0.0.1:${(store.address() as AddressInfo).port}`;
  const registry = new Registry(server.host, { plainHttp: true });
  const repo = registry.repository(name, { push: true });
  const content = files(count, 300 * 1024);
  const { manifest, layers } = await pushArtifact(repo, content);
  await repo.tag(manifest, 'v1');
  for (const layer of layers) objects.set(`/${layer.digest}`, server.blobs.get(layer.digest) as Buffer);
  server.intercept((req, res) => {
    const digest = layers.find((l) => req.method === 'GET' && req.url?.endsWith(`/blobs/${l.digest}`))?.digest;
    if (!digest) return false;
    res.writeHead(307, { location: `${storeUrl}/${digest}` }).end();
    return true;
  });
  server.requests.length = 0;
  return {
    server,
    repo,
    layers,
    content,
    close: async () => {
      await registry.close();
      await new Promise((resolve) => store.close(resolve));
      await server.close();
    },
  };
}

describe('blob threads against real registries', () => {
  const cases: [string, () => [string, RegistryOptions]][] = [
    ['docker-registry, plain HTTP', () => [peers.plain.host, { plainHttp: true }]],
    [
      'docker-registry over TLS with Basic auth',
      () => [
        peers.tls.host,
        {
          caFile: peers.tls.caFile,
          credentials: async () => ({ username: peers.tls.username, password: peers.tls.password }),
        },
      ],
    ],
    [
      'docker-registry with bearer tokens',
      () => [
        peers.token.host,
        {
          plainHttp: true,
          credentials: async () => ({ username: peers.token.username, password: peers.token.password }),
        },
      ],
    ],
  ];
  for (const [name, options] of cases) {
    test(`${name}: every layer written by a thread, verified, progress exact`, async () => {
      const [host, o] = options();
      const registry = new Registry(host, o);
      try {
        const repo = registry.repository(`threads/${process.pid}-${name.replace(/[^a-z]+/g, '-').replace(/-$/, '')}`, {
          push: true,
        });
        const content = files(6, 300 * 1024);
        const { manifest, layers } = await pushArtifact(repo, content);
        await repo.tag(manifest, 'v1');
        const before = blobThreadCounts();
        await pullIntoLayout(repo, 'v1', layers, Object.values(content));
        const now = blobThreadCounts();
        assert.equal(now.written - before.written, layers.length, 'each layer by a thread');
        assert.equal(now.fallback - before.fallback, 0);
      } finally {
        await registry.close();
      }
    });
  }

  test('pull into an output folder: each titled file written by a thread', async () => {
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    const t = await tempDir();
    try {
      const repo = registry.repository(`threads/${process.pid}-files`, { push: true });
      const content = files(3, 512 * 1024);
      const { manifest, layers } = await pushArtifact(repo, content);
      await repo.tag(manifest, 'v1');
      const before = blobThreadCounts().written;
      const result = await pullFiles(repo, 'v1', { output: join(t.path, 'out') });
      assert.equal(result.files.length, 3);
      assert.equal(blobThreadCounts().written - before, layers.length);
      for (const [name, bytes] of Object.entries(content)) {
        assert.ok((await readFile(join(t.path, 'out', name))).equals(bytes), name);
      }
      assert.deepEqual((await readdir(join(t.path, 'out'))).sort(), Object.keys(content).sort());
    } finally {
      await registry.close();
      await t.cleanup();
    }
  });

  test('into a CTF folder, as a component transfer stores it', async () => {
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    const t = await tempDir();
    try {
      const repo = registry.repository(`threads/${process.pid}-ctf`, { push: true });
      const content = files(3, 512 * 1024);
      const { manifest, layers } = await pushArtifact(repo, content);
      await repo.tag(manifest, 'v1');
      const before = blobThreadCounts().written;
      const ctf = await CtfArchive.open(join(t.path, 'ctf'), { mode: 'create' });
      await copy(repo, 'v1', ctf.repository('threads/ctf'), 'v1');
      await ctf.close();
      assert.equal(blobThreadCounts().written - before, layers.length);
      const again = await CtfArchive.open(join(t.path, 'ctf'));
      for (const [i, layer] of layers.entries()) {
        const bytes = await fetchAll(again.repository('threads/ctf'), layer);
        assert.ok(bytes.equals(Object.values(content)[i] as Buffer));
      }
      await again.close();
    } finally {
      await registry.close();
      await t.cleanup();
    }
  });
});

test('a process whose threads are idle (one never got a job) exits when its work is done', async () => {
  const t = await tempDir();
  try {
    const registry = new Registry(peers.plain.host, { plainHttp: true });
    const repo = registry.repository(`threads/${process.pid}-exit`, { push: true });
    const { manifest } = await pushArtifact(repo, { 'one.bin': randomBytes(300 * 1024) });
    await repo.tag(manifest, 'v1');
    await registry.close();
    const script = join(t.path, 'pull.mts');
    const src = (path: string) => JSON.stringify(fileURLToPath(new URL(`../src/${path}`, import.meta.url)));
    await writeFile(
      script,
      `import { Registry } from ${src('registry/index.ts')};
import { OciLayout } from ${src('layout/index.ts')};
import { copy } from ${src('copy/index.ts')};
import { blobThreadCounts } from ${src('registry/blob-threads.ts')};
const registry = new Registry(${JSON.stringify(peers.plain.host)}, { plainHttp: true });
const layout = await OciLayout.open(${JSON.stringify(join(t.path, 'layout'))}, { mode: 'create' });
await copy(registry.repository(${JSON.stringify(repo.name)}), 'v1', layout, 'v1');
await layout.close();
await registry.close();
console.log(JSON.stringify(blobThreadCounts()));
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, LADING_FETCH_THREADS: '3' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.signal, null, 'the process ended by itself');
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).written, 1);
  } finally {
    await t.cleanup();
  }
});

describe('blob threads: what they leave to the main thread', () => {
  let server: FaultServer;
  let registry: Registry;
  const content = files(4, 400 * 1024);
  let layers: Descriptor[] = [];
  const isLayerGet = (req: http.IncomingMessage) =>
    req.method === 'GET' && layers.some((l) => req.url?.endsWith(`/blobs/${l.digest}`));

  before(async () => {
    server = await FaultServer.start({ tokenAuth: true });
    registry = new Registry(server.host, { plainHttp: true, retry: { maxRetries: 2, minWaitMs: 1, maxWaitMs: 5 } });
    const repo = registry.repository('faults/threads', { push: true });
    const pushed = await pushArtifact(repo, content);
    layers = pushed.layers;
    await repo.tag(pushed.manifest, 'v1');
  });
  after(async () => {
    await registry.close();
    await server.close();
  });

  const repo = () => registry.repository('faults/threads');

  test('a chunked answer, a digest header of another blob and a 401 go the usual way; the content arrives whole', async () => {
    const answered = new Set<string>();
    server.intercept((req, res) => {
      if (!isLayerGet(req)) return false;
      const digest = req.url?.split('/blobs/')[1] ?? '';
      // The first GET of each of three layers is odd; every later one (the main thread's) plain.
      const fault = layers.findIndex((l) => l.digest === digest);
      if (answered.has(digest) || fault > 2) return false;
      answered.add(digest);
      const bytes = server.blobs.get(digest) as Buffer;
      if (fault === 0) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no length: chunked
        res.end(bytes);
      } else if (fault === 1) {
        res.writeHead(200, { 'content-length': String(bytes.length), 'docker-content-digest': layers[0]?.digest });
        res.end(bytes);
      } else {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${server.url}/token",service="fault"` });
        res.end();
      }
      return true;
    });
    try {
      const before = blobThreadCounts();
      await pullIntoLayout(repo(), 'v1', layers, Object.values(content));
      const now = blobThreadCounts();
      assert.equal(now.fallback - before.fallback, 3, 'the odd answers were left to the main thread');
      assert.equal(now.written - before.written, layers.length - 3, 'the plain ones were not');
    } finally {
      server.clearInterceptors();
    }
  });

  test('a head that arrives a byte at a time, and a stray CRLF after the body: the threads take the blobs all the same', async () => {
    const gets = new Map<string, number>();
    server.intercept((req) => {
      if (!isLayerGet(req)) return false;
      const digest = req.url?.split('/blobs/')[1] ?? '';
      gets.set(digest, (gets.get(digest) ?? 0) + 1);
      const bytes = server.blobs.get(digest) as Buffer;
      // Written on the socket itself: every byte of the head its own packet, a long header among them.
      const head =
        `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nX-Pad: ${'a'.repeat(3000)}\r\n` +
        `Content-Length: ${bytes.length}\r\n\r\n`;
      const socket = req.socket;
      socket.setNoDelay(true);
      void (async () => {
        for (let i = 0; i < head.length; i += 1) {
          socket.write(head[i] as string);
          if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
        socket.write(bytes);
        socket.end('\r\n');
      })();
      return true;
    });
    try {
      const before = blobThreadCounts();
      await pullIntoLayout(repo(), 'v1', layers, Object.values(content));
      const now = blobThreadCounts();
      assert.equal(now.fallback - before.fallback, 0, 'no answer was left to the main thread');
      assert.equal(now.written - before.written, layers.length);
      for (const layer of layers) assert.equal(gets.get(layer.digest), 1, `${layer.digest}: one GET`);
    } finally {
      server.clearInterceptors();
    }
  });

  test('a body cut off mid-way, and its resume too: picked up with Range requests, progress counts each byte once', async () => {
    // The first GET of each layer breaks after 200 KiB, and so does its first Range request 50 KiB further on.
    const cut = new Set<string>();
    server.intercept((req, res) => {
      if (!isLayerGet(req)) return false;
      const digest = req.url?.split('/blobs/')[1] ?? '';
      const ranged = req.headers.range !== undefined;
      const key = `${digest}${ranged ? ' range' : ''}`;
      if (cut.has(key)) return false;
      cut.add(key);
      const bytes = server.blobs.get(digest) as Buffer;
      if (!ranged) {
        res.writeHead(200, { 'content-length': String(bytes.length), 'docker-content-digest': digest });
        res.write(bytes.subarray(0, 200 * 1024), () => setTimeout(() => res.destroy(), 20));
        return true;
      }
      const from = Number(/^bytes=(\d+)-$/.exec(String(req.headers.range))?.[1]);
      res.writeHead(206, {
        'content-length': String(bytes.length - from),
        'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}`,
      });
      res.write(bytes.subarray(from, from + 50 * 1024), () => setTimeout(() => res.destroy(), 20));
      return true;
    });
    try {
      const before = blobThreadCounts();
      server.requests.length = 0;
      await pullIntoLayout(repo(), 'v1', layers, Object.values(content));
      assert.equal(blobThreadCounts().fallback - before.fallback, layers.length);
      const ranged = server.requests.filter((r) => r.headers.range !== undefined).map((r) => r.headers.range);
      assert.equal(ranged.length, 2 * layers.length, 'each layer resumed twice, none fetched again whole');
      for (const range of ranged) assert.match(String(range), /^bytes=[1-9]\d*-$/);
      // The same into an ORAS pull folder (its files are opened their own way).
      cut.clear();
      server.requests.length = 0;
      const t = await tempDir();
      try {
        await pullFiles(repo(), 'v1', { output: t.path });
        for (const [name, bytes] of Object.entries(content)) {
          assert.ok((await readFile(join(t.path, name))).equals(bytes), name);
        }
        assert.equal(server.requests.filter((r) => r.headers.range !== undefined).length, 2 * layers.length);
      } finally {
        await t.cleanup();
      }
    } finally {
      server.clearInterceptors();
    }
  });

  test('a body that is not the blob fails as DIGEST_MISMATCH and leaves nothing in the layout', async () => {
    server.intercept((req, res) => {
      if (!isLayerGet(req)) return false;
      const digest = req.url?.split('/blobs/')[1] ?? '';
      const bytes = Buffer.from(server.blobs.get(digest) as Buffer);
      bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 1, bytes.length - 1);
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.end(bytes);
      return true;
    });
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(join(t.path, 'layout'), { mode: 'create' });
      await assert.rejects(copy(repo(), 'v1', layout, 'v1'), (e) => isLadingError(e, 'DIGEST_MISMATCH'));
      await layout.close();
      const stored = await readdir(join(t.path, 'layout', 'blobs', 'sha256'));
      for (const layer of layers) assert.ok(!stored.includes(layer.digest.slice(7)), 'no bad layer stored');
      assert.deepEqual(
        stored.filter((n) => n.endsWith('.tmp')),
        [],
      );
    } finally {
      server.clearInterceptors();
      await t.cleanup();
    }
  });

  test('a kept connection the server closed meanwhile: the thread asks again on a new one', async () => {
    const before = blobThreadCounts();
    await pullIntoLayout(repo(), 'v1', layers.slice(0, 1), Object.values(content).slice(0, 1));
    server.closeIdleConnections();
    await new Promise((r) => setTimeout(r, 50));
    await pullIntoLayout(repo(), 'v1', layers, Object.values(content));
    const now = blobThreadCounts();
    assert.equal(now.fallback - before.fallback, 0);
    assert.ok(now.written - before.written >= layers.length);
  });

  test('Ctrl-C while a thread streams: ABORTED at once, no file left behind, the thread stops', async () => {
    let stalled = 0;
    server.intercept((req, res) => {
      if (!isLayerGet(req)) return false;
      const digest = req.url?.split('/blobs/')[1] ?? '';
      const bytes = server.blobs.get(digest) as Buffer;
      res.writeHead(200, { 'content-length': String(bytes.length) });
      res.write(bytes.subarray(0, 100 * 1024));
      stalled++;
      return true; // and never the rest
    });
    const t = await tempDir();
    try {
      const before = blobThreadCounts().cancelled;
      const layout = await OciLayout.open(join(t.path, 'layout'), { mode: 'create' });
      const controller = new AbortController();
      const copying = copy(repo(), 'v1', layout, 'v1', { signal: controller.signal });
      while (stalled < 1) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      controller.abort();
      await assert.rejects(copying, (e) => isLadingError(e, 'ABORTED'));
      assert.ok(Date.now() - started < 2000);
      await layout.close();
      assert.ok(blobThreadCounts().cancelled - before >= 1, 'the thread was told to stop');
      const left = await readdir(join(t.path, 'layout', 'blobs', 'sha256'));
      assert.deepEqual(
        left.filter((n) => layers.some((l) => l.digest.endsWith(n)) || n.endsWith('.tmp')),
        [],
      );
    } finally {
      server.clearInterceptors();
      await t.cleanup();
    }
  });
});

describe('blob threads: routes and clients', () => {
  test('a registry that redirects its blobs: the main thread asks where each one is, a thread fetches it from there with no credential', async () => {
    const server = await FaultServer.start({ tokenAuth: true });
    const cdn = await SecondOrigin.start();
    const registry = new Registry(server.host, {
      plainHttp: true,
      headers: { 'x-registry-secret': 'only-for-the-registry' },
    });
    try {
      const repo = registry.repository('redirects/threads', { push: true });
      const content = files(4, 300 * 1024);
      const { manifest, layers } = await pushArtifact(repo, content);
      await repo.tag(manifest, 'v1');
      for (const layer of layers) cdn.files.set(`/${layer.digest}`, server.blobs.get(layer.digest) as Buffer);
      server.intercept((req, res) => {
        const digest = layers.find((l) => req.method === 'GET' && req.url?.endsWith(`/blobs/${l.digest}`))?.digest;
        if (!digest || !req.headers.authorization) return false;
        res.writeHead(307, { location: `${cdn.url}/${digest}?X-Amz-Signature=abc` }).end();
        return true;
      });
      server.requests.length = 0;
      const before = blobThreadCounts();
      await pullIntoLayout(repo, 'v1', layers, Object.values(content), { concurrency: 1 });
      const now = blobThreadCounts();
      assert.equal(now.fallback - before.fallback, 1, "the first GET's redirect, then none");
      assert.equal(now.written - before.written, layers.length, 'every blob written by a thread');
      const gets = server.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/'));
      assert.equal(gets.length, layers.length + 1, 'one request more than blobs: the thread asked once');
      assert.ok(gets.every((r) => r.headers['x-registry-secret'] === 'only-for-the-registry'));
      assert.equal(cdn.requests.length, layers.length);
      for (const r of cdn.requests) {
        assert.equal(r.headers.authorization, undefined, `${r.url} carried Authorization`);
        assert.equal(r.headers['x-registry-secret'], undefined, `${r.url} carried the registry's -H field`);
        assert.match(r.url, /X-Amz-Signature=abc$/, 'the presigned URL as the registry gave it');
      }
    } finally {
      await registry.close();
      await cdn.close();
      await server.close();
    }
  });

  test("a redirect target a thread cannot take (a chunked answer): that blob and the registry's later ones go the main thread's way", async () => {
    const seen: string[] = [];
    const { server, repo, layers, content, close } = await behindRedirects('redirects/chunked', 3, (req, res, data) => {
      seen.push(req.url ?? '');
      // No Content-Length: Node frames it chunked, which the threads leave to the main thread.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(data.subarray(0, 1000));
      res.end(data.subarray(1000));
    });
    try {
      const before = blobThreadCounts();
      await pullIntoLayout(repo, 'v1', layers, Object.values(content), { concurrency: 1 });
      const now = blobThreadCounts();
      assert.equal(now.written - before.written, 0);
      assert.equal(now.fallback - before.fallback, 2, "the registry's redirect, then the chunked answer; then none");
      const gets = server.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).length;
      assert.equal(gets, layers.length + 2, 'the thread, the main thread locating it, then each blob once');
      assert.equal(seen.length, layers.length + 1, 'the thread once, then the main thread for each blob');
    } finally {
      await close();
    }
  });

  test("a registry that redirects to itself: located once, then its blobs go the main thread's way without being located", async () => {
    const server = await FaultServer.start();
    const registry = new Registry(server.host, { plainHttp: true });
    try {
      const repo = registry.repository('redirects/self', { push: true });
      const content = files(4, 300 * 1024);
      const { manifest, layers } = await pushArtifact(repo, content);
      await repo.tag(manifest, 'v1');
      server.intercept((req, res) => {
        const digest = layers.find((l) => req.method === 'GET' && req.url?.endsWith(`/blobs/${l.digest}`))?.digest;
        if (digest) {
          res.writeHead(307, { location: `/same/${digest}` }).end();
          return true;
        }
        const same = layers.find((l) => req.url === `/same/${l.digest}`);
        if (!same) return false;
        res.writeHead(200, { 'content-length': same.size }).end(server.blobs.get(same.digest));
        return true;
      });
      server.requests.length = 0;
      await pullIntoLayout(repo, 'v1', layers, Object.values(content), { concurrency: 1 });
      const gets = server.requests.filter((r) => r.method === 'GET' && r.url.includes('/blobs/')).length;
      // The first blob: the thread's GET, the main thread locating it, its own GET; then one each.
      assert.equal(gets, 3 + (layers.length - 1));
      assert.equal(server.requests.filter((r) => r.url.startsWith('/same/')).length, layers.length);
    } finally {
      await registry.close();
      await server.close();
    }
  });

  test('a redirect target that fails once (a reset): that blob goes the main way, the later ones still to the threads', async () => {
    let resets = 1;
    const { repo, layers, content, close } = await behindRedirects('redirects/flaky', 4, (req, res, data) => {
      if (resets-- > 0) return void req.socket.destroy();
      res.writeHead(200, { 'content-length': data.length }).end(data);
    });
    try {
      const before = blobThreadCounts();
      await pullIntoLayout(repo, 'v1', layers, Object.values(content), { concurrency: 1 });
      const now = blobThreadCounts();
      assert.equal(now.written - before.written, layers.length - 1, 'all but the blob whose target reset');
    } finally {
      await close();
    }
  });

  test('two clients of one host name with --resolve to two servers, and their own User-Agent: no connection shared', async () => {
    const one = await FaultServer.start();
    const two = await FaultServer.start();
    const name = 'registry.test';
    const port = (s: FaultServer) => Number(s.host.split(':')[1]);
    const client = (s: FaultServer, agent: string) =>
      new Registry(`${name}:5000`, {
        plainHttp: true,
        resolve: { [`${name}:5000`]: { address: '127.0.0.1', port: port(s) } },
        headers: { 'User-Agent': agent },
      });
    const a = client(one, 'agent/one');
    const b = client(two, 'agent/two');
    try {
      const content = files(2, 300 * 1024);
      for (const [s, r] of [
        [one, a],
        [two, b],
      ] as const) {
        const repo = r.repository('resolve/threads', { push: true });
        const { manifest, layers } = await pushArtifact(repo, content);
        await repo.tag(manifest, 'v1');
        s.requests.length = 0;
        const before = blobThreadCounts().written;
        await pullIntoLayout(repo, 'v1', layers, Object.values(content));
        assert.equal(blobThreadCounts().written - before, layers.length);
      }
      for (const [s, agent] of [
        [one, 'agent/one'],
        [two, 'agent/two'],
      ] as const) {
        const gets = s.requests.filter((r) => r.url.includes('/blobs/'));
        assert.equal(gets.length, 2, "each server got its own client's blob requests");
        for (const r of gets) assert.equal(r.headers['user-agent'], agent, 'one User-Agent, the one given');
      }
    } finally {
      await a.close();
      await b.close();
      await one.close();
      await two.close();
    }
  });
});
