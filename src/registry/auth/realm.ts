import { isIP } from 'node:net';
import { LadingError } from '../../oci/index.js';
import { quoteHeader } from '../headers.js';

/** A host name as compared here: no IPv6 brackets, lower case, no trailing dot (`localhost.` is the same host). */
function bareHost(hostname: string): string {
  return hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
}

/**
 * This machine: `localhost`, 127.0.0.0/8, `::1`. Not a subdomain of `localhost`: RFC 6761 reserves
 * them, but glibc without systemd-resolved asks DNS for `x.localhost` (and then its search domains),
 * whose answer may be any host; a password in the clear must not go there.
 */
function isLoopback(hostname: string): boolean {
  const host = bareHost(hostname);
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
  const host = bareHost(hostname);
  if (isIP(host) !== 4) return false;
  const [a = 0, b = 0] = host.split('.').map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function isInternalAddress(hostname: string): boolean {
  const host = bareHost(hostname);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 4) {
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
  if (family === 6) {
    return (
      host === '::1' ||
      host === '::' ||
      /^f[cd]/.test(host) ||
      /^fe[89a-f]/.test(host) ||
      /^ff/.test(host) ||
      host.startsWith('::ffff:') ||
      // IPv4-compatible (::a.b.c.d, written ::7f00:1) and NAT64 (64:ff9b::/96) carry an IPv4 address.
      /^::[0-9a-f]{1,4}(?::[0-9a-f]{1,4})?$/.test(host) ||
      /^::\d+\.\d+\.\d+\.\d+$/.test(host) ||
      host.startsWith('64:ff9b::')
    );
  }
  return false;
}

/**
 * Checks the token realm a registry named in its challenge before any credential goes there:
 * http(s) only, no downgrade from an HTTPS registry, and no loopback or private address unless
 * the registry itself lives on that machine, or both are in a private network (a hostile registry
 * must not aim us at internal services).
 */
export function validateRealm(raw: string | undefined, registry: URL): URL {
  const where = `${registry.host}: token realm`;
  if (!raw) throw new LadingError('REGISTRY_ERROR', `${where} is missing from the Bearer challenge`);
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
  // A registry on this machine or in a private network may keep its token server at another
  // private address (a registry and its auth server side by side); link-local addresses (cloud
  // metadata) and this machine stay refused unless the registry is on this machine itself.
  const besideRegistry =
    sameMachine(realm.hostname, registry.hostname) ||
    (isPrivateNetwork(realm.hostname) && (isPrivateNetwork(registry.hostname) || isLoopback(registry.hostname)));
  if (isInternalAddress(realm.hostname) && !besideRegistry) {
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
  const dialled = bareHost(address).replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (!isInternalAddress(dialled)) return;
  const registryHosts = [
    registry.hostname,
    ...(registryAddress ? [registryAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')] : []),
  ];
  const besideRegistry = registryHosts.some(
    (host) =>
      (isLoopback(dialled) && isLoopback(host)) ||
      (isPrivateNetwork(dialled) && (isPrivateNetwork(host) || isLoopback(host))),
  );
  if (!besideRegistry) {
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
