// The registry client against an in-process fault server: what real registries do only on bad
// days (5xx, Retry-After, dropped connections, lying digests, expired tokens), redirects to a
// second origin, and the referrers API that distribution 2.8 lacks.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { fetchAll, listReferrers } from '../src/content/index.js';
import {
  type Descriptor,
  digestBytes,
  EmptyJsonDescriptor,
  encodeManifest,
  isLadingError,
  MediaType,
} from '../src/oci/index.js';
import { Registry, type RegistryOptions, staticCredential } from '../src/registry/index.js';
import { FaultServer, type FaultServerOptions, SecondOrigin } from './support/fault-server.js';

const fast = { minWaitMs: 1, maxWaitMs: 5 };
let server: FaultServer;
let registry: Registry;

function client(options: RegistryOptions = {}): Registry {
  return new Registry(server.host, { plainHttp: true, retry: fast, ...options });
}

async function start(options: FaultServerOptions = {}, clientOptions: RegistryOptions = {}) {
  server = await FaultServer.start(options);
  registry = client(clientOptions);
}

afterEach(async () => {
  await registry?.close();
  await server?.close();
});

function blob(bytes: Buffer): Descriptor {
  return { mediaType: MediaType.ImageLayer, digest: digestBytes(bytes), size: bytes.length };
}

function count(method: string, pattern: RegExp): number {
  return server.requests.filter((r) => r.method === method && pattern.test(r.url)).length;
}

/** The blob's first GET (not a Range request) breaks off after `at` bytes; later ones go through. */
function dropFirstGet(data: Buffer, digest: string, at = 100_000): void {
  let drop = true;
  server.intercept((req, res) => {
    if (req.method === 'GET' && req.url?.endsWith(digest) && !req.headers.range && drop) {
      drop = false;
      res.writeHead(200, { 'content-length': data.length, 'docker-content-digest': digest });
      res.write(data.subarray(0, at), () => res.socket?.destroy());
      return true;
    }
    return false;
  });
}

function codeOf(error: unknown): string | undefined {
  return isLadingError(error) ? error.code : undefined;
}

function artifact(subject: Descriptor, artifactType: string, note: string): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(
    encodeManifest({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType,
      config: EmptyJsonDescriptor,
      layers: [],
      subject,
      annotations: { note },
    }),
  );
  return { desc: { mediaType: MediaType.ImageManifest, digest: digestBytes(bytes), size: bytes.length }, bytes };
}

describe('retries', () => {
  beforeEach(() => start());

  test('5xx twice, then success', async () => {
    const data = randomBytes(100);
    server.putBlob(data);
    let failures = 2;
    server.intercept((req, res) => {
      if (req.method === 'GET' && req.url?.includes('/blobs/') && failures > 0) {
        failures--;
        res.writeHead(503).end('busy');
        return true;
      }
      return false;
    });
    const repo = registry.repository('faults/retry');
    assert.deepEqual(await fetchAll(repo, blob(data)), data);
    assert.equal(count('GET', /\/blobs\//), 3);
  });

  test('Retry-After is honoured, and the last 5xx is reported when retries run out', async () => {
    const data = randomBytes(10);
    server.putBlob(data);
    let first = true;
    server.intercept((req, res) => {
      if (req.method === 'HEAD' && first) {
        first = false;
        res.writeHead(429, { 'retry-after': '1' }).end();
        return true;
      }
      return false;
    });
    const repo = registry.repository('faults/retry-after');
    const started = Date.now();
    assert.equal(await repo.exists(blob(data)), true);
    assert.ok(Date.now() - started >= 950, `waited only ${Date.now() - started} ms`);

    server.clearInterceptors();
    server.intercept((_req, res) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'upstream down' }] }));
      return true;
    });
    await assert.rejects(repo.fetchManifest('v1'), (error: Error) => {
      assert.equal(codeOf(error), 'REGISTRY_ERROR');
      assert.match(error.message, /502 Bad Gateway: unavailable: upstream down/);
      return true;
    });
    assert.equal(count('GET', /manifests\/v1/), 6, 'one try and five retries');
  });

  test('a registry that accepts the connection and stays silent is given up on after a second try; the trace shows the request first, -H values masked', async () => {
    const trace: string[] = [];
    await registry.close();
    registry = client({
      timeouts: { replyMs: 100 },
      headers: { 'X-Api-Key': 'KEYSECRET-456' },
      trace: (line) => trace.push(line),
    });
    server.intercept((req) => req.url?.includes('/manifests/') === true); // taken, never answered
    await assert.rejects(registry.repository('faults/silent').resolve('v1'), (error: Error) => {
      assert.equal(codeOf(error), 'NETWORK_ERROR');
      assert.match(error.message, /timed out waiting for response headers/);
      return true;
    });
    assert.equal(count('HEAD', /\/manifests\/v1$/), 2, 'one retry after a silence, not five');
    assert.ok(
      trace.some((line) => /^> HEAD .*x-api-key: \*{5}/i.test(line)),
      'the request is traced before any answer',
    );
    assert.ok(
      trace.every((line) => !line.includes('KEYSECRET')),
      'the header value never shows',
    );
  });

  test('a connection dropped before the answer is retried', async () => {
    const data = randomBytes(10);
    server.putBlob(data);
    let drop = true;
    server.intercept((req) => {
      if (drop) {
        drop = false;
        req.socket.destroy();
        return true;
      }
      return false;
    });
    assert.deepEqual(await fetchAll(registry.repository('faults/drop'), blob(data)), data);
  });
});

