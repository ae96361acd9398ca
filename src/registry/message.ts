import { Readable } from 'node:stream';
import type { ResponseBody } from './http.js';

/*
 * What travels through the layers of the HTTP client (transport, retries, authorizer): a request,
 * its reply, and the one interface every layer implements and wraps.
 */

/** A body that can be produced again, so the request can be retried or re-authorised. */
export interface BodySource {
  open(): Readable | Promise<Readable>;
}

export type RequestBody = Uint8Array | Readable | BodySource;

export interface HttpRequest {
  method: string;
  url: URL;
  /** Headers safe for any origin (Accept, Content-Type, Content-Length, Range). */
  headers?: Record<string, string>;
  body?: RequestBody;
  signal?: AbortSignal | undefined;
  /** Token scopes this request needs at the registry. */
  scopes?: readonly string[];
  /** Follow 3xx manually (GET/HEAD by default). */
  followRedirects?: boolean;
  /** Called with every redirect hop's URL before it is asked; throws to refuse it. */
  checkRedirect?: (url: URL) => void;
  /**
   * Called with each address a connection for this request (a redirect hop's included) is about to
   * dial, once its host name is resolved; throws to refuse it (see HttpRequestInit.checkAddress).
   */
  checkAddress?: (address: string, url: URL) => void;
  /** Never retry this request here (its caller has a better recovery, e.g. resuming an upload). */
  noRetry?: boolean;
  /**
   * The Authorization header, sent to the origin of `url` only: never after a redirect to another
   * origin. Set by the authorizer for the registry, or by a caller with its own credentials.
   */
  authorization?: string | undefined;
}

export type { ResponseBody };

export interface HttpReply {
  /** The method that got this answer (a 303 turns any request into a GET). */
  method: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
  /** Where the final answer came from, after redirects. */
  url: URL;
  /** The address of the server that gave it (absent through a proxy, or where not known). */
  remoteAddress?: string | undefined;
}

/** Sends one request and returns its reply; the caller must consume or dump the reply body. */
export interface Sender {
  /**
   * Sends `req`; the caller consumes or dumps the reply body.
   *
   * @internal The request and reply types are lading's own, not part of the API.
   */
  send(req: HttpRequest): Promise<HttpReply>;
}

export function header(headers: HttpReply['headers'], name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function isReplayable(body: RequestBody | undefined): boolean {
  return body === undefined || body instanceof Uint8Array || !(body instanceof Readable);
}
