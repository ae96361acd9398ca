import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { readRegularFile } from '../content/index.js';
import { OciLayout } from '../layout/index.js';
import { LadingError, MaxManifestBytes } from '../oci/index.js';
import { allowedHostName, hostGuard, isLoopbackAddress } from './browser.js';
import { internalErrors, refusedHosts, registryHandler } from './handler.js';
import { Htpasswd } from './htpasswd.js';
import { repositoryParts } from './names.js';
import { RegistryStore } from './storage.js';
import { createUiHandler, type UiHandler, type UiKeys, type UiStore } from './ui/index.js';
import { Uploads } from './uploads.js';

export interface ServeOptions {
  /** Where the repositories live (each an OCI image layout). */
  root: string;
  /** `host:port`; port 0 picks a free one. Default 127.0.0.1:5000. */
  addr?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** An htpasswd file of bcrypt entries: every request then needs basic auth. */
  htpasswd?: string;
  readOnly?: boolean;
  /** The largest manifest accepted, in bytes: at most (and by default) 4 MiB, the most any lading client reads. */
  maxManifestBytes?: number;
  maxUploadBytes?: number;
  /**
   * How long a connection may stay silent (no byte read or written) in the middle of a request,
   * before it is closed, in ms (default 300,000, as lading's client waits for a silent body). A
   * big blob that keeps moving is never cut off; a client that stalls mid-upload does not hold
   * its connection and file for ever.
   */
  idleTimeoutMs?: number;
  /** Mount blobs named without `from` from any repository (default true). */
  automaticMount?: boolean;
  /**
   * Host names (no port) a web browser may name the server by, besides its addresses (see
   * hostGuard): for a name of its own on a network address, or behind a proxy that keeps the Host.
   */
  allowedHosts?: readonly string[];
  /** Called once per request when its response is done (or the client went away). */
  onRequest?: (entry: RequestLog) => void;
  /**
   * The read-only browser view at `/ui/` (on by default; `false` turns it off), with the keys its
   * verify action checks signatures with and the version shown in its footer.
   */
  ui?: false | { keys?: UiKeys; version?: string } | undefined;
}

export interface RequestLog {
  time: string;
  remote: string;
  method: string;
  path: string;
  status: number;
  /** Bytes read from the connection during the request (body, after its headers) and of the response body. */
  bytesIn: number;
  bytesOut: number;
  ms: number;
  /** The response was not completed (the client went away, or the server stopped). */
  aborted: boolean;
  /** The client's User-Agent header ('' when none). */
  userAgent: string;
  /** Why the request failed, for the operator: what failed in an internal error (500; the client is told only its kind), or a refused host name (403). */
  error?: string;
  /** A refused host name (403) as `allowedHosts` would admit it, where the request named one that could be (not an address with odd characters). */
  refusedHost?: string;
}

