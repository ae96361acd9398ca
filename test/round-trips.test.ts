// Round trips per command: on a registry 20–100 ms away a small artifact's time is its requests,
// not its bytes. Each main command runs against the real docker-registry through a counting
// proxy, and the requests it sent (method and path, digests and upload ids masked) are compared
// with the list it needs, so that a request added back shows here (BENCHMARKS.md, "Round trips per
// command (session 23)", has the table and what each cut was).
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isLadingError, MediaType } from '../src/oci/index.js';
import { Registry } from '../src/registry/index.js';
import { ladingOk } from './support/cli.js';
import { type CountingProxy, startCountingProxy } from './support/counting-proxy.js';
import { tempDir } from './support/fixtures.js';
import { HostileRegistry, json, sha256 } from './support/hostile-registry.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();

/** `METHOD path` with the repository, digests, upload ids and query values masked; sorted (concurrency reorders). */
function shapes(requests: readonly string[], repo: string): string[] {
  return requests
    .map((r) =>
      r
        .replace(`/v2/${repo}/`, '/')
        .replace(/sha256[:-][0-9a-f]{64}/g, '<d>')
        .replace(/sha256%3A[0-9a-f]{64}/g, '<d>')
        .replace(/uploads\/[0-9a-f-]{36}\?.*$/, 'uploads/<id>')
        .replace(/&from=.*$/, '&from=<repo>'),
    )
    .sort();
}

// The request lists below are docker-registry's (no referrers API, mounts answered 201); under
// LADING_TEST_REGISTRY=serve the plain peer is lading serve, which answers some of them otherwise.
const plainIsServe = peers.plain.kind === 'lading-serve';