describe('downloads', () => {
  beforeEach(() => start());

  test('resolve falls back to GET when HEAD lacks Docker-Content-Digest', async () => {
    const m = Buffer.from(
      encodeManifest({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EmptyJsonDescriptor, layers: [] }),
    );
    const digest = server.putManifest('faults/head', MediaType.ImageManifest, m, 'v1');
    server.intercept((req, res) => {
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'content-type': MediaType.ImageManifest, 'content-length': m.length }).end();
        return true;
      }
      return false;
    });
    const repo = registry.repository('faults/head');
    assert.deepEqual(await repo.resolve('v1'), { mediaType: MediaType.ImageManifest, digest, size: m.length });
    assert.equal(count('GET', /manifests\/v1$/), 1);
  });

  test('a refused connection is a NETWORK_ERROR naming the host', async () => {
    const gone = new Registry('127.0.0.1:1', { plainHttp: true, retry: { maxRetries: 1, ...fast } });
    try {
      await assert.rejects(gone.repository('x/y').resolve('v1'), (error: Error) => {
        assert.equal(codeOf(error), 'NETWORK_ERROR');
        assert.match(
          error.message,
          /^HEAD http:\/\/127\.0\.0\.1:1\/v2\/x\/y\/manifests\/v1: connection refused \(127\.0\.0\.1:1, ECONNREFUSED\)$/,
        );
        return true;
      });
    } finally {
      await gone.close();
    }
  });

  test('a connection dropped mid-body resumes with a Range request and yields verified bytes', async () => {
    const data = randomBytes(256 * 1024);
    const digest = server.putBlob(data);
    dropFirstGet(data, digest);
    const got = await fetchAll(registry.repository('faults/resume'), blob(data), { limit: 1 << 20 });
    assert.deepEqual(got, data);
    const ranged = server.requests.filter((r) => r.headers.range);
    assert.equal(ranged.length, 1);
    assert.match(String(ranged[0]?.headers.range), /^bytes=\d+-$/);
  });

  describe('a blob into a file on this thread (a fill)', () => {
    // Blobs under 256 KiB (too small for a blob thread) are fetched this way while the process has
    // fetched less than 64 MiB so: these tests stay well under that.
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'lading-fill-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    async function fillInto(desc: Descriptor, o: { signal?: AbortSignal; flags?: string } = {}) {
      const repo = registry.repository('faults/fill');
      const fill = repo.blobFill(desc, o.signal ? { signal: o.signal } : {});
      assert.ok(fill, 'a blob bound for a file is a fill');
      const path = join(dir, `blob-${Math.random()}`);
      await writeFile(path, '');
      const handle = await open(path, o.flags ?? 'r+');
      let reported = 0;
      try {
        const result = await fill.fill(handle, {
          ...(o.signal ? { signal: o.signal } : {}),
          onProgress: (n) => (reported += n),
        });
        return { result, bytes: await readFile(path), reported };
      } finally {
        await handle.close();
      }
    }

    test('a body dropped mid-way is picked up with a Range request; the file holds the blob', async () => {
      const data = randomBytes(200 * 1024);
      const digest = server.putBlob(data);
      dropFirstGet(data, digest);
      const { result, bytes, reported } = await fillInto(blob(data));
      assert.deepEqual(result, { filled: true });
      assert.deepEqual(bytes, data);
      assert.equal(reported, data.length, 'every byte reported once');
      const ranged = server.requests.filter((r) => r.headers.range);
      assert.equal(ranged.length, 1);
      assert.match(String(ranged[0]?.headers.range), /^bytes=\d+-$/);
    });

    test('bytes of another digest are DIGEST_MISMATCH, a body longer than the blob SIZE_MISMATCH', async () => {
      const claimed = randomBytes(100 * 1024);
      const digest = server.putBlob(claimed);
      server.blobs.set(digest, randomBytes(100 * 1024));
      await assert.rejects(fillInto(blob(claimed)), (e) => codeOf(e) === 'DIGEST_MISMATCH');
      server.intercept((req, res) => {
        if (req.method === 'GET' && req.url?.endsWith(digest)) {
          res.writeHead(200, { 'transfer-encoding': 'chunked' });
          res.end(Buffer.concat([claimed, claimed]));
          return true;
        }
        return false;
      });
      await assert.rejects(
        fillInto(blob(claimed)),
        (e) => codeOf(e) === 'SIZE_MISMATCH' && /longer than the expected/.test(String(e)),
      );
    });

    test('a file it cannot write is IO_ERROR; an abort mid-body is AbortError', async () => {
      const data = randomBytes(100 * 1024);
      const digest = server.putBlob(data);
      await assert.rejects(
        fillInto(blob(data), { flags: 'r' }),
        (e) => codeOf(e) === 'IO_ERROR' && /cannot write the blob/.test(String(e)),
      );
      server.intercept((req, res) => {
        if (req.method === 'GET' && req.url?.endsWith(digest)) {
          res.writeHead(200, { 'content-length': data.length });
          res.write(data.subarray(0, 1000)); // and stalls
          return true;
        }
        return false;
      });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      await assert.rejects(fillInto(blob(data), { signal: controller.signal }), (e: Error) => e.name === 'AbortError');
    });

    test('a fill released unused lets its request go, even one that failed, and fills no file after', async () => {
      // Sent slowly, and more than dropping it may read: released, the connection is closed before
      // the last piece; unreleased, the answer would be sent whole into the kernel's buffers.
      const data = randomBytes(2 * 1024 * 1024);
      const digest = server.putBlob(data);
      let ended: Promise<boolean> | undefined;
      server.intercept((req, res) => {
        if (req.method !== 'GET' || !req.url?.endsWith(digest)) return false;
        ended = new Promise<boolean>((resolve) => res.on('close', () => resolve(res.writableFinished)));
        res.writeHead(200, { 'content-length': data.length, 'docker-content-digest': digest });
        let at = 0;
        const next = () => {
          if (res.destroyed) return;
          if (at >= data.length) {
            res.end();
            return;
          }
          res.write(data.subarray(at, at + 64 * 1024));
          at += 64 * 1024;
          setTimeout(next, 10);
        };
        next();
        return true;
      });
      const repo = registry.repository('faults/fill');
      const unused = repo.blobFill(blob(data));
      assert.ok(unused?.release);
      while (!ended) await new Promise((resolve) => setTimeout(resolve, 5));
      unused.release();
      assert.equal(await ended, false, 'the answer was cut off: its connection closed');
      server.clearInterceptors();
      const handle = await open(join(dir, 'released'), 'w+');
      try {
        await assert.rejects(unused.fill(handle, {}), (e) => codeOf(e) === 'UNSUPPORTED');
      } finally {
        await handle.close();
      }
      // A blob the registry does not have: the early GET fails, unseen once released.
      repo.blobFill(blob(randomBytes(100 * 1024)))?.release?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual((await fillInto(blob(data))).bytes, data);
    });

    test('a Range request answered with the whole blob again is a failure, not a second copy', async () => {
      const data = randomBytes(200 * 1024);
      const digest = server.putBlob(data);
      dropFirstGet(data, digest);
      server.intercept((req, res) => {
        if (req.method === 'GET' && req.url?.endsWith(digest) && req.headers.range) {
          res.writeHead(200, { 'content-length': data.length });
          res.end(data);
          return true;
        }
        return false;
      });
      await assert.rejects(fillInto(blob(data)), (e) => codeOf(e) === 'NETWORK_ERROR');
    });
  });

  test('fetchBytes reads a small blob whole, and refuses one that lies about its bytes or runs long', async () => {
    const data = randomBytes(4096);
    const digest = server.putBlob(data);
    const repo = registry.repository('faults/bytes');
    let seen = 0;
    assert.deepEqual(await repo.fetchBytes(blob(data), { onProgress: (n) => (seen += n) }), data);
    assert.equal(seen, data.length);
    // Another blob's bytes under this digest, same length: the digest check catches them.
    const other = randomBytes(4096);
    server.blobs.set(digest, other);
    await assert.rejects(repo.fetchBytes(blob(data)), (e) => codeOf(e) === 'DIGEST_MISMATCH');
    // No Content-Length, and more bytes than the descriptor says: refused before the copy grows.
    server.intercept((req, res) => {
      if (req.method === 'GET' && req.url?.endsWith(digest)) {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        res.end(Buffer.concat([data, data]));
        return true;
      }
      return false;
    });
    await assert.rejects(
      repo.fetchBytes(blob(data)),
      (e) => codeOf(e) === 'SIZE_MISMATCH' && /longer than the expected 4096 bytes/.test(String(e)),
    );
  });

  test('a blob whose bytes do not match its digest fails with DIGEST_MISMATCH', async () => {
    const claimed = randomBytes(64);
    const served = randomBytes(64);
    server.blobs.set(digestBytes(claimed), served);
    const repo = registry.repository('faults/liar');
    const stream = await repo.fetch(blob(claimed));
    await assert.rejects(
      (async () => {
        for await (const _ of stream) {
          // drain
        }
      })(),
      (e) => codeOf(e) === 'DIGEST_MISMATCH',
    );
  });

  test('a redirect to a second origin gets no Authorization and no extra headers; the trace redacts its signature', async () => {
    await registry.close();
    await server.close();
    const trace: string[] = [];
    await start(
      { tokenAuth: true },
      { headers: { 'x-registry-secret': 'only-for-the-registry' }, trace: (line) => trace.push(line) },
    );
    const cdn = await SecondOrigin.start();
    try {
      const data = randomBytes(5000);
      const digest = server.putBlob(data);
      cdn.files.set('/object', data);
      server.intercept((req, res) => {
        if (req.method === 'GET' && req.url?.includes('/blobs/') && req.headers.authorization) {
          res.writeHead(307, { location: `${cdn.url}/object?X-Amz-Signature=abc` }).end();
          return true;
        }
        return false;
      });
      const repo = registry.repository('faults/redirect');
      assert.deepEqual(await fetchAll(repo, blob(data)), data);
      const toRegistry = server.requests.filter((r) => r.url.includes(digest));
      assert.ok(toRegistry.some((r) => r.headers.authorization?.startsWith('Bearer ')));
      assert.ok(toRegistry.every((r) => r.headers['x-registry-secret'] === 'only-for-the-registry'));
      assert.equal(cdn.requests.length, 1);
      assert.equal(cdn.requests[0]?.headers.authorization, undefined);
      assert.equal(cdn.requests[0]?.headers['x-registry-secret'], undefined);
      // The 307's Location is traced like the request lines: a presigned URL's signature is a secret.
      assert.ok(
        trace.some((line) => /^< 307 .*location: http:\/\/.*X-Amz-Signature=REDACTED/i.test(line)),
        trace.join('\n'),
      );
      assert.ok(
        trace.every((line) => !line.includes('Signature=abc')),
        'the signature never shows',
      );
    } finally {
      await cdn.close();
    }
  });
});

