import { processIO, reportLostOutput } from './io.js';
import { commandGroups, run } from './program.js';

/**
 * The command line past its entry: everything but `--version`. The build bundles this module and
 * all it loads into one CommonJS file (dist/bin/lading.cjs) that main.js compiles with lading's own
 * V8 code cache (code-cache.ts); run from the sources, main.ts imports it.
 */
export async function start(argv: string[]): Promise<void> {
  // The first Ctrl-C (or SIGTERM) asks the command to stop and clean up; a second one, or a command
  // that has not finished cleaning up 10 s later, ends the process at once. A repeat within half a
  // second is the same request: `timeout -s INT` and some process managers deliver a signal both to
  // the process and to its group, and that must not skip the clean-up.
  let firstSignalAt: number | undefined;
  let firstSignal: 'SIGINT' | 'SIGTERM' | undefined;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const code = 128 + (signal === 'SIGINT' ? 2 : 15);
      const now = Date.now();
      if (firstSignalAt !== undefined) {
        if (now - firstSignalAt < 500) return;
        endBySignal(signal);
        return;
      }
      firstSignalAt = now;
      firstSignal = signal;
      process.exitCode = code;
      setTimeout(() => endBySignal(signal), 10_000).unref();
      void import('./interrupt.js').then(({ interrupt }) => interrupt(signal));
    });
  }
  // A reader that stops early (`lading push … | head -1`) silences the output, not the work: the
  // command finishes and exits by its result (see CliStream).
  const io = processIO();
  const code = await run(argv, { io });
  // A failed write to stdout reports its error on a later tick: let it arrive before deciding.
  await new Promise((resolve) => setImmediate(resolve));
  process.exitCode = reportLostOutput(io, code);
  // Interrupted, output still queued for a reader that stopped reading (a pager left open) would
  // keep the process until the 10 s backstop (stdout cannot be closed): the command has cleaned up
  // and said so on stderr, so the signal ends the process now, dropping what is left of it.
  if (firstSignal !== undefined && process.stdout.writableLength > 0) endBySignal(firstSignal);
}

/**
 * Ends the process at once, as the signal itself would have. Not process.exit(): it joins libuv's
 * thread pool on the way out, and a thread stuck in a system call that never returns (open() of a
 * FIFO nobody writes, a read from a hung network file system) would keep the process alive for
 * good, deaf to every further signal. With our handler gone, the signal's default action ends it
 * in the kernel (the shell sees 128 + the signal's number, as set for a normal exit). SIGKILL is the
 * fallback where re-raising does not end it (a platform without POSIX signals).
 */
function endBySignal(signal: 'SIGINT' | 'SIGTERM'): void {
  process.removeAllListeners(signal);
  // Another thread may take the signal a moment later: give it that moment before the fallback.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 1000);
  process.kill(process.pid, signal);
}

const words = new Set(['version', 'completion', 'help', ...commandGroups.flatMap((g) => g.names)]);

/** Whether `word` names a top-level command (the code cache keeps one file per command). */
export function isCommandWord(word: string): boolean {
  return words.has(word);
}
