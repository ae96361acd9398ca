import { LadingError } from '../oci/index.js';
import { parseWwwAuthenticate } from './auth/challenge.js';
import { MaxErrorBodyBytes, networkError, parseErrorBody, RegistryResponseError } from './errors.js';
import { contentLength } from './headers.js';
import { type HttpReply, header } from './message.js';
import { parseRetryAfter } from './retry.js';

/**
 * Reads a reply body up to `limit` bytes: the one capped reader of every body held in memory
 * (manifests, pages, tokens, chart repositories). More is SIZE_EXCEEDS_LIMIT, announced or sent
 * (the body is then discarded); a connection lost on the way is a NETWORK_ERROR naming the request.
 */
export async function readBody(reply: HttpReply, limit: number, where: string): Promise<Buffer> {
  const declared = contentLength(reply);
  if (declared !== undefined && declared > limit) {
    reply.body.destroy();
    throw new LadingError('SIZE_EXCEEDS_LIMIT', `${where}: ${declared} bytes exceeds the ${limit}-byte limit`);
  }
  // Events, not \`for await\`: a stream's async iterator costs more to set up than a manifest of a
  // few kilobytes costs to read, on every command's first request.
  const body = reply.body;
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      body.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > limit) {
          body.destroy();
          reject(new LadingError('SIZE_EXCEEDS_LIMIT', `${where}: the body exceeds ${limit} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      body.once('end', resolve);
      body.once('error', reject);
      body.once('close', () => {
        if (!body.readableEnded)
          reject(Object.assign(new Error('the body ended early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
      });
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw networkError(reply.method, reply.url, error);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Builds the error for an unexpected reply from (the start of) its body, and releases the body.
 * `notFound` explains a 404 that came without a spec error body (HEAD requests have none).
 */
export async function replyError(reply: HttpReply, method: string, notFound?: string): Promise<RegistryResponseError> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of reply.body) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total >= MaxErrorBodyBytes) break;
    }
  } catch {
    // The status is what matters; a body cut short only loses detail.
  } finally {
    reply.body.destroy();
  }
  const body = Buffer.concat(chunks).subarray(0, MaxErrorBodyBytes);
  const errors = parseErrorBody(body);
  const text =
    errors.length > 0 ? undefined : ((reply.status === 404 ? notFound : undefined) ?? plainText(reply, body));
  const note =
    reply.status === 401 ? scopeNote(header(reply.headers, 'www-authenticate')) : retryNote(reply.status, reply);
  const tlsPort = reply.status === 400 && reply.url.protocol === 'http:' && answeredAsTlsPort(reply, body);
  return new RegistryResponseError({
    method,
    url: reply.url,
    status: reply.status,
    errors,
    ...(tlsPort ? { text: 'the server expects HTTPS on this port' } : text ? { text } : {}),
    ...(note ? { note } : {}),
    ...(tlsPort ? { hint: { key: 'https', text: 'speak HTTPS to it: plainHttp false' } } : {}),
  });
}

/**
 * Go's HTTPS server answers a plain-HTTP request with a bare `HTTP/1.0 400` (no header fields)
 * and "Client sent an HTTP request to an HTTPS server." (which a HEAD does not get to read).
 */
function answeredAsTlsPort(reply: HttpReply, body: Buffer): boolean {
  if (/HTTP request to an HTTPS server/i.test(body.toString('latin1'))) return true;
  return Object.values(reply.headers).every((v) => v === undefined);
}

/**
 * A 401 whose Bearer challenge says `error="insufficient_scope"` came after a token was sent: the
 * token (anonymous, or a user's without that right) does not grant the scope, which is worth
 * saying when the body only says "authentication required".
 */
function scopeNote(value: string | undefined): string | undefined {
  const bearer = parseWwwAuthenticate(value).find((c) => c.scheme === 'bearer');
  if (bearer?.params.error !== 'insufficient_scope') return undefined;
  const scope = bearer.params.scope;
  return scope ? `insufficient_scope: the token does not grant ${scope.slice(0, 200)}` : 'insufficient_scope';
}

/** A 429's or 503's `Retry-After`, said in seconds: when the registry will answer again. */
function retryNote(status: number, reply: HttpReply): string | undefined {
  if (status !== 429 && status !== 503) return undefined;
  const ms = parseRetryAfter(header(reply.headers, 'retry-after'));
  if (ms === undefined) return undefined;
  // A pause past a day is a registry's way of saying "not soon" (or a hostile number): no 1e+23.
  const day = 24 * 60 * 60 * 1000;
  return `the registry asks to retry after ${ms > day ? 'more than a day' : `${Math.ceil(ms / 1000)} s`}`;
}

function plainText(reply: HttpReply, body: Buffer): string | undefined {
  const type = header(reply.headers, 'content-type') ?? '';
  if (!type.startsWith('text/plain')) return undefined;
  return body.toString('utf8').split('\n')[0];
}

export async function discard(reply: HttpReply): Promise<void> {
  await reply.body.dump().catch(() => {});
}