describe('referrers API and pagination', () => {
  test('a registry with the referrers API: OCI-Subject, server-side filter, Link pages', async () => {
    await start({ referrersApi: true, referrersPageSize: 2 });
    const repo = registry.repository('faults/referrers');
    const subjectBytes = Buffer.from(
      encodeManifest({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config: EmptyJsonDescriptor, layers: [] }),
    );
    const subject = {
      mediaType: MediaType.ImageManifest,
      digest: digestBytes(subjectBytes),
      size: subjectBytes.length,
    };
    await repo.push(subject, subjectBytes);
    const made = [
      artifact(subject, 'application/x.sig', 'one'),
      artifact(subject, 'application/x.sbom', 'two'),
      artifact(subject, 'application/x.sig', 'three'),
    ];
    for (const a of made) await repo.push(a.desc, a.bytes);
    assert.equal(repo.referrersState, 'supported');
    assert.ok(![...server.tags.keys()].some((t) => t.includes('sha256-')), 'no fallback index written');

    const pages: Descriptor[][] = [];
    for await (const page of repo.referrers(subject)) pages.push(page);
    assert.deepEqual(
      pages.map((p) => p.length),
      [2, 1],
    );
    const sigs = await listReferrers(repo, subject, { artifactType: 'application/x.sig' });
    assert.deepEqual(sigs.map((d) => d.annotations?.note).sort(), ['one', 'three']);
    const fallbackReads = server.requests.filter((r) => r.url.includes('/manifests/sha256-'));
    assert.equal(fallbackReads.length, 0);
  });

  test('referrers: a 404 with NAME_UNKNOWN is an error, not a missing API', async () => {
    await start({ referrersApi: true });
    server.intercept((req, res) => {
      if (req.url?.includes('/referrers/')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }),
        );
        return true;
      }
      return false;
    });
    const repo = registry.repository('faults/nameunknown');
    const subject = blob(Buffer.from('x'));
    await assert.rejects(listReferrers(repo, subject), (e) => codeOf(e) === 'NOT_FOUND');
    assert.equal(repo.referrersState, 'unknown');
  });

  test('tags come in pages that follow Link; a Link to another origin is refused', async () => {
    await start({}, { pageSize: 2 });
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const t of names) server.putManifest('faults/tags', MediaType.ImageManifest, Buffer.from(`{"t":"${t}"}`), t);
    const repo = registry.repository('faults/tags');
    const pages: string[][] = [];
    for await (const page of repo.tags()) pages.push(page);
    assert.deepEqual(pages, [['a', 'b'], ['c', 'd'], ['e']]);
    const after: string[] = [];
    for await (const page of repo.tags({ last: 'c' })) after.push(...page);
    assert.deepEqual(after, ['d', 'e']);

    server.intercept((req, res) => {
      if (req.url?.includes('/tags/list')) {
        res.writeHead(200, {
          'content-type': 'application/json',
          link: '<http://evil.example/v2/x/tags/list?last=b>; rel="next"',
        });
        res.end(JSON.stringify({ tags: ['a'] }));
        return true;
      }
      return false;
    });
    await assert.rejects(
      (async () => {
        for await (const _ of repo.tags()) {
          // drain
        }
      })(),
      /another origin/,
    );
  });
});

