// The HTTP client against in-process servers: these are the faults (silence, stalls, early
// answers) a real registry does not produce on demand.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { HttpClient, type HttpClientOptions } from './http.js';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const connections: Socket[] = [];
  const server = createServer(handler);
  server.on('connection', (socket) => connections.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: (path = '/') => new URL(`http://127.0.0.1:${port}${path}`), connections };
}

function client(overrides: Partial<HttpClientOptions> = {}): HttpClient {
  return new HttpClient({
    keepAliveMs: 5_000,
    connectTimeoutMs: 5_000,
    headersTimeoutMs: 5_000,
    bodyTimeoutMs: 5_000,
    ...overrides,
  });
}

async function text(body: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('HttpClient', () => {
  test('keeps the connection alive between requests, and sends stream and buffer bodies whole', async () => {
    const received: string[] = [];
    const s = await serve(async (req, res) => {
      received.push(
        `${req.method} ${req.headers['transfer-encoding'] ?? req.headers['content-length']} ${await text(req)}`,
      );
      res.end('ok');
    });
    const http = client();
    try {
      const first = await http.request(s.url(), { method: 'PUT', headers: {}, body: Buffer.from('abc') });
      assert.equal(await text(first.body), 'ok');
      const second = await http.request(s.url(), {
        method: 'PATCH',
        headers: {},
        body: Readable.from([Buffer.from('de'), Buffer.from('f')]),
      });
      assert.equal(second.status, 200);
      await second.body.dump();
      assert.deepEqual(received, ['PUT 3 abc', 'PATCH chunked def']);
      assert.equal(s.connections.length, 1, 'one connection for both requests');
    } finally {
      await http.close();
    }
  });

  test('no response headers in time is HEADERS_TIMEOUT; a body that stalls is BODY_TIMEOUT', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/silent') return; // never answers
      res.writeHead(200, { 'content-length': '10' });
      res.write('12345'); // and stalls
    });
    const http = client({ headersTimeoutMs: 150, bodyTimeoutMs: 150 });
    try {
      await assert.rejects(
        http.request(s.url('/silent'), { method: 'GET', headers: {} }),
        (e: NodeJS.ErrnoException) => e.code === 'HEADERS_TIMEOUT',
      );
      const stalled = await http.request(s.url('/stall'), { method: 'GET', headers: {} });
      await assert.rejects(text(stalled.body), (e: NodeJS.ErrnoException) => e.code === 'BODY_TIMEOUT');
    } finally {
      await http.close();
    }
  });

  test('a request without a streamed body waits replyTimeoutMs for headers; an upload waits headersTimeoutMs', async () => {
    const s = await serve((req) => {
      req.resume(); // reads what is sent, never answers
    });
    const http = client({ replyTimeoutMs: 100, headersTimeoutMs: 300 });
    try {
      await assert.rejects(
        http.request(s.url('/head'), { method: 'HEAD', headers: {} }),
        (e: NodeJS.ErrnoException) => e.code === 'HEADERS_TIMEOUT' && /after 100 ms/.test(e.message),
      );
      await assert.rejects(
        http.request(s.url('/put'), { method: 'PUT', headers: {}, body: Readable.from([Buffer.from('upload')]) }),
        (e: NodeJS.ErrnoException) => e.code === 'HEADERS_TIMEOUT' && /after 300 ms/.test(e.message),
      );
    } finally {
      await http.close();
    }
  });

  test('an answer that comes before the request body is sent is returned, and the upload stops', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(401, { connection: 'close' });
      res.end('no');
    });
    const http = client();
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(64 * 1024));
      },
    });
    try {
      const reply = await http.request(s.url(), { method: 'PUT', headers: {}, body: endless });
      assert.equal(reply.status, 401);
      await reply.body.dump();
      await new Promise((r) => setTimeout(r, 50));
      assert.ok(endless.destroyed, 'the body stream is released');
      assert.ok(pulled < 10_000, `stopped reading the body (read ${pulled} chunks)`);
    } finally {
      await http.close();
    }
  });

  test('dump() drops a small remainder and keeps the connection; a large one closes it', async () => {
    const s = await serve((req, res) => {
      res.end(Buffer.alloc(req.url === '/large' ? 4 * 1024 * 1024 : 1024));
    });
    const http = client();
    try {
      await (await http.request(s.url('/small'), { method: 'GET', headers: {} })).body.dump();
      await (await http.request(s.url('/small'), { method: 'GET', headers: {} })).body.dump();
      assert.equal(s.connections.length, 1);
      await (await http.request(s.url('/large'), { method: 'GET', headers: {} })).body.dump();
      await (await http.request(s.url('/small'), { method: 'GET', headers: {} })).body.dump();
      assert.equal(s.connections.length, 2, 'a large unread body is not read to the end');
    } finally {
      await http.close();
    }
  });

  test('a body stream that failed before or while it is sent fails the request with its error', {
    timeout: 10_000,
  }, async () => {
    const s = await serve(async (req, res) => {
      await text(req).catch(() => {});
      res.end('ok');
    });
    const http = client();
    try {
      const failed = new Readable({ read() {} });
      failed.on('error', () => {});
      failed.destroy(new Error('digest mismatch'));
      await new Promise((r) => setImmediate(r));
      await assert.rejects(http.request(s.url(), { method: 'PUT', headers: {}, body: failed }), /digest mismatch/);

      let sent = 0;
      const breaking = new Readable({
        read() {
          sent++;
          if (sent < 3) this.push(Buffer.alloc(1024));
          else this.destroy(new Error('source broke'));
        },
      });
      await assert.rejects(
        http.request(s.url(), { method: 'PUT', headers: { 'content-length': '10000' }, body: breaking }),
        /source broke/,
      );
    } finally {
      await http.close();
    }
  });

  test('an abort signal ends a request in flight', async () => {
    const s = await serve(() => {});
    const http = client();
    const controller = new AbortController();
    try {
      const pending = http.request(s.url(), { method: 'GET', headers: {}, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    } finally {
      await http.close();
    }
  });
});
