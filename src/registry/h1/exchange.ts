import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { BodyDecoder } from './body.js';
import { failure } from './failure.js';
import {
  framingOf,
  keepAliveTimeoutMs,
  keepsAlive,
  MaxHeadBytes,
  parseResponseHead,
  protocolError,
  type ResponseHead,
  type ResponseHeaders,
} from './head.js';

/** A response body: its bytes, plus `dump()` to read and drop what is left. */
export interface ResponseBody extends Readable {
  dump(): Promise<void>;
  /**
   * Hands the rest of the body to `onBytes` as it arrives, instead of through the stream (which
   * delivers nothing more): what the stream holds already first, then each piece as the
   * connection reads it. A piece is valid only during the call (it may be the connection's read
   * buffer, see {@link DirectReads}): `onBytes` must use it at once (hash it, write it) and keep no
   * reference. Resolves when the body ends; rejects as the stream would fail, with what `onBytes`
   * throws too. No backpressure: `onBytes` takes each piece whole before the next is read.
   */
  consume(onBytes: (bytes: Buffer) => void): Promise<void>;
}

/**
 * Set on a plain socket while an exchange consumes its body (see {@link ResponseBody.consume}):
 * the socket's reader (http.ts) hands each read here, still in its shared read buffer, instead of
 * copying it into the socket's stream. Only taken while that stream holds nothing, so bytes keep
 * their order.
 */
export const DirectReads: unique symbol = Symbol('lading.directReads');

/** A socket that may carry {@link DirectReads}. */
export type DirectReadable = Socket & { [DirectReads]?: ((bytes: Buffer) => void) | undefined };

/**
 * Every byte of `body` to `onBytes`, in order: directly from the connection for an exchange's body
 * ({@link ResponseBody.consume}), else as the stream's chunks.
 */
export function consumeBody(body: Readable, onBytes: (bytes: Buffer) => void): Promise<void> {
  const direct = (body as Partial<ResponseBody>).consume;
  if (direct) return direct.call(body, onBytes);
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', done);
      body.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onData = (chunk: Buffer) => {
      try {
        onBytes(chunk);
      } catch (error) {
        done(error as Error);
        body.destroy();
      }
    };
    const onEnd = () => done();
    const onClose = () => done(body.errored ?? new Error('stream closed before its end'));
    if (body.errored || body.readableEnded || body.destroyed) {
      done(body.errored ?? (body.readableEnded ? undefined : new Error('stream closed before its end')));
      return;
    }
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', done);
    body.once('close', onClose);
    // A stream paused explicitly stays paused when a 'data' listener is added.
    body.resume();
  });
}

export interface RawResponse {
  status: number;
  headers: ResponseHeaders;
  body: ResponseBody;
  /** The address of the server that answered; absent through a proxy. */
  remoteAddress?: string;
}

export interface ExchangeInit {
  /** A connected socket (TCP or TLS), ours alone until `release`. */
  socket: Socket;
  method: string;
  /** The request head, from `requestHead`. */
  head: string;
  body: Buffer | Readable | null;
  /** The declared length of a stream body; undefined sends it chunked. */
  bodyLength: number | undefined;
  /** From the end of the request until the response head. */
  waitMs: number;
  /** Longest silence while the response body streams. */
  bodyTimeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Whether the socket carried an earlier exchange (a server may have closed it since). */
  reused: boolean;
  /**
   * Called once when the exchange is done with the socket: `reusable` when it may carry another,
   * with how long the server said it keeps an idle connection when it said (`Keep-Alive: timeout`).
   */
  release(reusable: boolean, idleMs?: number): void;
}

/** What is read and dropped of a body nobody wants before the connection is closed instead. */
const MaxDumpBytes = 256 * 1024;
/** Interim (1xx) answers taken before the final one. */
const MaxInterim = 16;
/** Body bytes buffered ahead of the reader before the socket is paused. */
const BodyHighWaterMark = 256 * 1024;
/** A Buffer body is written in slices this size, one after another (see #sendBuffer). */
const SliceBytes = 64 * 1024;

