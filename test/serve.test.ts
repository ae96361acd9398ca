// `lading serve` on its own: independent clients (skopeo, umoci, curl-style raw HTTP, lading's
// CLI), crash safety under kill -9, concurrent pushes, hostile repository names and planted links,
// TLS with htpasswd (bcrypt) auth, read-only mode, SIGTERM shutdown and the readiness line.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { listReferrers } from '../src/content/index.js';
import { Registry } from '../src/registry/index.js';
import { startRegistry } from '../src/server/index.js';
import { lading, ladingOk } from './support/cli.js';
import { pushImage, tempDir } from './support/fixtures.js';
import { type Served, startServe } from './support/serve.js';

const run = promisify(execFile);
const sha256 = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

function send(
  url: string,
  o: { method?: string; body?: Buffer; headers?: Record<string, string>; ca?: Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    // Node sends a DELETE body without a length unless told: say it, as curl does.
    const headers = { ...(o.body ? { 'content-length': String(o.body.length) } : {}), ...(o.headers ?? {}) };
    const req = mod.request(
      url,
      { method: o.method ?? 'GET', headers, agent: false, ...(o.ca ? { ca: o.ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** POST + PUT of one blob, as curl would do it. */
async function pushBlob(url: string, name: string, bytes: Buffer): Promise<string> {
  const started = await send(`${url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
  assert.equal(started.status, 202, started.body.toString());
  const location = started.headers.location as string;
  const digest = sha256(bytes);
  const done = await send(`${url}${location}?digest=${digest}`, {
    method: 'PUT',
    body: bytes,
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
  });
  assert.equal(done.status, 201, done.body.toString());
  return digest;
}

async function putManifest(url: string, name: string, ref: string, manifest: object): Promise<Answer> {
  const body = Buffer.from(JSON.stringify(manifest));
  return send(`${url}/v2/${name}/manifests/${ref}`, {
    method: 'PUT',
    body,
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
  });
}

function imageManifest(config: { digest: string; size: number }, layers: { digest: string; size: number }[]) {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
  };
}

/** Every blob file under the root hashes to its name; every recorded manifest's blobs exist. */
async function checkStore(root: string): Promise<{ blobs: number; manifests: number }> {
  let blobs = 0;
  let manifests = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name === 'uploads' || e.name === 'ingest') continue;
        await walk(path);
      } else if (e.isFile() && /\/blobs\/sha256$/.test(dir) && !e.name.startsWith('.')) {
        const got = sha256(await readFile(path));
        assert.equal(got, `sha256:${e.name}`, `${path} does not hash to its name`);
        blobs++;
      } else if (e.isFile() && e.name === 'index.json') {
        const index = JSON.parse(await readFile(path, 'utf8')) as { manifests: { digest: string }[] };
        for (const m of index.manifests) {
          const file = join(dir, 'blobs', 'sha256', m.digest.slice(7));
          const manifest = JSON.parse(await readFile(file, 'utf8')) as {
            config?: { digest: string };
            layers?: { digest: string }[];
          };
          for (const d of [manifest.config, ...(manifest.layers ?? [])]) {
            if (d) await stat(join(dir, 'blobs', 'sha256', d.digest.slice(7)));
          }
          manifests++;
        }
      }
    }
  };
  await walk(root);
  return { blobs, manifests };
}

describe('lading serve', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  let served: Served;
  let root: string;
  before(async () => {
    work = await tempDir('lading-serve-');
    root = join(work.path, 'root');
    served = await startServe(['--root', root]);
  });
  after(async () => {
    await served?.stop();
    await work.cleanup();
  });

  test('prints one readiness line naming the real port, then a log line per request', async () => {
    assert.match(served.ready, /^lading serve: ready on http:\/\/127\.0\.0\.1:\d+ \(root .*root\)$/);
    assert.notEqual(served.url, 'http://127.0.0.1:0');
    const base = await send(`${served.url}/v2/`);
    assert.equal(base.status, 200);
    assert.equal(base.headers['docker-distribution-api-version'], 'registry/2.0');
    await new Promise((r) => setTimeout(r, 100));
    assert.match(served.stderr(), /127\.0\.0\.1 "GET \/v2\/" 200 /);
  });

  test('skopeo copies an image in and out; umoci unpacks what skopeo pulled', async () => {
    const layoutDir = join(work.path, 'src-layout');
    await run('umoci', ['init', '--layout', layoutDir]);
    await run('umoci', ['new', '--image', `${layoutDir}:v1`]);
    const bundle0 = join(work.path, 'bundle0');
    await run('umoci', ['unpack', '--rootless', '--image', `${layoutDir}:v1`, bundle0]);
    await mkdir(join(bundle0, 'rootfs', 'etc'), { recursive: true });
    const payload = randomBytes(300_000).toString('base64');
    await writeFile(join(bundle0, 'rootfs', 'etc', 'payload.txt'), payload);
    await run('umoci', ['repack', '--image', `${layoutDir}:v1`, bundle0]);
    await run('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `oci:${layoutDir}:v1`,
      `docker://${served.host}/skopeo/img:v1`,
    ]);
    const back = join(work.path, 'back-layout');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${served.host}/skopeo/img:v1`, `oci:${back}:v1`]);
    const bundle = join(work.path, 'bundle');
    await run('umoci', ['unpack', '--rootless', '--image', `${back}:v1`, bundle]);
    assert.equal(await readFile(join(bundle, 'rootfs', 'etc', 'payload.txt'), 'utf8'), payload);
    // The repository itself is an OCI layout umoci reads in place.
    const inPlace = join(work.path, 'bundle-in-place');
    await run('umoci', ['unpack', '--rootless', '--image', `${join(root, 'skopeo', 'img')}:v1`, inPlace]);
    assert.equal(await readFile(join(inPlace, 'rootfs', 'etc', 'payload.txt'), 'utf8'), payload);
  });

  test('lading push, attach and discover go through the referrers API', async () => {
    const files = join(work.path, 'files');
    await mkdir(files, { recursive: true });
    await writeFile(join(files, 'a.txt'), 'artifact\n');
    await writeFile(join(files, 'sig.txt'), 'signature\n');
    const ref = `${served.host}/oras/hello:v1`;
    await ladingOk(['push', '--plain-http', ref, 'a.txt'], { cwd: files });
    await ladingOk(['attach', '--plain-http', '--artifact-type', 'application/vnd.test.sig', ref, 'sig.txt'], {
      cwd: files,
    });
    const found = await ladingOk(['discover', '--plain-http', '--format', 'json', ref]);
    const tree = JSON.parse(found.stdout) as { referrers?: { artifactType: string }[]; manifests?: unknown[] };
    const list = (tree.referrers ?? tree.manifests ?? []) as { artifactType: string }[];
    assert.deepEqual(
      list.map((r) => r.artifactType),
      ['application/vnd.test.sig'],
    );
    // No tag-schema index was written: the registry answered with OCI-Subject.
    const tags = JSON.parse((await send(`${served.url}/v2/oras/hello/tags/list`)).body.toString());
    assert.deepEqual(tags.tags, ['v1']);
    const pulled = join(work.path, 'pulled');
    await ladingOk(['pull', '--plain-http', ref, '-o', pulled]);
    assert.equal(await readFile(join(pulled, 'a.txt'), 'utf8'), 'artifact\n');
  });

  test('serves the read-only browser view at /ui/: pages with a strict CSP, the repositories, an artifact graph', async () => {
    assert.match(served.stderr(), /browser view at http:\/\/127\.0\.0\.1:\d+\/ui\//);
    const registry = new Registry(served.host, { plainHttp: true });
    try {
      const repo = registry.repository('ui/shown');
      const { manifest } = await pushImage(repo);
      await repo.tag(manifest, 'v1');
    } finally {
      await registry.close();
    }
    const page = await send(`${served.url}/ui/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    const repos = await send(`${served.url}/ui/api/repositories`);
    assert.equal(repos.status, 200, repos.body.toString());
    assert.match(repos.body.toString(), /"ui\/shown"/);
    const graph = await send(`${served.url}/ui/api/artifact?repository=ui/shown&reference=v1`);
    assert.equal(graph.status, 200, graph.body.toString());
    assert.match(graph.body.toString(), /application\/vnd\.oci\.image\.manifest\.v1\+json/);
    const hostile = await send(`${served.url}/ui/api/tags?repository=${encodeURIComponent('../../etc')}`);
    assert.ok(hostile.status >= 400 && hostile.status < 500, String(hostile.status));
    assert.equal((await send(`${served.url}/ui/api/repositories`, { method: 'DELETE' })).status, 405);
  });

  test('concurrent pushes of the same blob and the same tag are safe', async () => {
    const bytes = randomBytes(2 * 1024 * 1024);
    const digests = await Promise.all(Array.from({ length: 8 }, () => pushBlob(served.url, 'race/one', bytes)));
    assert.equal(new Set(digests).size, 1);
    const config = Buffer.from('{}');
    const configDigest = await pushBlob(served.url, 'race/one', config);
    const layerDescs = [{ digest: digests[0] as string, size: bytes.length }];
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        putManifest(served.url, 'race/one', 'latest', {
          ...imageManifest({ digest: configDigest, size: config.length }, layerDescs),
          annotations: { n: String(i) },
        }),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(8).fill(201),
    );
    const index = JSON.parse(await readFile(join(root, 'race', 'one', 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations?: Record<string, string> }[];
    };
    const tagged = index.manifests.filter((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest');
    assert.equal(tagged.length, 1, 'one entry per tag');
    assert.equal(index.manifests.length, 8, 'every manifest recorded once');
    const latest = await send(`${served.url}/v2/race/one/manifests/latest`);
    assert.equal(latest.headers['docker-content-digest'], tagged[0]?.digest);
    await checkStore(root);
  });

  test('blobs are shared between repositories as hard links', async () => {
    const bytes = randomBytes(100_000);
    const digest = await pushBlob(served.url, 'share/a', bytes);
    const mounted = await send(`${served.url}/v2/share/b/blobs/uploads/?mount=${digest}&from=share/a`, {
      method: 'POST',
    });
    assert.equal(mounted.status, 201);
    const a = await stat(join(root, 'share', 'a', 'blobs', 'sha256', digest.slice(7)));
    const b = await stat(join(root, 'share', 'b', 'blobs', 'sha256', digest.slice(7)));
    assert.equal(a.ino, b.ino);
    assert.ok(a.nlink >= 3, 'pool + two repositories');
  });

  test('blob downloads: whole, HEAD, ranges, a client gone mid-way, and no link or FIFO in a blobs folder served', async () => {
    // Several of the server's read chunks, and not a multiple of one.
    const bytes = randomBytes(3 * 256 * 1024 + 12_345);
    const digest = await pushBlob(served.url, 'dl/repo', bytes);
    const url = `${served.url}/v2/dl/repo/blobs/${digest}`;
    const whole = await send(url);
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(bytes), 'the bytes come back exactly');
    assert.equal(whole.headers['content-length'], String(bytes.length));
    assert.equal(whole.headers['docker-content-digest'], digest);
    assert.equal(whole.headers.etag, `"${digest}"`);
    const head = await send(url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(bytes.length));
    assert.equal(head.body.length, 0);
    for (const [range, from, to] of [
      ['bytes=0-0', 0, 0],
      ['bytes=262100-524300', 262_100, 524_300],
      [`bytes=700000-`, 700_000, bytes.length - 1],
      ['bytes=-1000', bytes.length - 1000, bytes.length - 1],
    ] as const) {
      const part = await send(url, { headers: { range } });
      assert.equal(part.status, 206, range);
      assert.equal(part.headers['content-range'], `bytes ${from}-${to}/${bytes.length}`);
      assert.ok(part.body.equals(bytes.subarray(from, to + 1)), range);
    }
    assert.equal((await send(url, { headers: { range: `bytes=${bytes.length}-` } })).status, 416);
    // A client that reads a little and goes away: the server carries on serving everyone else.
    await new Promise<void>((resolve, reject) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => (req.destroyed ? resolve() : reject(error)));
    });
    const again = await Promise.all([send(url), send(url)]);
    for (const a of again) assert.ok(a.body.equals(bytes));
    // What is planted in a repository's blobs folder under a digest name is not served: a link
    // to a file outside, or a FIFO (which would hang a plain open).
    const outside = join(work.path, 'secret');
    const secret = Buffer.from('not for the registry');
    await writeFile(outside, secret);
    const blobs = join(root, 'dl', 'repo', 'blobs', 'sha256');
    await symlink(outside, join(blobs, sha256(secret).slice(7)));
    const fifo = sha256(Buffer.from('fifo')).slice(7);
    await run('mkfifo', [join(blobs, fifo)]);
    for (const d of [sha256(secret), `sha256:${fifo}`]) {
      for (const method of ['GET', 'HEAD']) {
        const answer = await send(`${served.url}/v2/dl/repo/blobs/${d}`, { method });
        assert.equal(answer.status, 404, `${method} ${d}`);
      }
    }
  });

  test('a manifest naming a missing blob, or a blob of another size than it says, is refused', async () => {
    const missing = sha256(Buffer.from('never pushed'));
    const answer = await putManifest(served.url, 'strict/repo', 'v1', imageManifest({ digest: missing, size: 12 }, []));
    assert.equal(answer.status, 400);
    assert.equal(JSON.parse(answer.body.toString()).errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
    // The refused push made no repository (none would be listed, none left for ever).
    await assert.rejects(stat(join(root, 'strict')), { code: 'ENOENT' });
    const config = await pushBlob(served.url, 'strict/repo', Buffer.from('{}'));
    const wrong = await putManifest(served.url, 'strict/repo', 'v1', imageManifest({ digest: config, size: 3 }, []));
    assert.equal(wrong.status, 400);
    assert.equal(JSON.parse(wrong.body.toString()).errors[0].code, 'MANIFEST_INVALID');
    const right = await putManifest(served.url, 'strict/repo', 'v1', imageManifest({ digest: config, size: 2 }, []));
    assert.equal(right.status, 201);
    // A blob named many times is looked up once, and every mention of it is still checked.
    const many = Array.from({ length: 500 }, () => ({ digest: config, size: 2 }));
    const repeated = await putManifest(
      served.url,
      'strict/repo',
      'v2',
      imageManifest({ digest: config, size: 2 }, many),
    );
    assert.equal(repeated.status, 201);
    const lastWrong = [...many, { digest: config, size: 5 }];
    const oneWrong = await putManifest(
      served.url,
      'strict/repo',
      'v3',
      imageManifest({ digest: config, size: 2 }, lastWrong),
    );
    assert.equal(oneWrong.status, 400);
    assert.equal(JSON.parse(oneWrong.body.toString()).errors[0].code, 'MANIFEST_INVALID');
  });

  test('an artifactType that is not a media type is refused: it would be copied into every tag of the index', async () => {
    const config = await pushBlob(served.url, 'typed/repo', Buffer.from('{}'));
    const manifest = { ...imageManifest({ digest: config, size: 2 }, []) };
    for (const artifactType of ['x'.repeat(300), 'not a type', 42]) {
      const answer = await putManifest(served.url, 'typed/repo', 'v1', { ...manifest, artifactType });
      assert.equal(answer.status, 400);
      assert.equal(JSON.parse(answer.body.toString()).errors[0].code, 'MANIFEST_INVALID');
    }
    const ok = await putManifest(served.url, 'typed/repo', 'v1', {
      ...manifest,
      artifactType: 'application/vnd.x+json',
    });
    assert.equal(ok.status, 201, ok.body.toString());
    // With parameters, as Sigstore bundles are typed.
    const sigstore = await putManifest(served.url, 'typed/repo', 'v2', {
      ...manifest,
      artifactType: 'application/vnd.dev.sigstore.bundle+json;version=0.2',
    });
    assert.equal(sigstore.status, 201, sigstore.body.toString());
  });

  test('a manifest whose annotations are not strings, or that is an index and an image manifest at once, is refused', async () => {
    const config = await pushBlob(served.url, 'plain/repo', Buffer.from('{}'));
    const manifest = imageManifest({ digest: config, size: 2 }, []);
    const nested = await putManifest(served.url, 'plain/repo', 'v1', { ...manifest, annotations: { a: { b: 'c' } } });
    assert.equal(nested.status, 400);
    assert.match(JSON.parse(nested.body.toString()).errors[0].message, /annotations must map strings to strings/);
    // No mediaType in the body, sent as an index: it would be stored as an index naming nothing,
    // and read as an image manifest by a client that goes by the body (CVE-2021-41190).
    const { mediaType: _, ...untyped } = manifest;
    const both = await send(`${served.url}/v2/plain/repo/manifests/v1`, {
      method: 'PUT',
      body: Buffer.from(JSON.stringify({ ...untyped, manifests: [] })),
      headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
    });
    assert.equal(both.status, 400);
    assert.equal(JSON.parse(both.body.toString()).errors[0].code, 'MANIFEST_INVALID');
    assert.equal((await send(`${served.url}/v2/plain/repo/manifests/v1`, { method: 'HEAD' })).status, 404);
    const ok = await putManifest(served.url, 'plain/repo', 'v1', { ...manifest, annotations: { a: 'c' } });
    assert.equal(ok.status, 201, ok.body.toString());
  });

  test('a chunk whose Content-Range runs backwards or disagrees with its length is refused (416), the upload unchanged', async () => {
    const started = await send(`${served.url}/v2/ranges/repo/blobs/uploads/`, { method: 'POST' });
    assert.equal(started.status, 202, started.body.toString());
    const location = `${served.url}${started.headers.location}`;
    const patch = (range: string, body: string) =>
      send(location, {
        method: 'PATCH',
        body: Buffer.from(body),
        headers: { 'content-type': 'application/octet-stream', 'content-range': range },
      });
    assert.equal((await patch('0-4', 'hello')).status, 202);
    // Each says something other than the bytes sent: backwards, one byte for five, ten for five.
    for (const range of ['5-3', '5-5', '5-14']) {
      const answer = await patch(range, 'world');
      assert.equal(answer.status, 416, `${range}: ${answer.status} ${answer.body}`);
      assert.equal(JSON.parse(answer.body.toString()).errors[0].code, 'BLOB_UPLOAD_INVALID');
      const status = await send(location);
      assert.equal(status.headers.range, '0-4', `after ${range}`);
    }
    // A chunked body (no Content-Length) is held to the range's length too.
    const chunked = (range: string, body: string) =>
      new Promise<number>((resolve, reject) => {
        const req = http.request(location, {
          method: 'PATCH',
          agent: false,
          headers: { 'content-type': 'application/octet-stream', 'content-range': range },
        });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.write(body);
        req.end();
      });
    assert.equal(await chunked('5-6', 'world'), 400);
    assert.equal((await send(location)).headers.range, '0-4', 'after a chunked body longer than its range');
    assert.equal((await patch('5-9', 'world')).status, 202);
    const bytes = Buffer.from('helloworld');
    const done = await send(`${location}?digest=${sha256(bytes)}`, { method: 'PUT' });
    assert.equal(done.status, 201, done.body.toString());
  });

  test('manifest bodies: too many arriving at once get 429, one over the limit a 413 before the connection closes', async () => {
    const { hostname, port } = new URL(served.url);
    // Refused for its missing blob once read (400); a throttled one is not read at all (429).
    const manifest = imageManifest({ digest: sha256(Buffer.from('absent')), size: 6 }, []);
    const stalled: net.Socket[] = [];
    /** Sixteen clients announce 4 MiB manifests and send `bytes` of each. */
    const announce = (bytes: number) => {
      for (let i = 0; i < 16; i++) {
        const socket = net.connect(Number(port), hostname);
        socket.on('error', () => {});
        socket.write(
          `PUT /v2/budget/repo/manifests/t${i} HTTP/1.1\r\nHost: ${served.host}\r\n` +
            `Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: ${4 * 1024 * 1024}\r\n\r\n`,
        );
        if (bytes > 0) socket.write(Buffer.alloc(bytes, 32));
        stalled.push(socket);
      }
    };
    try {
      // Announced and never sent, they hold nothing: another client's manifest is read and answered.
      announce(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const through = await putManifest(served.url, 'budget/repo', 'more', manifest);
      assert.equal(through.status, 400, through.body.toString());
      for (const socket of stalled.splice(0)) socket.destroy();
      // Sent but for the last byte, they hold the 64 MiB budget: the next manifest waits its turn.
      announce(4 * 1024 * 1024 - 1);
      let answer: Answer | undefined;
      for (let tries = 0; tries < 100; tries++) {
        answer = await putManifest(served.url, 'budget/repo', 'more', manifest);
        if (answer.status === 429) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(answer?.status, 429, answer?.body.toString());
      assert.equal(answer?.headers['retry-after'], '10');
    } finally {
      for (const socket of stalled) socket.destroy();
    }
    // Their reservations end with their connections.
    let after: Answer | undefined;
    for (let tries = 0; tries < 100; tries++) {
      after = await putManifest(served.url, 'budget/repo', 'more', manifest);
      if (after.status !== 429) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.notEqual(after?.status, 429);
    // A chunked manifest (no length announced) over the 4 MiB limit gets its answer.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${served.url}/v2/budget/repo/manifests/big`, {
        method: 'PUT',
        agent: false,
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(256 * 1024, 32);
      let sent = 0;
      const more = () => {
        while (sent < 64) {
          sent++;
          if (!req.write(chunk)) return void req.once('drain', more);
        }
        req.end();
      };
      more();
    });
    assert.equal(status, 413);
  });

  test('tag lists follow index.json: a new tag, and the file edited in place, are seen at once', async () => {
    const config = await pushBlob(served.url, 'cached/repo', Buffer.from('{}'));
    const tagList = async () => JSON.parse((await send(`${served.url}/v2/cached/repo/tags/list`)).body.toString()).tags;
    assert.equal(
      (await putManifest(served.url, 'cached/repo', 'v1', imageManifest({ digest: config, size: 2 }, []))).status,
      201,
    );
    assert.deepEqual(await tagList(), ['v1']);
    assert.equal(
      (await putManifest(served.url, 'cached/repo', 'v2', imageManifest({ digest: config, size: 2 }, []))).status,
      201,
    );
    assert.deepEqual(await tagList(), ['v1', 'v2']);
    // By hand, in place (no rename): the same file, other bytes.
    const file = join(root, 'cached', 'repo', 'index.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"v2"', '"v3"'));
    assert.deepEqual(await tagList(), ['v1', 'v3']);
    assert.equal((await send(`${served.url}/v2/cached/repo/manifests/v3`, { method: 'HEAD' })).status, 200);
  });

  test("a request target that is no URL is the client's error (400), not the server's", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const { hostname, port } = new URL(served.url);
      const socket = net.connect(Number(port), hostname, () =>
        socket.end(`GET http://[ HTTP/1.1\r\nHost: ${served.host}\r\nConnection: close\r\n\r\n`),
      );
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text));
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
  });

  test('hostile repository names never reach outside the root', async () => {
    const outside = join(work.path, 'outside');
    await mkdir(outside, { recursive: true });
    for (const name of [
      '..',
      '../x',
      'a/../../x',
      '%2e%2e/x',
      'a/%2F/b',
      'A',
      'a//b',
      '.hidden',
      'a/blobs',
      'x/index.json',
    ]) {
      const answer = await send(`${served.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
      assert.ok([400, 404].includes(answer.status), `${name}: ${answer.status}`);
    }
    // Links planted under the root are not followed: neither a repository folder nor a blobs folder.
    await symlink(outside, join(root, 'planted'));
    await mkdir(join(root, 'half'), { recursive: true });
    await symlink(outside, join(root, 'half', 'blobs'));
    for (const name of ['planted', 'planted/deeper', 'half']) {
      const started = await send(`${served.url}/v2/${name}/blobs/uploads/`, { method: 'POST' });
      if (started.status === 202) {
        const bytes = Buffer.from('must not land outside');
        const put = await send(`${served.url}${started.headers.location}?digest=${sha256(bytes)}`, {
          method: 'PUT',
          body: bytes,
        });
        assert.equal(put.status, 400, `${name}: ${put.body}`);
      } else {
        assert.equal(started.status, 400, `${name}: ${started.body}`);
      }
    }
    assert.deepEqual(await readdir(outside), []);
    const catalog = JSON.parse((await send(`${served.url}/v2/_catalog`)).body.toString()) as { repositories: string[] };
    assert.ok(!catalog.repositories.some((r) => r.startsWith('planted')));
  });
});

describe('lading serve: many referrers', () => {
  test('a referrers list comes in pages a client follows; annotations too big to repeat in a list are left out of it', async () => {
    const work = await tempDir('lading-serve-referrers-');
    const registry = await startRegistry({ root: join(work.path, 'root'), addr: '127.0.0.1:0' });
    const client = new Registry(registry.url.replace('http://', ''), { plainHttp: true });
    try {
      const repo = client.repository('many/refs');
      const empty = Buffer.from('{}');
      const emptyDesc = { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(empty), size: 2 };
      await repo.push(emptyDesc, empty);
      const manifest = (extra: object) => {
        const bytes = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            artifactType: 'application/vnd.example.note',
            config: emptyDesc,
            layers: [],
            ...extra,
          }),
        );
        return {
          desc: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes), size: bytes.length },
          bytes,
        };
      };
      const subject = manifest({});
      await repo.push(subject.desc, subject.bytes);
      // 80 referrers of 15 KiB of annotations each (over the 1 MiB page), and one of 20 KiB.
      for (let i = 0; i < 80; i++) {
        const r = manifest({ subject: subject.desc, annotations: { n: String(i), pad: 'x'.repeat(15 * 1024) } });
        await repo.push(r.desc, r.bytes);
      }
      const big = manifest({ subject: subject.desc, annotations: { n: 'big', pad: 'y'.repeat(20 * 1024) } });
      await repo.push(big.desc, big.bytes);
      const first = await send(`${registry.url}/v2/many/refs/referrers/${subject.desc.digest}`);
      assert.equal(first.status, 200);
      assert.match(String(first.headers.link), /rel="next"/, 'more than one page');
      assert.ok(first.body.length <= 1.1 * 1024 * 1024, `a page of ${first.body.length} bytes`);
      const all = await listReferrers(repo, subject.desc);
      assert.equal(all.length, 81, 'every page followed');
      assert.equal(new Set(all.map((d) => d.digest)).size, 81);
      const listed = all.find((d) => d.digest === big.desc.digest);
      assert.equal(listed?.annotations, undefined, 'the 20 KiB annotations are not repeated');
      assert.equal(listed?.artifactType, 'application/vnd.example.note');
    } finally {
      await client.close();
      await registry.close();
      await work.cleanup();
    }
  });
});

describe('lading serve: an internal failure', () => {
  test("a request that fails after its body was read gets a 500 naming the failure's kind, not the server's paths; the log has the rest", async () => {
    const work = await tempDir('lading-serve-500-');
    const logs: { status: number; error?: string }[] = [];
    const root = join(work.path, 'root');
    const registry = await startRegistry({ root, addr: '127.0.0.1:0', onRequest: (e) => logs.push(e) });
    try {
      // A damaged repository: its index.json is a folder, so recording a manifest fails after
      // the request's body was read whole.
      const config = await pushBlob(registry.url, 'broken/repo', Buffer.from('{}'));
      await rm(join(root, 'broken', 'repo', 'index.json'), { force: true });
      await mkdir(join(root, 'broken', 'repo', 'index.json', 'x'), { recursive: true });
      const answer = await putManifest(
        registry.url,
        'broken/repo',
        'v1',
        imageManifest({ digest: config, size: 2 }, []),
      );
      assert.equal(answer.status, 500, answer.body.toString());
      const [error] = JSON.parse(answer.body.toString()).errors;
      assert.equal(error.code, 'UNKNOWN');
      assert.equal(error.detail, 'EISDIR');
      assert.ok(!answer.body.toString().includes('/'), 'no server path in the answer');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const logged = logs.find((e) => e.status === 500);
      assert.ok(logged?.error, "the operator's log says what failed");
    } finally {
      await registry.close();
      await work.cleanup();
    }
  });
});

describe('lading serve: a client that goes silent', () => {
  test('a connection silent in the middle of an upload body is closed; the upload keeps none of it', {
    timeout: 60_000,
  }, async () => {
    const work = await tempDir('lading-serve-idle-');
    const registry = await startRegistry({ root: join(work.path, 'root'), addr: '127.0.0.1:0', idleTimeoutMs: 300 });
    try {
      const started = await send(`${registry.url}/v2/idle/repo/blobs/uploads/`, { method: 'POST' });
      assert.equal(started.status, 202, started.body.toString());
      const location = started.headers.location as string;
      // Ten of the hundred bytes it announces, then nothing: without an idle limit it holds a
      // connection (and a file) for ever, and enough of them exhaust the server's descriptors.
      const closed = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(registry.port, registry.host, () => {
          socket.write(
            `PATCH ${location} HTTP/1.1\r\nHost: ${registry.host}\r\nContent-Type: application/octet-stream\r\n` +
              'Content-Length: 100\r\n\r\n0123456789',
          );
        });
        let answer = '';
        socket.on('data', (d: Buffer) => {
          answer += d.toString();
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(answer));
      });
      assert.doesNotMatch(closed, /^HTTP\/1\.1 202/, 'a cut-off chunk is not acknowledged');
      const status = await send(`${registry.url}${location}`);
      assert.equal(status.status, 204, status.body.toString());
      const bytes = Buffer.from('hello');
      const chunk = await send(`${registry.url}${location}`, {
        method: 'PATCH',
        body: bytes,
        headers: { 'content-type': 'application/octet-stream', 'content-range': '0-4' },
      });
      assert.equal(chunk.status, 202, `the upload kept bytes of the cut-off chunk: ${chunk.body}`);
      const done = await send(`${registry.url}${location}?digest=${sha256(bytes)}`, { method: 'PUT' });
      assert.equal(done.status, 201, done.body.toString());
    } finally {
      await registry.close(0);
      await work.cleanup();
    }
  });
});

describe('lading serve gc', () => {
  test('removes blobs no manifest reaches, stale uploads and pool files; keeps what tags and manifests reach', async () => {
    const work = await tempDir('lading-serve-gc-');
    const root = join(work.path, 'root');
    try {
      const served = await startServe(['--root', root]);
      let kept: string;
      let orphan: string;
      let config: Buffer;
      try {
        const layer = randomBytes(50_000);
        kept = await pushBlob(served.url, 'gc/repo', layer);
        config = Buffer.from('{"gc":true}');
        const configDigest = await pushBlob(served.url, 'gc/repo', config);
        const put = await putManifest(
          served.url,
          'gc/repo',
          'v1',
          imageManifest({ digest: configDigest, size: config.length }, [{ digest: kept, size: layer.length }]),
        );
        assert.equal(put.status, 201);
        orphan = await pushBlob(served.url, 'gc/repo', randomBytes(30_000));
        const open = await send(`${served.url}/v2/gc/repo/blobs/uploads/`, { method: 'POST' });
        assert.equal(open.status, 202);
      } finally {
        await served.stop();
      }
      const blob = (d: string) => join(root, 'gc', 'repo', 'blobs', 'sha256', d.slice(7));
      const dry = await ladingOk(['serve', 'gc', '--root', root, '--grace', '0', '--dry-run']);
      assert.match(dry.stdout, /^would remove 1 blob\(s\) \(30000 bytes\) from 1 repositories, 1 stale upload\(s\)/);
      await stat(blob(orphan));
      const done = await ladingOk(['serve', 'gc', '--root', root, '--grace', '0']);
      assert.match(
        done.stdout,
        /^removed 1 blob\(s\) \(30000 bytes\) from 1 repositories, 1 stale upload\(s\), 1 unlinked pool file\(s\)/,
      );
      await assert.rejects(stat(blob(orphan)));
      await assert.rejects(stat(join(root, '_lading', 'blobs', 'sha256', orphan.slice(7))));
      await stat(blob(kept));
      assert.deepEqual(
        (await readdir(join(root, '_lading', 'uploads'))).filter((n) => !n.startsWith('.')),
        [],
      );
      await checkStore(root);
      // With the default grace (1 h) nothing that just changed goes.
      const again = await ladingOk(['serve', 'gc', '--root', root]);
      assert.match(again.stdout, /^removed 0 blob/);
    } finally {
      await work.cleanup();
    }
  });

  test('a repository with a manifest it cannot read keeps every blob: what that manifest names is unknown', async () => {
    const work = await tempDir('lading-serve-gc-');
    const root = join(work.path, 'root');
    try {
      const served = await startServe(['--root', root]);
      let layer: string;
      let orphan: string;
      try {
        const bytes = randomBytes(20_000);
        layer = await pushBlob(served.url, 'gc/broken', bytes);
        const config = await pushBlob(served.url, 'gc/broken', Buffer.from('{}'));
        const put = await putManifest(
          served.url,
          'gc/broken',
          'v1',
          imageManifest({ digest: config, size: 2 }, [{ digest: layer, size: bytes.length }]),
        );
        assert.equal(put.status, 201);
        orphan = await pushBlob(served.url, 'gc/broken', randomBytes(10_000));
      } finally {
        await served.stop();
      }
      // The repository is an OCI layout: its manifest, damaged on disk, no longer parses.
      const index = JSON.parse(await readFile(join(root, 'gc', 'broken', 'index.json'), 'utf8'));
      const manifest = join(root, 'gc', 'broken', 'blobs', 'sha256', index.manifests[0].digest.slice(7));
      await rm(manifest);
      await writeFile(manifest, '{"schemaVersion":2, "layers": [');
      const done = await ladingOk(['serve', 'gc', '--root', root, '--grace', '0']);
      assert.match(done.stdout, /^removed 0 blob\(s\)/);
      assert.match(
        done.stderr,
        /^Warning: kept every blob of gc\/broken: manifest sha256:[0-9a-f]{64} is not valid JSON/m,
      );
      await stat(join(root, 'gc', 'broken', 'blobs', 'sha256', layer.slice(7)));
      await stat(join(root, 'gc', 'broken', 'blobs', 'sha256', orphan.slice(7)));
    } finally {
      await work.cleanup();
    }
  });
});

describe('lading serve: crash safety', () => {
  test('kill -9 in the middle of pushes leaves only verified blobs and complete manifests', async () => {
    const work = await tempDir('lading-serve-crash-');
    const root = join(work.path, 'root');
    try {
      for (let round = 0; round < 3; round++) {
        const served = await startServe(['--root', root, '--log-level', 'error']);
        const registry = new Registry(served.host, { plainHttp: true, retry: { maxRetries: 0 } });
        const pushes = Array.from({ length: 6 }, async (_, i) => {
          const repo = registry.repository(`crash/r${i % 3}`);
          const big = randomBytes(8 * 1024 * 1024);
          await pushImage(repo, { [`f${i}.bin`]: big.toString('base64') });
        });
        const settled = Promise.allSettled(pushes);
        // Kill while an upload is half written (bytes in an upload file), a little later each round.
        const uploads = join(root, '_lading', 'uploads');
        const midUpload = async () => {
          for (const name of await readdir(uploads).catch(() => [] as string[])) {
            if (!name.endsWith('.json') && ((await stat(join(uploads, name)).catch(() => undefined))?.size ?? 0) > 0)
              return true;
          }
          return false;
        };
        const until = Date.now() + 20_000;
        while (!(await midUpload())) {
          assert.ok(Date.now() < until, 'no upload got under way');
          await new Promise((r) => setTimeout(r, 5));
        }
        await new Promise((r) => setTimeout(r, round * 40));
        served.child.kill('SIGKILL');
        await served.exited;
        await settled;
        await registry.close();
        await checkStore(root);
      }
      // A server on the same root serves what survived, and a rerun of the pushes completes.
      const served = await startServe(['--root', root, '--log-level', 'error']);
      const registry = new Registry(served.host, { plainHttp: true });
      try {
        const { manifest } = await pushImage(registry.repository('crash/r0'), { 'after.txt': 'after the crashes\n' });
        const got = await send(`${served.url}/v2/crash/r0/manifests/${manifest.digest}`, { method: 'HEAD' });
        assert.equal(got.status, 200);
        const { manifests } = await checkStore(root);
        assert.ok(manifests >= 1);
      } finally {
        await registry.close();
        await served.stop();
      }
    } finally {
      await work.cleanup();
    }
  });
});

describe('lading serve: access', () => {
  let work: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    work = await tempDir('lading-serve-access-');
  });
  after(async () => work.cleanup());

  test('TLS with htpasswd (bcrypt) basic auth', async () => {
    const dir = work.path;
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-sha256',
      '-days',
      '2',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
    const { stdout } = await run('htpasswd', ['-Bbn', 'alice', 's3cret']);
    assert.match(stdout, /^alice:\$2y\$/);
    await writeFile(join(dir, 'htpasswd'), stdout);
    const served = await startServe([
      '--root',
      join(dir, 'root'),
      '--tls-cert',
      join(dir, 'cert.pem'),
      '--tls-key',
      join(dir, 'key.pem'),
      '--htpasswd',
      join(dir, 'htpasswd'),
    ]);
    try {
      assert.match(served.url, /^https:/);
      const ca = await readFile(join(dir, 'cert.pem'));
      const anonymous = await send(`${served.url}/v2/`, { ca });
      assert.equal(anonymous.status, 401);
      assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm="lading"/);
      const basic = (u: string, p: string) => ({
        authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`,
      });
      assert.equal((await send(`${served.url}/v2/`, { ca, headers: basic('alice', 'wrong') })).status, 401);
      assert.equal((await send(`${served.url}/v2/`, { ca, headers: basic('bob', 's3cret') })).status, 401);
      assert.equal((await send(`${served.url}/v2/`, { ca, headers: basic('alice', 's3cret') })).status, 200);
      // The browser view is behind the same login as the API.
      assert.equal((await send(`${served.url}/ui/`, { ca })).status, 401);
      assert.equal(
        (await send(`${served.url}/ui/api/repositories`, { ca, headers: basic('alice', 'wrong') })).status,
        401,
      );
      assert.equal((await send(`${served.url}/ui/`, { ca, headers: basic('alice', 's3cret') })).status, 200);
      // Plain HTTP to the TLS port gets Go's answer (a reset connection told the client nothing),
      // and the lading client turns it into its hint; the port still speaks TLS after it.
      const plain = await send(`http://${served.host}/v2/`);
      assert.equal(plain.status, 400);
      assert.equal(plain.body.toString(), 'Client sent an HTTP request to an HTTPS server.\n');
      const pushed = await lading([
        'resolve',
        '--plain-http',
        '-u',
        'alice',
        '-p',
        's3cret',
        `${served.host}/tls/img:v1`,
      ]);
      assert.match(pushed.stderr, /400 Bad Request: the server expects HTTPS on this port \(use HTTPS for it/);
      assert.notEqual(pushed.code, 0);
      // A connection that says nothing is dropped, and does not stop the others.
      const silent = net.connect(Number(served.host.split(':')[1]), '127.0.0.1');
      await new Promise((resolve) => silent.once('connect', resolve));
      assert.equal((await send(`${served.url}/v2/`, { ca, headers: basic('alice', 's3cret') })).status, 200);
      silent.destroy();
      const registry = new Registry(served.host, {
        caFile: join(dir, 'cert.pem'),
        credentials: async () => ({ username: 'alice', password: 's3cret' }),
      });
      try {
        const { manifest } = await pushImage(registry.repository('tls/img'));
        assert.deepEqual(await registry.repository('tls/img').resolve(manifest.digest), manifest);
      } finally {
        await registry.close();
      }
    } finally {
      await served.stop();
    }
  });

  test('--no-ui: no browser view', async () => {
    const served = await startServe(['--root', join(work.path, 'no-ui'), '--no-ui']);
    try {
      assert.equal((await send(`${served.url}/ui/`)).status, 404);
      assert.doesNotMatch(served.stderr(), /browser view/);
    } finally {
      await served.stop();
    }
  });

  test('read-only mode serves pulls and refuses every write', async () => {
    const root = join(work.path, 'ro-root');
    const writer = await startServe(['--root', root]);
    const digest = await pushBlob(writer.url, 'ro/repo', Buffer.from('kept\n'));
    await writer.stop();
    const served = await startServe(['--root', root, '--read-only']);
    try {
      const got = await send(`${served.url}/v2/ro/repo/blobs/${digest}`);
      assert.equal(got.status, 200);
      assert.equal(got.body.toString(), 'kept\n');
      for (const [method, path] of [
        ['POST', '/v2/ro/repo/blobs/uploads/'],
        ['DELETE', `/v2/ro/repo/blobs/${digest}`],
        ['PUT', '/v2/ro/repo/manifests/v1'],
      ] as const) {
        const answer = await send(`${served.url}${path}`, { method, body: Buffer.from('{}') });
        assert.equal(answer.status, 405, `${method} ${path}`);
        assert.equal(JSON.parse(answer.body.toString()).errors[0].code, 'UNSUPPORTED');
      }
      assert.match(served.ready, /ready on http/);
    } finally {
      await served.stop();
    }
  });

  test('upload and manifest size limits', async () => {
    const served = await startServe([
      '--root',
      join(work.path, 'limit-root'),
      '--max-upload-size',
      '1KiB',
      '--max-manifest-size',
      '512',
    ]);
    try {
      const started = await send(`${served.url}/v2/lim/repo/blobs/uploads/`, { method: 'POST' });
      const big = randomBytes(4096);
      const put = await send(`${served.url}${started.headers.location}?digest=${sha256(big)}`, {
        method: 'PUT',
        body: big,
      });
      assert.equal(put.status, 413);
      const manifest = await send(`${served.url}/v2/lim/repo/manifests/v1`, {
        method: 'PUT',
        body: Buffer.alloc(1000, 32),
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      assert.equal(manifest.status, 413);
      // A one-request upload (POST with ?digest) refused for its size leaves no upload behind: its
      // client never learnt where it was, so nobody could end it.
      const uploads = async () =>
        (await readdir(join(work.path, 'limit-root', '_lading', 'uploads'))).filter((n) => !n.startsWith('.')).sort();
      const before = await uploads();
      const tooBig = await send(`${served.url}/v2/lim/repo/blobs/uploads/?digest=${sha256(big)}`, {
        method: 'POST',
        body: big,
      });
      assert.equal(tooBig.status, 413);
      assert.deepEqual(await uploads(), before);
    } finally {
      await served.stop();
    }
    // lading reads no manifest over 4 MiB: a server that took bigger ones would store what no client reads.
    const refused = await lading(['serve', '--root', join(work.path, 'limit-root'), '--max-manifest-size', '5MiB']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^Error: the largest manifest accepted must be 1 to 4194304 bytes/);
  });

  test('SIGTERM stops it cleanly (exit 0) and an upload cut off keeps only acknowledged bytes; JSON logs', async () => {
    const root = join(work.path, 'term-root');
    const served = await startServe(['--root', root, '--log-format', 'json']);
    const ready = JSON.parse(served.ready) as { msg: string; url: string };
    assert.equal(ready.msg, 'ready');
    assert.equal(ready.url, served.url);
    const started = await send(`${served.url}/v2/term/repo/blobs/uploads/`, { method: 'POST' });
    const chunk = randomBytes(1000);
    const patched = await send(`${served.url}${started.headers.location}`, {
      method: 'PATCH',
      body: chunk,
      headers: { 'content-range': '0-999', 'content-length': '1000' },
    });
    assert.equal(patched.status, 202);
    assert.equal(patched.headers.range, '0-999');
    const code = await served.stop('SIGTERM');
    assert.equal(code, 0, served.stderr());
    const lines = served
      .stderr()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    assert.deepEqual(
      lines.slice(-2).map((l) => l.msg),
      ['stopping', 'stopped'],
    );
    // Restarted, the upload resumes where it was acknowledged.
    const again = await startServe(['--root', root]);
    try {
      const status = await send(`${again.url}${started.headers.location}`);
      assert.equal(status.status, 204);
      assert.equal(status.headers.range, '0-999');
      const rest = randomBytes(500);
      const all = Buffer.concat([chunk, rest]);
      const done = await send(`${again.url}${started.headers.location}?digest=${sha256(all)}`, {
        method: 'PUT',
        body: rest,
        headers: { 'content-range': '1000-1499' },
      });
      assert.equal(done.status, 201, done.body.toString());
      const blob = await send(`${again.url}/v2/term/repo/blobs/${sha256(all)}`);
      assert.ok(blob.body.equals(all));
    } finally {
      await again.stop();
    }
  });
});
