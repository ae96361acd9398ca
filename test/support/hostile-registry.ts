// A hostile registry: node:http on 127.0.0.1:0 that answers each request with whatever a test
// crafted for it — looping or endless `Link` pages, bodies that never end, lying headers,
// referrer chains thousands deep. Unlike the fault server it keeps no store of its own: every
// answer comes from a route the test registered, so nothing it serves is accidentally valid.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface HostileTls {
  key: string | Buffer;
  cert: string | Buffer;
}

export interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  /** The route pattern's match against the path. */
  match: RegExpExecArray;
  body: Buffer;
  /** How many requests this route has answered before this one. */
  n: number;
  server: HostileRegistry;
}

export type RouteHandler = (ctx: RouteContext) => void | Promise<void>;

interface Route {
  method: string;
  path: RegExp;
  handler: RouteHandler;
  hits: number;
}

export const sha256 = (b: Uint8Array | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class HostileRegistry {
  readonly requests: LoggedRequest[] = [];
  /** Body bytes the server managed to hand to the socket, over all answers. */
  bytesSent = 0;
  #routes: Route[] = [];
  #server: http.Server;
  #port = 0;
  #closing = false;
  readonly #scheme: 'http' | 'https';

  private constructor(tls: HostileTls | undefined) {
    const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.#handle(req, res).catch((error: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error.stack));
      });
    };
    this.#scheme = tls ? 'https' : 'http';
    this.#server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, listener) : http.createServer(listener);
  }

  /** Plain HTTP, or HTTPS with the given certificate (for the peers' CA: `tls/registry.{key,crt}`). */
  static async start(options: { tls?: HostileTls } = {}): Promise<HostileRegistry> {
    const s = new HostileRegistry(options.tls);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get url(): string {
    return `${this.#scheme}://${this.host}`;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Answers `method` (or `*`) requests whose path matches `path`. Routes added later win, so a test
   * can override one answer of a scenario.
   */
  on(method: string, path: RegExp, handler: RouteHandler): this {
    this.#routes.unshift({ method, path, handler, hits: 0 });
    return this;
  }

  /** Requests seen with this method (or any, for `*`) whose URL matches `pattern`. */
  count(method: string, pattern: RegExp = /./): number {
    return this.requests.filter((r) => (method === '*' || r.method === method) && pattern.test(r.url)).length;
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    for (const route of this.#routes) {
      if (route.method !== '*' && route.method !== method) continue;
      const match = route.path.exec(url.pathname);
      if (!match) continue;
      const n = route.hits++;
      await route.handler({ req, res, url, match, body, n, server: this });
      return;
    }
    if (url.pathname === '/v2/') return void json(res, 200, {});
    json(res, 404, { errors: [{ code: 'NAME_UNKNOWN', message: 'nothing here' }] });
  }
}

/** A JSON answer with an exact Content-Length. */
export function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': bytes.length, ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : bytes);
}

/**
 * A chunked body that repeats `chunk` until the client goes away or `limit` bytes were sent:
 * what a client reads of it is what it failed to bound.
 */
export function endless(
  res: http.ServerResponse,
  server: HostileRegistry,
  headers: Record<string, string | number>,
  options: { chunk?: Buffer; limit?: number; status?: number } = {},
): Promise<void> {
  const chunk = options.chunk ?? Buffer.alloc(64 * 1024, 0x20);
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  res.writeHead(options.status ?? 200, headers);
  return new Promise<void>((resolve) => {
    let sent = 0;
    const pump = () => {
      while (!res.destroyed && !server.closing && sent < limit) {
        sent += chunk.length;
        server.bytesSent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
      resolve();
    };
    res.once('close', () => resolve());
    pump();
  });
}

/** An OCI image index listing `manifests` (the body of a referrers answer). */
export function indexBody(manifests: object[]): Buffer {
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
  );
}

/** A syntactically valid digest derived from `seed` (for referrers that exist only in a listing). */
export function fakeDigest(seed: string): string {
  return sha256(`hostile:${seed}`);
}