/** What an aborted request rejects with, as Node's http module named it (`AbortError`, the signal's reason as cause). */
export function abortedError(signal: AbortSignal): Error {
  return Object.assign(failure('ABORT_ERR', 'The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
  });
}

/**
 * One request and its response over a connection: writes the head and body (with backpressure,
 * chunked when the body's length is not declared), reads the response head, and answers it with
 * a body stream cut from the connection by the response's framing. The connection is released
 * for reuse only when both messages ended cleanly and the server keeps it alive.
 */
export function exchange(init: ExchangeInit): Promise<RawResponse> {
  return new Promise<RawResponse>((resolve, reject) => {
    new Exchange(init, resolve, reject).start();
  });
}

class Exchange {
  readonly #init: ExchangeInit;
  readonly #socket: Socket;
  readonly #resolve: (response: RawResponse) => void;
  readonly #reject: (error: Error) => void;
  #phase: 'head' | 'body' | 'done' = 'head';
  #headBytes: Buffer[] = [];
  #headLength = 0;
  #decoder: BodyDecoder | undefined;
  #response: ResponseHead | undefined;
  #stream: ResponseBody | undefined;
  /** While the body is consumed (see {@link ResponseBody.consume}): who takes its bytes, and its promise. */
  #consumer: { onBytes: (bytes: Buffer) => void; resolve: () => void; reject: (error: Error) => void } | undefined;
  #pausedByUs = false;
  /** Whether the body came whole (its framed end). */
  #bodyEnded = false;
  #requestSent = false;
  /** Bytes of the request the socket has written out (write callbacks): an upload's progress. */
  #flushed = 0;
  #stopSending: (() => void) | undefined;
  #headersTimer: NodeJS.Timeout | undefined;
  #uploadTimer: NodeJS.Timeout | undefined;
  /** Interim (1xx) answers seen: a server that only ever sends those is not waited on forever. */
  #interim = 0;
  /** Whether any byte of a response arrived (a stale keep-alive connection sends none). */
  #heard = false;

  constructor(init: ExchangeInit, resolve: (r: RawResponse) => void, reject: (e: Error) => void) {
    this.#init = init;
    this.#socket = init.socket;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  start(): void {
    const { socket, signal } = this.#init;
    if (signal?.aborted) {
      this.#fail(abortedError(signal));
      return;
    }
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
    socket.on('timeout', this.#onTimeout);
    signal?.addEventListener('abort', this.#onAbort);
    socket.resume();
    this.#send();
  }

  #send(): void {
    const { socket, head, body } = this.#init;
    this.#watchUpload();
    if (body === null || (Buffer.isBuffer(body) && body.length === 0)) {
      socket.write(head, 'latin1', this.#onWritten);
      return;
    }
    if (Buffer.isBuffer(body)) {
      this.#sendBuffer(head, body);
      return;
    }
    if (body.errored || body.destroyed) {
      this.#fail(body.errored ?? new Error('request body stream was closed before it was sent'));
      return;
    }
    const declared = this.#init.bodyLength;
    const chunked = declared === undefined;
    let count = 0;
    const onData = (data: Buffer | string) => {
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      // An empty chunk would read as the last one (`0\r\n\r\n`) in chunked framing.
      if (chunk.length === 0) return;
      count += chunk.length;
      if (declared !== undefined && count > declared) {
        this.#fail(
          failure('ERR_HTTP_CONTENT_LENGTH_MISMATCH', `request body is longer than its Content-Length ${declared}`),
        );
        return;
      }
      let ok: boolean;
      const written = this.#counted(chunk.length);
      if (chunked) {
        socket.cork();
        socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
        socket.write(chunk, written);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else {
        ok = socket.write(chunk, written);
      }
      // Every byte due is queued: an answer from now on does not cut the upload short.
      if (declared !== undefined && count === declared) this.#stopSending = undefined;
      if (!ok) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      detach();
      if (declared !== undefined && count !== declared) {
        this.#fail(
          failure('ERR_HTTP_CONTENT_LENGTH_MISMATCH', `request body ended after ${count} of its ${declared} bytes`),
        );
        return;
      }
      socket.write(chunked ? '0\r\n\r\n' : '', 'latin1', this.#onWritten);
    };
    const onError = (error: Error) => this.#fail(error);
    const onClose = () => {
      if (!body.readableEnded) this.#fail(body.errored ?? new Error('request body stream closed before its end'));
    };
    const detach = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      socket.off('drain', onDrain);
      this.#stopSending = undefined;
    };
    this.#stopSending = () => {
      detach();
      // The upload is abandoned: whoever made the stream learns it through its close.
      body.on('error', () => {});
      body.destroy();
    };
    socket.write(head, 'latin1');
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
    socket.on('drain', onDrain);
  }

