import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LadingError } from '../../oci/index.js';
import { hostGuard } from '../browser.js';
import { createUiHandler, type UiOptions } from './handler.js';
import { securityHeaders, sendJson } from './http.js';

export interface UiServerOptions extends Omit<UiOptions, 'basePath' | 'allowedHost'> {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: a free one). */
  port?: number;
  /** Host names (no port) the view also answers under, besides its addresses (see hostGuard). */
  allowedHosts?: readonly string[];
}

export interface UiServer {
  /** `http://127.0.0.1:<port>/ui/`. */
  url: string;
  server: Server;
  /** The address it listens on, as the system reports it (`127.0.0.1`, `::`). */
  address: string;
  close(): Promise<void>;
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
 * Only requests whose Host names the server (see hostGuard) are answered, so a web page elsewhere
 * cannot reach the view through DNS rebinding.
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
  const bound = server.address() as AddressInfo;
  const port = bound.port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const { allowedHosts, ...uiOptions } = options;
  let handler: ReturnType<typeof createUiHandler>;
  try {
    handler = createUiHandler({ ...uiOptions, basePath: '/ui/', allowedHost: hostGuard(bound, { allowedHosts }) });
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
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
    address: bound.address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
