/**
 * HTTP/1.1 message heads (RFC 9112): the request head lading writes and the response head it
 * reads. Strict on what comes back: a server is hostile until checked, and a head this parser
 * does not understand ends the exchange instead of being guessed at.
 */

import { failure } from './failure.js';

/** Response headers as Node's http module gives them: lower-case names, repeated fields joined. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

export interface ResponseHead {
  status: number;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  headers: ResponseHeaders;
}

/** The longest response head read (status line and fields) before the server is given up on. */
export const MaxHeadBytes = 64 * 1024;
/** The most header fields one response head may carry. */
const MaxFields = 256;

/** A response that does not follow HTTP/1.1: never retried, named in the message. */
export function protocolError(what: string): Error {
  return failure('BAD_RESPONSE', `malformed HTTP response: ${what}`);
}

const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; no CR, LF or NUL (RFC 9110 §5.5).
const fieldValue = /^[\t\x20-\x7e\x80-\xff]*$/;
const requestTarget = /^[\x21-\x7e]+$/;

/** Fields whose repeats Node drops (the first wins), as its http module does. */
const singleFields = new Set([
  'age',
  'authorization',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

function invalidChar(what: string): Error {
  return failure('ERR_INVALID_CHAR', `Invalid character in ${what}`, { type: 'TypeError' });
}

/**
 * The head of a request: `method target HTTP/1.1`, then the fields. A name or value that would
 * end the line or the head early (CR, LF, NUL: header injection) is refused, as Node refuses it.
 */
export function requestHead(method: string, target: string, headers: Record<string, string>): string {
  if (!token.test(method)) throw invalidChar('method');
  if (!requestTarget.test(target)) throw invalidChar('request path');
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!token.test(name)) throw invalidChar(`header name "${name.replace(/[^\x20-\x7e]/g, '?')}"`);
    const text = String(value);
    if (!fieldValue.test(text)) throw invalidChar(`header content "${name}"`);
    head += `${name}: ${text.replace(/^[ \t]+|[ \t]+$/g, '')}\r\n`;
  }
  return `${head}\r\n`;
}

/**
 * Parses a response head: `bytes` holds the status line and the fields, without the empty line
 * that ends them. Obsolete line folding, a bad field name, a control character in a value and a
 * status line other than `HTTP/1.x NNN reason` are refused.
 */
export function parseResponseHead(bytes: Buffer): ResponseHead {
  const text = bytes.toString('latin1');
  const lines = text.split('\r\n');
  const statusLine = lines[0] ?? '';
  const status = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/.exec(statusLine);
  if (!status) throw protocolError(`status line "${printable(statusLine)}"`);
  if (lines.length - 1 > MaxFields) throw protocolError(`more than ${MaxFields} header fields`);
  const headers: ResponseHeaders = Object.create(null);
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw protocolError(
        line.startsWith(' ') || line.startsWith('\t') ? 'folded header line' : 'header line without a name',
      );
    }
    const name = line.slice(0, colon);
    if (!token.test(name)) throw protocolError(`header name "${printable(name)}"`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!fieldValue.test(value)) throw protocolError(`control character in header ${printable(name)}`);
    addField(headers, name.toLowerCase(), value);
  }
  return { status: Number(status[2]), minor: Number(status[1]), headers: { ...headers } };
}

function addField(headers: ResponseHeaders, name: string, value: string): void {
  const had = headers[name];
  if (had === undefined) {
    headers[name] = name === 'set-cookie' ? [value] : value;
  } else if (name === 'set-cookie') {
    (had as string[]).push(value);
  } else if (name === 'content-length') {
    // Repeats must agree (RFC 9112 §6.3): two lengths are a request smuggling vector.
    if (had !== value) throw protocolError('conflicting Content-Length fields');
  } else if (!singleFields.has(name)) {
    headers[name] = `${had}, ${value}`;
  }
}

/** How the body of a response is delimited (RFC 9112 §6.3). */
export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export function framingOf(head: ResponseHead, method: string): Framing {
  const { status, headers } = head;
  if (method === 'HEAD' || status === 204 || status === 304 || status < 200) return { kind: 'none' };
  const coding = headers['transfer-encoding'];
  const length = headers['content-length'];
  if (coding !== undefined) {
    // Both fields: a smuggling vector; refused rather than resolved.
    if (length !== undefined) throw protocolError('both Transfer-Encoding and Content-Length');
    if (String(coding).trim().toLowerCase() !== 'chunked') {
      throw protocolError(`unsupported Transfer-Encoding "${printable(String(coding))}"`);
    }
    return { kind: 'chunked' };
  }
  if (length !== undefined) {
    const value = String(length).trim();
    if (!/^\d{1,15}$/.test(value)) throw protocolError(`Content-Length "${printable(value)}"`);
    return { kind: 'length', length: Number(value) };
  }
  return { kind: 'close' };
}

/** Whether the connection may carry another request after this response's body. */
/**
 * How long the server said it keeps an idle connection (`Keep-Alive: timeout=N`, seconds), in
 * milliseconds; undefined when it did not say.
 */
export function keepAliveTimeoutMs(head: ResponseHead): number | undefined {
  const value = head.headers['keep-alive'];
  const match = /(?:^|,)\s*timeout\s*=\s*(\d{1,9})\s*(?:,|$)/i.exec(
    Array.isArray(value) ? value.join(',') : (value ?? ''),
  );
  return match ? Number(match[1]) * 1000 : undefined;
}

export function keepsAlive(head: ResponseHead): boolean {
  const connection = String(head.headers.connection ?? '').toLowerCase();
  if (head.minor === 0) return /(?:^|,)\s*keep-alive\s*(?:,|$)/.test(connection);
  return !/(?:^|,)\s*close\s*(?:,|$)/.test(connection);
}

function printable(text: string): string {
  const shown = text.replace(/[^\x20-\x7e]/g, '?');
  return shown.length > 80 ? `${shown.slice(0, 80)}…` : shown;
}
