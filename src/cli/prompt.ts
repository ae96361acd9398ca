import { readSync } from 'node:fs';
import { isatty } from 'node:tty';
import { LadingError } from '../oci/index.js';
import { interruptSignal } from './interrupt.js';
import type { CliIO } from './io.js';

/** No answer to a prompt is longer; a stdin with no newline in sight is refused, not buffered. */
const maxLine = 64 * 1024;

/**
 * Asks `question` on stdout and reads one line from stdin, as ORAS's login does: from a terminal
 * a `hidden` answer is not echoed (a newline follows it on stdout); from a pipe or a file the line
 * is read as it comes, a byte at a time, so nothing past its newline is taken. The `\n` is
 * dropped, then one trailing `\r`; end of input ends the line ('' when nothing came).
 */
export async function ask(io: CliIO, question: string, hidden: boolean): Promise<string> {
  // isatty(0), not process.stdin.isTTY: building process.stdin turns fd 0 non-blocking.
  if (!isatty(0)) {
    io.stdout.write(question);
    return readPipedLine();
  }
  try {
    // The question shows once the terminal no longer echoes: what is typed as soon as it shows
    // stays hidden (and a Ctrl-C then is read, not left to the terminal).
    return await readTerminalLine(hidden, () => io.stdout.write(question));
  } finally {
    // The Enter (or Ctrl-C) a hidden answer ended with was not echoed.
    if (hidden) io.stdout.write('\n');
  }
}

function tooLong(): LadingError {
  return new LadingError('SIZE_EXCEEDS_LIMIT', `stdin: a line longer than ${maxLine} bytes`);
}

function dropCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function readPipedLine(): string {
  const bytes: number[] = [];
  const one = Buffer.alloc(1);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, one, 0, 1, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw error;
      // fd 0 was made non-blocking by someone: wait for the writer.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      continue;
    }
    if (n === 0 || one[0] === 0x0a) break;
    if (bytes.length >= maxLine) throw tooLong();
    bytes.push(one[0] as number);
  }
  return dropCarriageReturn(Buffer.from(bytes).toString('utf8'));
}

/** What a terminal sent past the line last read (a pasted `name⏎secret⏎`). */
let pending = '';

/**
 * One line from the terminal. A hidden one is read in raw mode, so this does what the terminal
 * would: Enter ends it, Backspace and Ctrl-U erase, Ctrl-D on an empty line ends input, Ctrl-C
 * interrupts the command as a Ctrl-C anywhere else does.
 */
function readTerminalLine(hidden: boolean, show: () => void): Promise<string> {
  const stdin = process.stdin;
  const signal = interruptSignal();
  return new Promise<string>((resolve, reject) => {
    let value = '';
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      if (hidden) stdin.setRawMode(false);
      stdin.pause();
      if (error) reject(error);
      else resolve(hidden ? value : dropCarriageReturn(value));
    };
    const onAbort = () => finish(new LadingError('ABORTED', 'interrupted', { cause: signal.reason }));
    const take = (text: string): boolean => {
      for (let i = 0; i < text.length; i++) {
        const ch = text[i] as string;
        const ends = ch === '\n' || (hidden && ch === '\r') || (hidden && ch === '\x04' && value === '');
        if (ends) {
          pending = text.slice(i + 1);
          finish();
          return true;
        }
        if (hidden && ch === '\x03') {
          // Raw mode took the terminal's Ctrl-C: raise it as the terminal would have. The interrupt
          // then ends this prompt (onAbort) as it ends any command, with status 130; ending it here
          // first failed the command before the interrupt was known (status 1).
          stdin.off('data', onData);
          process.kill(process.pid, 'SIGINT');
          return true;
        }
        if (hidden && (ch === '\x7f' || ch === '\b')) value = Array.from(value).slice(0, -1).join('');
        else if (hidden && ch === '\x15') value = '';
        else if (!hidden || ch >= ' ') value += ch;
        if (value.length > maxLine) {
          finish(tooLong());
          return true;
        }
      }
      return false;
    };
    const onData = (chunk: Buffer) => void take(chunk.toString('utf8'));
    const onEnd = () => finish();
    if (signal.aborted) {
      show();
      return onAbort();
    }
    // Ctrl-D at an earlier visible prompt ended stdin: raw mode would no longer take, and the
    // terminal would echo a secret typed now (and no 'end' would come). Nothing more can be read.
    if (stdin.readableEnded && pending === '') {
      show();
      return finish();
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const before = pending;
    pending = '';
    if (hidden) stdin.setRawMode(true);
    show();
    if (take(before)) return;
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}
