import type { ClientRequest, Agent as HttpAgent, IncomingMessage, RequestOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { isIP, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { ProxySelector } from './proxy.js';

/**
 * A response body: the stream of bytes, plus `dump()` to read and drop what is left (so the
 * connection can serve the next request) — a large remainder closes the connection instead.
 */
export interface ResponseBody extends Readable {
  dump(): Promise<void>;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
}

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
  /** From the end of a streamed request body (an upload) until the response headers. */
  headersTimeoutMs: number;
  /**
   * Until the response headers of a request without a streamed body (HEAD, GET, a manifest PUT):
   * those need no long server-side work, so a silent server is given up on sooner. Default:
   * `headersTimeoutMs`.
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
}

export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: Buffer | Readable | null | undefined;
  signal?: AbortSignal | undefined;
}

/** What is read and dropped of a body nobody wants before the connection is closed instead. */
const MaxDumpBytes = 256 * 1024;

/** A network failure with the code the retry policy and the error messages know. */
function timeoutError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

interface Scheme {
  agent: HttpAgent | HttpsAgent;
  request: (url: URL, options: RequestOptions) => ClientRequest;
  /**
   * Plain HTTP through a proxy: the request goes to this URL (the proxy's) with the target's URL
   * as its path (absolute form) and `proxyAuthorization`, if any.
   */
  viaProxy?: { url: URL; authorization: string | undefined };
}

function withDump(res: IncomingMessage): ResponseBody {
  const body = res as IncomingMessage & { dump(): Promise<void> };
  body.dump = () =>
    new Promise<void>((resolve) => {
      if (res.readableEnded || res.destroyed) {
        resolve();
        return;
      }
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MaxDumpBytes) res.destroy();
      });
      res.once('end', resolve);
      res.once('close', resolve);
      res.once('error', () => resolve());
      res.resume();
    });
  return body;
}

/** Where `--resolve` sends a request instead: the address, port, TLS server name and Host header. */
function resolvedAddress(
  url: URL,
  resolve: HttpClientOptions['resolve'],
  headers: Record<string, string>,
): Partial<RequestOptions> & { servername?: string } {
  if (!resolve) return {};
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const to = resolve[`${hostname}:${port}`];
  if (!to) return {};
  const hasHost = Object.keys(headers).some((k) => k.toLowerCase() === 'host');
  return {
    host: to.address,
    hostname: to.address,
    port: to.port,
    headers: hasHost ? headers : { ...headers, Host: url.host },
    // The certificate is checked against the name asked for (an IP is not a server name).
    ...(url.protocol === 'https:' && isIP(hostname) === 0 ? { servername: hostname } : {}),
  };
}

/**
 * HTTP/1.1 over Node's own http and https modules (part of Node's start-up snapshot: nothing to
 * load), with keep-alive connections per scheme, and the connect, headers and body timeouts a
 * registry client needs.
 */
export class HttpClient {
  readonly #options: HttpClientOptions;
  /** Per scheme: the keep-alive agent and the module's request function, loaded on first use. */
  readonly #schemes = new Map<string, Promise<Scheme>>();
  /** Every connection opened and not yet closed, whether the agent still tracks it or not. */
  readonly #sockets = new Set<Socket>();
  #closed = false;

  constructor(options: HttpClientOptions) {
    this.#options = options;
  }

