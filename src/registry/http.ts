import type { LookupFunction } from 'node:net';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import type { ConnectionOptions, SecureContext, TLSSocket } from 'node:tls';
import { type DirectConnection, dropThreadRoutes } from './blob-threads.js';
import {
  abortedError,
  type DirectReadable,
  DirectReads,
  exchange,
  type RawResponse,
  type ResponseBody,
} from './h1/exchange.js';
import { failure } from './h1/failure.js';
import { requestHead } from './h1/head.js';
import { type ProxySelector, proxyAuthorization } from './proxy.js';

export type { RawResponse, ResponseBody };

export interface HttpClientOptions {
  /** CA certificates to trust (PEM); the system roots when absent. */
  ca?: (string | Buffer)[] | undefined;
  /**
   * CA certificates to trust besides the system roots (PEM), when `ca` is absent. The roots are
   * read from node:tls on the first https request, so a client that only speaks plain HTTP never
   * loads TLS.
   */
  extraCa?: (string | Buffer)[] | undefined;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** false skips certificate verification. */
  rejectUnauthorized?: boolean;
  connectTimeoutMs: number;
  /**
   * From the end of an upload's body (a streamed one, or a buffer over 1 MiB: a chunk of a chunked
   * upload) until the response headers: the server may still be taking bytes the kernel holds, and
   * then storing them.
   */
  headersTimeoutMs: number;
  /**
   * Until the response headers of any other request (HEAD, GET, a manifest PUT): those need no long
   * server-side work, so a silent server is given up on sooner. Default: `headersTimeoutMs`.
   */
  replyTimeoutMs?: number;
  /** Longest silence while the response body streams. */
  bodyTimeoutMs: number;
  /** How long an idle connection is kept for the next request. */
  keepAliveMs: number;
  /** The HTTP proxy each request goes through (none when absent or when it answers undefined). */
  proxy?: ProxySelector | undefined;
  /**
   * Fixed addresses for host names, as curl's and ORAS's `--resolve`: `host:port` → the IP address
   * and port to connect to instead. TLS still verifies the certificate for the host name, and the
   * Host header still names it.
   */
  resolve?: Readonly<Record<string, { address: string; port: number }>> | undefined;
  /** How host names become addresses: `dns.lookup` (the system resolver) when absent. */
  lookup?: LookupFunction | undefined;
}

export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: Buffer | Readable | null | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Called with each address the connection to `url` is about to dial, after the host name was
   * resolved (so what is checked is what is connected to); throws to refuse it. Such a request
   * gets a connection of its own, shared with no other. Not called where a proxy dials, nor for an
   * address the `resolve` option fixes (the user's own choice).
   */
  checkAddress?: ((address: string, url: URL) => void) | undefined;
}

/**
 * `lookup`, with every address it answers put to `check` before the connection may use it: a refused
 * address fails the lookup, and so the connect.
 */
function checkedLookup(lookup: LookupFunction, check: (address: string) => void): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (!error) {
        try {
          if (Array.isArray(address)) for (const a of address) check(a.address);
          else check(address);
        } catch (refused) {
          callback(refused as NodeJS.ErrnoException, '', 0);
          return;
        }
      }
      callback(error, address, family);
    });
  };
}

/** Methods that change nothing: sent again at once when a reused connection turns out closed. */
const safeMethods = new Set(['GET', 'HEAD']);

/** Methods whose empty body Node's http module announced as `Content-Length: 0`. */
const bodyMethods = new Set(['POST', 'PUT', 'PATCH']);

/** Where a request goes and how: straight to its origin, in absolute form to a proxy, or through a tunnel. */
interface Route {
  /** Idle connections are shared by the requests with the same key; none: a connection per request. */
  key: string | undefined;
  /** The request target: the path and query, or the whole URL for a proxy. */
  target: string;
  /** Fields the route adds (Host, Proxy-Authorization). */
  headers: Record<string, string>;
  proxy: URL | undefined;
  /**
   * Opens a connection, marking in `progress` when the proxy (if any) was reached. A `background`
   * connection (see `warm`) keeps the process alive neither by its socket nor by its timer.
   */
  connect(progress: { reachedProxy: boolean }, background?: boolean): Promise<Socket>;
}