export interface RunningRegistry {
  /** `http(s)://host:port`. */
  url: string;
  host: string;
  port: number;
  root: string;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs`, then cuts
   * the rest off (an upload chunk cut off is truncated to what was acknowledged before it).
   */
  close(graceMs?: number): Promise<void>;
}

/** Parses `host:port` (`[::1]:5000`, `:5000` for all interfaces). */
export function parseAddr(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new LadingError('INVALID_ARGUMENT', `address "${addr}": expected host:port`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Starts the registry; resolves once it accepts connections. */
export async function startRegistry(o: ServeOptions): Promise<RunningRegistry> {
  const { host, port } = parseAddr(o.addr ?? '127.0.0.1:5000');
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new LadingError('INVALID_ARGUMENT', 'tlsCert and tlsKey go together');
  }
  if (o.maxManifestBytes !== undefined && !(o.maxManifestBytes > 0 && o.maxManifestBytes <= MaxManifestBytes)) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `the largest manifest accepted must be 1 to ${MaxManifestBytes} bytes (lading reads none larger), not ${o.maxManifestBytes}`,
    );
  }
  const store = await RegistryStore.open(o.root);
  const uploads = new Uploads(store, o.maxUploadBytes ? { maxUploadBytes: o.maxUploadBytes } : {});
  const htpasswd = o.htpasswd ? await Htpasswd.load(o.htpasswd) : undefined;
  const stopping = new AbortController();
  // Made once listening, when the address is known: the view (and a web page's requests to the
  // API) are answered only under the server's own names (a page elsewhere cannot reach it by DNS
  // rebinding). The allowed names are checked before anything listens.
  if (o.allowedHosts) for (const name of o.allowedHosts) allowedHostName(name);
  let ui: UiHandler | undefined;
  let browserHost: ((host: string | undefined) => boolean) | undefined;
  let hostForAll = false;
  const handler = registryHandler({
    browserHost: () => browserHost,
    hostForAll: () => hostForAll,
    store,
    uploads,
    htpasswd,
    readOnly: o.readOnly,
    maxManifestBytes: o.maxManifestBytes,
    automaticMount: o.automaticMount,
    signal: stopping.signal,
    ui: o.ui === false ? undefined : (req, res) => (ui as UiHandler)(req, res),
  });
  let closingNow = false;
  const active = new Set<ServerResponse>();
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (closingNow) {
      // Stopping: a request that arrives on a kept-alive connection meets a closed server, as a new one would.
      req.socket.destroy();
      return;
    }
    active.add(res);
    res.once('close', () => active.delete(res));
    const started = Date.now();
    // Counting through a 'data' listener would start the body flowing before the handler reads it.
    // Held here: by the time a response finishes, the request may have let go of its socket (a
    // connection closed after the answer).
    const socket = req.socket;
    const socketBefore = socket.bytesRead;
    const remote = socket.remoteAddress ?? '';
    let logged = false;
    const log = (aborted: boolean) => {
      if (logged) return;
      logged = true;
      o.onRequest?.({
        time: new Date(started).toISOString(),
        remote,
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        status: res.statusCode,
        bytesIn: Math.max(0, socket.bytesRead - socketBefore),
        bytesOut: Number(res.getHeader('content-length') ?? 0),
        ms: Date.now() - started,
        aborted,
        userAgent: String(req.headers['user-agent'] ?? '').slice(0, 512),
        ...(internalErrors.has(res) ? { error: internalErrors.get(res) as string } : {}),
        ...(refusedHosts.has(res) ? { refusedHost: refusedHosts.get(res) as string } : {}),
      });
    };
    res.once('finish', () => log(false));
    res.once('close', () => log(!res.writableFinished));
    void handler(req, res);
  };
  let server: http.Server;
  if (o.tlsCert && o.tlsKey) {
    const [cert, key] = await Promise.all([readTls(o.tlsCert, 'certificate'), readTls(o.tlsKey, 'key')]);
    try {
      server = https.createServer({ cert, key }, listener);
    } catch (error) {
      throw new LadingError('INVALID_ARGUMENT', `TLS: ${(error as Error).message}`, { cause: error });
    }
    answerPlainHttp(server);
  } else {
    server = http.createServer(listener);
  }
  // Big blobs take long: no request timeout, but an idle connection does not live for ever,
  // between requests (keep-alive) nor silent in the middle of one (the socket's idle timeout).
  server.requestTimeout = 0;
  server.keepAliveTimeout = 30_000;
  server.timeout = o.idleTimeoutMs ?? 300_000;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new LadingError(
          error.code === 'EADDRINUSE' ? 'ALREADY_EXISTS' : 'NETWORK_ERROR',
          `cannot listen on ${host}:${port}: ${error.code === 'EADDRINUSE' ? 'the address is in use' : error.message}`,
          { cause: error },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const allowedHost = hostGuard(address, { allowedHosts: o.allowedHosts, defaultPort: o.tlsCert ? 443 : 80 });
  browserHost = allowedHost;
  hostForAll = isLoopbackAddress(address.address);
  if (o.ui !== false) {
    try {
      ui = createUiHandler({
        store: registryRootStore(store),
        basePath: '/ui/',
        ...(o.ui?.keys ? { keys: o.ui.keys } : {}),
        ...(o.ui?.version ? { version: o.ui.version } : {}),
        allowedHost,
      });
    } catch (error) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw error;
    }
  }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    url: `${o.tlsCert ? 'https' : 'http'}://${shownHost}:${address.port}`,
    host: address.address,
    port: address.port,
    root: o.root,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        closingNow = true;
        // Requests in flight finish, and their connections close after them.
        for (const res of active) if (!res.headersSent) res.shouldKeepAlive = false;
        server.close(() => resolve());
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          stopping.abort(new LadingError('ABORTED', 'the registry is shutting down'));
          for (const socket of sockets) socket.destroy();
        }, graceMs);
        timer.unref();
        server.once('close', () => clearTimeout(timer));
      });
      return closing;
    },
  };
}

/** The largest TLS certificate or key file read. */
const MaxTlsFileBytes = 4 * 1024 * 1024;

/** A regular file only: a FIFO would hang the start, /dev/zero would never end. */
function readTls(path: string, what: string): Promise<Buffer> {
  return readRegularFile(path, { limit: MaxTlsFileBytes, where: `TLS ${what} ${path}` });
}

/** Runs garbage collection on a registry root (see RegistryStore.gc). */
export async function collectGarbage(root: string, o: { graceMs: number; dryRun?: boolean }) {
  const store = await RegistryStore.open(root);
  return store.gc(o);
}

/**
 * The registry's own repositories for the browser view: each is the OCI layout folder it is kept
 * in, read directly (names checked by the registry's grammar; no link followed).
 */
function registryRootStore(store: RegistryStore): UiStore {
  return {
    kind: 'registry',
    display: 'lading serve',
    resolver: {
      async targetFor(repository: string) {
        if (!(await store.exists(repository))) {
          throw new LadingError('NOT_FOUND', `repository ${repository} is not in this registry`);
        }
        return OciLayout.open(join(store.root, ...repositoryParts(repository)), {
          mode: 'readonly',
          followLinks: false,
        });
      },
      async *repositories() {
        yield await store.catalog();
      },
    },
  };
}

/**
 * A client speaking plain HTTP to the TLS port (a `--plain-http` push, or a client's plain-HTTP
 * default for localhost) gets Go's answer, a bare `400` saying so, instead of a reset connection
 * that tells it nothing. The first byte of a connection decides: 0x16 starts a TLS handshake, which
 * goes on to the TLS server's own handling of the connection with the byte put back.
 */
function answerPlainHttp(server: http.Server): void {
  const tls = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const fail = () => socket.destroy();
    socket.on('error', fail);
    // A connection that sends nothing is not held for ever before the handshake's own timeout starts.
    socket.setTimeout(30_000, fail);
    const first = () => {
      const byte = socket.read(1) as Buffer | null;
      if (byte === null) {
        if (!socket.readableEnded) socket.once('readable', first);
        return;
      }
      socket.setTimeout(0);
      if (byte[0] !== 0x16) {
        socket.end('HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n');
        return;
      }
      socket.unshift(byte);
      for (const listener of tls) listener.call(server, socket);
    };
    socket.once('readable', first);
  });
}
