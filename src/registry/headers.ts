import { isValidDigest, isValidMediaType, LadingError } from '../oci/index.js';
import { type HttpReply, header } from './message.js';
import { redactUrl } from './redact.js';

/*
 * Response headers are the registry's word, not data we computed: each value we act on or print
 * is checked here first. A value that fails is never echoed raw (it may carry terminal escapes
 * or forged text), only in a quoted, printable form.
 */

/** A header value for a message: printable ASCII, the rest escaped, cut short. */
export function quoteHeader(value: string): string {
  const escaped = [...value.slice(0, 80)]
    .map((c) => {
      const code = c.codePointAt(0) ?? 0;
      return code < 0x20 || code > 0x7e || c === '"' || c === '\\' ? `\\u{${code.toString(16)}}` : c;
    })
    .join('');
  return `"${escaped}"${value.length > 80 ? '…' : ''}`;
}

/**
 * A digest header (`Docker-Content-Digest`, `OCI-Subject`): undefined when absent; a value that
 * is not a digest of a supported algorithm (or several values) is an error, named by `where` (a
 * function when naming costs: it is called for the error only).
 */
export function digestHeader(reply: HttpReply, name: string, where: string | (() => string)): string | undefined {
  const value = header(reply.headers, name);
  if (value === undefined) return undefined;
  const digest = value.trim();
  if (!isValidDigest(digest)) {
    throw new LadingError(
      'REGISTRY_ERROR',
      `${typeof where === 'function' ? where() : where}: the registry's ${name} header ${quoteHeader(value)} is not a digest`,
    );
  }
  return digest;
}

/** `type/subtype` of Content-Type without parameters; undefined when absent or not a media type. */
export function mediaTypeOf(reply: HttpReply): string | undefined {
  const type = header(reply.headers, 'content-type')?.split(';')[0]?.trim();
  return type && isValidMediaType(type) ? type : undefined;
}

/** Content-Length as a byte count; undefined when absent or not a non-negative safe integer. */
export function contentLength(reply: HttpReply): number | undefined {
  const value = header(reply.headers, 'content-length')?.trim();
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A `Location` resolved against the URL that answered; undefined when absent. */
export function locationOf(reply: HttpReply, method: string): URL | undefined {
  const value = header(reply.headers, 'location');
  if (value === undefined || value === '') return undefined;
  try {
    return new URL(value, reply.url);
  } catch {
    throw new LadingError(
      'REGISTRY_ERROR',
      `${method} ${redactUrl(reply.url)}: the Location header ${quoteHeader(value)} is not a URL`,
    );
  }
}
