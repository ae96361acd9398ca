// Proves the test harness (test/support/peers.mjs) gives the integration tests working peers:
// three real distribution registries, our token server, and the skopeo and umoci binaries.
// It speaks to them with node:http(s) and child_process only, so it does not depend on lading.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadPeers, restartRegistry, stopRegistry } from './support/peers.mjs';

const execFileAsync = promisify(execFile);
const peers = loadPeers();

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  ca?: Buffer;
}

function send(url: string, options: SendOptions = {}): Promise<Reply> {
  const { method = 'GET', headers = {}, body, ca } = options;
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  const requestHeaders = body ? { ...headers, 'content-length': String(body.length) } : headers;
  return new Promise((resolve, reject) => {
    const req = lib.request(target, { method, headers: requestHeaders, agent: false, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${method} ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

function header(reply: Reply, name: string): string {
  const value = reply.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function basicAuth(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** `Bearer realm="…",service="…"` → { realm, service }. */
function challengeParams(value: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const match of value.matchAll(/(\w+)="([^"]*)"/g)) {
    if (match[1] !== undefined && match[2] !== undefined) params[match[1]] = match[2];
  }
  return params;
}

function jwtClaims(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  assert.ok(payload, 'token is not a JWT');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Monolithic upload: POST opens a session, PUT `?digest=` closes it with the bytes. */
async function pushBlob(base: string, repo: string, data: Buffer, headers: Record<string, string>) {
  const digest = sha256(data);
  const start = await send(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  assert.equal(start.status, 202, start.body.toString());
  const location = new URL(header(start, 'location'), base);
  location.searchParams.set('digest', digest);
  const put = await send(location.href, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: data,
  });
  assert.equal(put.status, 201, put.body.toString());
  assert.equal(header(put, 'docker-content-digest'), digest);
  return digest;
}

describe('plain registry', () => {
  it('answers GET /v2/ with 200 and the distribution API version', async () => {
    const reply = await send(`${peers.plain.url}/v2/`);
    assert.equal(reply.status, 200);
    assert.equal(header(reply, 'docker-distribution-api-version'), 'registry/2.0');
  });
});

describe('TLS + basic auth registry', () => {
  let ca: Buffer;
  before(async () => {
    ca = await fs.readFile(peers.tls.caFile);
  });

  it('presents a certificate that only verifies with the generated CA', async () => {
    await assert.rejects(send(`${peers.tls.url}/v2/`), (error: NodeJS.ErrnoException) => {
      assert.match(String(error.code), /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/);
      return true;
    });
    assert.ok((await fs.stat(path.join(peers.tls.certDir, 'ca.crt'))).isFile());
  });

  it('challenges with Basic realm, rejects a wrong password, accepts the credentials', async () => {
    const anonymous = await send(`${peers.tls.url}/v2/`, { ca });
    assert.equal(anonymous.status, 401);
    assert.match(header(anonymous, 'www-authenticate'), /^Basic realm="[^"]+"/);

    const wrong = await send(`${peers.tls.url}/v2/`, {
      ca,
      headers: { authorization: basicAuth(peers.tls.username, `${peers.tls.password}x`) },
    });
    assert.equal(wrong.status, 401);

    const ok = await send(`${peers.tls.url}/v2/`, {
      ca,
      headers: { authorization: basicAuth(peers.tls.username, peers.tls.password) },
    });
    assert.equal(ok.status, 200);
    assert.equal(header(ok, 'docker-distribution-api-version'), 'registry/2.0');
  });
});

describe('token auth registry', () => {
  const repo = 'harness/test';
  const { token: registry } = peers;
  const config = Buffer.from('{}');
  const layer = Buffer.from('hello from the lading test harness\n');
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_EMPTY, digest: sha256(config), size: config.length },
      layers: [{ mediaType: OCI_LAYER, digest: sha256(layer), size: layer.length }],
    }),
  );

  async function requestToken(scope: string, authorization?: string): Promise<Reply> {
    const url = new URL(registry.tokenServer.realm);
    url.searchParams.set('service', registry.tokenServer.service);
    url.searchParams.set('scope', scope);
    return send(url.href, authorization ? { headers: { authorization } } : {});
  }

  async function token(scope: string, authorization?: string): Promise<string> {
    const reply = await requestToken(scope, authorization);
    assert.equal(reply.status, 200, reply.body.toString());
    const body = JSON.parse(reply.body.toString()) as { token: string; access_token: string };
    assert.equal(body.token, body.access_token);
    return body.token;
  }

  it('challenges with Bearer realm naming our token server and service', async () => {
    const reply = await send(`${registry.url}/v2/`);
    assert.equal(reply.status, 401);
    const challenge = header(reply, 'www-authenticate');
    assert.match(challenge, /^Bearer realm="/);
    const params = challengeParams(challenge);
    assert.equal(params.realm, registry.tokenServer.realm);
    assert.equal(params.service, 'lading-registry');
  });

  it('pushes a blob and an OCI manifest with a token for pull,push and reads them back', async () => {
    const bearer = await token(`repository:${repo}:pull,push`, basicAuth(registry.username, registry.password));
    const claims = jwtClaims(bearer);
    assert.equal(claims.iss, 'lading-token-issuer');
    assert.equal(claims.aud, 'lading-registry');
    assert.equal(claims.sub, registry.username);
    assert.deepEqual(claims.access, [{ type: 'repository', name: repo, actions: ['pull', 'push'] }]);

    const auth = { authorization: `Bearer ${bearer}` };
    const layerDigest = await pushBlob(registry.url, repo, layer, auth);
    await pushBlob(registry.url, repo, config, auth);

    const put = await send(`${registry.url}/v2/${repo}/manifests/v1`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': OCI_MANIFEST },
      body: manifest,
    });
    assert.equal(put.status, 201, put.body.toString());
    assert.equal(header(put, 'docker-content-digest'), sha256(manifest));

    const got = await send(`${registry.url}/v2/${repo}/manifests/v1`, { headers: { ...auth, accept: OCI_MANIFEST } });
    assert.equal(got.status, 200);
    assert.equal(header(got, 'content-type'), OCI_MANIFEST);
    assert.deepEqual(got.body, manifest);

    const blob = await send(`${registry.url}/v2/${repo}/blobs/${layerDigest}`, { headers: auth });
    assert.equal(blob.status, 200);
    assert.deepEqual(blob.body, layer);
  });

  it('lets skopeo complete the token dance and read the exact manifest bytes', async () => {
    const { stdout } = await execFileAsync(
      'skopeo',
      [
        'inspect',
        '--raw',
        '--tls-verify=false',
        '--creds',
        `${registry.username}:${registry.password}`,
        `docker://${registry.host}/${repo}:v1`,
      ],
      { encoding: 'buffer' },
    );
    assert.deepEqual(stdout, manifest);
  });

  it('gives anonymous callers pull only, so their manifest PUT is denied', async () => {
    const bearer = await token(`repository:${repo}:pull,push`);
    const claims = jwtClaims(bearer);
    assert.equal(claims.sub, '');
    assert.deepEqual(claims.access, [{ type: 'repository', name: repo, actions: ['pull'] }]);

    const auth = { authorization: `Bearer ${bearer}` };
    const pulled = await send(`${registry.url}/v2/${repo}/manifests/v1`, {
      headers: { ...auth, accept: OCI_MANIFEST },
    });
    assert.equal(pulled.status, 200);

    const put = await send(`${registry.url}/v2/${repo}/manifests/anonymous`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': OCI_MANIFEST },
      body: manifest,
    });
    assert.equal(put.status, 401, put.body.toString());
    assert.match(header(put, 'www-authenticate'), /error="insufficient_scope"/);

    const check = await send(`${registry.url}/v2/${repo}/manifests/anonymous`, {
      headers: { ...auth, accept: OCI_MANIFEST },
    });
    assert.equal(check.status, 404);
  });

  it('answers wrong credentials with 401 from the token server', async () => {
    const reply = await requestToken(`repository:${repo}:pull`, basicAuth(registry.username, 'wrong-password'));
    assert.equal(reply.status, 401);
    assert.match(header(reply, 'www-authenticate'), /^Basic realm=/);
  });
});

describe('skopeo and umoci', () => {
  let work: string;
  before(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'lading-harness-'));
  });
  after(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  it('run and report their versions', async () => {
    const skopeo = await execFileAsync('skopeo', ['--version']);
    assert.match(skopeo.stdout, /^skopeo version \d+\.\d+\.\d+/);
    const umoci = await execFileAsync('umoci', ['--version']);
    assert.match(umoci.stdout, /^umoci version \d+\.\d+\.\d+/);
  });

  it('copy an umoci image to the TLS registry using the CA dir and credentials', async () => {
    const layout = path.join(work, 'layout');
    await execFileAsync('umoci', ['init', '--layout', layout]);
    await execFileAsync('umoci', ['new', '--image', `${layout}:v1`]);
    const index = JSON.parse(await fs.readFile(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const digest = index.manifests[0]?.digest;
    assert.ok(digest, 'umoci wrote no manifest');

    const { tls } = peers;
    await execFileAsync('skopeo', [
      'copy',
      '--preserve-digests',
      '--dest-cert-dir',
      tls.certDir,
      '--dest-creds',
      `${tls.username}:${tls.password}`,
      `oci:${layout}:v1`,
      `docker://${tls.host}/harness/umoci:v1`,
    ]);

    const got = await send(`${tls.url}/v2/harness/umoci/manifests/v1`, {
      ca: await fs.readFile(tls.caFile),
      headers: { authorization: basicAuth(tls.username, tls.password), accept: OCI_MANIFEST },
    });
    assert.equal(got.status, 200);
    assert.equal(sha256(got.body), digest);
  });
});

// Last: it takes the plain registry down and up again.
describe('stopRegistry / restartRegistry', () => {
  it('stops a registry and brings it back on the same port with the same data', async () => {
    const data = Buffer.from('survives a restart\n');
    const digest = await pushBlob(peers.plain.url, 'harness/restart', data, {});
    const oldPid = peers.plain.pid;

    await stopRegistry(peers, 'plain');
    assert.equal(peers.plain.pid, null);
    await assert.rejects(send(`${peers.plain.url}/v2/`), { code: 'ECONNREFUSED' });

    await restartRegistry(peers, 'plain');
    assert.equal(typeof peers.plain.pid, 'number');
    assert.notEqual(peers.plain.pid, oldPid);
    assert.equal(loadPeers().plain.pid, peers.plain.pid, 'peers.json carries the new pid');
    assert.ok(peers.plain.pid !== null && peers.pids.includes(peers.plain.pid));

    const head = await send(`${peers.plain.url}/v2/harness/restart/blobs/${digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(header(head, 'docker-content-digest'), digest);
  });
});
