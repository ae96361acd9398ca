import { isIP } from 'node:net';
import { LadingError } from '../oci/index.js';

/**
 * The HTTP proxies to use, as Go's `httpproxy.Config` (which oras and ocm read from the
 * environment): one per scheme of the request, and the hosts that are reached directly.
 */
export interface ProxyConfig {
  /** Proxy for `http://` requests. */
  httpProxy?: string | undefined;
  /** Proxy for `https://` requests. */
  httpsProxy?: string | undefined;
  /**
   * Comma-separated hosts reached without a proxy: `*` (all), a domain (`example.com` matches it
   * and its subdomains, `.example.com` only the subdomains), an IP address or CIDR range, each with
   * an optional `:port`.
   */
  noProxy?: string | undefined;
}

/** The proxy a request to `url` goes through, or undefined for a direct connection. */
export type ProxySelector = (url: URL) => URL | undefined;

/** `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (upper case first, then lower case), as Go reads them. */
export function proxyConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const first = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  return {
    httpProxy: first('HTTP_PROXY', 'http_proxy'),
    httpsProxy: first('HTTPS_PROXY', 'https_proxy'),
    noProxy: first('NO_PROXY', 'no_proxy'),
  };
}

/**
 * A proxy URL as Go accepts one: `http://`, `https://`, or a bare `host:port` taken as `http://`.
 * `where` names the setting in the error.
 */
export function parseProxyUrl(raw: string, where: string): URL {
  const text = raw.trim();
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || !/^(https?|socks5h?):$/.test(url.protocol) || !url.hostname) {
    try {
      url = new URL(`http://${text}`);
    } catch {
      throw new LadingError('INVALID_ARGUMENT', `${where}: not a proxy URL: ${redactProxy(text)}`);
    }
  }
  if (url.protocol.startsWith('socks')) {
    throw new LadingError('UNSUPPORTED', `${where}: SOCKS proxies are not supported (${redactProxy(text)})`);
  }
  if (!url.hostname || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new LadingError('INVALID_ARGUMENT', `${where}: not a proxy URL: ${redactProxy(text)}`);
  }
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${where}: the user name or password of ${redactProxy(url)} has a bad percent escape (a literal % is written %25)`,
    );
  }
  return url;
}

/**
 * A proxy URL without its user information, for messages. A setting given as text may not parse
 * (that may be why it is being reported): everything up to its last `@` goes, so a password holding
 * a raw `/`, `?` or `#` is not shown in part.
 */
export function redactProxy(proxy: URL | string): string {
  if (typeof proxy !== 'string') return `${proxy.protocol}//${proxy.host}`;
  const at = proxy.lastIndexOf('@');
  if (at < 0) return proxy;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(proxy)?.[0] ?? '';
  return `${scheme}${proxy.slice(at + 1)}`;
}

interface NoProxyRule {
  match(host: string, port: string, ip: boolean): boolean;
}

/** One NO_PROXY entry, with Go's rules: CIDR, IP, `*.d`/`.d` (subdomains), `d` (it and subdomains). */
function noProxyRule(entry: string): NoProxyRule | undefined {
  const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
  if (cidr && isIP(cidr[1] as string)) {
    const net = cidr[1] as string;
    const bits = Number(cidr[2]);
    return { match: (host, _port, ip) => ip && inCidr(host, net, bits) };
  }
  const { host, port } = splitHostPort(entry);
  if (isIP(host)) {
    const want = canonicalIp(host);
    return { match: (h, p, ip) => ip && canonicalIp(h) === want && (!port || port === p) };
  }
  let domain = host.startsWith('*.') ? host.slice(1) : host;
  const matchHost = !domain.startsWith('.');
  if (matchHost) domain = `.${domain}`;
  if (domain === '.') return undefined;
  return {
    match: (h, p) => (h.endsWith(domain) || (matchHost && h === domain.slice(1))) && (!port || port === p),
  };
}

function splitHostPort(text: string): { host: string; port: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1] as string, port: bracketed[2] ?? '' };
  const colon = text.lastIndexOf(':');
  // An IPv6 address without brackets has several colons and no port.
  if (colon > 0 && text.indexOf(':') === colon && /^\d+$/.test(text.slice(colon + 1))) {
    return { host: text.slice(0, colon), port: text.slice(colon + 1) };
  }
  return { host: text, port: '' };
}

function canonicalIp(ip: string): string {
  if (isIP(ip) === 4) return ip;
  return ipv6Words(ip)
    .map((w) => w.toString(16))
    .join(':');
}

/** The eight 16-bit words of an IPv6 address (an embedded IPv4 tail included). */
function ipv6Words(ip: string): number[] {
  let text = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = (v4[1] as string).split('.').map(Number);
    text = `${text.slice(0, -(v4[1] as string).length)}${(((b[0] as number) << 8) | (b[1] as number)).toString(16)}:${(((b[2] as number) << 8) | (b[3] as number)).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((w) => Number.parseInt(w, 16));
}

function ipBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split('.').map(Number);
  return ipv6Words(ip).flatMap((w) => [w >> 8, w & 0xff]);
}

function inCidr(host: string, net: string, bits: number): boolean {
  const a = ipBytes(host);
  const b = ipBytes(net);
  if (a.length !== b.length || bits > a.length * 8) return false;
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if (((a[byte] as number) & mask) !== ((b[byte] as number) & mask)) return false;
  }
  return true;
}

function isLoopback(host: string, ip: boolean): boolean {
  if (host === 'localhost') return true;
  if (!ip) return false;
  return isIP(host) === 4 ? host.startsWith('127.') : canonicalIp(host) === '0:0:0:0:0:0:0:1';
}

/**
 * Picks the proxy for each request as Go's `http.ProxyFromEnvironment` does: by the request's
 * scheme; never for `localhost` or a loopback address; not for hosts NO_PROXY names. Invalid
 * settings fail here, naming the setting.
 */
export function proxySelector(config: ProxyConfig, where = 'proxy'): ProxySelector | undefined {
  const http = config.httpProxy ? parseProxyUrl(config.httpProxy, `${where} (HTTP_PROXY)`) : undefined;
  const https = config.httpsProxy ? parseProxyUrl(config.httpsProxy, `${where} (HTTPS_PROXY)`) : undefined;
  if (!http && !https) return undefined;
  const entries = (config.noProxy ?? '')
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== '');
  if (entries.includes('*')) return undefined;
  const rules = entries.map(noProxyRule).filter((r): r is NoProxyRule => r !== undefined);
  return (url) => {
    const proxy = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : undefined;
    if (!proxy) return undefined;
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    const ip = isIP(host) !== 0;
    if (isLoopback(host, ip)) return undefined;
    if (rules.some((r) => r.match(host, port, ip))) return undefined;
    return proxy;
  };
}

/** `Proxy-Authorization` for a proxy URL with user information. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (!proxy.username && !proxy.password) return undefined;
  const user = decodeURIComponent(proxy.username);
  const pass = decodeURIComponent(proxy.password);
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}
