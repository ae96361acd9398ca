// `lading serve` on a loopback address answers its browser view only to requests that name the
// server's own address, as `lading ui` does: a web page whose name was rebound to 127.0.0.1 (DNS
// rebinding) must not read the view's API from its own origin.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { startRegistry } from '../src/server/index.js';
import { tempDir } from './support/fixtures.js';

function get(
  port: number,
  path: string,
  host: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { host, ...extra }, agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

test('on 127.0.0.1 the view answers its own names only; on all interfaces, any', async () => {
  const work = await tempDir('lading-serve-host-');
  const loop = await startRegistry({ root: `${work.path}/a`, addr: '127.0.0.1:0' });
  const all = await startRegistry({ root: `${work.path}/b`, addr: '0.0.0.0:0' });
  try {
    const rebound = await get(loop.port, '/ui/api/info', `attacker.example:${loop.port}`);
    assert.equal(rebound.status, 403, rebound.body);
    assert.match(rebound.body, /is not this server's/);
    assert.equal((await get(loop.port, '/ui/', `attacker.example:${loop.port}`)).status, 403);
    for (const own of [`127.0.0.1:${loop.port}`, `localhost:${loop.port}`, `LOCALHOST:${loop.port}`]) {
      assert.equal((await get(loop.port, '/ui/api/info', own)).status, 200, own);
    }
    assert.equal((await get(all.port, '/ui/api/info', `registry.example:${all.port}`)).status, 200);
  } finally {
    await loop.close();
    await all.close();
    await work.cleanup();
  }
});

test('on 127.0.0.1 the registry API answers a web page only under its own names; registry clients under any', async () => {
  const work = await tempDir('lading-serve-host-');
  const loop = await startRegistry({ root: `${work.path}/a`, addr: '127.0.0.1:0', ui: false });
  try {
    const page = { origin: `http://attacker.example:${loop.port}`, 'sec-fetch-site': 'same-origin' };
    const rebound = await get(loop.port, '/v2/_catalog', `attacker.example:${loop.port}`, page);
    assert.equal(rebound.status, 403, rebound.body);
    assert.match(rebound.body, /DENIED/);
    assert.equal(
      (await get(loop.port, '/v2/', `attacker.example:${loop.port}`, { 'sec-fetch-mode': 'cors' })).status,
      403,
    );
    // A registry client (no Origin, no Sec-Fetch-*) may reach it by an alias of 127.0.0.1.
    assert.equal((await get(loop.port, '/v2/_catalog', `registry.local:${loop.port}`)).status, 200);
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

test('every loopback address gets the guard, not only 127.0.0.1', async () => {
  const { loopbackHosts } = await import('../src/server/ui/index.js');
  assert.deepEqual(loopbackHosts('127.0.0.2', 5000), [
    '127.0.0.2:5000',
    'localhost:5000',
    '127.0.0.1:5000',
    '[::1]:5000',
  ]);
  assert.ok(loopbackHosts('::1', 5000)?.includes('[::1]:5000'));
  assert.equal(loopbackHosts('0.0.0.0', 5000), undefined);
  assert.equal(loopbackHosts('192.0.2.1', 5000), undefined);
});