  /** Keep-alive and TLS settings of an https agent (direct, or through a proxy's tunnel). */
  #agentOptions(ca: (string | Buffer)[] | undefined) {
    const o = this.#options;
    return {
      keepAlive: true,
      timeout: o.keepAliveMs,
      scheduling: 'lifo' as const,
      ...(ca ? { ca } : {}),
      ...(o.cert !== undefined ? { cert: o.cert } : {}),
      ...(o.key !== undefined ? { key: o.key } : {}),
      rejectUnauthorized: o.rejectUnauthorized ?? true,
    };
  }

  /** The CA certificates to trust: `ca`, or the system roots with `extraCa`; undefined for Node's default roots. */
  async #ca(): Promise<(string | Buffer)[] | undefined> {
    const o = this.#options;
    if (o.ca || !o.extraCa?.length) return o.ca;
    const { rootCertificates } = await import('node:tls');
    return [...rootCertificates, ...o.extraCa];
  }

  #scheme(protocol: string): Promise<Scheme> {
    let scheme = this.#schemes.get(protocol);
    if (!scheme) {
      const o = this.#options;
      const common = { keepAlive: true, timeout: o.keepAliveMs, scheduling: 'lifo' as const };
      scheme =
        protocol === 'https:'
          ? Promise.all([import('node:https'), this.#ca()]).then(([https, ca]) => ({
              request: https.request,
              agent: new https.Agent({
                ...this.#agentOptions(ca),
              }),
            }))
          : import('node:http').then((http) => ({ request: http.request, agent: new http.Agent(common) }));
      this.#schemes.set(protocol, scheme);
    }
    return scheme;
  }

  /**
   * The agent for requests through `proxy`: TLS inside a CONNECT tunnel for `https://`, requests in
   * absolute form sent to the proxy for `http://` (as Go's transport does). Loaded on first use.
   */
  #proxied(protocol: string, proxy: URL): Promise<Scheme> {
    const key = `${protocol} ${proxy.href}`;
    let scheme = this.#schemes.get(key);
    if (!scheme) {
      const o = this.#options;
      scheme = Promise.all([import('./proxy-tunnel.js'), import('node:http'), import('node:https'), this.#ca()]).then(
        ([tunnel, http, https, ca]) =>
          protocol === 'https:'
            ? {
                request: https.request,
                agent: new tunnel.TunnelingAgent(proxy, this.#agentOptions(ca), {
                  timeoutMs: o.connectTimeoutMs,
                  ca,
                }),
              }
            : {
                request: proxy.protocol === 'https:' ? https.request : http.request,
                agent: tunnel.proxyHttpAgent(proxy),
                viaProxy: { url: proxy, authorization: tunnel.proxyAuthorization(proxy) },
              },
      );
      this.#schemes.set(key, scheme);
    }
    return scheme;
  }

  async request(url: URL, init: HttpRequestInit): Promise<RawResponse> {
    if (this.#closed) throw Object.assign(new Error('HTTP client is closed'), { code: 'CLIENT_CLOSED' });
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`unsupported protocol ${url.protocol}`);
    }
    const o = this.#options;
    const proxy = o.proxy?.(url);
    const { agent, request, viaProxy } = proxy
      ? await this.#proxied(url.protocol, proxy)
      : await this.#scheme(url.protocol);
    return new Promise<RawResponse>((resolve, reject) => {
      const options: RequestOptions = {
        method: init.method,
        headers: viaProxy
          ? {
              ...init.headers,
              host: url.host,
              ...(viaProxy.authorization ? { 'proxy-authorization': viaProxy.authorization } : {}),
            }
          : init.headers,
        agent,
        ...(viaProxy ? { path: url.href } : {}),
        ...(init.signal ? { signal: init.signal } : {}),
        // A proxy connects to the host by its name; --resolve is for direct connections.
        ...(proxy ? {} : resolvedAddress(url, o.resolve, init.headers)),
      };
      const req = request(viaProxy ? viaProxy.url : url, options);
      let settled = false;
      // Whether a connection to the proxy (absolute form) was made; a tunnel records its own.
      let reachedProxy = !viaProxy;
      let headersTimer: NodeJS.Timeout | undefined;
      const fail = (error: Error) => {
        clearTimeout(headersTimer);
        // A failure on the way through a proxy says so (its message names the proxy, not its credentials).
        if (proxy && !(error as { proxy?: string }).proxy) {
          Object.assign(error, { proxy: `${proxy.protocol}//${proxy.host}`, proxyUnreachable: !reachedProxy });
        }
        if (!settled) {
          settled = true;
          reject(error);
        }
      };
      req.on('error', fail);
      req.on('socket', (socket) => {
        if (!this.#sockets.has(socket)) {
          this.#sockets.add(socket);
          socket.once('close', () => this.#sockets.delete(socket));
        }
        if (this.#closed) socket.destroy();
        if (!socket.connecting) {
          reachedProxy = true;
          return;
        }
        socket.once('connect', () => {
          reachedProxy = true;
        });
        const timer = setTimeout(
          () => req.destroy(timeoutError('CONNECT_TIMEOUT', `connect timed out after ${o.connectTimeoutMs} ms`)),
          o.connectTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(timer));
        socket.once('close', () => clearTimeout(timer));
      });
      const waitMs = init.body instanceof Readable ? o.headersTimeoutMs : (o.replyTimeoutMs ?? o.headersTimeoutMs);
      req.on('finish', () => {
        if (settled) return;
        headersTimer = setTimeout(
          () => req.destroy(timeoutError('HEADERS_TIMEOUT', `no response headers after ${waitMs} ms`)),
          waitMs,
        );
      });
      req.on('response', (res) => {
        clearTimeout(headersTimer);
        if (settled) {
          res.destroy();
          return;
        }
        if (viaProxy && res.statusCode === 407) {
          // The proxy's own refusal, not the registry's answer.
          res.destroy();
          fail(Object.assign(new Error('proxy authentication required (407)'), { code: 'EPROXY' }));
          return;
        }
        settled = true;
        // From here on a failure of the request (a reset while the rest of a body was being sent)
        // is a failure of the response stream.
        req.off('error', fail);
        req.on('error', (error) => res.destroy(error));
        res.setTimeout(o.bodyTimeoutMs, () =>
          res.destroy(timeoutError('BODY_TIMEOUT', `response body silent for ${o.bodyTimeoutMs} ms`)),
        );
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: withDump(res) });
      });
      const body = init.body;
      if (body === undefined || body === null) {
        req.end();
      } else if (Buffer.isBuffer(body)) {
        req.end(body);
      } else if (body.errored || body.destroyed) {
        // A body that failed before the request went out (a verifier that already saw the end).
        req.destroy(body.errored ?? new Error('request body stream was closed before it was sent'));
      } else {
        body.on('error', (error) => req.destroy(error));
        body.on('close', () => {
          if (!body.readableEnded) req.destroy(body.errored ?? new Error('request body stream closed before its end'));
        });
        req.on('close', () => {
          if (!body.readableEnded) body.destroy();
        });
        body.pipe(req);
      }
    });
  }

  /** Closes every connection, idle or busy; later requests fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const scheme of this.#schemes.values()) (await scheme).agent.destroy();
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}
