import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { LadingError } from '../oci/index.js';

/**
 * A request a web browser sent: fetch, forms and page loads add `Origin` or `Sec-Fetch-*`;
 * registry clients (docker, oras, skopeo, lading) send neither. (Over plain HTTP to a name that is
 * not localhost a browser sends no `Sec-Fetch-*`, and a same-origin GET no `Origin`: a read can
 * look like a registry client's; a write always carries `Origin`.)
 */
export function fromBrowser(req: IncomingMessage): boolean {
  const h = req.headers;
  return h.origin !== undefined || h['sec-fetch-site'] !== undefined || h['sec-fetch-mode'] !== undefined;
}

/**
 * Whether a browser request comes from a page of this server itself: `Sec-Fetch-Site` is
 * `same-origin` (or `none`, the user's own navigation), or, where the browser sends no
 * `Sec-Fetch-Site` (plain HTTP), `Origin` is the server's own origin as the request names it.
 * A request without either header is not judged here (true).
 */
export function fromOwnOrigin(req: IncomingMessage, o: { allowNone?: boolean } = {}): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' || (o.allowNone !== false && site === 'none');
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const scheme = (req.socket as TLSSocket | undefined)?.encrypted ? 'https' : 'http';
  return origin.toLowerCase() === `${scheme}://${String(req.headers.host ?? '').toLowerCase()}`;
}

/** Whether an address a server listens on (as `server.address()` gives it) is a loopback one. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.toLowerCase();
  // IPv4-mapped: `::ffff:127.0.0.1`, or as a browser writes it, `::ffff:7f00:1`.
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  if (isIP(a) !== 6) return false;
  return /^(?:0{0,4}:){2,7}0{0,3}1$/.test(a) || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(a);
}

/** What a `Host` header names: the host (lower case, no brackets) and the port, if it has one. */
function parseHost(header: string): { name: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  if (!m) return undefined;
  const name = (m[1] ?? m[2]) as string;
  if (m[1] !== undefined && isIP(name) !== 6) return undefined;
  return { name, port: m[3] === undefined ? undefined : Number(m[3]) };
}

/**
 * Checks a host name an operator allows (`--allowed-host`): a DNS name or an IP address, without
 * a port; returns it in lower case, without brackets.
 */
export function allowedHostName(raw: string): string {
  const name = raw
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  const dns = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;
  if (name.length > 253 || (!dns.test(name) && isIP(name) === 0)) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `allowed host "${raw.replace(/[^\x20-\x7e]/g, '?').slice(0, 100)}": expected a host name or IP address, without a port`,
    );
  }
  return name;
}

export interface HostGuardOptions {
  /** Further names (without port) a browser may use for the server, as `--allowed-host` gives them. */
  allowedHosts?: readonly string[] | undefined;
  /** The port a Host without one means (80, or 443 over TLS). */
  defaultPort?: number | undefined;
  /** The machine's name (default os.hostname()). */
  hostname?: string | undefined;
}

/**
 * The Host headers a server listening on `bound` (`server.address()`, so `127.1` or
 * `[0:0:0:0:0:0:0:1]` are seen as the loopback addresses they are) answers a web page under. A
 * page elsewhere could otherwise read and write it through DNS rebinding: its own name, resolved
 * to the server's address, is "same-origin" to the browser, and only the Host header tells.
 *
 * On a loopback address: a loopback address or `localhost`, with the server's port. On any other
 * address (`0.0.0.0`, `::`, a network interface's): any IP address, `localhost` or the machine's
 * own name, with any port. Both: the names the operator allows. A rebinding page's Host is always
 * a DNS name, so IP literals are safe to accept.
 */
export function hostGuard(
  bound: { address: string; port: number },
  o: HostGuardOptions = {},
): (host: string | undefined) => boolean {
  const allowed = new Set((o.allowedHosts ?? []).map(allowedHostName));
  const loopback = isLoopbackAddress(bound.address);
  const machine = (o.hostname ?? osHostname()).toLowerCase();
  const defaultPort = o.defaultPort ?? 80;
  return (header) => {
    const host = header === undefined ? undefined : parseHost(header);
    if (!host) return false;
    if (allowed.has(host.name)) return true;
    if (loopback) {
      // `*.localhost` is loopback by definition (RFC 6761; browsers never ask DNS for it), so no
      // page elsewhere can take such a name: k3d and kind name their registries so.
      const local =
        host.name === 'localhost' ||
        host.name.endsWith('.localhost') ||
        (isIP(host.name) !== 0 && isLoopbackAddress(host.name));
      return local && (host.port ?? defaultPort) === bound.port;
    }
    return isIP(host.name) !== 0 || host.name === 'localhost' || host.name === machine;
  };
}