/** Clients made in this process, to name their connections on blob threads. */
let clientCount = 0;

/** The most a plain connection reads from the kernel at once (see {@link readsInto}). */
const ReadBytes = 1024 * 1024;
let readBuffer: Buffer | undefined;

/**
 * Socket reads of up to {@link ReadBytes} into one buffer the process's plain connections share,
 * each read copied out whole into the socket's own stream: Node otherwise reads 64 KiB at a time,
 * and each read costs a trip through the stream machinery (a 4 MiB blob on loopback came in ~66
 * reads; measured, a pull of one took 3–4 ms longer that way). One buffer serves every
 * connection because a read's bytes are copied before the next read on this thread can start;
 * flow control is the stream's as before (a full stream stops the reads). A body consumed as it
 * arrives (`consume`, see {@link DirectReads}) takes each read straight from the shared buffer,
 * with no copy and no stream: a blob hashed and written to a file is done with its bytes before
 * the call returns.
 */
function readsInto(socket: () => Socket): { buffer: Buffer; callback: (n: number, bytes: Buffer) => boolean } {
  readBuffer ??= Buffer.allocUnsafe(ReadBytes);
  return {
    buffer: readBuffer,
    callback: (n, bytes) => {
      const s = socket() as DirectReadable;
      const direct = s[DirectReads];
      if (direct !== undefined && s.readableLength === 0) {
        direct(bytes.subarray(0, n));
        return true;
      }
      // Not Buffer.from: that zero-fills the new memory before copying into it (~30 % slower at 1 MiB).
      const chunk = Buffer.allocUnsafe(n);
      bytes.copy(chunk, 0, 0, n);
      return s.push(chunk);
    },
  };
}

/** The system resolver, loaded when a checked connection needs it. */
async function dnsLookup(): Promise<LookupFunction> {
  return (await import('node:dns')).lookup as LookupFunction;
}

/** Host names and ports as `net.connect` takes them: no brackets around IPv6 literals. */
function bare(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

function defaultPort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/**
 * Header sets joined as Node's `setHeader` joins them: names compare without case, and a later
 * set's value (and spelling) replaces an earlier one's.
 */
export function merged(...sets: Record<string, string>[]): Record<string, string> {
  const byName = new Map<string, [string, string]>();
  for (const set of sets)
    for (const [name, value] of Object.entries(set)) byName.set(name.toLowerCase(), [name, value]);
  return Object.fromEntries(byName.values());
}

/**
 * The Content-Length a caller set, checked against the body it comes with: a length that is not
 * a number, or that a buffer does not match, would desynchronise the connection.
 */
function declaredLength(value: string, body: Buffer | Readable | null): number {
  const text = String(value).trim();
  if (!/^\d{1,15}$/.test(text)) {
    throw failure('ERR_HTTP_INVALID_HEADER_VALUE', `invalid Content-Length "${text.slice(0, 40)}"`, {
      type: 'TypeError',
    });
  }
  const length = Number(text);
  const actual = body === null ? 0 : Buffer.isBuffer(body) ? body.length : length;
  if (actual !== length) {
    throw failure(
      'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
      `Content-Length ${length} does not match the ${actual}-byte body`,
    );
  }
  return length;
}

/** A buffer body over this size is an upload, waited on as long as a streamed one. */
const UploadBytes = 1024 * 1024;

/** How much sooner than the server's announced idle timeout a connection is let go. */
const ServerIdleMarginMs = 1000;

/** `connecting`'s connection, or the abort's error first; a connection that comes too late is closed. */
function untilAborted(connecting: Promise<Socket | Error>, signal: AbortSignal): Promise<Socket | Error> {
  const close = (socket: Socket | Error) => {
    if (!(socket instanceof Error)) socket.destroy();
  };
  if (signal.aborted) {
    void connecting.then(close);
    return Promise.reject(abortedError(signal));
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(abortedError(signal));
      void connecting.then(close);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void connecting.then((socket) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) close(socket);
      else resolve(socket);
    });
  });
}

