// The HTTP client against in-process servers: these are the faults (silence, stalls, early
// answers) a real registry does not produce on demand.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { consumeBody } from './h1/exchange.js';
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

/**
 * A server that answers each request with the raw bytes `answer` gives (the faults Node's own
 * server will not produce: malformed heads, lying framing, interim answers, early closes).
 */
async function raw(answer: (request: string, socket: Socket, index: number) => void) {
  const connections: Socket[] = [];
  let requests = 0;
  const server = createNetServer((socket) => {
    connections.push(socket);
    let pending = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const request = pending.slice(0, end);
      pending = pending.slice(end + 4);
      answer(request, socket, requests++);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => {
    for (const c of connections) c.destroy();
    server.close();
  });
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

/**
 * Runs `body` (with HttpClient imported) in a process of its own, for what only a process shows:
 * whether it ends on its own. Asynchronous, so that this process's servers answer meanwhile.
 */
async function clientProcess(
  body: string,
): Promise<{ status: number | null; signal: string | null; out: string; err: string }> {
  const { spawn } = await import('node:child_process');
  const module = new URL('./http.ts', import.meta.url).pathname;
  const script = `import { HttpClient } from ${JSON.stringify(module)};\n${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    timeout: 30_000,
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const [status, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  return { status, signal, out, err };
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
      // A manifest's few bytes are a reply's wait; a chunk of a chunked upload (a buffer over 1 MiB) an upload's.
      await assert.rejects(
        http.request(s.url('/manifest'), { method: 'PUT', headers: {}, body: Buffer.from('{}') }),
        (e: NodeJS.ErrnoException) => e.code === 'HEADERS_TIMEOUT' && /after 100 ms/.test(e.message),
      );
      await assert.rejects(
        http.request(s.url('/chunk'), { method: 'PATCH', headers: {}, body: Buffer.alloc(2 * 1024 * 1024) }),
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

  test('a chunked body is read whole and the connection kept; an interim 100 is skipped', async () => {
    const s = await raw((request, socket, i) => {
      if (i === 0) socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
      if (i === 0) setTimeout(() => socket.write('2;x=y\r\nde\r\n0\r\n\r\n'), 20);
      if (i === 1) socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok\n\n');
      assert.match(request, /^GET \/ HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+$/);
    });
    const http = client();
    try {
      assert.equal(await text((await http.request(s.url(), { method: 'GET', headers: {} })).body), 'abcde');
      assert.equal(await text((await http.request(s.url(), { method: 'GET', headers: {} })).body), 'ok\n\n');
      assert.equal(s.connections.length, 1);
    } finally {
      await http.close();
    }
  });

  test('a malformed answer fails the request with BAD_RESPONSE, and a lying body fails the body', async () => {
    const answers: Record<string, string> = {
      '/status': 'HTTP/1.1 2000 OK\r\n\r\n',
      '/smuggle': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc',
      '/lengths': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc',
      '/huge': `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(70 * 1024)}`,
      '/lf': 'HTTP/1.1 200 OK\nContent-Length: 2\n\nok',
      '/interim': 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(20),
    };
    const s = await raw((request, socket) => {
      const path = request.split(' ')[1] ?? '';
      if (path === '/chunks') socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n');
      else socket.write(answers[path] ?? '');
    });
    const http = client();
    try {
      for (const path of Object.keys(answers)) {
        await assert.rejects(
          http.request(s.url(path), { method: 'GET', headers: {} }),
          (e: NodeJS.ErrnoException) => e.code === 'BAD_RESPONSE',
          path,
        );
      }
      const reply = await http.request(s.url('/chunks'), { method: 'GET', headers: {} });
      await assert.rejects(text(reply.body), (e: NodeJS.ErrnoException) => e.code === 'BAD_RESPONSE');
    } finally {
      await http.close();
    }
  });

  test('a body cut short is an ECONNRESET of the body; HTTP/1.0 without a length reads to the close', async () => {
    const s = await raw((request, socket) => {
      if (request.startsWith('GET /cut')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      else socket.end('HTTP/1.0 200 OK\r\n\r\nall of it');
    });
    const http = client();
    try {
      const cut = await http.request(s.url('/cut'), { method: 'GET', headers: {} });
      await assert.rejects(text(cut.body), (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET');
      const old = await http.request(s.url('/old'), { method: 'GET', headers: {} });
      assert.equal(await text(old.body), 'all of it');
    } finally {
      await http.close();
    }
  });

  test('an idle connection the server closed is replaced once; bytes past the framed end retire one', async () => {
    const s = await raw((request, socket, i) => {
      if (i === 0) {
        // Answers, then closes without saying so: the next request finds the connection gone.
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        setTimeout(() => socket.destroy(), 20);
      } else if (request.startsWith('GET /extra')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK');
      } else {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
    const http = client();
    try {
      assert.equal(await text((await http.request(s.url(), { method: 'GET', headers: {} })).body), 'ok');
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(await text((await http.request(s.url(), { method: 'GET', headers: {} })).body), 'ok');
      assert.equal(s.connections.length, 2);
      assert.equal(await text((await http.request(s.url('/extra'), { method: 'GET', headers: {} })).body), 'ok');
      assert.equal(await text((await http.request(s.url(), { method: 'GET', headers: {} })).body), 'ok');
      assert.equal(s.connections.length, 3, 'the connection that sent too much is not reused');
    } finally {
      await http.close();
    }
  });

  test('a header value with CR or LF is refused before anything is sent', async () => {
    const s = await raw(() => assert.fail('nothing may reach the server'));
    const http = client();
    try {
      await assert.rejects(
        http.request(s.url(), { method: 'GET', headers: { 'X-Note': 'a\r\nInjected: yes' } }),
        (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_CHAR',
      );
      assert.equal(s.connections.length, 0);
    } finally {
      await http.close();
    }
  });

  test('fields compare without case: a later User-Agent replaces an earlier one, and Host is sent once', async () => {
    const seen: string[] = [];
    const s = await raw((request, socket) => {
      seen.push(request);
      socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const http = client();
    try {
      const reply = await http.request(s.url(), {
        method: 'GET',
        headers: { 'user-agent': 'lading/1', 'User-Agent': 'mine/2', host: 'named.example' },
      });
      await reply.body.dump();
      const fields = (seen[0] ?? '').split('\r\n').slice(1);
      assert.deepEqual(fields, ['User-Agent: mine/2', 'host: named.example']);
    } finally {
      await http.close();
    }
  });

  test('a head and body dripped a byte at a time read the same as sent whole', async () => {
    const answer = `HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Long: ${'v'.repeat(300)}\r\n\r\nhello`;
    const s = await raw((_request, socket) => {
      let i = 0;
      const next = () => {
        if (i < answer.length) socket.write(answer[i++] as string, () => setImmediate(next));
      };
      next();
    });
    const http = client();
    try {
      const reply = await http.request(s.url(), { method: 'GET', headers: {} });
      assert.equal(reply.headers['x-long'], 'v'.repeat(300));
      assert.equal(await text(reply.body), 'hello');
    } finally {
      await http.close();
    }
  });

  test('a large buffer body waits for the server to read it, not the reply timeout', async () => {
    // The server reads nothing for 400 ms: the 16 MiB body is still being sent when a reply timeout
    // of 100 ms would have run out, had it started when the body was queued.
    const server = createNetServer((socket) => {
      socket.pause();
      let got = 0;
      setTimeout(() => {
        socket.on('data', (chunk) => {
          got += chunk.length;
          if (got >= 16 * 1024 * 1024) socket.write('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n');
        });
        socket.resume();
      }, 400);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // (A buffer this size is an upload: it waits headersTimeoutMs, not replyTimeoutMs.)
    const http = client({ replyTimeoutMs: 100, headersTimeoutMs: 100 });
    try {
      const { port } = server.address() as AddressInfo;
      const reply = await http.request(new URL(`http://127.0.0.1:${port}/`), {
        method: 'PATCH',
        headers: {},
        body: Buffer.alloc(16 * 1024 * 1024),
      });
      assert.equal(reply.status, 202);
    } finally {
      await http.close();
      server.close();
    }
  });

  test('an answer after the last byte is queued does not cut the upload; a stalled upload times out', async () => {
    const s = await raw((request, socket) => {
      if (request.startsWith('PUT /early')) socket.write('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
      // /stall: drips interim answers and reads nothing.
      else {
        socket.pause();
        const drip = setInterval(() => socket.write('HTTP/1.1 100 Continue\r\n\r\n'), 40);
        socket.once('close', () => clearInterval(drip));
        setTimeout(() => clearInterval(drip), 500);
      }
    });
    const http = client({ bodyTimeoutMs: 200 });
    try {
      // Every declared byte is sent; the stream notices its end only later (one more read).
      const late = new Readable({ read() {} });
      late.push(Buffer.alloc(1000));
      setTimeout(() => late.push(null), 100);
      const reply = await http.request(s.url('/early'), {
        method: 'PUT',
        headers: { 'content-length': '1000' },
        body: late,
      });
      assert.equal(reply.status, 201);
      await reply.body.dump();
      assert.equal(late.destroyed && !late.readableEnded, false, 'the upload stream is left to end');
      const endless = new Readable({
        read() {
          this.push(Buffer.alloc(256 * 1024));
        },
      });
      await assert.rejects(
        http.request(s.url('/stall'), { method: 'PUT', headers: {}, body: endless }),
        (e: NodeJS.ErrnoException) => e.code === 'BODY_TIMEOUT' && /stalled/.test(e.message),
      );
    } finally {
      await http.close();
    }
  });

  test('an upload the server reads slowly but steadily is not taken for a stalled one', async () => {
    // The server reads ~12 MiB/s, the body timeout is 1 s (a loaded machine can starve either end
    // for a few hundred ms), and the 40 MiB body (more than the kernel buffers between the two
    // ends hold) takes about three seconds: progress is what the socket
    // has written out, which a Buffer queued whole at once (or a stream queued to its end) reaches
    // only slowly, not what was queued.
    const size = 40 * 1024 * 1024;
    const server = createNetServer((socket) => {
      let got = 0;
      let head = true;
      socket.on('data', (chunk) => {
        if (head) {
          head = false;
          chunk = chunk.subarray(chunk.indexOf('\r\n\r\n') + 4);
        }
        got += chunk.length;
        socket.pause();
        setTimeout(() => socket.resume(), 5);
        if (got >= size) socket.end('HTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    after(() => server.close());
    const { port } = server.address() as AddressInfo;
    const mib = Buffer.alloc(1024 * 1024);
    for (const body of [Buffer.alloc(size), Readable.from(Array.from({ length: 40 }, () => mib))]) {
      const http = client({ bodyTimeoutMs: 1000 });
      try {
        const reply = await http.request(new URL(`http://127.0.0.1:${port}/slow`), {
          method: 'PUT',
          headers: Buffer.isBuffer(body) ? {} : { 'content-length': String(size) },
          body,
        });
        assert.equal(reply.status, 201);
        await reply.body.dump();
      } finally {
        await http.close();
      }
    }
  });

  test("a server's Keep-Alive timeout bounds how long its connection is kept idle, a second short of it", async () => {
    const s = await raw((request, socket) => {
      const seconds = /GET \/(\d+)/.exec(request)?.[1] ?? '5';
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=${seconds}, max=100\r\n\r\nok`);
    });
    const http = client({ keepAliveMs: 5_000 });
    try {
      const get = async (path: string) => text((await http.request(s.url(path), { method: 'GET', headers: {} })).body);
      // timeout=1: nothing left to keep it for; each request has a connection of its own.
      await get('/1');
      await get('/1');
      assert.equal(s.connections.length, 2);
      // timeout=2: kept, and reused at once...
      await get('/2');
      await get('/2');
      assert.equal(s.connections.length, 3);
      // ...but let go after a second idle, before the server would close it under a new request.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      await get('/2');
      assert.equal(s.connections.length, 4);
    } finally {
      await http.close();
    }
  });

  test('a Content-Length that does not match the body is refused before anything is sent', async () => {
    const s = await raw(() => assert.fail('nothing may reach the server'));
    const http = client();
    try {
      await assert.rejects(
        http.request(s.url(), { method: 'PUT', headers: { 'Content-Length': '5' }, body: Buffer.from('abc') }),
        (e: NodeJS.ErrnoException) => e.code === 'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
      );
      await assert.rejects(
        http.request(s.url(), { method: 'PUT', headers: { 'Content-Length': 'ten' }, body: Readable.from(['x']) }),
        (e: NodeJS.ErrnoException) => e.code === 'ERR_HTTP_INVALID_HEADER_VALUE',
      );
      // The framing is the client's: a caller's Transfer-Encoding would announce chunks never sent.
      for (const body of [Buffer.from('abc'), null]) {
        await assert.rejects(
          http.request(s.url(), { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' }, body }),
          (e: NodeJS.ErrnoException) => e.code === 'ERR_HTTP_INVALID_HEADER_VALUE',
        );
      }
      assert.equal(s.connections.length, 0);
    } finally {
      await http.close();
    }
  });

  test('warm opens the connection the first request then takes, whether it is still connecting or idle', async () => {
    const s = await serve((_req, res) => res.end('ok'));
    const http = client();
    try {
      // Taken while it connects: the request waits for it rather than opening another.
      http.warm(s.url());
      const first = await http.request(s.url('/a'), { method: 'GET', headers: {} });
      assert.equal(await text(first.body), 'ok');
      assert.equal(s.connections.length, 1, 'the warmed connection carried the request');
      // A second warm while one connection is idle opens nothing more.
      http.warm(s.url());
      const second = await http.request(s.url('/b'), { method: 'GET', headers: {} });
      await second.body.dump();
      assert.equal(s.connections.length, 1);
    } finally {
      await http.close();
    }
    const other = client();
    try {
      // Taken once idle: it connected before the request came.
      other.warm(s.url());
      while (s.connections.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 20));
      const reply = await other.request(s.url('/c'), { method: 'GET', headers: {} });
      assert.equal(await text(reply.body), 'ok');
      assert.equal(s.connections.length, 2, 'no third connection');
    } finally {
      await other.close();
    }
  });

  test('a warm connection that fails is silent until a request takes it, which then fails with its error', async () => {
    // Nothing listens on this port once the probe server is closed.
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const http = client();
    try {
      const dead = new URL(`http://127.0.0.1:${deadPort}/`);
      http.warm(dead);
      await assert.rejects(
        http.request(dead, { method: 'GET', headers: {} }),
        (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED',
      );
    } finally {
      await http.close();
    }
  });

  test('a warm connection keeps the process alive only once a request has it', async () => {
    // A server that takes the connection and never answers the TLS handshake: the warm connection
    // stays in the making, its 60 s connect timer running.
    const s = await raw(() => {});
    const url = new URL(s.url().href.replace('http:', 'https:'));
    // Never closed: were the connection or its timer to hold the process, it would run until the
    // kill after 30 s.
    const { status, signal, out, err } = await clientProcess(`
      const http = new HttpClient({ keepAliveMs: 60000, connectTimeoutMs: 60000, headersTimeoutMs: 60000, bodyTimeoutMs: 60000 });
      http.warm(new URL(${JSON.stringify(url.href)}));
      setTimeout(() => process.stdout.write('warmed'), 200);
    `);
    assert.equal(signal, null, 'the process ended on its own');
    assert.equal(status, 0, err);
    assert.equal(out, 'warmed');
    assert.equal(s.connections.length, 1, 'the connection was opened');
  });

  test('a request that waits for a warm connection still connecting keeps the process alive until it ends', async () => {
    // The TLS handshake never completes: the warm connection, then the request's own, time out.
    const s = await raw(() => {});
    const url = new URL(s.url().href.replace('http:', 'https:'));
    const { status, out, err } = await clientProcess(`
      const http = new HttpClient({ keepAliveMs: 60000, connectTimeoutMs: 300, headersTimeoutMs: 60000, bodyTimeoutMs: 60000 });
      const url = new URL(${JSON.stringify(url.href)});
      http.warm(url);
      http.request(url, { method: 'GET', headers: {} }).then(
        () => process.stdout.write('answered'),
        (e) => process.stdout.write(String(e.code)),
      );
    `);
    assert.equal(status, 0, err);
    assert.equal(out, 'CONNECT_TIMEOUT', 'the request ran to its end before the process did');
    assert.equal(s.connections.length, 1, "the warm connection's failure is the request's: no second wait");
  });
});

describe('a body consumed as it arrives (consume)', () => {
  /** Every byte `consume` hands over, copied: a piece may be the connection's shared read buffer. */
  async function consumed(body: Readable): Promise<Buffer> {
    const pieces: Buffer[] = [];
    await consumeBody(body, (bytes) => pieces.push(Buffer.from(bytes)));
    return Buffer.concat(pieces);
  }

  test('a large body comes whole and in order, what the stream held first; the connection is kept', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': data.length });
      // A first part the stream takes before anyone consumes it, then the rest in one go.
      res.write(data.subarray(0, 100_000));
      setTimeout(() => res.end(data.subarray(100_000)), 50);
    });
    const http = client();
    try {
      for (let i = 0; i < 2; i++) {
        const reply = await http.request(s.url(), { method: 'GET', headers: {} });
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(reply.body.readableLength > 0, 'the first part waits in the stream');
        assert.deepEqual(await consumed(reply.body), data);
      }
      assert.equal(s.connections.length, 1, 'one connection for both');
    } finally {
      await http.close();
    }
  });

  test('a plain connection hands its reads over uncopied, one shared buffer for all; two at once stay apart', async () => {
    const a = randomBytes(2 * 1024 * 1024);
    const b = randomBytes(2 * 1024 * 1024);
    const s = await serve((req, res) => {
      const data = req.url === '/a' ? a : b;
      res.writeHead(200, { 'content-length': data.length });
      // Both bodies in pieces, so that the two connections' reads interleave.
      let at = 0;
      const next = () => {
        if (at >= data.length) {
          res.end();
          return;
        }
        res.write(data.subarray(at, at + 256 * 1024));
        at += 256 * 1024;
        setTimeout(next, 2);
      };
      next();
    });
    const http = client();
    try {
      const [ra, rb] = await Promise.all([
        http.request(s.url('/a'), { method: 'GET', headers: {} }),
        http.request(s.url('/b'), { method: 'GET', headers: {} }),
      ]);
      const buffers = new Map<ArrayBufferLike, number>();
      const take = (pieces: Buffer[]) => (bytes: Buffer) => {
        buffers.set(bytes.buffer, (buffers.get(bytes.buffer) ?? 0) + 1);
        pieces.push(Buffer.from(bytes));
      };
      const pa: Buffer[] = [];
      const pb: Buffer[] = [];
      await Promise.all([consumeBody(ra.body, take(pa)), consumeBody(rb.body, take(pb))]);
      assert.deepEqual(Buffer.concat(pa), a);
      assert.deepEqual(Buffer.concat(pb), b);
      const shared = [...buffers].filter(([, n]) => n > 1);
      assert.equal(shared.length, 1, 'one buffer gave several pieces: the read buffer');
      assert.equal(shared[0]?.[0].byteLength, 1024 * 1024);
    } finally {
      await http.close();
    }
  });

  test('a body that came whole with its head, and a chunked one, are consumed whole', async () => {
    const s = await raw((request, socket) => {
      if (request.startsWith('GET /whole')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
      else {
        socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
        setTimeout(() => socket.write('2\r\nde\r\n0\r\n\r\n'), 20);
      }
    });
    const http = client();
    try {
      const whole = await http.request(s.url('/whole'), { method: 'GET', headers: {} });
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal((await consumed(whole.body)).toString(), 'hello');
      const chunked = await http.request(s.url('/chunked'), { method: 'GET', headers: {} });
      assert.equal((await consumed(chunked.body)).toString(), 'abcde');
      assert.equal(s.connections.length, 1);
    } finally {
      await http.close();
    }
  });

  test('what the consumer throws fails the consume and retires the connection', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': data.length });
      res.end(data);
    });
    const http = client();
    try {
      const reply = await http.request(s.url(), { method: 'GET', headers: {} });
      let calls = 0;
      await assert.rejects(
        consumeBody(reply.body, () => {
          calls++;
          throw new Error('disk full');
        }),
        /disk full/,
      );
      assert.equal(calls, 1, 'no byte after the failure');
      const again = await http.request(s.url(), { method: 'GET', headers: {} });
      assert.deepEqual(await consumed(again.body), data);
      assert.equal(s.connections.length, 2, 'the failed body left its connection');
    } finally {
      await http.close();
    }
  });

  test('a body cut short is ECONNRESET, a silent one BODY_TIMEOUT, an aborted one AbortError', async () => {
    const s = await raw((request, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n');
      socket.write(Buffer.alloc(10_000, 1));
      if (request.startsWith('GET /cut')) setTimeout(() => socket.end(Buffer.alloc(10_000, 2)), 20);
    });
    const http = client({ bodyTimeoutMs: 200 });
    try {
      const cut = await http.request(s.url('/cut'), { method: 'GET', headers: {} });
      let got = 0;
      await assert.rejects(
        consumeBody(cut.body, (b) => (got += b.length)),
        (e: NodeJS.ErrnoException) => e.code === 'ECONNRESET',
      );
      assert.equal(got, 20_000, 'every byte before the cut');
      const silent = await http.request(s.url('/silent'), { method: 'GET', headers: {} });
      await assert.rejects(
        consumeBody(silent.body, () => {}),
        (e: NodeJS.ErrnoException) => e.code === 'BODY_TIMEOUT',
      );
      const controller = new AbortController();
      const aborted = await http.request(s.url('/abort'), { method: 'GET', headers: {}, signal: controller.signal });
      setTimeout(() => controller.abort(), 20);
      await assert.rejects(
        consumeBody(aborted.body, () => {}),
        (e: Error) => e.name === 'AbortError',
      );
    } finally {
      await http.close();
    }
  });

  test('a plain stream is consumed as its chunks, and its error is the failure', async () => {
    const pieces: string[] = [];
    await consumeBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), (b) => pieces.push(b.toString()));
    assert.deepEqual(pieces, ['ab', 'cd']);
    const failing = new Readable({
      read() {
        this.destroy(new Error('source failed'));
      },
    });
    await assert.rejects(
      consumeBody(failing, () => {}),
      /source failed/,
    );
    await assert.rejects(
      consumeBody(Readable.from([Buffer.from('x')]), () => {
        throw new Error('refused');
      }),
      /refused/,
    );
    const paused = Readable.from([Buffer.from('p')]);
    paused.pause();
    const got: string[] = [];
    await consumeBody(paused, (b) => got.push(b.toString()));
    assert.deepEqual(got, ['p'], 'a paused stream flows');
    const gone = Readable.from([Buffer.from('q')]);
    gone.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(
      consumeBody(gone, () => {}),
      /closed before its end/,
    );
  });
});
