import { Readable } from 'node:stream';
import { abortError, LadingError } from '../oci/index.js';
import type { DirectGet } from './blob-threads.js';
import { networkError } from './errors.js';
import { requestHead } from './h1/head.js';
import { locationOf } from './headers.js';
import { HttpClient, type HttpClientOptions, merged, type RawResponse } from './http.js';
import { type HttpReply, type HttpRequest, header, isReplayable, type RequestBody, type Sender } from './message.js';
import { type ProxyConfig, proxyConfigFromEnv, proxySelector } from './proxy.js';
import { redactUrl } from './redact.js';
import {
  backoffMs,
  isRetryableStatus,
  isTimeout,
  isTransientError,
  parseRetryAfter,
  type RetryPolicy,
  wait,
} from './retry.js';
import { defaultUserAgent } from './version.js';

/** TLS settings of a connection: extra CAs, client certificate and key, or no verification. */
export interface TlsOptions {
  /** Skip certificate verification for the transport's `origin` (never for other origins). */
  insecure?: boolean;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key (PEM) for mutual TLS; presented to the transport's `origin` only. */
  cert?: string | Buffer;
  /** The client certificate's private key (PEM). */
  key?: string | Buffer;
}

/** Time limits of a request: to connect, until the answer starts, and of silence while a body streams. */
export interface Timeouts {
  /** Until the connection (and TLS handshake) is made; default 30 s. */
  connectMs?: number;
  /** Until response headers arrive after an upload (a streamed body, or a buffer over 1 MiB). */
  headersMs?: number;
  /** Until response headers arrive for any other request. */
  replyMs?: number;
  /** Longest silence while a body streams. */
  bodyMs?: number;
}

export interface TransportOptions {
  /**
   * `scheme://host[:port]` of the server this transport is for (the registry): the only origin
   * that gets the extra headers and the TLS options beyond the CAs. Without it every origin is
   * treated alike.
   */
  origin?: string;
  /** Default `lading/<version>`. */
  userAgent?: string | undefined;
  /** Extra headers for `origin` only. */
  headers?: Record<string, string>;
  tls?: TlsOptions;
  timeouts?: Timeouts;
  retry: RetryPolicy;
  /** Receives one line per request and response, secrets already removed (for `--debug`). */
  trace?: (line: string) => void;
  /**
   * Called with the URL of every request before it is sent, redirect hops included; throws to
   * refuse it (the plain-HTTP policy of a caller whose URLs come from data).
   */
  checkUrl?: (url: URL) => void;
  /** HTTP proxies; `false` for none. Default: the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`). */
  proxy?: ProxyConfig | false | undefined;
  /** `host:port` → the address and port to connect to instead (see HttpClientOptions.resolve). */
  resolve?: HttpClientOptions['resolve'];
  /** How host names become addresses (see HttpClientOptions.lookup): `dns.lookup` when absent. */
  lookup?: HttpClientOptions['lookup'];
}

/** Header values that must never reach a log, whatever asks for the trace. */
const secretHeaders = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);

/** Headers that carry a URL: a presigned redirect's signature is as good as a password until it expires. */
const urlHeaders = new Set(['location', 'content-location']);

/**
 * Headers for the debug trace, with the values of credential headers and of every header the user
 * added (`-H`: API keys and the like) masked, and URLs (resolved against `base`) with their
 * credentials and signing parameters redacted as in every other line of the trace.
 */
function traceHeaders(
  headers: Record<string, string | string[] | undefined>,
  masked: Set<string>,
  base: string | URL,
): string {
  return Object.entries(headers)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const name = k.toLowerCase();
      const text = Array.isArray(v) ? v.join(', ') : String(v);
      if (secretHeaders.has(name) || masked.has(name)) return `${k}: *****`;
      return `${k}: ${urlHeaders.has(name) ? redactUrl(resolved(text, base)) : text}`;
    })
    .join('; ');
}

