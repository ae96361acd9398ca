// The layers of the HTTP client against in-process servers: the transport (redirects, credentials
// to their origin only, the URL check), the authorizer wrapped around it, and the capped reader.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { isLadingError, LadingError } from '../oci/index.js';
import { Authorizer } from './auth/authorizer.js';
import type { HttpReply, HttpRequest, Sender } from './message.js';
import { readBody } from './reply.js';
import { noRetry } from './retry.js';
import { Transport } from './transport.js';

const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

interface Seen {
  url: string;
  authorization: string | undefined;
}

/** A server on its own origin that records each request, then lets `handler` answer. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: (path = '/') => new URL(`http://127.0.0.1:${port}${path}`), seen };
}

describe('Transport', () => {
  test('an authorization goes to the origin of the request only, not after a redirect elsewhere', async () => {
    const far = await serve((_req, res) => res.end('far'));
    const near = await serve((req, res) => {
      if (req.url === '/away') res.writeHead(302, { location: far.url('/blob').href }).end();
      else if (req.url === '/here') res.writeHead(307, { location: '/final' }).end();
      else res.end('near');
    });
    const transport = new Transport({ retry: noRetry });
    try {
      for (const path of ['/away', '/here']) {
        const reply = await transport.send({ method: 'GET', url: near.url(path), authorization: 'Basic c2VjcmV0' });
        await readBody(reply, 1024, path);
      }
      assert.deepEqual(near.seen, [
        { url: '/away', authorization: 'Basic c2VjcmV0' },
        { url: '/here', authorization: 'Basic c2VjcmV0' },
        { url: '/final', authorization: 'Basic c2VjcmV0' },
      ]);
      assert.deepEqual(far.seen, [{ url: '/blob', authorization: undefined }]);
    } finally {
      await transport.close();
    }
  });

  test('a redirect target that cannot be reached is named in the error, not the first host', async () => {
    // A port nobody listens on: bound, then closed.
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise((resolve) => gone.close(resolve));
    const near = await serve((_req, res) => res.writeHead(302, { location: `http://127.0.0.1:${port}/blob` }).end());
    const transport = new Transport({ retry: noRetry });
    try {
      await assert.rejects(transport.send({ method: 'GET', url: near.url('/away') }), (e: unknown) => {
        assert.ok(isLadingError(e, 'NETWORK_ERROR'), String(e));
        assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
        return true;
      });
    } finally {
      await transport.close();
    }
  });

  test('a retry backoff cut short by the signal rejects with ABORTED, never a bare AbortError', async () => {
    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const { port } = gone.address() as AddressInfo;
    await new Promise((resolve) => gone.close(resolve));
    const transport = new Transport({ retry: { ...noRetry, maxRetries: 5, minWaitMs: 2000, maxWaitMs: 2000 } });
    const stop = new AbortController();
    const reason = new Error('a sibling failed');
    setTimeout(() => stop.abort(reason), 200);
    try {
      await assert.rejects(
        transport.send({ method: 'GET', url: new URL(`http://127.0.0.1:${port}/v2/`), signal: stop.signal }),
        (e: unknown) => {
          assert.ok(isLadingError(e, 'ABORTED'), String(e));
          assert.equal(e.cause, reason);
          return true;
        },
      );
    } finally {
      await transport.close();
    }
  });

  test('extra headers may not set the framing of a message (Content-Length, Transfer-Encoding)', () => {
    for (const name of ['Content-Length', 'transfer-encoding']) {
      assert.throws(
        () => new Transport({ retry: noRetry, headers: { [name]: 'chunked' } }),
        (e: unknown) => isLadingError(e, 'INVALID_ARGUMENT') && e.message.includes(name),
      );
    }
  });

  test('checkUrl sees every hop before it is asked, and its refusal ends the request', async () => {
    const checked: string[] = [];
    const refused = await serve((_req, res) => res.end('never'));
    const s = await serve((_req, res) => res.writeHead(302, { location: refused.url('/x').href }).end());
    const transport = new Transport({
      retry: noRetry,
      checkUrl: (url) => {
        checked.push(url.href);
        if (url.origin === refused.url().origin) throw new LadingError('DENIED', `not ${url.origin}`);
      },
    });
    try {
      await assert.rejects(transport.send({ method: 'GET', url: s.url('/start') }), (e: unknown) =>
        isLadingError(e, 'DENIED'),
      );
      assert.deepEqual(checked, [s.url('/start').href, refused.url('/x').href]);
      assert.equal(refused.seen.length, 0, 'the refused origin was not asked');
    } finally {
      await transport.close();
    }
  });

  test("directRedirect: a thread's GET of a redirect target carries no credential and none of the origin's fields, and is refused where a hop would be", async () => {
    const checked: string[] = [];
    const transport = new Transport({
      retry: noRetry,
      origin: 'https://registry.test',
      headers: { 'X-Registry-Secret': 'only-for-the-registry', Authorization: 'Basic c2VjcmV0' },
      checkUrl: (url) => {
        checked.push(url.href);
        if (url.hostname === 'blocked.test') throw new LadingError('INVALID_ARGUMENT', `${url.host} is not allowed`);
      },
    });
    try {
      const from = new URL('https://registry.test/v2/r/blobs/sha256:aa');
      const get = await transport.directRedirect(from, new URL('https://cdn.test:8443/o/1?X-Amz-Signature=abc'));
      assert.ok(get);
      assert.equal(get.connection.secure, true);
      assert.equal(get.connection.name, 'cdn.test');
      assert.equal(get.connection.port, 8443);
      assert.equal(get.connection.rejectUnauthorized, true, 'TLS verified, whatever the origin allows');
      assert.equal(get.connection.cert, undefined, 'no client certificate');
      assert.match(get.head, /^GET \/o\/1\?X-Amz-Signature=abc HTTP\/1\.1\r\n/);
      assert.match(get.head, /\r\nhost: cdn\.test:8443\r\n/i);
      assert.doesNotMatch(get.head, /authorization|x-registry-secret/i);
      assert.deepEqual(checked, ['https://cdn.test:8443/o/1?X-Amz-Signature=abc']);
      await assert.rejects(
        transport.directRedirect(from, new URL('http://cdn.test/o/1')),
        (e) =>
          isLadingError(e, 'REGISTRY_ERROR') && /redirect to plain HTTP \(http:\/\/cdn\.test\) refused/.test(e.message),
      );
      await assert.rejects(transport.directRedirect(from, new URL('https://blocked.test/o')), /not allowed/);
      // Back to the registry itself, or not HTTP at all: the main thread's way.
      assert.equal(await transport.directRedirect(from, new URL('https://registry.test/v2/r/other')), undefined);
      assert.equal(await transport.directRedirect(from, new URL('ftp://cdn.test/o')), undefined);
    } finally {
      await transport.close();
    }
  });

  test('readBody: a body cut off is a NETWORK_ERROR naming the request; too long is SIZE_EXCEEDS_LIMIT', async () => {
    const s = await serve((req, res) => {
      if (req.url === '/cut') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('12345', () => res.destroy());
      } else res.end('x'.repeat(100));
    });
    const transport = new Transport({ retry: noRetry });
    try {
      const cut = await transport.send({ method: 'GET', url: s.url('/cut') });
      await assert.rejects(
        readBody(cut, 1024, 'cut'),
        (e: unknown) => isLadingError(e, 'NETWORK_ERROR') && /^GET http:\/\/127\.0\.0\.1:\d+\/cut: /.test(e.message),
      );
      const long = await transport.send({ method: 'GET', url: s.url('/long') });
      await assert.rejects(
        readBody(long, 10, 'long'),
        (e: unknown) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /^long: 100 bytes exceeds/.test(e.message),
      );
    } finally {
      await transport.close();
    }
  });
});

describe('Authorizer', () => {
  test('wraps the transport: a challenge is answered with a token fetched from the inner sender', async () => {
    const registry = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer t0k3n') res.end('ok');
      else
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url('/token').href}",service="reg"` }).end();
    });
    const tokens = await serve((_req, res) => res.end(JSON.stringify({ token: 't0k3n' })));
    const transport = new Transport({ retry: noRetry });
    const sent: HttpRequest[] = [];
    const inner: Sender = {
      send: (req): Promise<HttpReply> => {
        sent.push(req);
        return transport.send(req);
      },
    };
    const auth = new Authorizer({
      registry: registry.url(),
      inner,
      credentials: async () => ({ username: 'u', password: 'p' }),
    });
    try {
      const url = registry.url('/v2/r/manifests/v1');
      const reply = await auth.send({ method: 'GET', url, scopes: ['repository:r:pull'] });
      assert.equal(await readBody(reply, 1024, 'reply').then(String), 'ok');
      assert.deepEqual(
        sent.map((r) => `${new URL(r.url).pathname} ${r.authorization ?? '-'}`),
        ['/v2/r/manifests/v1 -', '/token Basic dTpw', '/v2/r/manifests/v1 Bearer t0k3n'],
      );
      // The token is cached: the next request carries it from the start.
      await readBody(await auth.send({ method: 'GET', url, scopes: ['repository:r:pull'] }), 1024, 'again');
      assert.equal(tokens.seen.length, 1);
      assert.equal(registry.seen.at(-1)?.authorization, 'Bearer t0k3n');
    } finally {
      await transport.close();
    }
  });
});

describe('Authorizer: a token fetched for more scopes serves a request that needs fewer', () => {
  /**
   * A token server whose token is the scopes it was asked for, and a registry that takes a token
   * when it holds the scope the path needs (`/v2/<repo>/…` with the scope given in `x-need`), and
   * refuses any token of more than one scope when `strict` (as a registry whose token server
   * granted less than was asked for would).
   */
  async function setup(strict: boolean, expiresIn?: number) {
    const tokens = await serve((req, res) => {
      const scopes = new URL(req.url ?? '/', 'http://x').searchParams.getAll('scope');
      const token = Buffer.from(scopes.join(' ')).toString('base64url');
      res.end(JSON.stringify({ token, ...(expiresIn ? { expires_in: expiresIn } : {}) }));
    });
    const registry = await serve((req, res) => {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      const granted = Buffer.from(token, 'base64url').toString().split(' ');
      const need = String(req.headers['x-need']);
      req.resume();
      if (token && granted.includes(need) && !(strict && granted.length > 1)) res.end('ok');
      else
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url('/token').href}",service="reg"` }).end();
    });
    const transport = new Transport({ retry: noRetry });
    const auth = new Authorizer({ registry: registry.url(), inner: transport });
    const send = async (need: string[], body?: Buffer) => {
      const reply = await auth.send({
        method: body ? 'PUT' : 'GET',
        url: registry.url('/v2/r/x'),
        scopes: need,
        headers: { 'x-need': need.at(-1) as string, ...(body ? { 'content-length': String(body.length) } : {}) },
        ...(body ? { body } : {}),
      });
      return { status: reply.status, text: String(await readBody(reply, 1024, 'reply')) };
    };
    return { tokens, registry, transport, send };
  }
  const wide = ['repository:a:pull', 'repository:b:pull,push'];

  test('the PUT after a mount carries the mount token: no token request of its own', async () => {
    const { tokens, transport, send } = await setup(false);
    try {
      assert.equal((await send(wide)).status, 200);
      assert.equal((await send(['repository:b:pull,push'], Buffer.from('{}'))).status, 200);
      assert.equal(tokens.seen.length, 1);
    } finally {
      await transport.close();
    }
  });

  test('a wider token the registry refuses costs one retry with a token of the scope asked for, and is lent no more', async () => {
    const { tokens, registry, transport, send } = await setup(true);
    try {
      assert.equal((await send(wide)).status, 401, 'the wide request itself fails in this registry');
      const before = tokens.seen.length;
      assert.equal((await send(['repository:b:pull,push'], Buffer.from('{}'))).status, 200);
      assert.equal(tokens.seen.length, before + 1, 'one exact token');
      const requests = registry.seen.length;
      assert.equal((await send(['repository:b:pull,push'], Buffer.from('{}'))).status, 200);
      assert.equal(registry.seen.length, requests + 1, 'the exact token from the start: no refused try');
    } finally {
      await transport.close();
    }
  });

  // An attacker's pass over the lending (session 23).
  /** The scopes of the token each request carried (the test token server's token is its scopes). */
  const carried = (seen: Seen[]) =>
    seen.map((r) => Buffer.from((r.authorization ?? '').replace(/^Bearer /, ''), 'base64url').toString());

  test('never for another repository, a name that only starts alike, or an action the token was not asked for', async () => {
    const { tokens, registry, transport, send } = await setup(false);
    try {
      assert.equal((await send(['repository:a:pull', 'repository:b/c:pull'])).status, 200);
      const wide = 'repository:a:pull repository:b/c:pull';
      for (const need of [
        'repository:b/c:push',
        'repository:a:delete',
        'repository:b:pull',
        'repository:a/b:pull',
        'repository:A:pull',
        'repository:b/c/d:pull',
        'repository:b/c:pull,push',
      ]) {
        const before = registry.seen.length;
        assert.equal((await send([need], Buffer.from('{}'))).status, 200, need);
        assert.ok(!carried(registry.seen.slice(before)).includes(wide), `${need}: the wide token was not sent`);
      }
      assert.equal(tokens.seen.length, 8, 'a token of its own for each');
    } finally {
      await transport.close();
    }
  });

  test('thousands of repositories, a token each: a request weighs the tokens of its own repository only', async () => {
    // In memory, no sockets: what is measured is the authorizer. Each request once looked at every
    // token fetched so far (a transfer of many components, a repository each, was quadratic: 6,000
    // took ~27 s of CPU here, 10,000 ~80 s); now ~0.5 s.
    const reply = (req: HttpRequest, status: number, headers: Record<string, string>, text = ''): HttpReply => ({
      method: req.method,
      status,
      headers,
      url: req.url,
      body: Object.assign(Readable.from(text ? [Buffer.from(text)] : []), {
        dump: async () => {},
        consume: async () => {},
      }),
    });
    let fetched = 0;
    const inner: Sender = {
      send: async (req) => {
        if (req.url.host === 'auth.example.test') {
          fetched++;
          return reply(req, 200, {}, JSON.stringify({ token: `t${fetched}`, expires_in: 3600 }));
        }
        if (req.authorization) return reply(req, 200, {});
        return reply(req, 401, { 'www-authenticate': 'Bearer realm="https://auth.example.test/token",service="reg"' });
      },
    };
    const registry = new URL('https://registry.example.test');
    const auth = new Authorizer({ registry, inner });
    const started = performance.now();
    for (let i = 0; i < 6000; i++) {
      for (const actions of ['pull', 'pull,push']) {
        const url = new URL(`/v2/component-descriptors/c${i}/manifests/1.0.0`, registry);
        const got = await auth.send({
          method: 'GET',
          url,
          scopes: [`repository:component-descriptors/c${i}:${actions}`],
        });
        await got.body.dump();
      }
    }
    const seconds = (performance.now() - started) / 1000;
    assert.equal(fetched, 12_000);
    assert.ok(seconds < 8, `12,000 requests took ${seconds.toFixed(1)} s in the authorizer`);
  });

  test('a lapsed token is not lent', async () => {
    // expires_in 1: renewed a tenth early, the token lapses after 0.9 s.
    const { tokens, registry, transport, send } = await setup(false, 1);
    try {
      assert.equal((await send(['repository:a:pull', 'repository:b:pull,push'])).status, 200);
      assert.equal((await send(['repository:b:pull,push'], Buffer.from('{}'))).status, 200);
      assert.equal(tokens.seen.length, 1, 'lent while it lives');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const before = registry.seen.length;
      assert.equal((await send(['repository:b:pull,push'], Buffer.from('{}'))).status, 200);
      assert.equal(tokens.seen.length, 2, 'a fresh token once it lapsed');
      assert.deepEqual(carried(registry.seen.slice(before)), ['repository:b:pull,push']);
    } finally {
      await transport.close();
    }
  });
});

