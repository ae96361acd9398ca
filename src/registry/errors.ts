import { type ErrorCode, type ErrorHint, LadingError } from '../oci/index.js';
import { redactUrl } from './redact.js';

/** One entry of a distribution-spec error body `{"errors":[{code,message,detail}]}`. */
export interface RegistryErrorDetail {
  /** The distribution-spec error code (`MANIFEST_UNKNOWN`, `DENIED`, …). */
  code: string;
  /** The registry's message. */
  message: string;
  /** Whatever detail the registry added, as sent. */
  detail?: unknown;
}

/** Error bodies are read only this far: they are diagnostics, never data. */
export const MaxErrorBodyBytes = 8 * 1024;

/** Parses the spec's error JSON; anything else (HTML, plain text) yields an empty list. */
export function parseErrorBody(body: Uint8Array | string): RegistryErrorDetail[] {
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (typeof value !== 'object' || value === null) return [];
  const errors = (value as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  const out: RegistryErrorDetail[] = [];
  for (const e of errors) {
    if (typeof e !== 'object' || e === null) continue;
    const { code, message, detail } = e as Record<string, unknown>;
    if (typeof code !== 'string') continue;
    out.push({
      code,
      message: typeof message === 'string' ? message : '',
      ...(detail !== undefined ? { detail } : {}),
    });
  }
  return out;
}

/** The error code of an unexpected HTTP status (and of the spec errors in its body, if any). */
export function statusErrorCode(status: number, errors: readonly RegistryErrorDetail[] = []): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'DENIED';
  if (status === 404 || errors.some((e) => e.code.endsWith('_UNKNOWN'))) return 'NOT_FOUND';
  return 'REGISTRY_ERROR';
}

/**
 * Registry text (error codes, messages, details, a plain-text body) fit for a one-line message:
 * control characters, line breaks (Unicode ones too) and bidi overrides become one space, so a
 * registry cannot end our line and forge the next one, or drive the terminal.
 */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g, ' ');
}

function describe(errors: readonly RegistryErrorDetail[]): string {
  return errors
    .map((e) => {
      const code = e.code.toLowerCase().replaceAll('_', ' ');
      const detail = describeDetail(e.detail);
      return `${e.message ? `${code}: ${e.message}` : code}${detail ? ` (${detail})` : ''}`;
    })
    .join('; ');
}

/**
 * A registry's `detail` when it is short and plain: which blob is unknown (distribution sends its
 * digest), which name or tag. Anything longer or nested is left out of the one-line message.
 */
function describeDetail(detail: unknown): string | undefined {
  let text: string | undefined;
  if (typeof detail === 'string' || typeof detail === 'number') text = String(detail);
  else if (typeof detail === 'object' && detail !== null && !Array.isArray(detail)) {
    const entries = Object.entries(detail);
    if (
      entries.length > 0 &&
      entries.length <= 3 &&
      entries.every(([, v]) => ['string', 'number'].includes(typeof v))
    ) {
      text = entries.map(([k, v]) => `${k}: ${v}`).join(', ');
    }
  }
  return text && text.length <= 120 ? text.replace(/\s+/g, ' ') : undefined;
}

/** What a {@link RegistryResponseError} is made from: the request, the status and the errors the body held. */
export interface RegistryResponseErrorInit {
  /** The request's HTTP method. */
  method: string;
  /** The request's URL (redacted in the message). */
  url: string | URL;
  /** The response's HTTP status. */
  status: number;
  /** The distribution-spec errors of the response body. */
  errors?: RegistryErrorDetail[];
  /** Text used when the body holds no spec errors (e.g. a plain-text 404). */
  text?: string;
  /** Overrides the code derived from the status (e.g. DIGEST_MISMATCH on a lying header). */
  code?: ErrorCode;
  /** Said after what the registry said, in parentheses (e.g. the scope a token lacked). */
  note?: string;
  /** What would change the outcome, said last in parentheses (see LadingError's hint). */
  hint?: ErrorHint;
  /** What led to the error. */
  cause?: unknown;
}

/** A registry answered with an unexpected status; keeps what the CLI and callers branch on. */
export class RegistryResponseError extends LadingError {
  /** The HTTP method of the request (`GET`, `PUT`, …). */
  readonly method: string;
  /** Redacted: safe to print. */
  readonly url: string;
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The errors the registry's body listed (empty when it had none). */
  readonly errors: RegistryErrorDetail[];

