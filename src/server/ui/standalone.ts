import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LadingError } from '../../oci/index.js';
import { createUiHandler, type UiOptions } from './handler.js';
import { securityHeaders, sendJson } from './http.js';

export interface UiServerOptions extends Omit<UiOptions, 'basePath' | 'allowedHosts'> {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: a free one). */
  port?: number;
}

export interface UiServer {
  /** `http://127.0.0.1:<port>/ui/`. */
  url: string;
  server: Server;
  close(): Promise<void>;
}

const loopback = new Set(['127.0.0.1', '::1', 'localhost']);

/**
 * The Host headers a server listening on `host`:`port` answers its view to: on a loopback address
 * only its own names (a web page elsewhere reaches it through DNS rebinding under another name),
 * else undefined (any).
 */
export function loopbackHosts(host: string, port: number): string[] | undefined {
  // Any 127.x.y.z is loopback too (`--addr 127.0.0.2:5000`).
  if (!loopback.has(host.toLowerCase()) && !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return undefined;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return [...new Set([`${urlHost}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`])];
}

/** Parses `--addr`: `host:port`, `:port` (loopback) or `[v6]:port`. */
export function parseAddr(raw: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(raw);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new LadingError('INVALID_ARGUMENT', `--addr "${raw}": expected host:port, :port or [v6]:port`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/**
 * The view on its own small HTTP server (`lading ui`): `/ui/` and below, `/` redirected there.
 * On a loopback address only requests naming that address as Host are answered, so a web page
 * elsewhere cannot reach the view through DNS rebinding.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new LadingError('IO_ERROR', `cannot listen on ${host}:${options.port ?? 0}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const allowedHosts = loopbackHosts(host, port);
  const handler = createUiHandler({ ...options, basePath: '/ui/', ...(allowedHosts ? { allowedHosts } : {}) });
  server.on('request', (req, res) => {
    void handler(req, res).then((answered) => {
      if (answered) return;
      if (req.url === '/' || req.url === '') {
        securityHeaders(res);
        res.statusCode = 302;
        res.setHeader('Location', '/ui/');
        res.end();
        return;
      }
      sendJson(res, 404, { error: { code: 'NOT_FOUND', message: 'the view is at /ui/' } });
    });
  });
  return {
    url: `http://${urlHost}:${port}/ui/`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
