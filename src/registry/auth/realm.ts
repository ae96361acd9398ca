import { isIP } from 'node:net';
import { LadingError } from '../../oci/index.js';
import { quoteHeader } from '../headers.js';

function isInternalAddress(hostname: string): boolean {
  // A fully qualified name (`localhost.`) is the same host.
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
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
 * the registry itself lives on that host (a hostile registry must not aim us at internal services).
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
  if (isInternalAddress(realm.hostname) && realm.hostname !== registry.hostname) {
    throw new LadingError(
      'REGISTRY_ERROR',
      `${where} ${realm.host} is an internal address unlike the registry; refusing`,
    );
  }
  return realm;
}

/**
 * Credentials in the clear go to the registry's own host only (the user chose plain HTTP for it):
 * a plain-HTTP token realm elsewhere may be asked for an anonymous token, never sent a password.
 */
export function refuseCleartextRealm(realm: URL, registry: URL): void {
  if (realm.protocol === 'http:' && realm.hostname.toLowerCase() !== registry.hostname.toLowerCase()) {
    throw new LadingError(
      'REGISTRY_ERROR',
      `${registry.host}: token realm ${realm.origin} is plain HTTP on another host than the registry; refusing to send credentials there`,
    );
  }
}