  /**
   * A Buffer body goes out a slice at a time, each written once the last one is out: the slices'
   * write callbacks are the upload's progress (a Buffer queued whole counts as written at once in
   * `socket.bytesWritten`, however slowly the server reads it), and an early answer stops what is
   * left.
   */
  #sendBuffer(head: string, body: Buffer): void {
    const socket = this.#socket;
    let at = 0;
    let stopped = false;
    const next = (error?: Error | null) => {
      if (error) {
        this.#fail(error);
        return;
      }
      if (stopped || this.#phase === 'done') return;
      this.#flushed = at;
      if (at >= body.length) {
        this.#onWritten();
        return;
      }
      const end = Math.min(at + SliceBytes, body.length);
      const slice = body.subarray(at, end);
      at = end;
      // Every byte due is queued: an answer from now on does not cut the upload short.
      if (at === body.length) this.#stopSending = undefined;
      socket.write(slice, next);
    };
    this.#stopSending = () => {
      stopped = true;
    };
    socket.cork();
    socket.write(head, 'latin1');
    next();
    socket.uncork();
  }

  /** A write callback that counts `n` bytes as written out. */
  #counted(n: number): (error?: Error | null) => void {
    return (error) => {
      if (!error) this.#flushed += n;
    };
  }

  /**
   * Gives up on an upload the server stops reading: no byte written out for the body timeout.
   * Progress is what the socket wrote out (write callbacks), not what was queued nor what it heard
   * (a server dripping interim answers does not keep a stalled upload alive).
   */
  #watchUpload(): void {
    const ms = this.#init.bodyTimeoutMs;
    let written = this.#flushed;
    const check = () => {
      if (this.#requestSent || this.#phase === 'done') return;
      if (this.#flushed > written) {
        written = this.#flushed;
        this.#uploadTimer = setTimeout(check, ms);
        return;
      }
      this.#fail(failure('BODY_TIMEOUT', `request body stalled: nothing sent for ${ms} ms`));
    };
    this.#uploadTimer = setTimeout(check, ms);
  }

  readonly #onWritten = (error?: Error | null) => {
    if (error) {
      this.#fail(error);
      return;
    }
    this.#requestSent = true;
    clearTimeout(this.#uploadTimer);
    if (this.#phase !== 'head') return;
    const { waitMs } = this.#init;
    this.#headersTimer = setTimeout(
      () => this.#fail(failure('HEADERS_TIMEOUT', `no response headers after ${waitMs} ms`)),
      waitMs,
    );
  };

  readonly #onData = (data: Buffer) => {
    this.#heard = true;
    try {
      if (this.#phase === 'head') this.#readHead(data);
      else if (this.#phase === 'body') this.#readBody(data);
    } catch (error) {
      this.#fail(error as Error);
    }
  };

  #readHead(data: Buffer): void {
    let bytes = data;
    for (;;) {
      // The head ends at the first empty line. Only the new bytes (and the three before them) are
      // searched, and the pieces are joined once it is found: a head dripped a byte at a time
      // costs no more than one sent whole.
      const prior = this.#headLength;
      const carry = Math.min(3, prior);
      const window = carry === 0 ? bytes : Buffer.concat([this.#tail(carry), bytes]);
      const found = window.indexOf('\r\n\r\n', 0, 'latin1');
      // Lines end with CRLF: a bare LF in the head is refused at once, not waited on until a
      // timeout. (What follows the head is body: any byte goes there.)
      const headEnd = found < 0 ? window.length : found + 4;
      for (let lf = window.indexOf(10, carry); lf >= 0 && lf < headEnd; lf = window.indexOf(10, lf + 1)) {
        if (lf === 0 || window[lf - 1] !== 13) throw protocolError('line ends without CR');
      }
      this.#headBytes.push(bytes);
      this.#headLength += bytes.length;
      if (found < 0) {
        if (this.#headLength > MaxHeadBytes) throw protocolError(`head longer than ${MaxHeadBytes} bytes`);
        return;
      }
      const end = prior - carry + found;
      if (end > MaxHeadBytes) throw protocolError(`head longer than ${MaxHeadBytes} bytes`);
      const all = this.#headBytes.length === 1 ? bytes : Buffer.concat(this.#headBytes, this.#headLength);
      this.#headBytes = [];
      this.#headLength = 0;
      const head = parseResponseHead(all.subarray(0, end));
      const rest = all.subarray(end + 4);
      if (head.status >= 100 && head.status < 200) {
        // An interim answer (100 Continue, 103 Early Hints): the real one follows.
        if (head.status === 101) throw protocolError('101 Switching Protocols was not asked for');
        if (++this.#interim > MaxInterim) throw protocolError(`more than ${MaxInterim} interim answers`);
        if (rest.length === 0) return;
        bytes = rest;
        continue;
      }
      this.#onHead(head, rest);
      return;
    }
  }

  /** The last `n` bytes of the head read so far. */
  #tail(n: number): Buffer {
    const out = Buffer.alloc(n);
    let at = n;
    for (let i = this.#headBytes.length - 1; i >= 0 && at > 0; i--) {
      const piece = this.#headBytes[i] as Buffer;
      const take = Math.min(at, piece.length);
      piece.copy(out, at - take, piece.length - take);
      at -= take;
    }
    return out;
  }

  #onHead(head: ResponseHead, rest: Buffer): void {
    clearTimeout(this.#headersTimer);
    const framing = framingOf(head, this.#init.method);
    this.#response = head;
    if (!this.#requestSent) {
      // An answer before the request's end (a refusal of an upload): the rest is not sent.
      this.#stopSending?.();
    }
    const stream = new Readable({
      highWaterMark: BodyHighWaterMark,
      read: () => {
        if (this.#pausedByUs) {
          this.#pausedByUs = false;
          this.#socket.resume();
        }
      },
      destroy: (error, callback) => {
        // A body left before its end: the connection cannot carry another request.
        if (this.#phase === 'body') this.#finish(false);
        this.#settleConsumer(error ?? failure('ECONNRESET', 'response body closed before its end'));
        callback(error);
      },
    }) as ResponseBody;
    stream.dump = () => dump(stream);
    stream.consume = (onBytes) => this.#consume(stream, onBytes);
    // A body can fail before its reader has attached (bytes that came with the head): the error
    // stays on the stream (\`errored\`, iterators, pipelines) without crashing the process.
    stream.on('error', () => {});
    this.#stream = stream;
    this.#decoder = new BodyDecoder(framing, (bytes) => {
      if (this.#consumer) this.#consumer.onBytes(bytes);
      else if (!stream.push(bytes) && !this.#pausedByUs) {
        this.#pausedByUs = true;
        this.#socket.pause();
      }
    });
    this.#phase = 'body';
    this.#socket.setTimeout(this.#init.bodyTimeoutMs);
    this.#resolve({ status: head.status, headers: head.headers, body: stream });
    this.#readBody(rest);
  }

  #consume(stream: ResponseBody, onBytes: (bytes: Buffer) => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#consumer) {
        reject(new Error('the response body is consumed already'));
        return;
      }
      try {
        // What the stream holds already comes first.
        for (let chunk: Buffer | null = stream.read(); chunk !== null; chunk = stream.read()) onBytes(chunk);
      } catch (error) {
        this.#fail(error as Error);
        if (!stream.destroyed) stream.destroy(error as Error);
        reject(error);
        return;
      }
      if (stream.errored) {
        reject(stream.errored);
        return;
      }
      if (this.#phase !== 'body') {
        // Over before it was consumed: whole (the stream ended), or failed or left.
        if (this.#bodyEnded) resolve();
        else reject(failure('ECONNRESET', 'response body closed before its end'));
        return;
      }
      this.#consumer = { onBytes, resolve, reject };
      (this.#socket as DirectReadable)[DirectReads] = this.#onData;
      if (this.#pausedByUs) {
        this.#pausedByUs = false;
        this.#socket.resume();
      }
    });
  }

  /** Ends a consumer's wait: with `error`, or (none) at the body's end. */
  #settleConsumer(error?: Error): void {
    const consumer = this.#consumer;
    if (!consumer) return;
    this.#consumer = undefined;
    if (error) consumer.reject(error);
    else consumer.resolve();
  }

  #readBody(data: Buffer): void {
    const decoder = this.#decoder as BodyDecoder;
    const left = decoder.feed(data);
    if (!decoder.done) return;
    // Bytes past the framed end: the server and this reader disagree; the connection is not reused.
    this.#endBody(left === undefined || left.length === 0);
  }

  #endBody(clean: boolean): void {
    const stream = this.#stream as Readable;
    const reusable =
      clean &&
      this.#requestSent &&
      !(this.#decoder as BodyDecoder).untilClose &&
      keepsAlive(this.#response as ResponseHead);
    this.#bodyEnded = true;
    this.#finish(reusable);
    stream.push(null);
    this.#settleConsumer();
  }

  readonly #onEnd = () => {
    if (this.#phase === 'body' && this.#decoder?.untilClose) {
      this.#endBody(false);
      return;
    }
    this.#onClose();
  };

  readonly #onClose = () => {
    if (this.#phase === 'done') return;
    const error =
      this.#phase === 'head'
        ? failure('ECONNRESET', 'socket hang up')
        : failure('ECONNRESET', 'connection closed before the response body ended');
    if (this.#phase === 'head' && this.#init.reused && !this.#heard) Object.assign(error, { staleConnection: true });
    this.#fail(error);
  };

  readonly #onError = (error: Error) => {
    if (this.#phase === 'head' && this.#init.reused && !this.#heard) Object.assign(error, { staleConnection: true });
    this.#fail(error);
  };

  readonly #onTimeout = () => {
    const ms = this.#init.bodyTimeoutMs;
    if (this.#phase === 'body') this.#fail(failure('BODY_TIMEOUT', `response body silent for ${ms} ms`));
  };

  readonly #onAbort = () => {
    this.#fail(abortedError(this.#init.signal as AbortSignal));
  };

  /** Ends the exchange with `error`: the request fails, or the body stream does. */
  #fail(error: Error): void {
    if (this.#phase === 'done') return;
    const phase = this.#phase;
    this.#stopSending?.();
    this.#finish(false);
    if (phase === 'head') this.#reject(error);
    else {
      this.#settleConsumer(error);
      this.#stream?.destroy(error);
    }
  }

  /** Detaches from the socket and hands it back (or destroys it). */
  #finish(reusable: boolean): void {
    if (this.#phase === 'done') return;
    this.#phase = 'done';
    clearTimeout(this.#headersTimer);
    clearTimeout(this.#uploadTimer);
    const socket = this.#socket;
    (socket as DirectReadable)[DirectReads] = undefined;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
    socket.off('timeout', this.#onTimeout);
    this.#init.signal?.removeEventListener('abort', this.#onAbort);
    socket.setTimeout(0);
    if (this.#pausedByUs) {
      this.#pausedByUs = false;
      socket.resume();
    }
    if (!reusable) socket.destroy();
    const idleMs = reusable && this.#response ? keepAliveTimeoutMs(this.#response) : undefined;
    this.#init.release(reusable, idleMs);
  }
}

/** Reads and drops what is left of `body`; a large remainder closes the connection instead. */
function dump(body: Readable): Promise<void> {
  return new Promise<void>((resolve) => {
    if (body.readableEnded || body.destroyed) {
      resolve();
      return;
    }
    let seen = 0;
    body.on('data', (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > MaxDumpBytes) body.destroy();
    });
    body.once('end', resolve);
    body.once('close', resolve);
    body.once('error', () => resolve());
    body.resume();
  });
}
