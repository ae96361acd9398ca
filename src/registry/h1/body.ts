import type { Framing } from './head.js';
import { protocolError } from './head.js';

/** The longest chunk-size line (with extensions) or trailer field read. */
const MaxChunkLine = 4096;
/** The most trailer bytes read after the last chunk. */
const MaxTrailerBytes = 64 * 1024;

/**
 * Cuts a response body out of the bytes a connection delivers, by its framing: a known length,
 * chunks, or the connection's end. Body bytes are handed on as slices of the buffers read from
 * the socket (no copy). `feed` answers the bytes of `data` left over after the body's end (a
 * server that sent more than it framed), or undefined while the body goes on.
 */
export class BodyDecoder {
  readonly #framing: Framing;
  readonly #onBytes: (bytes: Buffer) => void;
  /** Length framing: bytes still due. Chunked: bytes left in the current chunk. */
  #left: number;
  #state: 'size' | 'data' | 'data-end' | 'trailer' | 'done';
  /** A chunk-size or trailer line split across reads. */
  #line = '';
  #trailerBytes = 0;

  constructor(framing: Framing, onBytes: (bytes: Buffer) => void) {
    this.#framing = framing;
    this.#onBytes = onBytes;
    this.#left = framing.kind === 'length' ? framing.length : 0;
    this.#state =
      framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0)
        ? 'done'
        : framing.kind === 'chunked'
          ? 'size'
          : 'data';
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Whether the body ends with the connection (no framing of its own). */
  get untilClose(): boolean {
    return this.#framing.kind === 'close';
  }

  feed(data: Buffer): Buffer | undefined {
    switch (this.#framing.kind) {
      case 'none':
        return data;
      case 'close':
        if (data.length > 0) this.#onBytes(data);
        return undefined;
      case 'length': {
        if (this.#state === 'done') return data;
        const n = Math.min(this.#left, data.length);
        this.#left -= n;
        if (n > 0) this.#onBytes(n === data.length ? data : data.subarray(0, n));
        if (this.#left > 0) return undefined;
        this.#state = 'done';
        return data.subarray(n);
      }
      case 'chunked':
        return this.#chunked(data);
    }
  }

  #chunked(data: Buffer): Buffer | undefined {
    let at = 0;
    while (at < data.length) {
      switch (this.#state) {
        case 'done':
          return data.subarray(at);
        case 'data': {
          const n = Math.min(this.#left, data.length - at);
          this.#onBytes(data.subarray(at, at + n));
          at += n;
          this.#left -= n;
          if (this.#left === 0) this.#state = 'data-end';
          break;
        }
        case 'data-end':
        case 'size':
        case 'trailer': {
          const end = data.indexOf(10, at);
          const piece = data.toString('latin1', at, end < 0 ? data.length : end + 1);
          this.#line += piece;
          at = end < 0 ? data.length : end + 1;
          if (this.#line.length > MaxChunkLine) throw protocolError('chunk line too long');
          if (end < 0) break;
          const line = this.#line;
          this.#line = '';
          if (!line.endsWith('\r\n')) throw protocolError('bare LF in chunked body');
          this.#onLine(line.slice(0, -2));
          break;
        }
      }
    }
    return this.#state === 'done' ? data.subarray(at) : undefined;
  }

  /** One complete line of the chunked framing, without its CRLF. */
  #onLine(line: string): void {
    if (this.#state === 'data-end') {
      if (line !== '') throw protocolError('chunk data longer than its size');
      this.#state = 'size';
      return;
    }
    if (this.#state === 'trailer') {
      this.#trailerBytes += line.length + 2;
      if (this.#trailerBytes > MaxTrailerBytes) throw protocolError('trailer too long');
      if (line === '') this.#state = 'done';
      else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*$/.test(line))
        throw protocolError('trailer field');
      return;
    }
    // chunk-size [ chunk-ext ]: hex digits, then optional `;name[=value]` extensions (ignored).
    // At most 13 hex digits: every size stays an exact JavaScript integer.
    const size = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?$/.exec(line);
    if (!size) throw protocolError('chunk size line');
    this.#left = Number.parseInt(size[1] as string, 16);
    this.#state = this.#left === 0 ? 'trailer' : 'data';
  }
}
