import { isIP } from 'node:net';
import { LadingError } from '../../oci/index.js';
import { quoteHeader } from '../headers.js';

/** A host name as compared here: no IPv6 brackets or zone, lower case, no trailing dot (`localhost.` is the same host). */
function bareHost(hostname: string): string {
  return hostname
    .replace(/^\[|\]$/g, '')
    .replace(/%.*$/, '')
    .toLowerCase()
    .replace(/\.$/, '');
}

/** The eight 16-bit groups of an IPv6 address (no brackets, no zone), a trailing dotted IPv4 part included. */
function ipv6Groups(host: string): number[] {
  let text = host;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

function ipv4Of(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/**
 * The IPv4 addresses an IPv6 address carries, and how: `mapped` (::ffff:0:0/96) is that IPv4 address
 * on this machine's own dual stack; `carried` ones (IPv4-compatible ::/96, SIIT ::ffff:0:0:0/96,
 * NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32's server and client) are reached through
 * a translator or a tunnel, so they are what they lead to, never this machine or its network.
 */
function carriedIPv4(host: string): { how: 'mapped' | 'carried'; addresses: string[] } | undefined {
  const g = ipv6Groups(host) as [number, number, number, number, number, number, number, number];
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const last = ipv4Of(g[6], g[7]);
  if (zeros(0, 5) && g[5] === 0xffff) return { how: 'mapped', addresses: [last] };
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return { how: 'carried', addresses: [last] };
  // ::/96 less :: and ::1 (which are their own addresses).
  if (zeros(0, 6) && (g[6] !== 0 || g[7] > 1)) return { how: 'carried', addresses: [last] };
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return { how: 'carried', addresses: [last] };
  if (g[0] === 0x2002) return { how: 'carried', addresses: [ipv4Of(g[1], g[2])] };
  if (g[0] === 0x2001 && g[1] === 0) {
    return { how: 'carried', addresses: [ipv4Of(g[2], g[3]), ipv4Of(~g[6] & 0xffff, ~g[7] & 0xffff)] };
  }
  return undefined;
}

/**
 * A host as judged here: {@link bareHost}, and an IPv4-mapped IPv6 address as its IPv4 address
 * (`::ffff:7f00:1` and `::ffff:127.0.0.1` are 127.0.0.1, as the kernel dials them).
 */
function judged(hostname: string): string {
  const host = bareHost(hostname);
  if (isIP(host) !== 6) return host;
  const carried = carriedIPv4(host);
  return carried?.how === 'mapped' ? (carried.addresses[0] as string) : host;
}

/**
 * This machine: `localhost`, 127.0.0.0/8, `::1`. Not a subdomain of `localhost`: RFC 6761 reserves
 * them, but glibc without systemd-resolved asks DNS for `x.localhost` (and then its search domains),
 * whose answer may be any host; a password in the clear must not go there.
 */
function isLoopback(hostname: string): boolean {
  const host = judged(hostname);
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * Whether a realm on `realm` is the registry's own machine under another name: the same host name,
 * or both on loopback (a local registry addressed as `localhost` whose token server it names as
 * `127.0.0.1`, or the other way round — what docker and oras accept without a second thought).
 */
function sameMachine(realm: string, registry: string): boolean {
  return bareHost(realm) === bareHost(registry) || (isLoopback(realm) && isLoopback(registry));
}

/** An RFC 1918 address (10/8, 172.16/12, 192.168/16): a private network's, not this machine's or a cloud's metadata. */
function isPrivateNetwork(hostname: string): boolean {
  const host = judged(hostname);
  if (isIP(host) !== 4) return false;
  const [a = 0, b = 0] = host.split('.').map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function isInternalIPv4(host: string): boolean {
  const [a = 0, b = 0] = host.split('.').map(Number);
  return (
    a === 127 ||
    a === 10 ||
    a === 0 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    // Carrier-grade NAT, benchmarking, multicast and reserved.
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

function isInternalAddress(hostname: string): boolean {
  const host = judged(hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 4) return isInternalIPv4(host);
  if (family === 6) {
    // An address that leads to an IPv4 address (NAT64, 6to4, Teredo, …) is what it leads to.
    const carried = carriedIPv4(host);
    if (carried) return carried.addresses.some(isInternalIPv4);
    return (
      host === '::1' ||
      host === '::' ||
      /^f[cd]/.test(host) ||
      /^fe[89a-f]/.test(host) ||
      /^ff/.test(host) ||
      // NAT64 local-use (RFC 8215): an operator's own translator, which may lead anywhere inside.
      /^64:ff9b:1:/.test(host)
    );
  }
  return false;
}

/**
 * Whether an internal `realm` host is beside the registry: the registry's own host name, or a
 * loopback realm beside a registry on this machine, or a private one beside a registry in a private
 * network or on this machine, judged by the registry's host name and by `registryAddress` (the peer
 * address its challenge came from; unknown through a proxy, which resolves names itself). Link-local
 * addresses (cloud metadata) and a realm that leads elsewhere through a translator never are.
 */
function besideRegistry(realm: string, registry: URL, registryAddress: string | undefined): boolean {
  if (bareHost(realm) === bareHost(registry.hostname)) return true;
  const registryHosts = [registry.hostname, ...(registryAddress ? [registryAddress] : [])];
  return registryHosts.some(
    (host) =>
      (isLoopback(realm) && isLoopback(host)) ||
      (isPrivateNetwork(realm) && (isPrivateNetwork(host) || isLoopback(host))),
  );
}

/** The longest realm taken: real ones are tens of characters; the registry's header may carry 64 KiB. */
const MaxRealmLength = 2048;

/** A DNS name (RFC 1035: 253 characters, labels of 63) or an IP literal. */
function isHostName(hostname: string): boolean {
  const host = bareHost(hostname);
  return isIP(host) !== 0 || (host.length <= 253 && host.split('.').every((label) => label.length <= 63));
}

/**
 * Checks the token realm a registry named in its challenge before any credential goes there:
 * http(s) only, no downgrade from an HTTPS registry, and no loopback or private address unless
 * the registry itself lives on that machine, or both are in a private network (a hostile registry
 * must not aim us at internal services).
 */
export function validateRealm(raw: string | undefined, registry: URL, registryAddress?: string): URL {
  const where = `${registry.host}: token realm`;
  if (!raw) throw new LadingError('REGISTRY_ERROR', `${where} is missing from the Bearer challenge`);
  if (raw.length > MaxRealmLength) {
    throw new LadingError('REGISTRY_ERROR', `${where} ${quoteHeader(raw)} is too long (${raw.length} characters)`);
  }
  let realm: URL;
  try {
    realm = new URL(raw);
  } catch {
    throw new LadingError('REGISTRY_ERROR', `${where} ${quoteHeader(raw)} is not a URL`);
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
    throw new LadingError('REGISTRY_ERROR', `${where} has unsupported scheme ${realm.protocol}`);
  }
  if (realm.protocol === 'http:' && registry.protocol === 'https:') {
    throw new LadingError('REGISTRY_ERROR', `${where} ${realm.origin} is plain HTTP for an HTTPS registry; refusing`);
  }
  if (realm.username || realm.password) {
    throw new LadingError('REGISTRY_ERROR', `${where} must not carry user information`);
  }
  if (!isHostName(realm.hostname)) {
    throw new LadingError('REGISTRY_ERROR', `${where} ${quoteHeader(realm.hostname)} is not a host name`);
  }
  // A registry on this machine or in a private network may keep its token server at another
  // private address (a registry and its auth server side by side); link-local addresses (cloud
  // metadata) and this machine stay refused unless the registry is on this machine itself.
  if (isInternalAddress(realm.hostname) && !besideRegistry(realm.hostname, registry, registryAddress)) {
    throw new LadingError(
      'REGISTRY_ERROR',
      `${where} ${realm.host} is an internal address unlike the registry; refusing`,
    );
  }
  return realm;
}

/**
 * The same rule for the address a realm's host name resolves to, checked on the address the
 * connection to the realm actually dials (after DNS, so an answer that changes between a check and
 * the connect cannot slip past; `checkAddress` of the token request). A realm by the registry's own
 * host name is the registry's machine, wherever it resolves. Otherwise an internal address (loopback,
 * private, link-local, …) is taken only where the literal would be: beside a registry on this machine
 * or in a private network, judged by the registry's host name or by the address its connection had
 * (`registryAddress`, the peer of the answer that carried the challenge; unknown through a proxy,
 * which resolves names itself, and then only the names count).
 */
export function checkRealmAddress(realm: URL, address: string, registry: URL, registryAddress?: string): void {
  if (bareHost(realm.hostname) === bareHost(registry.hostname)) return;
  const dialled = judged(address);
  if (!isInternalAddress(dialled)) return;
  if (!besideRegistry(dialled, registry, registryAddress)) {
    throw new LadingError(
      'REGISTRY_ERROR',
      `${registry.host}: token realm ${realm.host} resolves to ${dialled}, an internal address unlike the registry; refusing`,
    );
  }
}

/**
 * Credentials in the clear go to the registry's own host only (the user chose plain HTTP for it):
 * a plain-HTTP token realm elsewhere may be asked for an anonymous token, never sent a password.
 */
export function refuseCleartextRealm(realm: URL, registry: URL): void {
  if (realm.protocol === 'http:' && !sameMachine(realm.hostname, registry.hostname)) {
    throw new LadingError(
      'REGISTRY_ERROR',
      `${registry.host}: token realm ${realm.origin} is plain HTTP on another host than the registry; refusing to send credentials there`,
    );
  }
}
