import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ErrorCode, isLadingError, LadingError } from '../../oci/index.js';

/**
 * The page's policy: scripts, styles and images only from the view itself (no inline code, no
 * eval), requests only back to it, never framed, no <base> and no form posts elsewhere.
 */
export const PageCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Downloads are attacker bytes: a browser that renders one anyway runs nothing and reaches nothing. */
export const DownloadCsp = "default-src 'none'; sandbox; frame-ancestors 'none'";

/** Headers on every answer of the view. */
export function securityHeaders(res: ServerResponse, csp = PageCsp): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  securityHeaders(res);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

/** The HTTP status an error of the library answers with. */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case 'NOT_FOUND':
      return 404;
    case 'UNAUTHORIZED':
      return 401;
    case 'DENIED':
      return 403;
    case 'UNSUPPORTED':
      return 501;
    case 'SIZE_EXCEEDS_LIMIT':
      return 413;
    case 'INVALID_ARGUMENT':
    case 'INVALID_REFERENCE':
    case 'INVALID_DIGEST':
      return 400;
    case 'ABORTED':
      return 499;
    case 'REGISTRY_ERROR':
    case 'NETWORK_ERROR':
      return 502;
    default:
      // What the store holds is broken (bad manifest, digest mismatch, ...): the store's fault.
      return 502;
  }
}

/** `{error: {code, message}}` with the matching status; anything not a LadingError is an internal error. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy(error instanceof Error ? error : undefined);
    return;
  }
  const e = isLadingError(error)
    ? error
    : new LadingError('IO_ERROR', `internal error: ${(error as Error)?.message ?? String(error)}`);
  sendJson(res, statusOf(e.code), { error: { code: e.code, message: e.message } });
}

/** A required query parameter. */
export function param(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (value === null || value === '') throw new LadingError('INVALID_ARGUMENT', `query parameter "${name}" is missing`);
  return value;
}

/** A bounded integer query parameter (page sizes). */
export function intParam(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^[0-9]{1,9}$/.test(raw) || Number(raw) < 1) {
    throw new LadingError('INVALID_ARGUMENT', `query parameter "${name}" must be a positive integer, got "${raw}"`);
  }
  return Math.min(Number(raw), max);
}

/** An AbortSignal that fires when the client goes away, so store reads stop with it. */
export function clientSignal(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const abort = () => {
    if (!res.writableFinished) controller.abort(new LadingError('ABORTED', 'the browser closed the request'));
  };
  res.on('close', abort);
  req.on('aborted', abort);
  return controller.signal;
}
