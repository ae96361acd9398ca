import { Annotation, type Descriptor } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { safeText } from './safe-text.js';

export interface Verbs {
  start: string;
  done: string;
  exists: string;
}

export const PushVerbs: Verbs = { start: 'Uploading', done: 'Uploaded ', exists: 'Exists   ' };
export const PullVerbs: Verbs = { start: 'Downloading', done: 'Downloaded ', exists: 'Skipped    ' };
export const CopyVerbs: Verbs = { start: 'Copying', done: 'Copied ', exists: 'Exists ' };

/** A title or media type comes from the artifact: shown escaped, never as terminal input. */
function nameOf(desc: Descriptor): string {
  return safeText(desc.annotations?.[Annotation.Title] ?? desc.mediaType);
}

/**
 * The descriptor's name, escaped, cut to `width` characters at a whole character and a whole
 * escape (an escape cut in its middle would read as other text).
 */
function nameIn(desc: Descriptor, width: number): string {
  let out = '';
  for (const char of desc.annotations?.[Annotation.Title] ?? desc.mediaType) {
    const piece = safeText(char);
    if (out.length + piece.length > width) break;
    out += piece;
  }
  return out;
}

function shortDigest(desc: Descriptor): string {
  const i = desc.digest.indexOf(':');
  return safeText(desc.digest.slice(i + 1, i + 13));
}

export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? Math.round(v) : v.toFixed(2)} ${units[u]}`;
}

interface Bar {
  desc: Descriptor;
  status: string;
  bytes: number;
  started: number;
  finished?: number;
}

/**
 * What a long transfer shows: on a terminal, one live bar per blob with bytes, percentage and
 * speed; otherwise (or with --no-tty) one line per event, as ORAS prints them.
 */
export class TransferDisplay {
  readonly #io: CliIO;
  readonly #verbs: Verbs;
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #bars = new Map<string, Bar>();
  #timer: NodeJS.Timeout | undefined;
  #drawn = 0;
  #stopped = false;

  /**
   * Bars on a terminal unless `tty` is false (`--no-tty`) or `--debug` interleaves its lines.
   * `format`: with `json` or `go-template` stdout holds the model only, so the status lines are
   * dropped (bars on a terminal still show, on stderr), as ORAS does.
   */
  constructor(io: CliIO, verbs: Verbs, options: { tty?: boolean; format?: string } = {}) {
    this.#io = io;
    this.#verbs = verbs;
    this.#tty = options.tty !== false && io.isTTY && !io.debug;
    this.#quiet = options.format !== undefined && options.format !== 'text';
  }

  readonly preCopy = (desc: Descriptor): void => {
    if (!this.#tty) {
      if (!this.#quiet) this.#io.stdout.write(`${this.#verbs.start} ${shortDigest(desc)} ${nameOf(desc)}\n`);
      return;
    }
    this.#bars.set(desc.digest, { desc, status: this.#verbs.start, bytes: 0, started: Date.now() });
    this.#schedule();
  };

  /**
   * A line of its own in the plain-line display (ORAS's `Preparing <file>`, `Uploading empty
   * artifact`): nothing on a terminal, where the bars show the work, nor with a model format.
   */
  note(line: string): void {
    if (!this.#tty && !this.#quiet) this.#io.stdout.write(`${safeText(line)}\n`);
  }

  readonly postCopy = (desc: Descriptor): void => this.#finish(desc, this.#verbs.done);

  readonly onCopySkipped = (desc: Descriptor): void => this.#finish(desc, this.#verbs.exists);

  readonly onMounted = (desc: Descriptor): void => this.#finish(desc, 'Mounted');

  readonly onProgress = (desc: Descriptor, bytes: number): void => {
    const bar = this.#bars.get(desc.digest);
    if (bar) bar.bytes += bytes;
  };

  #finish(desc: Descriptor, status: string): void {
    if (!this.#tty) {
      if (!this.#quiet) this.#io.stdout.write(`${status} ${shortDigest(desc)} ${nameOf(desc)}\n`);
      return;
    }
    const bar = this.#bars.get(desc.digest) ?? { desc, status, bytes: 0, started: Date.now() };
    bar.status = status.trim();
    bar.bytes = desc.size;
    bar.finished = Date.now();
    this.#bars.set(desc.digest, bar);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer ??= setInterval(() => this.#draw(), 150);
    this.#timer.unref();
  }

  #line(bar: Bar): string {
    const width = 20;
    const ratio = bar.desc.size > 0 ? Math.min(1, bar.bytes / bar.desc.size) : 1;
    const filled = Math.round(ratio * width);
    const seconds = ((bar.finished ?? Date.now()) - bar.started) / 1000;
    const speed = seconds > 0 ? `${humanBytes(bar.bytes / seconds)}/s` : '';
    const name = nameIn(bar.desc, 40).padEnd(40);
    return ` ${bar.status.padEnd(11)} ${name} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${humanBytes(bar.bytes)}/${humanBytes(bar.desc.size)} ${(ratio * 100).toFixed(2)}% ${speed}\n  └─ ${safeText(bar.desc.digest)}\n`;
  }

  #draw(): void {
    const out = this.#io.stderr;
    // Our own cursor moves: the only escape sequences that reach the terminal unescaped.
    if (this.#drawn > 0) out.writeControl(`\x1b[${this.#drawn}A\x1b[J`);
    let text = '';
    let done = 0;
    let total = 0;
    let finished = 0;
    for (const bar of this.#bars.values()) {
      text += this.#line(bar);
      done += Math.min(bar.bytes, bar.desc.size);
      total += bar.desc.size;
      if (bar.finished) finished++;
    }
    // One line for the whole transfer under the per-blob bars.
    text += ` Total       ${finished}/${this.#bars.size} blobs, ${humanBytes(done)}/${humanBytes(total)}\n`;
    out.write(text);
    this.#drawn = this.#bars.size * 2 + 1;
  }

  /** Draws the final state once; call before printing the summary. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#tty && this.#bars.size > 0) this.#draw();
  }

  hooks() {
    return {
      preCopy: this.preCopy,
      postCopy: this.postCopy,
      onSkipped: this.onCopySkipped,
      onMounted: this.onMounted,
      onProgress: this.onProgress,
    };
  }
}