describe('token realm by name: the rule of a literal address, on the address dialled', () => {
  /**
   * A registry and a token server on 127.0.0.1, both reached by name through an injected resolver
   * (`*.example.test` → 127.0.0.1), as DNS would answer a public registry whose realm names a host
   * that resolves to this machine. The registry is made public by giving its answers another peer
   * address (a documentation address): no real registry can be made to do this on demand.
   */
  async function setup(registryAddress: string | undefined) {
    const tokens = await serve((_req, res) => res.end(JSON.stringify({ token: 't0k3n' })));
    const tokenPort = tokens.url().port;
    const registry = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer t0k3n') res.end('ok');
      else
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="http://auth.example.test:${tokenPort}/token",service="reg"`,
          })
          .end();
    });
    const lookups: string[] = [];
    const transport = new Transport({
      retry: noRetry,
      proxy: false,
      lookup: (hostname, options, callback) => {
        lookups.push(hostname);
        if (!hostname.endsWith('.example.test')) {
          callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }] as never, 4);
        else callback(null, '127.0.0.1', 4);
      },
    });
    const inner: Sender = {
      send: async (req): Promise<HttpReply> => {
        const reply = await transport.send(req);
        if (registryAddress === undefined || new URL(req.url).hostname !== 'registry.example.test') return reply;
        return { ...reply, remoteAddress: registryAddress };
      },
    };
    const url = new URL(`http://registry.example.test:${registry.url().port}`);
    const auth = new Authorizer({ registry: url, inner });
    return { auth, transport, tokens, lookups, manifest: new URL('/v2/r/manifests/v1', url) };
  }

  test('a public registry whose realm resolves to this machine is refused before the token server is reached', async () => {
    const { auth, transport, tokens, lookups, manifest } = await setup('203.0.113.7');
    try {
      await assert.rejects(
        auth.send({ method: 'GET', url: manifest, scopes: ['repository:r:pull'] }),
        (error: Error) => {
          const messages: string[] = [];
          for (let e: unknown = error; e instanceof Error; e = e.cause) messages.push(e.message);
          return messages.some((m) => /auth\.example\.test.* resolves to 127\.0\.0\.1, an internal address/.test(m));
        },
      );
      assert.ok(lookups.includes('auth.example.test'), 'the name was resolved, and the answer refused');
      assert.equal(tokens.seen.length, 0, 'no request reached the token server');
    } finally {
      await transport.close();
    }
  });

  test('a registry on this machine may name its token server by a name that resolves here (held)', async () => {
    const { auth, transport, tokens, manifest } = await setup(undefined);
    try {
      const reply = await auth.send({ method: 'GET', url: manifest, scopes: ['repository:r:pull'] });
      assert.equal(await readBody(reply, 1024, 'reply').then(String), 'ok');
      assert.equal(tokens.seen.length, 1);
    } finally {
      await transport.close();
    }
  });
});

