import type { Readable } from 'node:stream';
import { type Content, type Op, observeBytes, toReadable, VerifyStream, verifiesItself } from '../content/index.js';
import { type Descriptor, LadingError } from '../oci/index.js';
import { networkError } from './errors.js';
import { digestHeader, quoteHeader } from './headers.js';
import { type HttpReply, type HttpRequest, header } from './message.js';
import { redactUrl } from './redact.js';
import { discard, replyError } from './reply.js';
import { isRetryableStatus, isTransientError } from './retry.js';

/** The largest chunk a registry's `OCI-Chunk-Min-Length` may make us buffer. */
const MaxRegistryChunkBytes = 64 * 1024 * 1024;

/** Options of a blob push beyond Op. */
export interface PushOptions extends Op {
  /**
   * Re-opens the content from `offset`, so a failed upload can start again without the caller's
   * help (a Uint8Array content needs none).
   */
  reopen?: (offset: number) => Promise<Readable>;
}

export interface UploadContext {
  send(req: HttpRequest): Promise<HttpReply>;
  /** The registry origin: the only one that gets credentials; a plain-HTTP upload location needs it plain HTTP too. */
  base: URL;
  scopes: readonly string[];
  chunkSize: number | undefined;
  /** Attempts of a whole monolithic upload with replayable content. */
  retries: number;
}

/**
 * Resolves an upload `Location`. It may name another host: a registry behind a CDN or an object
 * store hands out upload URLs there, and no credential of the registry's goes with them (the
 * Authorizer authorises only the registry's origin, and the Transport sends `-H` headers and the
 * client certificate only there). It must be HTTP(S), and it never steps down from HTTPS to plain
 * HTTP: plain HTTP is allowed only where the request that named it was plain HTTP already (a
 * registry the user opted into plain HTTP for). oras-go ≥ 2.6.1 refuses any other host
 * (GHSA-jxpm-75mh-9fp7, where its PUT copied the POST's Authorization); lading never sends it.
 */
export function uploadLocation(value: string | undefined, request: URL, base: URL): URL {
  if (!value)
    throw new LadingError('REGISTRY_ERROR', `POST ${request.origin}${request.pathname}: 202 without Location`);
  let url: URL;
  try {
    url = new URL(value, request);
  } catch {
    throw new LadingError(
      'REGISTRY_ERROR',
      `upload to ${base.host}: the Location header ${quoteHeader(value)} is not a URL`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new LadingError(
      'REGISTRY_ERROR',
      `upload to ${base.host}: the upload location is a ${quoteHeader(url.protocol)} URL, not HTTP(S); refusing it`,
    );
  }
  if (url.protocol === 'http:' && (request.protocol === 'https:' || base.protocol === 'https:')) {
    throw new LadingError(
      'REGISTRY_ERROR',
      `upload to ${base.host}: the upload location http://${url.host} is plain HTTP after HTTPS; refusing to send the blob there`,
    );
  }
  return url;
}

function withDigest(location: URL, digest: string): URL {
  const url = new URL(location);
  // Appended by hand: re-serialising through searchParams could re-encode an opaque `_state`.
  url.search = `${url.search ? `${url.search}&` : '?'}digest=${encodeURIComponent(digest)}`;
  return url;
}

async function startUpload(ctx: UploadContext, repoPath: URL, o: Op): Promise<{ location: URL; minChunk: number }> {
  const reply = await ctx.send({
    method: 'POST',
    url: repoPath,
    headers: { 'content-length': '0' },
    scopes: ctx.scopes,
    signal: o.signal,
  });
  if (reply.status !== 202) throw await replyError(reply, 'POST');
  await discard(reply);
  const minChunk = Number(header(reply.headers, 'oci-chunk-min-length') ?? 0);
  return {
    location: uploadLocation(header(reply.headers, 'location'), reply.url, ctx.base),
    minChunk: Number.isSafeInteger(minChunk) && minChunk > 0 ? minChunk : 0,
  };
}

function checkCommitted(reply: HttpReply, desc: Descriptor): void {
  // Named only for an error: redacting parses the upload URL's query (~1 ms the first time).
  const digest = digestHeader(reply, 'Docker-Content-Digest', () => `PUT ${redactUrl(reply.url)}`);
  if (digest && digest !== desc.digest) {
    throw new LadingError('DIGEST_MISMATCH', `registry stored ${desc.digest} as ${digest}`);
  }
}

/**
 * Uploads a blob: POST for a session, then one streamed PUT (or PATCH chunks when chunkSize is
 * set). Content streams through a verifier, so a wrong digest or size aborts the request before
 * the registry can commit it.
 */
export async function uploadBlob(
  ctx: UploadContext,
  uploadsUrl: URL,
  desc: Descriptor,
  content: Content,
  o: PushOptions,
) {
  const replayable = content instanceof Uint8Array || o.reopen !== undefined;
  const open = async (): Promise<Readable> => {
    if (content instanceof Uint8Array) return toReadable(content);
    if (o.reopen) return o.reopen(0);
    return toReadable(content);
  };
  let first = true;
  for (let attempt = 0; ; attempt++) {
    const source = first ? toReadable(content) : await open();
    first = false;
    try {
      const { location, minChunk } = await startUpload(ctx, uploadsUrl, o);
      // A registry's minimum chunk is a buffer we would hold whole: past our own bound, one
      // streamed PUT serves the same registry without it.
      if (ctx.chunkSize !== undefined && minChunk <= Math.max(ctx.chunkSize, MaxRegistryChunkBytes)) {
        await chunked(ctx, location, desc, source, Math.max(ctx.chunkSize, minChunk), o);
      } else {
        await monolithic(ctx, location, desc, source, o);
      }
      return;
    } catch (error) {
      source.destroy();
      const again =
        replayable &&
        attempt < ctx.retries &&
        !o.signal?.aborted &&
        (isTransientError(error) || (error instanceof UploadStatusError && isRetryableStatus(error.status)));
      if (!again) throw error instanceof UploadStatusError ? error.cause : error;
    }
  }
}

/** A failed upload step whose status may be worth a fresh session. */
class UploadStatusError extends Error {
  readonly status: number;
  constructor(status: number, cause: unknown) {
    super(`upload failed with status ${status}`, { cause });
    this.status = status;
  }
}

/**
 * The stream to send: `source` itself when it verifies this digest on its own (counted for
 * progress by it), otherwise `source` through a verifier. `failure()` is what went wrong on the
 * way, which explains a broken request better than the request's own error.
 */
function verified(source: Readable, desc: Descriptor, o: Op): { stream: Readable; failure: () => unknown } {
  let failure: unknown;
  if (verifiesItself(source, desc)) {
    if (o.onProgress) observeBytes(source, o.onProgress);
    source.on('error', (e) => {
      failure ??= e;
    });
    return { stream: source, failure: () => failure };
  }
  const stream = new VerifyStream(desc, o.onProgress ? { onBytes: o.onProgress } : {});
  stream.on('error', (e) => {
    failure ??= e;
  });
  source.on('error', (e) => {
    failure ??= e;
    stream.destroy(e);
  });
  source.pipe(stream);
  return { stream, failure: () => failure };
}

async function monolithic(ctx: UploadContext, location: URL, desc: Descriptor, source: Readable, o: Op) {
  const { stream, failure } = verified(source, desc, o);
  const url = withDigest(location, desc.digest);
  let reply: HttpReply;
  try {
    reply = await ctx.send({
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
      body: stream,
      scopes: ctx.scopes,
      signal: o.signal,
    });
  } catch (error) {
    // The verifier's verdict explains a failed body better than the aborted request does.
    throw failure() instanceof LadingError ? failure() : error;
  }
  if (failure() instanceof LadingError) {
    await discard(reply);
    throw failure();
  }
  if (reply.status !== 201) {
    const error = await replyError(reply, 'PUT');
    throw isRetryableStatus(reply.status) ? new UploadStatusError(reply.status, error) : error;
  }
  await discard(reply);
  checkCommitted(reply, desc);
}

/** Collects a stream into chunks of exactly `size` bytes (the last may be shorter). */
async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const piece of stream as AsyncIterable<Buffer>) {
    let buf = piece;
    while (buf.length > 0) {
      const take = Math.min(size - have, buf.length);
      parts.push(buf.subarray(0, take));
      have += take;
      buf = buf.subarray(take);
      if (have === size) {
        yield Buffer.concat(parts, have);
        parts = [];
        have = 0;
      }
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}

/** `Range: 0-<last>` → the next offset. distribution answers `0-0` for an empty session, so it means 0. */
function nextOffset(range: string | undefined): number | undefined {
  const match = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? '');
  if (!match) return undefined;
  const last = Number(match[1]);
  return last === 0 ? 0 : last + 1;
}

