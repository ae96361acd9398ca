import { LadingError } from '../oci/index.js';

/**
 * Ctrl-C (SIGINT) and SIGTERM abort the running command through this signal: commands pass it to
 * the library, which stops its transfers and leaves every store as it was (temp files aside); the
 * program then exits 128 + the signal number with one line, `Error: interrupted`.
 */
const controller = new AbortController();
let received: NodeJS.Signals | undefined;

export function interruptSignal(): AbortSignal {
  return controller.signal;
}

/** The signal that interrupted this run, if one did. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return received;
}

export function interrupt(signal: NodeJS.Signals): void {
  received ??= signal;
  controller.abort(new LadingError('ABORTED', 'interrupted'));
}
