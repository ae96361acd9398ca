import { isLadingError } from '../oci/index.js';
import { redactUserinfo } from '../registry/redact.js';

export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Progress bars only make sense on a terminal. */
  isTTY: boolean;
  debug: boolean;
}

export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, isTTY: Boolean(process.stderr.isTTY), debug: false };
}

/** Exit codes: 1 for any failure, as ORAS; 2 for a command line that does not parse. */
export const ExitCode = { Ok: 0, Failure: 1, Usage: 2 } as const;

/** One line on stderr; the cause chain only with --debug. No stack traces for user errors. */
export function reportError(io: CliIO, error: unknown): number {
  // Whatever a message quotes back (a URL the user typed, a server's answer), no password in it shows.
  const message = redactUserinfo(error instanceof Error ? error.message : String(error));
  io.stderr.write(`Error: ${message.split('\n')[0]}\n`);
  if (io.debug) {
    let cause = error instanceof Error ? error.cause : undefined;
    while (cause) {
      io.stderr.write(`  caused by: ${redactUserinfo(cause instanceof Error ? cause.message : String(cause))}\n`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    if (!isLadingError(error) && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  }
  return ExitCode.Failure;
}
