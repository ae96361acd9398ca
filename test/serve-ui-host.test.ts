// `lading serve` and `lading ui` answer a web page only under the server's own names (DNS
// rebinding: a page whose name was rebound to the server's address is "same-origin" to the
// browser, and only the Host header tells), and never let a page of another site change the
// registry (CSRF: a form or a no-cors fetch needs no preflight). Registry clients, which send
// neither `Origin` nor `Sec-Fetch-*`, are not affected.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { CtfArchive } from '../src/ctf/index.js';
import { hostGuard, isLoopbackAddress, startRegistry } from '../src/server/index.js';
import { ctfStore, startUiServer } from '../src/server/ui/index.js';
import { assertOneLineError, cliArgs, lading } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { startServe } from './support/serve.js';

interface Answer {
  status: number;
  body: string;
}

function send(
  port: number,
  path: string,
  host: string,
  extra: Record<string, string> = {},
  o: { method?: string; body?: Buffer; connect?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: o.connect ?? '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers: { host, ...extra, ...(o.body ? { 'content-length': String(o.body.length) } : {}) },
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const get = (port: number, path: string, host: string, extra: Record<string, string> = {}, connect?: string) =>
  send(port, path, host, extra, connect ? { connect } : {});

/** Headers a page's fetch sends from `origin` (over plain HTTP to a name: Origin, no Sec-Fetch-*). */
const page = (origin: string, site?: string) => ({ origin, ...(site ? { 'sec-fetch-site': site } : {}) });

test('on 127.0.0.1 the view answers its own names only', async () => {
  const work = await tempDir('lading-serve-host-');
  const loop = await startRegistry({ root: `${work.path}/a`, addr: '127.0.0.1:0' });
  try {
    const rebound = await get(loop.port, '/ui/api/info', `attacker.example:${loop.port}`);
    assert.equal(rebound.status, 403, rebound.body);
    assert.match(rebound.body, /is not this server's/);
    assert.equal((await get(loop.port, '/ui/', `attacker.example:${loop.port}`)).status, 403);
    for (const own of [`127.0.0.1:${loop.port}`, `localhost:${loop.port}`, `LOCALHOST:${loop.port}`]) {
      assert.equal((await get(loop.port, '/ui/api/info', own)).status, 200, own);
    }
    // Another port is another origin: not this server's.
    assert.equal((await get(loop.port, '/ui/api/info', `localhost:${loop.port + 1}`)).status, 403);
  } finally {
    await loop.close();
  }
  // An alias the operator allows (a name in /etc/hosts, a proxy that keeps the Host) is answered.
  const aliased = await startRegistry({
    root: `${work.path}/b`,
    addr: '127.0.0.1:0',
    ui: false,
    allowedHosts: ['registry.local'],
  });
  try {
    assert.equal((await get(aliased.port, '/v2/_catalog', `registry.local:${aliased.port}`)).status, 200);
  } finally {
    await aliased.close();
    await work.cleanup();
  }
});

test('on 127.0.0.1 the registry API answers only under its own names, a web page or not', async () => {
  const work = await tempDir('lading-serve-host-');
  const loop = await startRegistry({ root: `${work.path}/a`, addr: '127.0.0.1:0', ui: false });
  try {
    const rebound = await get(
      loop.port,
      '/v2/_catalog',
      `attacker.example:${loop.port}`,
      page(`http://attacker.example:${loop.port}`, 'same-origin'),
    );
    assert.equal(rebound.status, 403, rebound.body);
    assert.match(rebound.body, /DENIED/);
    assert.equal(
      (await get(loop.port, '/v2/', `attacker.example:${loop.port}`, { 'sec-fetch-mode': 'cors' })).status,
      403,
    );
    // A page's own GET after DNS rebinding carries no browser marker: under a name that is not the
    // registry's, no request is answered (a registry client names it localhost or 127.0.0.1).
    const bare = await get(loop.port, '/v2/_catalog', `attacker.example:${loop.port}`);
    assert.equal(bare.status, 403, bare.body);
    assert.equal((await get(loop.port, '/v2/_catalog', `registry.local:${loop.port}`)).status, 403);
    for (const own of [`127.0.0.1:${loop.port}`, `localhost:${loop.port}`]) {
      assert.equal((await get(loop.port, '/v2/_catalog', own)).status, 200, own);
    }
    // A page served by the registry's own address is answered.
    const own = await get(loop.port, '/v2/_catalog', `localhost:${loop.port}`, {
      origin: `http://localhost:${loop.port}`,
    });
    assert.equal(own.status, 200, own.body);
  } finally {
    await loop.close();
    await work.cleanup();
  }
});

test('every spelling of a loopback address gets the loopback guard', async () => {
  const work = await tempDir('lading-serve-host-');
  try {
    for (const [addr, connect] of [
      ['127.1:0', '127.0.0.1'],
      ['127.0.0.2:0', '127.0.0.2'],
      ['[0:0:0:0:0:0:0:1]:0', '::1'],
      ['[::ffff:127.0.0.1]:0', '127.0.0.1'],
      ['localhost:0', undefined],
    ] as const) {
      const registry = await startRegistry({ root: join(work.path, addr.replace(/[^0-9a-z]/g, '_')), addr });
      try {
        const to = connect ?? registry.host;
        const port = registry.port;
        const attacker = `attacker.example:${port}`;
        assert.equal((await get(port, '/ui/api/info', attacker, {}, to)).status, 403, addr);
        const api = await get(port, '/v2/_catalog', attacker, page(`http://${attacker}`), to);
        assert.equal(api.status, 403, addr);
        // The machine's own name is no loopback name: a rebinding page could be served under it.
        assert.equal((await get(port, '/ui/api/info', `${hostname()}:${port}`, {}, to)).status, 403, addr);
        assert.equal((await get(port, '/ui/api/info', `localhost:${port}`, {}, to)).status, 200, addr);
        assert.equal((await get(port, '/ui/api/info', `[::1]:${port}`, {}, to)).status, 200, addr);
      } finally {
        await registry.close();
      }
    }
  } finally {
    await work.cleanup();
  }
});

test('on all interfaces a web page must name the server by an address, localhost, its machine name or an allowed name', async () => {
  const work = await tempDir('lading-serve-host-');
  const all = await startRegistry({ root: `${work.path}/a`, addr: ':0' });
  const v6 = await startRegistry({ root: `${work.path}/b`, addr: '[::]:0', allowedHosts: ['Registry.Example'] });
  try {
    assert.equal(all.host, '0.0.0.0');
    for (const [server, allowed] of [
      [all, false],
      [v6, true],
    ] as const) {
      const p = server.port;
      const rebound = `attacker.example:${p}`;
      // The view: every request (a same-origin GET over plain HTTP carries no browser marker).
      assert.equal((await get(p, '/ui/api/info', rebound)).status, 403);
      const denied = await get(p, '/ui/', rebound, page(`http://${rebound}`));
      assert.equal(denied.status, 403);
      // The registry API: a web page's request; registry clients under any name.
      const api = await get(p, '/v2/_catalog', rebound, page(`http://${rebound}`));
      assert.equal(api.status, 403, api.body);
      assert.match(api.body, /"code":"DENIED"/);
      assert.equal((await get(p, '/v2/_catalog', rebound)).status, 200);
      for (const own of [`192.0.2.7:${p}`, `[2001:db8::1]:${p}`, `localhost:${p}`, hostname(), `${hostname()}:${p}`]) {
        assert.equal((await get(p, '/ui/api/info', own)).status, 200, own);
        assert.equal((await get(p, '/v2/_catalog', own, page(`http://${own}`))).status, 200, own);
      }
      for (const name of ['registry.example', `registry.example:${p}`, 'REGISTRY.example:443']) {
        assert.equal((await get(p, '/ui/api/info', name)).status, allowed ? 200 : 403, name);
        const viaApi = await get(p, '/v2/_catalog', name, page(`http://${name}`));
        assert.equal(viaApi.status, allowed ? 200 : 403, name);
      }
    }
  } finally {
    await all.close();
    await v6.close();
    await work.cleanup();
  }
});

test('the guard is decided from the address bound, not the text of --addr', () => {
  for (const a of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:0:0:1']) {
    assert.ok(isLoopbackAddress(a), a);
  }
  for (const a of ['0.0.0.0', '::', '192.0.2.1', '::ffff:192.0.2.1', 'localhost', '2001:db8::1', '::2']) {
    assert.ok(!isLoopbackAddress(a), a);
  }
  const loop = hostGuard({ address: '::ffff:127.0.0.1', port: 5000 }, { hostname: 'builder' });
  assert.ok(loop('[::ffff:127.0.0.1]:5000'));
  assert.ok(loop('127.0.0.1:5000'));
  assert.ok(!loop('127.0.0.1:5001'));
  assert.ok(!loop('builder:5000'));
  assert.ok(!loop(undefined));
  assert.ok(!loop('localhost:5000:1'));
  assert.ok(loop('k3d-registry.localhost:5000'), 'a *.localhost name is loopback by definition');
  assert.ok(!loop('registry.localhost.example:5000'));
  const web = hostGuard({ address: '127.0.0.1', port: 80 });
  assert.ok(web('localhost'), 'the default port');
  const wide = hostGuard({ address: '::', port: 5000 }, { hostname: 'Builder', allowedHosts: ['[2001:db8::5]'] });
  assert.ok(wide('builder'));
  assert.ok(wide('BUILDER:5000'));
  assert.ok(!wide('builder.attacker.example'));
  assert.ok(!wide('127.0.0.1.attacker.example:5000'));
  assert.throws(
    () => hostGuard({ address: '::', port: 1 }, { allowedHosts: ['registry.example:5000'] }),
    /allowed host "registry.example:5000": expected a host name or IP address, without a port/,
  );
});

/** A monolithic blob upload, as a form or a no-cors fetch of another site can send one. */
async function upload(port: number, repository: string, headers: Record<string, string>): Promise<Answer> {
  const body = Buffer.from(`blob for ${repository}`);
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  return send(
    port,
    `/v2/${repository}/blobs/uploads/?digest=${digest}`,
    `127.0.0.1:${port}`,
    { 'content-type': 'text/plain', ...headers },
    { method: 'POST', body },
  );
}

test('a web page of another site cannot change the registry; its own pages and registry clients can', async () => {
  const work = await tempDir('lading-serve-csrf-');
  const registry = await startRegistry({ root: `${work.path}/r`, addr: '127.0.0.1:0', ui: false });
  const p = registry.port;
  const own = `http://127.0.0.1:${p}`;
  try {
    const refused: [string, Record<string, string>][] = [
      ['evil1', page('https://evil.example', 'cross-site')],
      ['evil2', page('http://127.0.0.1:1', 'same-site')],
      ['evil3', page('https://evil.example')],
      ['evil4', page('null')],
      ['evil5', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }],
      ['evil6', page(`https://127.0.0.1:${p}`)],
    ];
    for (const [repository, headers] of refused) {
      const r = await upload(p, repository, headers);
      assert.equal(r.status, 403, `${repository}: ${r.body}`);
      assert.deepEqual(JSON.parse(r.body), {
        errors: [{ code: 'DENIED', message: 'a web page of another site may not change this registry', detail: {} }],
      });
    }
    // Nothing was made: no repository, no blob.
    assert.deepEqual(JSON.parse((await get(p, '/v2/_catalog', `127.0.0.1:${p}`)).body), { repositories: [] });

    for (const [repository, headers] of [
      ['client', {}],
      ['own1', page(own, 'same-origin')],
      ['own2', page(own)],
      ['own3', { 'sec-fetch-site': 'none' }],
    ] as [string, Record<string, string>][]) {
      const r = await upload(p, repository, headers);
      assert.equal(r.status, 201, `${repository}: ${r.body}`);
    }
    const made = JSON.parse((await get(p, '/v2/_catalog', `127.0.0.1:${p}`)).body);
    assert.deepEqual(made, { repositories: ['client', 'own1', 'own2', 'own3'] });

    // Mounts, chunks, deletes: every method that changes something.
    const digest = `sha256:${createHash('sha256').update('blob for client').digest('hex')}`;
    const cross = page('https://evil.example', 'cross-site');
    const host = `127.0.0.1:${p}`;
    for (const [method, path] of [
      ['POST', `/v2/mounted/blobs/uploads/?mount=${digest}&from=client`],
      ['PATCH', '/v2/client/blobs/uploads/any'],
      ['PUT', '/v2/client/manifests/v1'],
      ['DELETE', `/v2/client/blobs/${digest}`],
    ] as const) {
      const r = await send(p, path, host, cross, { method, body: Buffer.from('x') });
      assert.equal(r.status, 403, `${method} ${path}: ${r.body}`);
    }
    assert.equal((await get(p, `/v2/client/blobs/${digest}`, host)).status, 200, 'the blob is still there');
    assert.equal((await get(p, `/v2/mounted/blobs/${digest}`, host)).status, 404, 'nothing was mounted');
    // Reading is not changing: a page elsewhere gets its answer refused by the browser (no CORS).
    assert.equal((await get(p, `/v2/client/blobs/${digest}`, host, cross)).status, 200);
  } finally {
    await registry.close();
    await work.cleanup();
  }
});

test('a page of another site is refused before the login: remembered credentials do not help it', async () => {
  const work = await tempDir('lading-serve-csrf-');
  const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', 'alice', 's3cret']);
  await writeFile(join(work.path, 'htpasswd'), stdout);
  const registry = await startRegistry({
    root: `${work.path}/r`,
    addr: '127.0.0.1:0',
    htpasswd: join(work.path, 'htpasswd'),
  });
  try {
    const basic = { authorization: `Basic ${Buffer.from('alice:s3cret').toString('base64')}` };
    const evil = await upload(registry.port, 'evil', { ...basic, ...page('https://evil.example', 'cross-site') });
    assert.equal(evil.status, 403, evil.body);
    const client = await upload(registry.port, 'client', basic);
    assert.equal(client.status, 201, client.body);
  } finally {
    await registry.close();
    await work.cleanup();
  }
});

test("the view's verify is answered only to a page of the view's own origin", async () => {
  const work = await tempDir('lading-ui-verify-');
  const archive = await CtfArchive.open(join(work.path, 'ctf'), { mode: 'create' });
  const server = await startUiServer({ store: ctfStore(archive, 'ctf'), keys: () => undefined });
  const port = Number(new URL(server.url).port);
  const host = `127.0.0.1:${port}`;
  const verify = (headers: Record<string, string>) =>
    send(
      port,
      '/ui/api/verify?component=acme.org/a&version=1',
      host,
      { 'x-lading-ui': 'verify', ...headers },
      {
        method: 'POST',
      },
    );
  try {
    for (const headers of [page('https://evil.example'), page('https://evil.example', 'cross-site'), page('null')]) {
      const r = await verify(headers);
      assert.equal(r.status, 403, r.body);
      assert.match(r.body, /verify is answered only to the view itself/);
    }
    // The view's own page gets past the guard to the store (which has no such component).
    for (const headers of [page(`http://${host}`), page(`http://${host}`, 'same-origin')]) {
      const r = await verify(headers);
      assert.equal(r.status, 404, r.body);
    }
  } finally {
    await server.close();
    await archive.close({ commit: false });
    await work.cleanup();
  }
});

test('lading serve and lading ui warn on a network address without a login; --allowed-host reaches the guard', async () => {
  const work = await tempDir('lading-serve-warn-');
  const warning =
    /^Warning: lading serve listens on http:\/\/0\.0\.0\.0:\d+ without --htpasswd: anyone who can reach it can read, push and delete every repository$/m;
  const served = await startServe([
    '--root',
    join(work.path, 'a'),
    '--addr',
    '0.0.0.0:0',
    '--allowed-host',
    'registry.example',
  ]);
  const loop = await startServe(['--root', join(work.path, 'b')]);
  try {
    // The browser view's line comes after the warning: wait for it.
    for (const s of [served, loop]) {
      for (let i = 0; !/browser view at/.test(s.stderr()); i++) {
        assert.ok(i < 1000, `no browser view line:\n${s.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.match(served.stderr(), warning);
    assert.equal(served.stderr().match(/Warning/g)?.length, 1);
    assert.doesNotMatch(loop.stderr(), /Warning/);
    const port = Number(/:(\d+)\D*$/.exec(served.ready.replace(/ \(root.*$/, ''))?.[1]);
    assert.equal((await get(port, '/ui/api/info', `registry.example:${port}`)).status, 200);
    assert.equal((await get(port, '/ui/api/info', `other.example:${port}`)).status, 403);
  } finally {
    await served.stop();
    await loop.stop();
  }
  const bad = await lading([
    'serve',
    '--root',
    join(work.path, 'c'),
    '--addr',
    '127.0.0.1:0',
    '--allowed-host',
    'a.example:80',
  ]);
  assertOneLineError(bad, /allowed host "a\.example:80": expected a host name or IP address, without a port/);

  const archive = await CtfArchive.open(join(work.path, 'ctf'), { mode: 'create' });
  await archive.close();
  const child = spawn(process.execPath, cliArgs(['ui', join(work.path, 'ctf'), '--addr', '0.0.0.0:0']), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        if (/Serving a read-only view/.test(err)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`lading ui exited ${code}: ${err}`)));
    });
    assert.match(
      err,
      /^Warning: the view listens on http:\/\/0\.0\.0\.0:\d+\/ui\/ with no login: anyone who can reach it can read all of .*ctf$/m,
    );
  } finally {
    child.kill();
    await work.cleanup();
  }
});

test('lading serve on 127.0.0.1: a refused host name is logged with the flag that admits it (a HEAD answer has no body to say so)', async () => {
  const work = await tempDir('lading-serve-refused-');
  const served = await startServe(['--root', join(work.path, 'r')]);
  try {
    const port = Number(served.host.split(':')[1]);
    const head = (host: string) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          method: 'HEAD',
          path: '/v2/hello/manifests/v1',
          headers: { host },
        });
        req.on('response', (r) => {
          r.resume();
          resolve(r);
        });
        req.on('error', reject);
        req.end();
      });
    const logged = async (line: RegExp) => {
      for (let i = 0; !line.test(served.stderr()); i++) {
        assert.ok(i < 250, `no request log line ${line}:\n${served.stderr()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    assert.equal((await head(`registry.example:${port}`)).statusCode, 403);
    await logged(
      new RegExp(
        `"HEAD /v2/hello/manifests/v1" 403 .* error="refused the host name \\\\"registry\\.example:${port}\\\\": not one of this server's names; start lading serve with --allowed-host registry\\.example to answer it"$`,
        'm',
      ),
    );
    // A Host that is no host name is not offered as a flag to paste into a shell.
    assert.equal((await head(`evil;curl x|sh:${port}`)).statusCode, 403);
    await logged(/ error="refused the host name \\"evil;curl x\|sh:\d+\\": not one of this server's names"$/m);
    assert.doesNotMatch(served.stderr(), /--allowed-host evil/);
  } finally {
    await served.stop();
    await work.cleanup();
  }
});