function hasField(headers: Record<string, string>, name: string): string | undefined {
  for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return key;
  return undefined;
}

/**
 * HTTP/1.1 over TCP and TLS sockets (src/registry/h1/): keep-alive connections per origin, TLS
 * sessions resumed, proxies (absolute form for `http://`, CONNECT tunnels for `https://`), and the
 * connect, headers and body timeouts a registry client needs. Response bodies are cut from the
 * socket's own buffers: no copy, no parser between the bytes and the reader.
 */
export class HttpClient {
  readonly #options: HttpClientOptions;
  /** Idle keep-alive connections by route key, the most recently used last. */
  readonly #idle = new Map<string, Socket[]>();
  /** How each idle connection is taken out of the idle set. */
  readonly #unidle = new WeakMap<Socket, () => void>();
  /** Connections being opened ahead of their first request (`warm`), by route key. */
  readonly #warming = new Map<string, Promise<Socket | Error>>();
  /** TLS sessions to resume, by route key. */
  readonly #sessions = new Map<string, Buffer>();
  /** Every connection opened and not yet closed. */
  readonly #sockets = new Set<Socket>();
  #ca: Promise<ConnectionOptions['ca']> | undefined;
  /** The TLS context of this client's connections when it names its CAs (see #tls). */
  #context: SecureContext | undefined;
  #closed = false;
  /** Names this client's connections on blob threads: they are shared by no other client (other TLS settings, --resolve). */
  readonly #threadRoutes = `client ${++clientCount}`;

  constructor(options: HttpClientOptions) {
    this.#options = options;
  }

