// An in-process registry (node:http on 127.0.0.1:0) for what a real registry cannot be made to do
// on demand: faults, redirects to another origin, a referrers API, paginated tags, expiring tokens.
// It keeps everything in memory and logs every request.
import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** The client's port: requests with the same one came over the same connection. */
  port?: number | undefined;
}

/** Returns true when it answered the request itself (the default handling is then skipped). */
export type Interceptor = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: Buffer,
) => boolean | Promise<boolean>;

export interface FaultServerOptions {
  /** Serve GET /v2/<name>/referrers/<digest> and answer OCI-Subject on manifest PUTs. */
  referrersApi?: boolean;
  /** Entries per referrers page (Link pagination); default: all in one. */
  referrersPageSize?: number;
  /** Require bearer tokens from this server's /token endpoint. */
  tokenAuth?: boolean;
  /** Send request bodies to interceptors without reading them first (to fail mid-body). */
  streamBodies?: boolean;
}

interface Manifest {
  mediaType: string;
  bytes: Buffer;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class FaultServer {
  readonly requests: LoggedRequest[] = [];
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, Manifest>();
  /** `<repo>:<tag>` → digest. */
  readonly tags = new Map<string, string>();
  readonly uploads = new Map<string, Buffer>();
  readonly options: FaultServerOptions;
  /** Tokens currently accepted; `expireTokens()` empties it. */
  readonly validTokens = new Set<string>();
  tokensIssued = 0;
  #interceptors: Interceptor[] = [];
  #server: http.Server;
  #port = 0;

  private constructor(options: FaultServerOptions) {
    this.options = options;
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((error: Error) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(error.stack));
      });
    });
  }

  static async start(options: FaultServerOptions = {}): Promise<FaultServer> {
    const s = new FaultServer(options);
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  get host(): string {
    return `127.0.0.1:${this.#port}`;
  }

  get url(): string {
    return `http://${this.host}`;
  }

  /** Adds a fault; interceptors run in order before the registry logic. */
  intercept(fn: Interceptor): void {
    this.#interceptors.push(fn);
  }

  clearInterceptors(): void {
    this.#interceptors = [];
  }

  expireTokens(): void {
    this.validTokens.clear();
  }

  /** Closes the connections no request is using (kept-alive ones go stale for their clients). */
  closeIdleConnections(): void {
    this.#server.closeIdleConnections();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  putBlob(bytes: Buffer): string {
    const digest = sha256(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }

  putManifest(repo: string, mediaType: string, bytes: Buffer, tag?: string): string {
    const digest = sha256(bytes);
    this.manifests.set(digest, { mediaType, bytes });
    if (tag) this.tags.set(`${repo}:${tag}`, digest);
    return digest;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      port: req.socket.remotePort,
    });
    let body = Buffer.alloc(0);
    if (!this.options.streamBodies) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
    }
    for (const fn of this.#interceptors) {
      if (await fn(req, res, body)) return;
    }
    if (this.options.streamBodies) {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      body = Buffer.concat(chunks);
    }
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname === '/token') return this.#token(res);
    if (this.options.tokenAuth && url.pathname.startsWith('/v2/')) {
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (!this.validTokens.has(token)) {
        const error = token ? ',error="invalid_token"' : '';
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer realm="${this.url}/token",service="fault"${error}`,
        });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
    }
    if (url.pathname === '/v2/') return send(res, 200, {});
    // Greedy: a repository may itself be called `x/tags` or `x/referrers`.
    const m = /^\/v2\/(.+)\/(blobs\/uploads|blobs|manifests|tags|referrers)\/?([^/]*)$/.exec(url.pathname);
    if (!m) return send(res, 404, 'no route', 'text/plain');
    const [, repo = '', kind, rest = ''] = m;
    const method = req.method ?? 'GET';
    switch (kind) {
      case 'blobs':
        return this.#blob(method, rest, req, res);
      case 'blobs/uploads':
        return this.#upload(method, repo, rest, url, req, res, body);
      case 'manifests':
        return this.#manifest(method, repo, rest, req, res, body);
      case 'tags':
        return this.#tagList(repo, url, res);
      case 'referrers':
        return this.#referrers(rest, url, res);
    }
  }

  #token(res: http.ServerResponse): void {
    this.tokensIssued += 1;
    const token = `tok-${this.tokensIssued}-${randomUUID()}`;
    this.validTokens.add(token);
    send(res, 200, { token, expires_in: 300 });
  }

  #blob(method: string, digest: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const data = this.blobs.get(digest);
    if (method === 'DELETE') {
      if (!data) {
        specError(res, 404, 'BLOB_UNKNOWN', 'blob unknown');
        return;
      }
      this.blobs.delete(digest);
      return void res.writeHead(202).end();
    }
    if (!data) {
      specError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      res.writeHead(206, {
        'content-length': data.length - start,
        'content-range': `bytes ${start}-${data.length - 1}/${data.length}`,
        'docker-content-digest': digest,
      });
      return void res.end(method === 'HEAD' ? undefined : data.subarray(start));
    }
    res.writeHead(200, {
      'content-length': data.length,
      'content-type': 'application/octet-stream',
      'docker-content-digest': digest,
      'accept-ranges': 'bytes',
    });
    res.end(method === 'HEAD' ? undefined : data);
  }

  #upload(
    method: string,
    repo: string,
    id: string,
    url: URL,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
  ): void {
    const location = (uid: string) => `/v2/${repo}/blobs/uploads/${uid}?_state=${uid}-state`;
    if (method === 'POST') {
      const mount = url.searchParams.get('mount');
      if (mount && this.blobs.has(mount)) {
        res.writeHead(201, { location: `/v2/${repo}/blobs/${mount}`, 'docker-content-digest': mount });
        return void res.end();
      }
      const uid = randomUUID();
      this.uploads.set(uid, Buffer.alloc(0));
      res.writeHead(202, { location: location(uid), range: '0-0', 'docker-upload-uuid': uid });
      return void res.end();
    }
    const current = this.uploads.get(id);
    if (!current) {
      specError(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown');
      return;
    }
    if (method === 'GET') {
      res.writeHead(204, { location: location(id), range: `0-${Math.max(0, current.length - 1)}` });
      return void res.end();
    }
    if (method === 'DELETE') {
      this.uploads.delete(id);
      return void res.writeHead(204).end();
    }
    if (method === 'PATCH') {
      const range = /^(\d+)-(\d+)$/.exec(String(req.headers['content-range'] ?? ''));
      if (range && Number(range[1]) !== current.length) {
        res.writeHead(416, { location: location(id), range: `0-${Math.max(0, current.length - 1)}` });
        return void res.end();
      }
      const next = Buffer.concat([current, body]);
      this.uploads.set(id, next);
      res.writeHead(202, { location: location(id), range: `0-${next.length - 1}` });
      return void res.end();
    }
    if (method === 'PUT') {
      const digest = url.searchParams.get('digest') ?? '';
      const all = Buffer.concat([current, body]);
      if (sha256(all) !== digest) {
        specError(res, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
        return;
      }
      this.uploads.delete(id);
      this.blobs.set(digest, all);
      res.writeHead(201, { location: `/v2/${repo}/blobs/${digest}`, 'docker-content-digest': digest });
      return void res.end();
    }
    res.writeHead(405).end();
  }

  #manifest(
    method: string,
    repo: string,
    ref: string,
    req: http.IncomingMessage,
    res: http.ServerResponse,
    body: Buffer,
  ): void {
    if (method === 'PUT') {
      const mediaType = String(req.headers['content-type'] ?? '');
      const digest = this.putManifest(repo, mediaType, body, ref.includes(':') ? undefined : ref);
      const headers: Record<string, string> = {
        location: `/v2/${repo}/manifests/${digest}`,
        'docker-content-digest': digest,
      };
      const subject = (JSON.parse(body.toString()) as { subject?: { digest: string } }).subject;
      if (this.options.referrersApi && subject) headers['oci-subject'] = subject.digest;
      res.writeHead(201, headers);
      return void res.end();
    }
    const digest = ref.includes(':') ? ref : this.tags.get(`${repo}:${ref}`);
    const found = digest ? this.manifests.get(digest) : undefined;
    if (method === 'DELETE') {
      if (!digest || !found) {
        specError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
        return;
      }
      this.manifests.delete(digest);
      return void res.writeHead(202).end();
    }
    if (!digest || !found) {
      specError(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
      return;
    }
    res.writeHead(200, {
      'content-type': found.mediaType,
      'content-length': found.bytes.length,
      'docker-content-digest': digest,
    });
    res.end(method === 'HEAD' ? undefined : found.bytes);
  }

  #tagList(repo: string, url: URL, res: http.ServerResponse): void {
    const all = [...this.tags.keys()]
      .filter((k) => k.startsWith(`${repo}:`))
      .map((k) => k.slice(repo.length + 1))
      .sort();
    const last = url.searchParams.get('last');
    const n = Number(url.searchParams.get('n') ?? all.length);
    const rest = last ? all.filter((t) => t > last) : all;
    const page = rest.slice(0, n);
    const headers: Record<string, string> = {};
    if (page.length < rest.length) {
      headers.link = `</v2/${repo}/tags/list?n=${n}&last=${encodeURIComponent(page.at(-1) ?? '')}>; rel="next"`;
    }
    send(res, 200, { name: repo, tags: page }, 'application/json', headers);
  }

  #referrers(subject: string, url: URL, res: http.ServerResponse): void {
    if (!this.options.referrersApi) {
      send(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
      return;
    }
    const artifactType = url.searchParams.get('artifactType');
    const list: object[] = [];
    for (const [digest, m] of this.manifests) {
      const parsed = JSON.parse(m.bytes.toString()) as {
        subject?: { digest: string };
        artifactType?: string;
        config?: { mediaType: string };
        annotations?: Record<string, string>;
      };
      if (parsed.subject?.digest !== subject) continue;
      const type = parsed.artifactType ?? parsed.config?.mediaType;
      if (artifactType && type !== artifactType) continue;
      list.push({
        mediaType: m.mediaType,
        digest,
        size: m.bytes.length,
        artifactType: type,
        annotations: parsed.annotations,
      });
    }
    const size = this.options.referrersPageSize ?? (list.length || 1);
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const page = list.slice(offset, offset + size);
    const headers: Record<string, string> = {};
    if (artifactType) headers['oci-filters-applied'] = 'artifactType';
    if (offset + size < list.length) {
      const next = new URL(url.pathname, this.url);
      if (artifactType) next.searchParams.set('artifactType', artifactType);
      next.searchParams.set('offset', String(offset + size));
      headers.link = `<${next.pathname}${next.search}>; rel="next"`;
    }
    send(
      res,
      200,
      { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: page },
      'application/vnd.oci.image.index.v1+json',
      headers,
    );
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  type = 'application/json',
  headers: Record<string, string> = {},
): void {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  res.writeHead(status, { 'content-type': type, 'content-length': bytes.length, ...headers });
  res.end(bytes);
}

function specError(res: http.ServerResponse, status: number, code: string, message: string): void {
  send(res, status, { errors: [{ code, message, detail: {} }] });
}

/** A plain second origin (for redirect targets) that records the headers it receives. */
export class SecondOrigin {
  readonly requests: LoggedRequest[] = [];
  #server: http.Server;
  #port = 0;
  readonly files = new Map<string, Buffer>();

  /**
   * Uploads received (a blob store a registry hands its upload URLs out to): PATCH appends to the
   * session at the path and answers 202 with a relative Location, PUT appends its body, stores the
   * whole under the path and answers 201.
   */
  readonly uploads = new Map<string, Buffer>();

  private constructor() {
    this.#server = http.createServer(async (req, res) => {
      this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (req.method === 'PATCH' || req.method === 'PUT') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const sofar = Buffer.concat([this.uploads.get(path) ?? Buffer.alloc(0), ...chunks]);
        this.uploads.set(path, sofar);
        if (req.method === 'PATCH') {
          res.writeHead(202, { location: `${path}?part=${sofar.length}`, range: `0-${Math.max(0, sofar.length - 1)}` });
          return void res.end();
        }
        this.files.set(path, sofar);
        return void res.writeHead(201, { 'docker-content-digest': sha256(sofar) }).end();
      }
      const data = this.files.get(path);
      if (!data) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': data.length, 'content-type': 'application/octet-stream' });
      res.end(data);
    });
  }

  static async start(): Promise<SecondOrigin> {
    const s = new SecondOrigin();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#port = (s.#server.address() as AddressInfo).port;
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
