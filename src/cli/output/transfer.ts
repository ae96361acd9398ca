import { Annotation, type Descriptor } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { cutToCells, textCells } from './cells.js';
import { safeText, ttyText } from './safe-text.js';

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
 * The descriptor's name, escaped as a terminal shows it, cut to `width` cells at a whole character
 * and a whole escape (an escape cut in its middle would read as other text), padded to `width`.
 */
function nameIn(desc: Descriptor, width: number): string {
  let out = '';
  let cells = 0;
  for (const char of desc.annotations?.[Annotation.Title] ?? desc.mediaType) {
    const piece = ttyText(safeText(char));
    const w = textCells(piece);
    if (cells + w > width) break;
    out += piece;
    cells += w;
  }
  return out + ' '.repeat(width - cells);
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
  /** Where the plain status lines go: stdout for the ORAS commands, stderr for OCM's transfer. */
  readonly #statusTo: 'stdout' | 'stderr';
  readonly #bars = new Map<string, Bar>();
  #timer: NodeJS.Timeout | undefined;
  #drawn = 0;
  #stopped = false;

  /**
   * Bars on a terminal unless `tty` is false (`--no-tty`) or `--debug` interleaves its lines.
   * `format`: with `json` or `go-template` stdout holds the model only, so the status lines are
   * dropped (bars on a terminal still show, on stderr), as ORAS does. `lines`: the stream of the
   * plain status lines; `stderr` where the command's stdout is for a document only (upstream OCM's
   * transfer prints its progress on stderr and nothing on stdout).
   */
  constructor(io: CliIO, verbs: Verbs, options: { tty?: boolean; format?: string; lines?: 'stdout' | 'stderr' } = {}) {
    this.#io = io;
    this.#verbs = verbs;
    this.#tty = options.tty !== false && io.isTTY && !io.debug;
    this.#quiet = options.format !== undefined && options.format !== 'text';
    this.#statusTo = options.lines ?? 'stdout';
  }

  readonly preCopy = (desc: Descriptor): void => {
    if (!this.#tty) {
      if (!this.#quiet) this.#io[this.#statusTo].write(`${this.#verbs.start} ${shortDigest(desc)} ${nameOf(desc)}\n`);
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
    if (!this.#tty && !this.#quiet) this.#io[this.#statusTo].write(`${safeText(line)}\n`);
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
      if (!this.#quiet) this.#io[this.#statusTo].write(`${status} ${shortDigest(desc)} ${nameOf(desc)}\n`);
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

  /** A bar's two lines: `nameWidth` cells for its name, a bar of `barWidth` cells. */
  #lines(bar: Bar, nameWidth: number, barWidth: number): [string, string] {
    const ratio = bar.desc.size > 0 ? Math.min(1, bar.bytes / bar.desc.size) : 1;
    const filled = Math.round(ratio * barWidth);
    const seconds = ((bar.finished ?? Date.now()) - bar.started) / 1000;
    const speed = seconds > 0 ? `${humanBytes(bar.bytes / seconds)}/s` : '';
    return [
      ` ${bar.status.padEnd(11)} ${nameIn(bar.desc, nameWidth)} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${humanBytes(bar.bytes)}/${humanBytes(bar.desc.size)} ${(ratio * 100).toFixed(2)}% ${speed}`,
      `  └─ ${safeText(bar.desc.digest)}`,
    ];
  }

  /**
   * The frame's lines, each within `width` cells when the terminal's width is known: the names
   * give way first (all alike, so the bars stay in one column), then the bars, then the ends of the
   * lines. A line that wrapped would take two rows where the next frame moves up one for it, and
   * every frame would leave rows of the last behind.
   */
  #frame(bars: Bar[], width: number | undefined): string[] {
    if (width === undefined) return bars.flatMap((bar) => this.#lines(bar, 40, 20));
    // One cell to spare: a line that fills the last column wraps on some terminals.
    const room = width - 1;
    const widest = (barWidth: number) => Math.max(0, ...bars.map((bar) => textCells(this.#lines(bar, 0, barWidth)[0])));
    let barWidth = 20;
    let nameWidth = Math.min(40, room - widest(barWidth));
    if (nameWidth < 20) {
      barWidth = 10;
      nameWidth = Math.min(40, room - widest(barWidth));
    }
    nameWidth = Math.max(0, nameWidth);
    return bars.flatMap((bar) => this.#lines(bar, nameWidth, barWidth).map((line) => cutToCells(line, room)));
  }

  #draw(final = false): void {
    const out = this.#io.stderr;
    const width = out.columns;
    // Our own cursor moves: the only escape sequences that reach the terminal unescaped.
    if (this.#drawn > 0) out.writeControl(`\x1b[${this.#drawn}A\x1b[J`);
    let done = 0;
    let total = 0;
    let finished = 0;
    for (const bar of this.#bars.values()) {
      done += Math.min(bar.bytes, bar.desc.size);
      total += bar.desc.size;
      if (bar.finished) finished++;
    }
    // A frame taller than the terminal cannot be moved up over: the cursor stops at the top row and
    // every frame would leave a copy in the scrollback. Live frames show the bars still moving first,
    // as many as fit; the last frame shows every bar (nothing is drawn over it again).
    let shown = [...this.#bars.values()];
    const rows = out.rows;
    if (!final && rows !== undefined && shown.length * 2 + 1 > rows - 1) {
      const fit = Math.max(0, Math.floor((rows - 2) / 2));
      shown = [...shown.filter((b) => !b.finished), ...shown.filter((b) => b.finished).reverse()].slice(0, fit);
    }
    const lines = this.#frame(shown, width);
    // One line for the whole transfer under the per-blob bars.
    const sum = ` Total       ${finished}/${this.#bars.size} blobs, ${humanBytes(done)}/${humanBytes(total)}`;
    lines.push(width === undefined ? sum : cutToCells(sum, width - 1));
    out.write(`${lines.join('\n')}\n`);
    this.#drawn = lines.length;
  }

  /** Draws the final state once; call before printing the summary. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#tty && this.#bars.size > 0) this.#draw(true);
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