describe('tokens', () => {
  test('an expired token mid-transfer: 401 invalid_token, a new token, the request again', async () => {
    await start({ tokenAuth: true });
    const repo = registry.repository('faults/token', { push: true });
    const data = randomBytes(3000);
    const desc = blob(data);
    await repo.push(desc, data);
    assert.equal(server.tokensIssued, 1);

    server.expireTokens();
    assert.deepEqual(await fetchAll(repo, desc), data);
    assert.equal(server.tokensIssued, 2);

    // A manifest body is a buffer, so its PUT can be replayed after the token is renewed.
    server.expireTokens();
    const m = Buffer.from(
      encodeManifest({
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        config: EmptyJsonDescriptor,
        layers: [desc],
      }),
    );
    const mdesc = { mediaType: MediaType.ImageManifest, digest: digestBytes(m), size: m.length };
    await repo.pushReference(mdesc, m, 'v1');
    assert.equal(server.tokensIssued, 3);
    assert.deepEqual(await repo.resolve('v1'), mdesc);
    const invalid = server.requests.filter((r) => r.method === 'PUT' && r.url.endsWith('/manifests/v1'));
    assert.equal(invalid.length, 2, 'the PUT went once with the stale token and once with the new one');
  });
});

describe('token realm redirects', () => {
  test('a plain-HTTP realm on another host: an anonymous token is fetched there, a password never goes there', async () => {
    // The realm's host is a name that lives on loopback here (--resolve), as a host on another
    // machine would; the registry is plain HTTP, the user's choice.
    const seen: (string | undefined)[] = [];
    const listen = async (handler: Parameters<typeof createServer>[1]) => {
      const server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, port: (server.address() as AddressInfo).port };
    };
    const manifest = Buffer.from('{"schemaVersion":2}');
    const digest = digestBytes(manifest);
    const auth = await listen((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"anon"}');
    });
    const reg = await listen((req, res) => {
      if (req.headers.authorization === 'Bearer anon') {
        res
          .writeHead(200, {
            'content-type': MediaType.ImageManifest,
            'docker-content-digest': digest,
            'content-length': String(manifest.length),
          })
          .end();
        return;
      }
      res
        .writeHead(401, { 'www-authenticate': `Bearer realm="http://auth.test:${auth.port}/token",service="reg"` })
        .end();
    });
    const open = (credentials?: RegistryOptions['credentials']) =>
      new Registry(`reg.test:${reg.port}`, {
        plainHttp: true,
        retry: { maxRetries: 0 },
        ...(credentials ? { credentials } : {}),
        resolve: {
          [`reg.test:${reg.port}`]: { address: '127.0.0.1', port: reg.port },
          [`auth.test:${auth.port}`]: { address: '127.0.0.1', port: auth.port },
        },
      });
    const anonymous = open();
    const withPassword = open(staticCredential(`reg.test:${reg.port}`, { username: 'alice', password: 'secret-42' }));
    try {
      assert.equal((await anonymous.repository('a/b').resolve('v1')).digest, digest);
      assert.deepEqual(seen, [undefined], 'the anonymous token request carried nothing');
      await assert.rejects(withPassword.repository('a/b').resolve('v1'), /plain HTTP on another host/);
      assert.deepEqual(seen, [undefined], 'the password never went to the realm');
    } finally {
      await anonymous.close();
      await withPassword.close();
      for (const { server } of [auth, reg]) await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('a realm that redirects to an internal address is refused before it is asked, and its answer never shown', async () => {
    // reg.test is a name, not an internal address; it lives on loopback here (--resolve). Its token
    // service (on its own host: a plain-HTTP realm elsewhere is refused before anything) redirects
    // the token request to an internal service on this machine, which a hostile registry must not
    // reach through lading. Not by 127.0.0.1: the registry's connection came from loopback, so it is
    // on this machine and may keep its token service on loopback, by literal or by name alike
    // (session 23). 0.0.0.0 reaches the same listener and is never beside anything.
    const hits: string[] = [];
    const listen = async (handler: Parameters<typeof createServer>[1]) => {
      const server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { server, port: (server.address() as AddressInfo).port };
    };
    const internal = await listen((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"internal-secret-42"}');
    });
    const realm = await listen((_req, res) => {
      res.writeHead(302, { location: `http://0.0.0.0:${internal.port}/admin/keys` }).end();
    });
    const reg = await listen((_req, res) => {
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://reg.test:${realm.port}/token",service="reg"`,
          'content-type': 'application/json',
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"token needed"}]}');
    });
    const registry = new Registry(`reg.test:${reg.port}`, {
      plainHttp: true,
      retry: { maxRetries: 0 },
      resolve: {
        [`reg.test:${reg.port}`]: { address: '127.0.0.1', port: reg.port },
        [`reg.test:${realm.port}`]: { address: '127.0.0.1', port: realm.port },
      },
    });
    try {
      await assert.rejects(registry.repository('a/b').resolve('v1'), (error: unknown) => {
        assert.ok(isLadingError(error), String(error));
        assert.match(error.message, /internal address/);
        assert.doesNotMatch(error.message, /internal-secret-42/);
        return true;
      });
      assert.deepEqual(hits, [], 'the internal service was never asked');
    } finally {
      await registry.close();
      for (const { server } of [internal, realm, reg])
        await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('uploads', () => {
  test('chunked upload resumes after a PATCH whose connection dropped half-way', async () => {
    await start({}, { chunkSize: 1000 });
    const data = randomBytes(3500);
    let dropped = false;
    server.intercept((req, _res, body) => {
      if (req.method === 'PATCH' && !dropped && req.headers['content-range'] === '1000-1999') {
        dropped = true;
        // The registry kept the first half of the chunk before the connection broke.
        const id = new URL(req.url ?? '', server.url).pathname.split('/').at(-1) ?? '';
        server.uploads.set(id, Buffer.concat([server.uploads.get(id) ?? Buffer.alloc(0), body.subarray(0, 500)]));
        req.socket.destroy();
        return true;
      }
      return false;
    });
    const repo = registry.repository('faults/chunked');
    await repo.push(blob(data), data);
    assert.ok(dropped);
    assert.deepEqual(server.blobs.get(digestBytes(data)), data);
    const ranges = server.requests.filter((r) => r.method === 'PATCH').map((r) => r.headers['content-range']);
    assert.deepEqual(ranges, ['0-999', '1000-1999', '1500-1999', '2000-2999', '3000-3499']);
    assert.equal(count('GET', /\/blobs\/uploads\//), 1, 'one status query');
  });

  test('a monolithic upload of a buffer starts over in a new session after a dropped PUT', async () => {
    await start();
    const data = randomBytes(2000);
    let drop = true;
    server.intercept((req) => {
      if (req.method === 'PUT' && drop) {
        drop = false;
        req.socket.destroy();
        return true;
      }
      return false;
    });
    await registry.repository('faults/restart').push(blob(data), data);
    assert.deepEqual(server.blobs.get(digestBytes(data)), data);
    assert.equal(count('POST', /\/blobs\/uploads\//), 2);
  });

  test('an upload Location on another host is followed with no credential of the registry: token, -H header', async () => {
    await start({ tokenAuth: true });
    // The credentials name the server's host, known once it listens.
    await registry.close();
    registry = client({
      credentials: staticCredential(server.host, { username: 'u', password: 'p' }),
      headers: { 'x-registry-key': 'secret-key' },
    });
    const other = await SecondOrigin.start();
    try {
      server.intercept((req, res) => {
        if (req.method === 'POST' && req.headers.authorization) {
          res.writeHead(202, { location: `${other.url}/upload/one?sig=signed` }).end();
          return true;
        }
        return false;
      });
      const data = randomBytes(3000);
      await registry.repository('faults/location').push(blob(data), data);
      assert.deepEqual(other.files.get('/upload/one'), data, 'the blob went to the upload URL');
      const put = other.requests.find((r) => r.method === 'PUT');
      assert.ok(put, 'one PUT at the other host');
      assert.match(put.url, /^\/upload\/one\?sig=signed&digest=sha256%3A[0-9a-f]{64}$/);
      for (const r of other.requests) {
        assert.equal(r.headers.authorization, undefined, `${r.method} ${r.url} carried Authorization`);
        assert.equal(r.headers['x-registry-key'], undefined, `${r.method} ${r.url} carried the -H header`);
      }
      // The registry itself did get both: the test would pass vacuously otherwise.
      const post = server.requests.find((r) => r.method === 'POST' && r.headers.authorization);
      assert.match(post?.headers.authorization ?? '', /^Bearer /);
      assert.equal(post?.headers['x-registry-key'], 'secret-key');
    } finally {
      await other.close();
    }
  });

  test('a chunked upload moved to another host keeps Basic credentials at the registry', async () => {
    await start();
    await registry.close();
    registry = client({
      chunkSize: 1000,
      credentials: staticCredential(server.host, { username: 'u', password: 'p' }),
    });
    const other = await SecondOrigin.start();
    try {
      server.intercept((req, res) => {
        if (!req.headers.authorization) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="faults"' }).end();
          return true;
        }
        if (req.method === 'POST') {
          res.writeHead(202, { location: `${other.url}/upload/two` }).end();
          return true;
        }
        return false;
      });
      const data = randomBytes(2500);
      await registry.repository('faults/chunks').push(blob(data), data);
      assert.deepEqual(other.files.get('/upload/two'), data);
      assert.deepEqual(
        other.requests.map((r) => r.method),
        ['PATCH', 'PATCH', 'PATCH', 'PUT'],
      );
      for (const r of other.requests) assert.equal(r.headers.authorization, undefined, `${r.method} ${r.url}`);
      const post = server.requests.find((r) => r.method === 'POST' && r.headers.authorization);
      assert.equal(post?.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    } finally {
      await other.close();
    }
  });

  test('an upload Location that is not HTTP(S) is refused before any byte is sent', async () => {
    await start();
    server.intercept((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(202, { location: 'file:///etc/passwd' }).end();
        return true;
      }
      return false;
    });
    const data = randomBytes(10);
    await assert.rejects(registry.repository('faults/location').push(blob(data), data), (error: Error) => {
      assert.equal(codeOf(error), 'REGISTRY_ERROR');
      assert.match(error.message, /not HTTP\(S\)/);
      return true;
    });
  });

  test('mount answered with 202 cancels the opened session and reports false', async () => {
    await start();
    const repo = registry.repository('faults/mount');
    assert.equal(await repo.mount(blob(Buffer.from('absent')), 'faults/other'), false);
    assert.equal(count('DELETE', /\/blobs\/uploads\//), 1);
    assert.equal(server.uploads.size, 0);
    const present = Buffer.from('present');
    server.putBlob(present);
    assert.equal(await repo.mount(blob(present), 'faults/other'), true);
  });
});