describe('round trips per command against docker-registry (plain HTTP)', {
  skip:
    plainIsServe &&
    "the plain peer is lading serve (LADING_TEST_REGISTRY=serve): these are docker-registry's request lists",
}, () => {
  let proxy: CountingProxy;
  let dir: { path: string; cleanup: () => Promise<void> };
  const repo = `lading/trips-${process.pid}`;
  let host: string;

  before(async () => {
    proxy = await startCountingProxy(peers.plain.host);
    host = proxy.host;
    dir = await tempDir();
    await writeFile(join(dir.path, 'file.txt'), 'round trips\n');
    await writeFile(join(dir.path, 'sig.txt'), 'signature\n');
    await writeFile(
      join(dir.path, 'cc.yaml'),
      [
        'components:',
        '  - name: example.com/trips/demo',
        '    version: 1.0.0',
        '    provider: {name: example.com}',
        '    resources:',
        '      - {name: readme, type: blob, input: {type: file/v1, path: file.txt}}',
        '      - {name: settings, type: blob, input: {type: utf8/v1, text: hello}}',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await proxy?.close();
    await dir?.cleanup();
  });

  /** Runs lading and returns the masked requests it sent through the proxy. */
  async function trips(args: string[]): Promise<string[]> {
    const from = proxy.requests.length;
    await ladingOk(args, { cwd: dir.path });
    return shapes(proxy.requests.slice(from), repo);
  }

  // One test: each command works on what the one before it stored.
  test('ORAS and OCM commands send only the requests they need', async () => {
    const a = `${host}/${repo}/a`;
    // Both blobs: HEAD (absent), POST, PUT; the manifest with its tag in one PUT (no HEAD: a new
    // push's manifest carries its creation time).
    assert.deepEqual(await trips(['push', '--plain-http', `${a}:v1`, 'file.txt']), [
      'HEAD /a/blobs/<d>',
      'HEAD /a/blobs/<d>',
      'POST /a/blobs/uploads/',
      'POST /a/blobs/uploads/',
      'PUT /a/blobs/uploads/<id>',
      'PUT /a/blobs/uploads/<id>',
      'PUT /a/manifests/v1',
    ]);
    assert.deepEqual(await trips(['push', '--plain-http', `${a}:v1`, 'file.txt']), [
      'HEAD /a/blobs/<d>',
      'HEAD /a/blobs/<d>',
      'PUT /a/manifests/v1',
    ]);
    // GET by tag with Accept (no HEAD first); the empty config is in the manifest (data).
    assert.deepEqual(await trips(['pull', '--plain-http', `${a}:v1`, '-o', 'out']), [
      'GET /a/blobs/<d>',
      'GET /a/manifests/v1',
    ]);
    // Same registry: each blob is mounted with no HEAD before it.
    assert.deepEqual(await trips(['cp', '--from-plain-http', '--to-plain-http', `${a}:v1`, `${host}/${repo}/b:v1`]), [
      'GET /a/manifests/v1',
      'POST /b/blobs/uploads/?mount=<d>&from=<repo>',
      'POST /b/blobs/uploads/?mount=<d>&from=<repo>',
      'PUT /b/manifests/v1',
    ]);
    // GET by tag, then PUT of the same bytes: no HEAD and no GET by digest.
    assert.deepEqual(await trips(['tag', '--plain-http', `${a}:v1`, 'v2']), [
      'GET /a/manifests/v1',
      'PUT /a/manifests/v2',
    ]);
    assert.deepEqual(await trips(['resolve', '--plain-http', `${a}:v1`]), ['HEAD /a/manifests/v1']);
    const manifest = JSON.parse((await ladingOk(['manifest', 'fetch', '--plain-http', `${a}:v1`])).stdout);
    assert.deepEqual(await trips(['manifest', 'fetch', '--plain-http', `${a}:v1`]), ['GET /a/manifests/v1']);
    // The GET's Content-Length describes the blob: no HEAD first.
    assert.deepEqual(
      await trips(['blob', 'fetch', '--plain-http', `${a}@${manifest.layers[0].digest}`, '-o', 'blob.out']),
      ['GET /a/blobs/<d>'],
    );
    // The subject is resolved once (not looked up again among the manifest's successors);
    // docker-registry 2.8 has no referrers API: the tag-schema index is read and written.
    assert.deepEqual(
      await trips(['attach', '--plain-http', '--artifact-type', 'application/x.sig', `${a}:v1`, 'sig.txt']),
      [
        'GET /a/manifests/<d>',
        'HEAD /a/blobs/<d>',
        'HEAD /a/blobs/<d>',
        'HEAD /a/manifests/<d>',
        'HEAD /a/manifests/v1',
        'POST /a/blobs/uploads/',
        'PUT /a/blobs/uploads/<id>',
        'PUT /a/manifests/<d>',
        'PUT /a/manifests/<d>',
      ],
    );
    assert.deepEqual(await trips(['repo', 'tags', '--plain-http', a]), ['GET /a/tags/list']);

    const ocm = `http://${host}/${repo}/ocm`;
    const cd = '/ocm/component-descriptors/example.com/trips/demo';
    // Two resources, the descriptor layer and the config: HEAD, POST, PUT each; the version's tag
    // looked up before the inputs run and again before it is written; the manifest stored by the
    // PUT of its tag alone.
    assert.deepEqual(await trips(['add', 'cv', '-c', 'cc.yaml', '-r', ocm]), [
      ...Array(4).fill(`HEAD ${cd}/blobs/<d>`),
      `HEAD ${cd}/manifests/1.0.0`,
      `HEAD ${cd}/manifests/1.0.0`,
      ...Array(4).fill(`POST ${cd}/blobs/uploads/`),
      ...Array(4).fill(`PUT ${cd}/blobs/uploads/<id>`),
      `PUT ${cd}/manifests/1.0.0`,
    ]);
    // The version's tag answers with its manifest: one GET, then the config and the descriptor.
    const version = `${ocm}//example.com/trips/demo:1.0.0`;
    assert.deepEqual(await trips(['get', 'cv', version]), [
      `GET ${cd}/blobs/<d>`,
      `GET ${cd}/blobs/<d>`,
      `GET ${cd}/manifests/1.0.0`,
    ]);
    assert.deepEqual(await trips(['download', 'resource', version, '--identity', 'name=readme', '--output', 'res']), [
      `GET ${cd}/blobs/<d>`,
      `GET ${cd}/blobs/<d>`,
      `GET ${cd}/blobs/<d>`,
      `GET ${cd}/manifests/1.0.0`,
    ]);
  });
});

describe('round trips with token auth (docker-registry and its token server)', () => {
  let proxy: CountingProxy;
  let dir: { path: string; cleanup: () => Promise<void> };
  const repo = `lading/trips-token-${process.pid}`;

  before(async () => {
    proxy = await startCountingProxy(peers.token.host);
    dir = await tempDir();
    await writeFile(join(dir.path, 'file.txt'), 'round trips with tokens\n');
  });
  after(async () => {
    await proxy?.close();
    await dir?.cleanup();
  });

  async function tokenScopes(): Promise<string[]> {
    const lines = (await readFile(peers.token.tokenServer.log, 'utf8')).split('\n').filter(Boolean);
    return lines
      .map((l) => JSON.parse(l) as { method?: string; status?: number; scopes?: string[] })
      .filter((e) => e.method && e.status === 200 && e.scopes?.some((s) => s.includes(repo)))
      .map((e) => (e.scopes ?? []).join(' ').replaceAll(repo, '<repo>'));
  }

  test('a copy within the registry fetches one token for the source and one for the mounts, which the manifest PUT reuses', async () => {
    const config = join(dir.path, 'config.json');
    await ladingOk(
      [
        'login',
        '--plain-http',
        '--registry-config',
        config,
        '-u',
        peers.token.username,
        '--password-stdin',
        proxy.host,
      ],
      { input: peers.token.password },
    );
    const auth = ['--registry-config', config];
    await ladingOk(['push', '--plain-http', ...auth, `${proxy.host}/${repo}/a:v1`, 'file.txt'], { cwd: dir.path });
    const before = (await tokenScopes()).length;
    const from = proxy.requests.length;
    await ladingOk([
      'cp',
      '--from-plain-http',
      '--to-plain-http',
      '--from-registry-config',
      config,
      '--to-registry-config',
      config,
      `${proxy.host}/${repo}/a:v1`,
      `${proxy.host}/${repo}/b:v1`,
    ]);
    assert.deepEqual((await tokenScopes()).slice(before), [
      'repository:<repo>/a:pull',
      'repository:<repo>/a:pull repository:<repo>/b:pull,push',
    ]);
    // The first GET meets the challenge and is sent again with the token.
    assert.deepEqual(shapes(proxy.requests.slice(from), repo), [
      'GET /a/manifests/v1',
      'GET /a/manifests/v1',
      'POST /b/blobs/uploads/?mount=<d>&from=<repo>',
      'POST /b/blobs/uploads/?mount=<d>&from=<repo>',
      'PUT /b/manifests/v1',
    ]);
  });
});

describe('blob fetch by one GET: what a real registry does not do', () => {
  const blob = Buffer.from('one request, not two\n');
  const digest = sha256(blob);
  let server: HostileRegistry;
  let registry: Registry;
  before(async () => {
    server = await HostileRegistry.start();
    registry = new Registry(server.host, { plainHttp: true });
  });
  after(async () => {
    await registry?.close();
    await server?.close();
  });

  test('an answer without a Content-Length is described by a HEAD, then read', async () => {
    server.on('GET', /\/blobs\//, ({ res, n }) => {
      // The first GET streams without a length; the one after the HEAD is a plain answer.
      if (n === 0) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(blob);
      } else {
        res.writeHead(200, { 'content-length': String(blob.length) }).end(blob);
      }
    });
    server.on('HEAD', /\/blobs\//, ({ res }) => {
      res.writeHead(200, { 'content-length': String(blob.length), 'docker-content-digest': digest }).end();
    });
    const { descriptor, content } = await registry.repository('r/chunked').fetchBlob(digest);
    assert.deepEqual(descriptor, { mediaType: MediaType.OctetStream, digest, size: blob.length });
    assert.deepEqual(Buffer.concat(await content.toArray()), blob);
    assert.deepEqual(
      server.requests.map((r) => r.method),
      ['GET', 'HEAD', 'GET'],
    );
  });

  test('a body that is not the digest fails the read (DIGEST_MISMATCH), as a fetch after a HEAD does', async () => {
    const other = Buffer.from('not the blob asked for\n');
    server.on('GET', /\/blobs\//, ({ res }) => {
      res.writeHead(200, { 'content-length': String(other.length) }).end(other);
    });
    const { content } = await registry.repository('r/lying').fetchBlob(digest);
    await assert.rejects(content.toArray(), (e) => isLadingError(e, 'DIGEST_MISMATCH'));
  });
});