async function chunked(ctx: UploadContext, start: URL, desc: Descriptor, source: Readable, size: number, o: Op) {
  const { stream, failure } = verified(source, desc, o);
  let location = start;
  let offset = 0;
  try {
    for await (const chunk of chunksOf(stream, size)) {
      location = await sendChunk(ctx, location, chunk, offset, o);
      offset += chunk.length;
    }
  } catch (error) {
    throw failure() instanceof LadingError ? failure() : error;
  }
  const reply = await ctx.send({
    method: 'PUT',
    url: withDigest(location, desc.digest),
    headers: { 'content-length': '0' },
    scopes: ctx.scopes,
    signal: o.signal,
  });
  if (reply.status !== 201) throw await replyError(reply, 'PUT');
  await discard(reply);
  checkCommitted(reply, desc);
}

/** Resumes from a dropped or refused PATCH: asks the session how far it got and sends the rest. */
async function sendChunk(ctx: UploadContext, location: URL, chunk: Buffer, offset: number, o: Op): Promise<URL> {
  let at = offset;
  let data = chunk;
  let url = location;
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    try {
      const reply = await ctx.send({
        method: 'PATCH',
        url,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${at}-${at + data.length - 1}`,
          'content-length': String(data.length),
        },
        body: data,
        scopes: ctx.scopes,
        signal: o.signal,
        noRetry: true,
      });
      if (reply.status === 202) {
        await discard(reply);
        return uploadLocation(header(reply.headers, 'location') ?? url.href, reply.url, ctx.base);
      }
      if (reply.status !== 416 && !isRetryableStatus(reply.status)) throw await replyError(reply, 'PATCH');
      failure = await replyError(reply, 'PATCH');
    } catch (error) {
      if (o.signal?.aborted || !isTransientError(error)) throw error;
      failure = networkError('PATCH', url, error);
    }
    if (attempt >= ctx.retries) throw failure;
    const status = await ctx.send({ method: 'GET', url, scopes: ctx.scopes, signal: o.signal });
    if (status.status !== 204 && status.status !== 202 && status.status !== 200) {
      await discard(status);
      throw failure;
    }
    await discard(status);
    const next = nextOffset(header(status.headers, 'range')) ?? at;
    url = uploadLocation(header(status.headers, 'location') ?? url.href, status.url, ctx.base);
    if (next < at || next > offset + chunk.length) {
      throw new LadingError(
        'NETWORK_ERROR',
        `upload to ${ctx.base.host} lost data before offset ${at} (session is at ${next}); cannot resume`,
        { cause: failure },
      );
    }
    if (next === offset + chunk.length) return url;
    data = chunk.subarray(next - offset);
    at = next;
  }
}
