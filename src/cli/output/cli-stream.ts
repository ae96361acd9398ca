import { EventEmitter } from 'node:events';
import { terminalText } from './safe-text.js';

/**
 * stdout or stderr as the commands see them.
 *
 * - Text (a string) passes through `terminalText`, so that no control character from data
 *   reaches the terminal even where a call site forgot `safeText`. Bytes (a blob asked for with
 *   `-o -`, a manifest's exact bytes) pass as they are into a pipe or a file: they are the
 *   product. Into a terminal they are a display, and a hostile registry's "manifest" or blob
 *   would drive it (set the clipboard with OSC 52, rewrite the screen): there their control
 *   characters are escaped too (`escapeBytes`).
 * - A reader that went away (`lading push … | head -1`: EPIPE) silences the stream and nothing
 *   else: the command goes on with its work and exits by its result. Before, the process exited 0
 *   on the first EPIPE, in the middle of a push, having pushed nothing.
 * - Any other write error (a full disk under `> file`) silences it too, and is kept in `failure`
 *   so that the program can still fail: output that was lost must not look like success.
 */
export class CliStream extends EventEmitter implements NodeJS.WritableStream {
  readonly #target: NodeJS.WritableStream;
  readonly #tty: boolean;
  #gone = false;
  #failure: Error | undefined;
  /** A UTF-8 lead byte 0xC2 that ended the last chunk: with the next byte it may be a C1 control. */
  #heldLead = false;

  constructor(target: NodeJS.WritableStream) {
    super();
    this.#target = target;
    this.#tty = Boolean((target as { isTTY?: boolean }).isTTY);
    // A second wrapper over a stream whose reader already left starts silenced.
    if ((target as { destroyed?: boolean }).destroyed) this.#gone = true;
    target.on('drain', () => this.emit('drain'));
    target.on('error', (error: NodeJS.ErrnoException) => this.#lost(error));
  }

  /** True once the reader went away or a write failed: writes are dropped from then on. */
  get readerGone(): boolean {
    return this.#gone;
  }

  /** A write error other than the reader going away (EPIPE), if one happened. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  get writable(): boolean {
    return !this.#gone;
  }

  #lost(error: NodeJS.ErrnoException): void {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') this.#failure ??= error;
    if (this.#gone) return;
    this.#gone = true;
    // Whoever waits for 'drain' before writing more must not wait for ever.
    this.emit('drain');
  }

  write(chunk: Uint8Array | string, cb?: (err?: Error | null) => void): boolean;
  write(chunk: string, encoding?: BufferEncoding, cb?: (err?: Error | null) => void): boolean;
  write(
    chunk: Uint8Array | string,
    encodingOrCb?: BufferEncoding | ((err?: Error | null) => void),
    cb?: (err?: Error | null) => void,
  ): boolean {
    const callback = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    const data = typeof chunk === 'string' ? terminalText(chunk) : this.#tty ? this.#escapeBytes(chunk) : chunk;
    return this.#send(data, callback);
  }

  /**
   * Bytes for a terminal with C0 controls (but newline and tab), DEL and UTF-8 encoded C1 controls
   * escaped as `terminalText` escapes them. Works on bytes, so that a chunk boundary inside a
   * multi-byte character changes nothing; only 0xC2 (the lead byte of C1) is held over.
   */
  #escapeBytes(chunk: Uint8Array): Buffer {
    const out: number[] = [];
    const escaped = (code: number) => {
      for (const c of code === 0x0d ? '\\r' : `\\u${code.toString(16).padStart(4, '0')}`) out.push(c.charCodeAt(0));
    };
    let lead = this.#heldLead;
    this.#heldLead = false;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i] as number;
      if (lead) {
        lead = false;
        if (b >= 0x80 && b <= 0x9f) {
          escaped(b);
          continue;
        }
        out.push(0xc2);
      }
      if (b === 0xc2) {
        if (i === chunk.length - 1) this.#heldLead = true;
        else lead = true;
        continue;
      }
      if ((b < 0x20 && b !== 0x0a && b !== 0x09) || b === 0x7f) escaped(b);
      else out.push(b);
    }
    return Buffer.from(out);
  }

  /** Our own terminal control sequences (the progress display's cursor moves), unescaped. */
  writeControl(sequence: string): void {
    this.#send(sequence, undefined);
  }

  #send(data: Uint8Array | string, callback: ((err?: Error | null) => void) | undefined): boolean {
    if (this.#gone) {
      if (callback) process.nextTick(callback);
      return true;
    }
    try {
      return callback ? this.#target.write(data, callback) : this.#target.write(data);
    } catch (error) {
      this.#lost(error as NodeJS.ErrnoException);
      return true;
    }
  }

  /** stdout and stderr are never closed by a command; `end` only writes what it is given. */
  end(cb?: () => void): this;
  end(data: string | Uint8Array, cb?: () => void): this;
  end(str: string, encoding?: BufferEncoding, cb?: () => void): this;
  end(a?: string | Uint8Array | (() => void), b?: BufferEncoding | (() => void), c?: () => void): this {
    const callback = [a, b, c].find((x) => typeof x === 'function') as (() => void) | undefined;
    if (typeof a === 'string' || a instanceof Uint8Array) this.write(a);
    if (callback) process.nextTick(callback);
    return this;
  }
}