/** `text` as a URL against `base`, or as it is when it is none (redactUrl then says so). */
function resolved(text: string, base: string | URL): string {
  try {
    return new URL(text, base).href;
  } catch {
    return text;
  }
}

const MaxRedirects = 10;
/** The statuses of a redirect a GET follows. */
export const RedirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

async function openBody(body: RequestBody | undefined): Promise<Buffer | Readable | undefined> {
  if (body === undefined) return undefined;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof Readable) {
    if (body.readableDidRead || body.destroyed) {
      throw new LadingError('INVALID_ARGUMENT', 'request body stream was already consumed and cannot be sent again');
    }
    return body;
  }
  return body.open();
}

/**
 * The HTTP client of the registry layer, for a registry or any other server: a keep-alive client
 * per trust domain, manual redirects that drop credentials when the origin changes and never step
 * down from HTTPS to plain HTTP, and retries of idempotent requests whose body can be sent again.
 * It sends what it is given: authorisation is the job of the layer above (the Authorizer).
 */
export class Transport implements Sender {
  readonly #origin: string | undefined;
  readonly #userAgent: string;
  readonly #extraHeaders: Record<string, string>;
  readonly #maskedHeaders: Set<string>;
  readonly #originClient: HttpClient;
  readonly #foreignClient: HttpClient;
  /** With `insecure`: the registry's own host name on another port (see #clientFor). */
  readonly #sameHostClient: HttpClient | undefined;
  readonly #retry: RetryPolicy;
  readonly #trace: ((line: string) => void) | undefined;
  readonly #checkUrl: ((url: URL) => void) | undefined;

