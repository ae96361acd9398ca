import { LadingError } from '../oci/index.js';

/**
 * Whether plain HTTP may be spoken to a host (`host[:port]`) that an access names. Accesses are
 * data from a descriptor, and whoever wrote the descriptor does not get to choose an unprotected
 * transport for the user: the user allows plain HTTP (per host, or for every host), or the host is
 * this machine.
 */
export type PlainHttpPolicy = (host: string) => boolean;

/**
 * Loopback addresses: `localhost` (the registry client's own plain-HTTP rule), 127.0.0.0/8 and
 * ::1. What travels there never crosses a network.
 */
export function isLoopbackHost(host: string): boolean {
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return false;
  }
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** The policy when the caller names none: loopback hosts only. */
export const loopbackOnly: PlainHttpPolicy = isLoopbackHost;

/**
 * Splits a registry reference of an access (`imageReference` of OCIImage/v1, `ref` of
 * OCIImageLayer/v1), which may start with `http://` or `https://`. `http://` is refused unless the
 * policy allows plain HTTP for the host; `plainHttp` says what the access asked for.
 */
export function accessReference(
  raw: string,
  options: { allowPlainHttp?: PlainHttpPolicy | undefined; where: string },
): { reference: string; plainHttp: boolean } {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) return { reference: raw, plainHttp: false };
  if (scheme !== 'http' && scheme !== 'https') {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `${options.where}: ${JSON.stringify(raw)}: only http:// and https:// registry references are accepted`,
    );
  }
  const reference = raw.slice(scheme.length + 3);
  if (scheme === 'https') return { reference, plainHttp: false };
  const host = reference.split('/')[0] ?? '';
  refusePlainHttp({ host, policy: options.allowPlainHttp, where: options.where, what: raw });
  return { reference, plainHttp: true };
}

/** Throws DENIED unless plain HTTP to `host` is allowed; `what` (the URL or reference) and `where` name it. */
export function refusePlainHttp(options: {
  host: string;
  policy: PlainHttpPolicy | undefined;
  where: string;
  what: string;
}): void {
  const { host, policy, where, what } = options;
  if ((policy ?? loopbackOnly)(host)) return;
  throw new LadingError(
    'DENIED',
    `${where}: ${JSON.stringify(what)} asks for plain HTTP to ${JSON.stringify(host)}, which was not allowed for that host (content and credentials would travel unprotected)`,
  );
}