  /**
   * The error for a registry's answer: its message says the method, the redacted URL, the status and what the registry
   * said.
   */
  constructor(init: RegistryResponseErrorInit) {
    const url = redactUrl(init.url);
    const errors = init.errors ?? [];
    // node:http's table, loaded only on this (error) path: a client that only succeeds never loads it.
    const statusText = process.getBuiltinModule('node:http').STATUS_CODES[init.status] ?? 'Unknown Status';
    // A HEAD carries no body to explain a 401: say what it means.
    const said =
      errors.length > 0
        ? oneLine(describe(errors))
        : oneLine(init.text ?? '')
            .trim()
            .slice(0, 200);
    const unexplained401 = !said && init.status === 401;
    const why = said || (unexplained401 ? 'credentials missing or rejected' : undefined);
    super(
      init.code ?? statusErrorCode(init.status, errors),
      `${init.method} ${url}: ${init.status} ${statusText}${why ? `: ${why}` : ''}${init.note ? ` (${oneLine(init.note)})` : ''}`,
      {
        ...(init.cause === undefined ? {} : { cause: init.cause }),
        ...(init.hint
          ? { hint: init.hint }
          : init.status === 401
            ? { hint: { key: 'credentials', text: 'give credentials with the credentials option' } }
            : {}),
      },
    );
    this.name = 'RegistryResponseError';
    this.method = init.method;
    this.url = url;
    this.status = init.status;
    this.errors = errors;
  }

  /** True when any spec error in the body carries `code`. */
  has(code: string): boolean {
    return this.errors.some((e) => e.code === code);
  }
}

const networkReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'timed out',
  EPIPE: 'connection closed while sending',
  CONNECT_TIMEOUT: 'connect timed out',
  HEADERS_TIMEOUT: 'timed out waiting for response headers',
  BODY_TIMEOUT: 'timed out waiting for the response body',
};

/** The Node error code of `error` or of something in its cause chain. */
export function errorCodeOf(error: unknown): string | undefined {
  for (const e of causeChain(error)) {
    const code = (e as { code?: unknown }).code;
    // Our own codes (NETWORK_ERROR...) wrap the transport's; look beneath them.
    if (typeof code === 'string' && !(e instanceof LadingError)) return code;
  }
  return undefined;
}

/** `error` and its causes, at most five deep. */
function* causeChain(error: unknown): Generator<object> {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    yield e;
    e = (e as { cause?: unknown }).cause;
  }
}

const tlsCodes = /CERT|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ERR_TLS/;
/**
 * Alerts the server sent about this client's certificate (OpenSSL names a received alert
 * ERR_SSL_<version>_ALERT_<reason>; the version reads SSLV3 in Node 20's OpenSSL, SSL/TLS in Node
 * 24's): a registry that requires mutual TLS and got no certificate, or one it does not accept.
 */
const clientCertAlerts =
  /^ERR_SSL_[\w/]+_ALERT_(?:BAD_CERTIFICATE|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|UNKNOWN_CA|ACCESS_DENIED)$/;

function messageChain(error: unknown): string {
  return [...causeChain(error)].map((e) => String((e as { message?: unknown }).message ?? '')).join(' ');
}

/** Wraps a transport failure as NETWORK_ERROR naming the request and what failed. */
export function networkError(method: string, url: string | URL, error: unknown): LadingError {
  if (error instanceof LadingError) return error;
  const code = errorCodeOf(error);
  const host = (() => {
    try {
      return new URL(String(url)).host;
    } catch {
      return '?';
    }
  })();
  let reason: string;
  let hint: ErrorHint | undefined;
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    (code === 'EPROTO' && /wrong version number/i.test(messageChain(error)))
  ) {
    // OpenSSL read an HTTP answer where a TLS record should be.
    reason = `${host} answered without TLS: a plain-HTTP registry?`;
    hint = { key: 'plainHttp', text: 'plainHttp speaks plain HTTP to it' };
  } else if (code && clientCertAlerts.test(code)) {
    // The server's alert about the certificate this client presented, or did not (mutual TLS).
    reason = `${host} refused the TLS handshake (${code}): it wants a client certificate it trusts`;
    hint = { key: 'clientCert', text: 'give one with cert and key, or certFile and keyFile' };
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // Trusting another CA changes nothing here: the certificate names other hosts.
    reason = `TLS verification of ${host} failed (${code}): its certificate is not for this host name`;
    hint = { key: 'tlsName', text: 'use a name the certificate lists, or skip verification for it with insecure' };
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    const when = code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet';
    reason = `TLS verification of ${host} failed (${code}): its certificate is ${when}`;
    hint = { key: 'insecure', text: 'skip verification for it with insecure' };
  } else if (code && tlsCodes.test(code)) {
    reason = `TLS verification of ${host} failed (${code})`;
    hint = { key: 'tls', text: 'trust its CA with ca or caFile, or skip verification for it with insecure' };
  } else if (code && code in networkReasons) {
    reason = `${networkReasons[code]} (${host}, ${code})`;
  } else {
    reason = `${(error as Error)?.message ?? String(error)} (${host}${code ? `, ${code}` : ''})`;
  }
  const marked = [...causeChain(error)].find((e) => typeof (e as { proxy?: unknown }).proxy === 'string') as
    | { proxy: string; proxyUnreachable?: boolean }
    | undefined;
  if (marked?.proxyUnreachable) {
    const what = code && code in networkReasons ? `${networkReasons[code]}, ${code}` : (error as Error)?.message;
    reason = `cannot reach proxy ${marked.proxy} (${what})`;
  } else if (marked) {
    reason += ` through proxy ${marked.proxy}`;
  }
  return new LadingError('NETWORK_ERROR', `${method} ${redactUrl(url)}: ${reason}`, {
    cause: error,
    ...(hint ? { hint } : {}),
  });
}