  constructor(options: TransportOptions) {
    this.#origin = options.origin;
    this.#userAgent = options.userAgent ?? defaultUserAgent();
    this.#extraHeaders = options.headers ?? {};
    for (const name of Object.keys(this.#extraHeaders)) {
      // A message's length and framing follow its body, which the client writes (Go's client, and
      // so oras, ignores these two in a request's extra headers).
      if (/^(content-length|transfer-encoding)$/i.test(name)) {
        throw new LadingError(
          'INVALID_ARGUMENT',
          `header ${name} is set for each request from its body; it cannot be given`,
        );
      }
    }
    this.#maskedHeaders = new Set(Object.keys(this.#extraHeaders).map((k) => k.toLowerCase()));
    this.#retry = options.retry;
    this.#trace = options.trace;
    this.#checkUrl = options.checkUrl;
    const t = options.timeouts ?? {};
    const proxy = options.proxy === false ? undefined : proxySelector(options.proxy ?? proxyConfigFromEnv());
    const base: HttpClientOptions = {
      proxy,
      keepAliveMs: 30_000,
      connectTimeoutMs: t.connectMs ?? 30_000,
      headersTimeoutMs: t.headersMs ?? 300_000,
      replyTimeoutMs: t.replyMs ?? 30_000,
      bodyTimeoutMs: t.bodyMs ?? 300_000,
      ...(options.resolve ? { resolve: options.resolve } : {}),
      ...(options.lookup ? { lookup: options.lookup } : {}),
    };
    const tls = options.tls ?? {};
    const extraCa = tls.ca === undefined ? [] : Array.isArray(tls.ca) ? tls.ca : [tls.ca];
    // The given CAs are trusted besides the system roots (HttpClient joins them on its first https request).
    const ca = extraCa.length > 0 ? { extraCa } : {};
    this.#originClient = new HttpClient({
      ...base,
      ...ca,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: !tls.insecure,
    });
    // Redirect targets (object stores, CDNs) and token realms on other hosts: verified TLS, no client cert.
    this.#foreignClient = new HttpClient({ ...base, ...ca });
    // The registry's host name on another port (its token server, most often, with the same
    // self-signed certificate): `insecure` covers it as ORAS's --insecure does. Other hosts stay verified.
    this.#sameHostClient = tls.insecure ? new HttpClient({ ...base, ...ca, rejectUnauthorized: false }) : undefined;
  }

  /** The client for a request to `url`: the origin's, the registry host's under `insecure`, or the verified foreign one. */
  #clientFor(url: URL): HttpClient {
    if (url.origin === this.#origin) return this.#originClient;
    if (this.#sameHostClient && this.#origin !== undefined && url.hostname === new URL(this.#origin).hostname) {
      return this.#sameHostClient;
    }
    return this.#foreignClient;
  }

  #traceHeaders(headers: Record<string, string | string[] | undefined>, base: string | URL): string {
    return traceHeaders(headers, this.#maskedHeaders, base);
  }

  async close(): Promise<void> {
    await Promise.all([this.#originClient.close(), this.#foreignClient.close(), this.#sameHostClient?.close()]);
  }

  /** Opens a connection to the origin ahead of the first request (HttpClient.warm); a traced transport does not. */
  warm(): void {
    if (this.#origin === undefined || this.#trace) return;
    const url = new URL(this.#origin);
    try {
      this.#checkUrl?.(url);
    } catch {
      return;
    }
    this.#originClient.warm(url);
  }

  /**
   * A GET of `url` at this transport's origin as another thread may send it (blob-threads.ts):
   * the connection and the request head, with the fields this transport would add. Undefined
   * when it cannot go that way: another origin, a proxy, or a trace to write (every request of a
   * traced command is told in the trace).
   */
  async direct(url: URL, authorization: string | undefined): Promise<DirectGet | undefined> {
    if (this.#trace || url.origin !== this.#origin) return undefined;
    // Fields that change how the answer is framed or where it goes stay with the main client.
    if (Object.keys(this.#extraHeaders).some((name) => /^(host|connection|range|accept-encoding)$/i.test(name))) {
      return undefined;
    }
    this.#checkUrl?.(url);
    const connection = await this.#originClient.directConnection(url);
    if (!connection) return undefined;
    // The fields as the main client merges them (names in any case, the later set winning).
    const head = requestHead(
      'GET',
      `${url.pathname}${url.search}`,
      merged(
        { Host: url.host },
        { 'user-agent': this.#userAgent, ...this.#extraHeaders },
        authorization ? { authorization } : {},
      ),
    );
    return { connection, head };
  }

  /**
   * The GET of a redirect's target `to` (an object store, a CDN) as another thread may send it,
   * where a GET of `from` was redirected: sent as {@link Transport.send} would send that hop, with
   * no credential and none of the `-H` fields (they stay with the origin) and TLS verified, and
   * refused the same way (only HTTP(S), never from HTTPS down to plain HTTP, the URL policy).
   * Undefined when the main thread must take it (a redirect back to the origin, a proxy, a trace).
   */
  async directRedirect(from: URL, to: URL): Promise<DirectGet | undefined> {
    if (this.#trace || to.origin === this.#origin) return undefined;
    if (to.protocol !== 'http:' && to.protocol !== 'https:') return undefined;
    if (from.protocol === 'https:' && to.protocol === 'http:') {
      throw new LadingError('REGISTRY_ERROR', `GET ${redactUrl(from)}: redirect to plain HTTP (${to.origin}) refused`);
    }
    this.#checkUrl?.(to);
    const connection = await this.#clientFor(to).directConnection(to);
    if (!connection) return undefined;
    const head = requestHead('GET', `${to.pathname}${to.search}`, { Host: to.host, 'user-agent': this.#userAgent });
    return { connection, head };
  }

  /** Sends with retries; the caller must consume or dump the reply body. */
  async send(req: HttpRequest): Promise<HttpReply> {
    const replayable = isReplayable(req.body) && !req.noRetry;
    let timeouts = 0;
    for (let attempt = 0; ; attempt++) {
      let reply: HttpReply;
      try {
        reply = await this.#exchange(req);
      } catch (error) {
        if (req.signal?.aborted) throw abortError(req.signal);
        // A server that stays silent twice in a row is not waited for a third time.
        const givenUp = isTimeout(error) && ++timeouts > 1;
        if (replayable && !givenUp && attempt < this.#retry.maxRetries && isTransientError(error)) {
          await wait(backoffMs(this.#retry, attempt), req.signal);
          continue;
        }
        throw networkError(req.method, (error as { hopUrl?: URL }).hopUrl ?? req.url, error);
      }
      if (replayable && attempt < this.#retry.maxRetries && isRetryableStatus(reply.status)) {
        const retryAfter = parseRetryAfter(header(reply.headers, 'retry-after'));
        // A registry that asks for a longer pause than we wait (a rate limit until the next hour)
        // would only be asked again too early, five times over minutes: its answer is the error now.
        if (retryAfter !== undefined && retryAfter > this.#retry.maxRetryAfterMs) return reply;
        await reply.body.dump().catch(() => {});
        await wait(backoffMs(this.#retry, attempt, retryAfter), req.signal);
        continue;
      }
      return reply;
    }
  }

  /** One request plus its redirects, without retries; its authorization only reaches its own origin. */
  async #exchange(req: HttpRequest): Promise<HttpReply> {
    let url = req.url;
    let method = req.method;
    let body = req.body;
    const follow = req.followRedirects ?? (method === 'GET' || method === 'HEAD');
    for (let hop = 0; ; hop++) {
      this.#checkUrl?.(url);
      if (hop > 0) req.checkRedirect?.(url);
      const ours = url.origin === this.#origin;
      const headers: Record<string, string> = {
        'user-agent': this.#userAgent,
        ...(ours ? this.#extraHeaders : {}),
        ...req.headers,
      };
      if (req.authorization && url.origin === req.url.origin) headers.authorization = req.authorization;
      if (body === undefined) delete headers['content-length'];
      const payload = await openBody(body);
      const client = this.#clientFor(url);
      this.#trace?.(`> ${method} ${redactUrl(url)} [${this.#traceHeaders(headers, url)}]`);
      let response: RawResponse;
      try {
        response = await client.request(url, {
          method,
          headers,
          body: payload ?? null,
          ...(req.signal ? { signal: req.signal } : {}),
          ...(req.checkAddress ? { checkAddress: req.checkAddress } : {}),
        });
      } catch (error) {
        if (payload instanceof Readable) payload.destroy();
        // A redirect's target failed: the error names that hop, not the first request's host.
        if (hop > 0 && error instanceof Error) Object.assign(error, { hopUrl: url });
        throw error;
      }
      this.#trace?.(`< ${response.status} ${redactUrl(url)} [${this.#traceHeaders(response.headers, url)}]`);
      const reply: HttpReply = {
        method,
        status: response.status,
        headers: response.headers,
        body: response.body,
        url,
        ...(response.remoteAddress ? { remoteAddress: response.remoteAddress } : {}),
      };
      if (!follow || !RedirectStatuses.has(reply.status)) return reply;
      let next: URL | undefined;
      try {
        next = locationOf(reply, method);
      } catch (error) {
        await reply.body.dump().catch(() => {});
        throw error;
      }
      if (!next) return reply;
      if (hop >= MaxRedirects) {
        await reply.body.dump().catch(() => {});
        throw new LadingError('REGISTRY_ERROR', `${req.method} ${url.origin}: more than ${MaxRedirects} redirects`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') return reply;
      // An answer fetched over plain HTTP could be anyone's: a tag resolved there, or a digest
      // header read there, would no longer be the registry's word.
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        await reply.body.dump().catch(() => {});
        throw new LadingError(
          'REGISTRY_ERROR',
          `${method} ${redactUrl(url)}: redirect to plain HTTP (${next.origin}) refused`,
        );
      }
      if (reply.status === 303 || ((reply.status === 301 || reply.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
      } else if (body !== undefined && !isReplayable(body)) {
        return reply;
      }
      await reply.body.dump().catch(() => {});
      url = next;
    }
  }
}