  /**
   * The CA certificates to trust: `ca`; else Node's default roots (undefined) unless `extraCa` or
   * `SSL_CERT_FILE`/`SSL_CERT_DIR` add some, which are then trusted with the bundled roots and
   * `NODE_EXTRA_CA_CERTS` (see environmentCa).
   */
  #trusted(): Promise<ConnectionOptions['ca']> {
    const o = this.#options;
    this.#ca ??= (async () => {
      if (o.ca) return o.ca;
      const [{ environmentCa }, { rootCertificates }] = await Promise.all([
        import('./environment-ca.js'),
        import('node:tls'),
      ]);
      const env = await environmentCa();
      if (!o.extraCa?.length && env.ssl.length === 0) return undefined;
      return [...rootCertificates, ...env.nodeExtra, ...env.ssl, ...(o.extraCa ?? [])];
    })();
    return this.#ca;
  }

  #route(
    url: URL,
    proxy: URL | undefined,
    headers: Record<string, string>,
    checkAddress?: (address: string, url: URL) => void,
  ): Route {
    const o = this.#options;
    const hostname = bare(url.hostname);
    const port = defaultPort(url);
    const secure = url.protocol === 'https:';
    const host = hasField(headers, 'host') ? {} : { Host: url.host };
    if (!proxy) {
      // --resolve: another address for the connection; the Host field and the TLS name stay the URL's.
      const to = o.resolve?.[`${hostname}:${port}`];
      const key = `${url.protocol}//${url.host}`;
      // A checked request's connection is its own: an idle one was dialled unchecked.
      const check = to || !checkAddress ? undefined : (a: string) => checkAddress(a, url);
      return {
        key: check ? undefined : key,
        target: `${url.pathname}${url.search}`,
        headers: host,
        proxy,
        connect: (_progress, background) =>
          this.#open(key, secure, to?.address ?? hostname, to?.port ?? port, hostname, background, check),
      };
    }
    if (secure) {
      const key = `${url.protocol}//${url.host} via ${proxy.href}`;
      return {
        key,
        target: `${url.pathname}${url.search}`,
        headers: host,
        proxy,
        connect: async (progress) => {
          // Everything the TLS session needs is loaded before the tunnel opens: the tunnel's socket is
          // wrapped in the same turn it is handed over, with no gap for an unheard error.
          const [{ tunnel }, tls, ca] = await Promise.all([
            import('./proxy-tunnel.js'),
            import('node:tls'),
            this.#trusted(),
          ]);
          const socket = await tunnel(proxy, hostname, port, { timeoutMs: o.connectTimeoutMs, ca });
          socket.on('error', () => {});
          progress.reachedProxy = true;
          return this.#settle(this.#tls(tls, ca, key, { socket }, hostname), true);
        },
      };
    }
    const auth = hasField(headers, 'proxy-authorization') ? undefined : proxyAuthorization(proxy);
    // Plain HTTP through a proxy: the request goes to the proxy with the whole URL as its target.
    // A connection per request: proxies such as tinyproxy close theirs after each answer without
    // saying so, and a request written to such a connection fails with nothing to retry.
    return {
      key: undefined,
      // The absolute form names the origin, path and query: no user information, no fragment.
      target: `${url.origin}${url.pathname}${url.search}`,
      headers: { ...host, Connection: 'close', ...(auth ? { 'Proxy-Authorization': auth } : {}) },
      proxy,
      connect: async (progress) => {
        const { connectProxy } = await import('./proxy-tunnel.js');
        const socket = await this.#settle(connectProxy(proxy, await this.#trusted()), proxy.protocol === 'https:');
        progress.reachedProxy = true;
        return socket;
      },
    };
  }

  /** A new TCP (and TLS for `https:`) connection to `address:port`, verified as `name`. */
  async #open(
    key: string,
    secure: boolean,
    address: string,
    port: number,
    name: string,
    background = false,
    check?: (address: string) => void,
  ): Promise<Socket> {
    // A literal address is dialled as it is; a name through the lookup, checked on what it answers.
    if (check && isIP(address) !== 0) check(address);
    const given = this.#options.lookup;
    const lookup = check && isIP(address) === 0 ? checkedLookup(given ?? (await dnsLookup()), check) : given;
    const via = lookup ? { lookup } : {};
    if (!secure) {
      const socket: Socket = netConnect({ host: address, port, onread: readsInto(() => socket), ...via });
      return this.#settle(socket, false, background);
    }
    const [tls, ca] = await Promise.all([import('node:tls'), this.#trusted()]);
    return this.#settle(this.#tls(tls, ca, key, { host: address, port, ...via }, name), true, background);
  }

  /** A TLS session over `where` (an address, or a tunnel's socket), verified as `name`. */
  #tls(
    tls: typeof import('node:tls'),
    ca: ConnectionOptions['ca'],
    key: string,
    where: { host: string; port: number; lookup?: LookupFunction } | { socket: Socket },
    name: string,
  ): TLSSocket {
    const o = this.#options;
    const session = this.#sessions.get(key);
    // A CA list of its own (the bundled roots and more) costs OpenSSL tens of milliseconds to
    // load: it is loaded once per client, not per connection.
    if (ca && !this.#context) {
      this.#context = tls.createSecureContext({
        ca,
        ...(o.cert !== undefined ? { cert: o.cert } : {}),
        ...(o.key !== undefined ? { key: o.key } : {}),
      });
    }
    const socket = tls.connect({
      ...where,
      // The certificate is checked against the name asked for, whatever address was connected
      // to (--resolve, a tunnel); an IP address is not a server name.
      ...(isIP(name) === 0 ? { servername: name } : {}),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
      ...(ca
        ? { secureContext: this.#context }
        : {
            ...(o.cert !== undefined ? { cert: o.cert } : {}),
            ...(o.key !== undefined ? { key: o.key } : {}),
          }),
      ...(session ? { session } : {}),
      rejectUnauthorized: o.rejectUnauthorized ?? true,
    });
    socket.on('session', (s: Buffer) => this.#sessions.set(key, s));
    return socket;
  }

  /** Waits until `socket` is connected (and its TLS handshake done), within the connect timeout. */
  #settle(socket: Socket | TLSSocket, secure: boolean, background = false): Promise<Socket> {
    const o = this.#options;
    this.#track(socket);
    socket.setNoDelay(true);
    if (background) socket.unref();
    const ready = secure ? 'secureConnect' : 'connect';
    return new Promise<Socket>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        socket.off(ready, onReady);
        socket.off('error', done);
        socket.off('close', onClose);
        if (error) {
          socket.destroy();
          reject(error);
        } else resolve(socket);
      };
      const onReady = () => done();
      const onClose = () => done(failure('ECONNRESET', 'connection closed while connecting'));
      const timer = setTimeout(
        () => done(failure('CONNECT_TIMEOUT', `connect timed out after ${o.connectTimeoutMs} ms`)),
        o.connectTimeoutMs,
      );
      if (background) timer.unref();
      if (this.#closed) {
        done(failure('CLIENT_CLOSED', 'HTTP client is closed'));
        return;
      }
      socket.once(ready, onReady);
      socket.once('error', done);
      socket.once('close', onClose);
    });
  }

  /** Keeps `socket` in the set `close` ends; an error with nobody listening is not a crash. */
  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /** An idle connection of `key` still open, or undefined. */
  #takeIdle(key: string): Socket | undefined {
    const stack = this.#idle.get(key);
    while (stack && stack.length > 0) {
      const socket = stack.pop() as Socket;
      this.#unidle.get(socket)?.();
      if (!socket.destroyed && socket.readyState === 'open') {
        socket.ref();
        return socket;
      }
    }
    return undefined;
  }

  /**
   * Puts `socket` back for the next request of `key`, or closes it. It stays idle for
   * `keepAliveMs`, or a second less than the server said it waits (`serverIdleMs`): a request sent
   * as the server closes its end would meet a reset, and only a GET or HEAD may be sent again.
   */
  #release(key: string | undefined, socket: Socket, reusable: boolean, serverIdleMs?: number): void {
    const idleMs =
      serverIdleMs === undefined
        ? this.#options.keepAliveMs
        : Math.min(this.#options.keepAliveMs, serverIdleMs - ServerIdleMarginMs);
    if (!reusable || key === undefined || this.#closed || socket.destroyed || idleMs <= 0) {
      socket.destroy();
      return;
    }
    const stack = this.#idle.get(key) ?? [];
    this.#idle.set(key, stack);
    stack.push(socket);
    // An idle connection keeps nothing alive, times out, and is dropped on anything it hears.
    socket.unref();
    socket.setTimeout(idleMs);
    const drop = () => {
      unidle();
      socket.destroy();
    };
    const unidle = () => {
      socket.off('timeout', drop);
      socket.off('data', drop);
      socket.off('end', drop);
      socket.off('close', drop);
      socket.setTimeout(0);
      this.#unidle.delete(socket);
      const i = stack.indexOf(socket);
      if (i >= 0) stack.splice(i, 1);
    };
    this.#unidle.set(socket, unidle);
    socket.once('timeout', drop);
    socket.once('data', drop);
    socket.once('end', drop);
    socket.once('close', drop);
  }

  /**
   * Opens a connection to `url`'s origin ahead of the first request, which takes it when it comes
   * (a TCP connect and TLS handshake then overlap the caller's own preparations). Nothing when the
   * route has no shared connections (a proxy), one is idle already or on its way, or the client is
   * closed. A failure stays silent: the request that needs the connection opens its own and meets
   * the error itself. The connection keeps the process alive only once a request has it.
   */
  warm(url: URL): void {
    if (this.#closed || (url.protocol !== 'http:' && url.protocol !== 'https:')) return;
    if (this.#options.proxy?.(url)) return;
    const route = this.#route(url, undefined, {});
    const key = route.key;
    if (key === undefined || this.#warming.has(key) || (this.#idle.get(key)?.length ?? 0) > 0) return;
    const connecting = route.connect({ reachedProxy: true }, true).then(
      (socket) => socket,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    this.#warming.set(key, connecting);
    void connecting.then((socket) => {
      // Not taken by a request while it connected: it waits with the idle ones (a failure is
      // forgotten: the first request tries afresh).
      if (this.#warming.get(key) !== connecting) return;
      this.#warming.delete(key);
      if (!(socket instanceof Error)) this.#release(key, socket, true);
    });
  }

  /**
   * The connection `warm` is opening for `key`, once open; undefined if there is none. Its failure
   * is the request's, as if it had connected itself (not a second wait for a silent host).
   */
  async #takeWarming(key: string, signal: AbortSignal | undefined): Promise<Socket | undefined> {
    const connecting = this.#warming.get(key);
    if (!connecting) return undefined;
    this.#warming.delete(key);
    // The connection and its timer keep nothing alive while they connect: the request that now
    // waits for them must, or the process would end under it with nothing else to do.
    const hold = setInterval(() => {}, 1 << 30);
    let socket: Socket | Error;
    try {
      socket = await (signal ? untilAborted(connecting, signal) : connecting);
    } finally {
      clearInterval(hold);
    }
    if (socket instanceof Error) throw socket;
    if (socket.destroyed || socket.readyState !== 'open') {
      socket.destroy();
      return undefined;
    }
    socket.ref();
    return socket;
  }

  /**
   * How a connection to `url` would be made, for another thread to make it (blob-threads.ts):
   * undefined when it would go through a proxy or the client is closed.
   */
  async directConnection(url: URL): Promise<DirectConnection | undefined> {
    const o = this.#options;
    if (this.#closed || o.proxy?.(url)) return undefined;
    const hostname = bare(url.hostname);
    const port = defaultPort(url);
    const to = o.resolve?.[`${hostname}:${port}`];
    const secure = url.protocol === 'https:';
    const connection: DirectConnection = {
      route: `${this.#threadRoutes} ${url.protocol}//${url.host}`,
      secure,
      address: to?.address ?? hostname,
      port: to?.port ?? port,
      name: hostname,
      ...(isIP(hostname) === 0 ? { servername: hostname } : {}),
      rejectUnauthorized: o.rejectUnauthorized ?? true,
      connectTimeoutMs: o.connectTimeoutMs,
      replyTimeoutMs: o.replyTimeoutMs ?? o.headersTimeoutMs,
      bodyTimeoutMs: o.bodyTimeoutMs,
      keepAliveMs: o.keepAliveMs,
    };
    if (!secure) return connection;
    const ca = await this.#trusted();
    return {
      ...connection,
      ...(ca ? { ca: (Array.isArray(ca) ? ca : [ca]) as (string | Buffer)[] } : {}),
      ...(o.cert !== undefined ? { cert: o.cert } : {}),
      ...(o.key !== undefined ? { clientKey: o.key } : {}),
    };
  }

  async request(url: URL, init: HttpRequestInit): Promise<RawResponse> {
    if (this.#closed) throw failure('CLIENT_CLOSED', 'HTTP client is closed');
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`unsupported protocol ${url.protocol}`);
    }
    const o = this.#options;
    const proxy = o.proxy?.(url);
    const route = this.#route(url, proxy, init.headers, init.checkAddress);
    const body = init.body ?? null;
    const lengthField = hasField(init.headers, 'content-length');
    const declared = lengthField === undefined ? undefined : declaredLength(init.headers[lengthField] as string, body);
    // The body's framing is this client's: a Transfer-Encoding from outside would announce a
    // coding the bytes do not follow.
    const coding = hasField(init.headers, 'transfer-encoding');
    if (coding !== undefined) {
      throw failure('ERR_HTTP_INVALID_HEADER_VALUE', `the ${coding} header is set by the HTTP client itself`, {
        type: 'TypeError',
      });
    }
    const framing: Record<string, string> = {};
    if (lengthField === undefined) {
      if (Buffer.isBuffer(body)) framing['Content-Length'] = String(body.length);
      else if (body === null && bodyMethods.has(init.method)) framing['Content-Length'] = '0';
      else if (body !== null) framing['Transfer-Encoding'] = 'chunked';
    }
    const upload = body !== null && (!Buffer.isBuffer(body) || body.length > UploadBytes);
    const waitMs = upload ? o.headersTimeoutMs : (o.replyTimeoutMs ?? o.headersTimeoutMs);
    // Built before connecting: a field that would inject a line fails here, before anything is sent.
    const head = requestHead(init.method, route.target, merged(route.headers, init.headers, framing));
    const progress = { reachedProxy: proxy === undefined };
    try {
      const signal = init.signal;
      if (signal?.aborted) throw abortedError(signal);
      for (let attempt = 0; ; attempt++) {
        // A retry after a stale connection takes a new one: the others idle as long may be closing too.
        const idle =
          route.key === undefined || attempt > 0
            ? undefined
            : (this.#takeIdle(route.key) ?? (await this.#takeWarming(route.key, signal)));
        const socket = idle ?? (await this.#connectOrAbort(route, progress, signal));
        if (idle) progress.reachedProxy = true;
        try {
          const response = await exchange({
            socket,
            method: init.method,
            head,
            body,
            bodyLength: body !== null && !Buffer.isBuffer(body) ? declared : undefined,
            waitMs,
            bodyTimeoutMs: o.bodyTimeoutMs,
            signal,
            reused: idle !== undefined,
            release: (reusable, idleMs) => this.#release(route.key, socket, reusable, idleMs),
          });
          if (route.proxy && !route.key && response.status === 407) {
            // The proxy's own refusal, not the registry's answer.
            response.body.destroy();
            throw failure('EPROXY', 'proxy authentication required (407)');
          }
          // Whom the answer came from: the server's address, unless a proxy stood between.
          if (!route.proxy && socket.remoteAddress) response.remoteAddress = socket.remoteAddress;
          return response;
        } catch (error) {
          // A keep-alive connection the server closed while it sat idle: a GET or HEAD once more on
          // a new one. Anything else may have reached the server (a PATCH dropped half-way) and is
          // the caller's to resume or retry.
          const stale = (error as { staleConnection?: boolean }).staleConnection === true;
          if (stale && attempt === 0 && safeMethods.has(init.method) && !signal?.aborted) continue;
          throw error;
        }
      }
    } catch (error) {
      // A failure on the way through a proxy says so (its message names the proxy, not its credentials).
      if (proxy && !(error as { proxy?: string }).proxy && error instanceof Error) {
        Object.assign(error, { proxy: `${proxy.protocol}//${proxy.host}`, proxyUnreachable: !progress.reachedProxy });
      }
      throw error;
    }
  }

  /** A new connection for `route`, given up on when `signal` aborts. */
  #connectOrAbort(route: Route, progress: { reachedProxy: boolean }, signal: AbortSignal | undefined): Promise<Socket> {
    const connecting = route.connect(progress);
    if (!signal) return connecting;
    return new Promise<Socket>((resolve, reject) => {
      const onAbort = () => {
        reject(abortedError(signal));
        connecting.then(
          (socket) => socket.destroy(),
          () => {},
        );
      };
      signal.addEventListener('abort', onAbort, { once: true });
      connecting.then(
        (socket) => {
          signal.removeEventListener('abort', onAbort);
          if (signal.aborted) socket.destroy();
          else resolve(socket);
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });
  }

  /** Closes every connection, idle or busy; later requests fail. */
  async close(): Promise<void> {
    this.#closed = true;
    dropThreadRoutes(`${this.#threadRoutes} `);
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    this.#idle.clear();
    this.#warming.clear();
  }
}
