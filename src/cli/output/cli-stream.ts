import { EventEmitter } from 'node:events';
import { escapeOf, isUnsafeOnTerminal, terminalText, ttyText } from './safe-text.js';

/**
 * stdout or stderr as the commands see them.
 *
 * - Text (a string) passes through `terminalText`, so that no control character from data
 *   reaches the terminal even where a call site forgot `safeText`. Bytes (a blob asked for with
 *   `-o -`, a manifest's exact bytes) pass as they are into a pipe or a file: they are the
 *   product. Into a terminal they are a display, and a hostile registry's "manifest" or blob
 *   would drive it (set the clipboard with OSC 52, rewrite the screen) or reorder what it shows
 *   (a bidi override): there their control and invisible formatting characters are escaped too
 *   (`escapeBytes`), and text gets the invisible ones escaped as well (`ttyText`).
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
  /** The start of a UTF-8 sequence that ended the last chunk written to a terminal: with the next bytes it may be a character to escape. */
  #held: Buffer = Buffer.alloc(0);

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

  /** The terminal's width in cells, when this is a terminal that says (a pty may say 0: unknown). */
  get columns(): number | undefined {
    const n = (this.#target as { columns?: number }).columns;
    return this.#tty && typeof n === 'number' && n > 0 ? n : undefined;
  }

  /** The terminal's height in lines, as {@link columns}. */
  get rows(): number | undefined {
    const n = (this.#target as { rows?: number }).rows;
    return this.#tty && typeof n === 'number' && n > 0 ? n : undefined;
  }

  /** A write error other than the reader going away (EPIPE), if one happened. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  get writable(): boolean {
    return !this.#gone;
  }

  /**
   * Waits until the stream takes more after a `write` that said it was full, or its reader has
   * gone. `signal` (the command's Ctrl-C: `interruptSignal()`) ends the wait with its reason: a
   * reader that stopped reading (a pager left open, `| (sleep 60; cat)`) must not hold an
   * interrupted command.
   */
  drained(signal: AbortSignal): Promise<void> {
    if (this.#gone) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const done = () => {
        signal.removeEventListener('abort', stop);
        resolve();
      };
      const stop = () => {
        this.off('drain', done);
        reject(signal.reason);
      };
      this.once('drain', done);
      signal.addEventListener('abort', stop, { once: true });
    });
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
    if (typeof chunk === 'string' && this.#tty) this.#flushHeld();
    const data =
      typeof chunk === 'string'
        ? this.#tty
          ? ttyText(chunk)
          : terminalText(chunk)
        : this.#tty
          ? this.#escapeBytes(chunk)
          : chunk;
    return this.#send(data, callback);
  }

  /**
   * Bytes for a terminal with what `ttyText` escapes escaped the same way: C0 controls (but
   * newline and tab), DEL, and the UTF-8 encodings of C1 controls and of the invisible formatting
   * characters (bidi overrides and isolates, zero width space, BOM, line separators). Works on
   * bytes, so that a chunk boundary inside a multi-byte character changes nothing: an incomplete
   * sequence that ends a chunk is held over to the next. Other bytes pass as they are.
   */
  #escapeBytes(chunk: Uint8Array): Buffer {
    const data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = Buffer.alloc(0);
    const out: number[] = [];
    const escaped = (code: number) => {
      for (const c of escapeOf(code)) out.push(c.charCodeAt(0));
    };
    for (let i = 0; i < data.length; i++) {
      const b = data[i] as number;
      if (b < 0x80) {
        if (isUnsafeOnTerminal(b)) escaped(b);
        else out.push(b);
        continue;
      }
      // Lead bytes of the dangerous two- and three-byte characters: C2 (C1 controls), D8 (U+061C),
      // E2 (U+200B…U+2069), EF (U+FEFF). Any other byte cannot start one.
      const length = b === 0xc2 || b === 0xd8 ? 2 : b === 0xe2 || b === 0xef ? 3 : 0;
      if (length === 0) {
        out.push(b);
        continue;
      }
      if (i + length > data.length) {
        this.#held = Buffer.from(data.subarray(i));
        break;
      }
      const code =
        length === 2
          ? ((b & 0x1f) << 6) | ((data[i + 1] as number) & 0x3f)
          : ((b & 0x0f) << 12) | (((data[i + 1] as number) & 0x3f) << 6) | ((data[i + 2] as number) & 0x3f);
      let wellFormed = true;
      for (let k = 1; k < length; k++) if (((data[i + k] as number) & 0xc0) !== 0x80) wellFormed = false;
      if (wellFormed && isUnsafeOnTerminal(code)) {
        escaped(code);
        i += length - 1;
      } else {
        out.push(b);
      }
    }
    return Buffer.from(out);
  }

  /**
   * The held start of a sequence, as it is, when text follows (text never starts with a UTF-8
   * continuation byte, so it cannot complete one into a character to escape) or at the end.
   */
  #flushHeld(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = Buffer.alloc(0);
    this.#send(held, undefined);
  }

  /** Our own terminal control sequences (the progress display's cursor moves), unescaped. */
  writeControl(sequence: string): void {
    this.#flushHeld();
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
    this.#flushHeld();
    if (callback) process.nextTick(callback);
    return this;
  }
}