describe("an attacker's pass over token realms (session 23)", () => {
  /** A resolver for `*.example.test`: `answer(hostname)` is what DNS says (every family at once, as happy eyeballs asks). */
  function resolver(answer: (hostname: string) => { address: string; family: number }[], lookups: string[] = []) {
    return (
      hostname: string,
      options: { all?: boolean },
      callback: (error: Error | null, address: unknown, family?: number) => void,
    ) => {
      lookups.push(hostname);
      const all = hostname.endsWith('.example.test') ? answer(hostname) : [];
      if (all.length === 0) {
        callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
        return;
      }
      if (options.all) callback(null, all, 4);
      else callback(null, all[0]?.address, all[0]?.family);
    };
  }

  test('a registry reached by name on this machine may name its token server by a loopback literal, as by a loopback name', async () => {
    const tokens = await serve((_req, res) => res.end(JSON.stringify({ token: 't0k3n' })));
    const registry = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer t0k3n') res.end('ok');
      else
        res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url('/token').href}",service="reg"` }).end();
    });
    const transport = new Transport({
      retry: noRetry,
      proxy: false,
      lookup: resolver(() => [{ address: '127.0.0.1', family: 4 }]) as never,
    });
    const url = new URL(`http://registry.example.test:${registry.url().port}`);
    const auth = new Authorizer({ registry: url, inner: transport });
    try {
      const reply = await auth.send({
        method: 'GET',
        url: new URL('/v2/r/manifests/v1', url),
        scopes: ['repository:r:pull'],
      });
      assert.equal(await readBody(reply, 1024, 'reply').then(String), 'ok');
      assert.equal(tokens.seen.length, 1);
    } finally {
      await transport.close();
    }
  });

  test('happy eyeballs: one internal address among the answers refuses the name before any is dialled (held)', async () => {
    const tokens = await serve((_req, res) => res.end(JSON.stringify({ token: 't0k3n' })));
    const registry = await serve((_req, res) =>
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://auth.example.test:${tokens.url().port}/token",service="reg"`,
        })
        .end(),
    );
    const lookups: string[] = [];
    const transport = new Transport({
      retry: noRetry,
      proxy: false,
      // A documentation address first (never answers), this machine second: Node would try the second
      // after 250 ms, had the check seen only the first.
      lookup: resolver(
        (host) =>
          host === 'auth.example.test'
            ? [
                { address: '192.0.2.1', family: 4 },
                { address: '::ffff:7f00:1', family: 6 },
                { address: '127.0.0.1', family: 4 },
              ]
            : [{ address: '127.0.0.1', family: 4 }],
        lookups,
      ) as never,
    });
    const inner: Sender = {
      // The registry as a public one: its answers come from a public address.
      send: async (req) => ({ ...(await transport.send(req)), remoteAddress: '203.0.113.7' }),
    };
    const url = new URL(`http://registry.example.test:${registry.url().port}`);
    const auth = new Authorizer({ registry: url, inner });
    try {
      await assert.rejects(auth.send({ method: 'GET', url: new URL('/v2/r/manifests/v1', url) }), (error: Error) => {
        const messages: string[] = [];
        for (let e: unknown = error; e instanceof Error; e = e.cause) messages.push(e.message);
        return messages.some((m) => /resolves to \S+, an internal address/.test(m));
      });
      assert.ok(lookups.includes('auth.example.test'));
      assert.equal(tokens.seen.length, 0);
    } finally {
      await transport.close();
    }
  });

  test('a token server redirecting elsewhere: no Authorization or cookie follows; to an internal address, refused (held)', async () => {
    const elsewhere = await serve((_req, res) => res.end(JSON.stringify({ token: 't0k3n' })));
    const cookies: (string | undefined)[] = [];
    const tokens = await serve((req, res) => {
      cookies.push(req.headers.cookie);
      const to = req.url?.startsWith('/meta') ? 'http://169.254.169.254/latest/' : elsewhere.url('/token').href;
      res.writeHead(302, { location: to, 'set-cookie': 'session=s3cret; Path=/' }).end();
    });
    let realmPath = '/token';
    const registry = await serve((req, res) => {
      if (req.headers.authorization === 'Bearer t0k3n') res.end('ok');
      else res.writeHead(401, { 'www-authenticate': `Bearer realm="${tokens.url(realmPath).href}"` }).end();
    });
    const transport = new Transport({ retry: noRetry, proxy: false });
    const auth = () =>
      new Authorizer({
        registry: registry.url(),
        inner: transport,
        credentials: async () => ({ username: 'u', password: 'p' }),
      });
    try {
      const reply = await auth().send({ method: 'GET', url: registry.url('/v2/r/manifests/v1') });
      assert.equal(await readBody(reply, 1024, 'reply').then(String), 'ok');
      assert.equal(tokens.seen[0]?.authorization, 'Basic dTpw');
      assert.deepEqual(
        elsewhere.seen.map((s) => s.authorization),
        [undefined],
      );
      realmPath = '/meta';
      await assert.rejects(
        auth().send({ method: 'GET', url: registry.url('/v2/r/manifests/v1') }),
        (e: Error) => isLadingError(e, 'REGISTRY_ERROR') && /169\.254\.169\.254 is an internal address/.test(e.message),
      );
      assert.deepEqual(cookies, [undefined, undefined], 'no cookie jar: the Set-Cookie is never sent back');
    } finally {
      await transport.close();
    }
  });
});