describe('mount first: a registry that answers mounts with an error', () => {
  const layer = Buffer.from('layer\n');
  const config = Buffer.from('{}');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/octet-stream', digest: sha256(layer), size: layer.length }],
    }),
  );
  let server: HostileRegistry;
  let dir: { path: string; cleanup: () => Promise<void> };
  before(async () => {
    server = await HostileRegistry.start();
    dir = await tempDir();
    const headers = { 'content-type': MediaType.ImageManifest, 'docker-content-digest': sha256(manifest) };
    server.on('*', /^\/v2\/src\/manifests\//, ({ res }) => json(res, 200, manifest, headers));
    server.on('HEAD', /^\/v2\/dst\/manifests\//, ({ res }) => json(res, 404, {}));
    server.on('PUT', /^\/v2\/dst\/manifests\//, ({ res }) => {
      res.writeHead(201, { 'docker-content-digest': sha256(manifest) }).end();
    });
    // The destination holds both blobs already; mounts are not supported there.
    server.on('HEAD', /^\/v2\/dst\/blobs\//, ({ res, url }) => {
      const digest = url.pathname.split('/').at(-1);
      const blob = digest === sha256(layer) ? layer : config;
      res.writeHead(200, { 'content-length': String(blob.length), 'docker-content-digest': String(digest) }).end();
    });
    server.on('POST', /^\/v2\/dst\/blobs\/uploads\//, ({ res }) =>
      json(res, 405, { errors: [{ code: 'UNSUPPORTED', message: 'no cross-repository mounts' }] }),
    );
  });
  after(async () => {
    await server?.close();
    await dir?.cleanup();
  });

  test('405 to a mount of a blob the destination holds: the blob is skipped, as the HEAD ORAS sends first finds it', async () => {
    const r = await ladingOk(
      ['cp', '--from-plain-http', '--to-plain-http', `${server.host}/src:v1`, `${server.host}/dst:v1`],
      { cwd: dir.path },
    );
    assert.match(r.stdout, /Copied \[registry\]/);
    assert.equal(server.count('PATCH') + server.count('PUT', /\/blobs\//), 0, 'nothing uploaded');
    assert.equal(server.count('PUT', /\/manifests\/v1$/), 1);
  });
});
