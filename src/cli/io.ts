import { isLadingError, LadingError } from '../oci/index.js';
import { redactUserinfo } from '../registry/redact.js';
import { CliStream } from './output/cli-stream.js';
import { safeText } from './output/safe-text.js';

export type { CliStream } from './output/cli-stream.js';

export interface CliIO {
  stdout: CliStream;
  stderr: CliStream;
  /** Progress bars only make sense on a terminal that can move its cursor (see {@link drawsProgress}). */
  isTTY: boolean;
  debug: boolean;
}

export function processIO(): CliIO {
  return {
    stdout: new CliStream(process.stdout),
    stderr: new CliStream(process.stderr),
    isTTY: drawsProgress(Boolean(process.stderr.isTTY), process.env),
    debug: false,
  };
}

/**
 * Whether stderr takes progress bars: a terminal, unless TERM says it cannot move its cursor
 * (`dumb`: Emacs's shell, some CI consoles), where each frame's cursor moves would show as text;
 * there the plain lines of a pipe are printed.
 */
export function drawsProgress(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  return isTTY && env.TERM !== 'dumb';
}

/**
 * Exit codes: 1 for any failure, a command line that does not parse included, as ORAS and the OCM
 * CLI exit (cobra's errors all end in `os.Exit(1)`); 128 + the signal's number after an interrupt.
 */
export const ExitCode = { Ok: 0, Failure: 1 } as const;

/**
 * The command line's words for what the library hints (LadingError.hint, keyed by the library's
 * option): the flags that change the outcome. The library's messages never name a flag.
 */
const flagHints: Record<string, string> = {
  keepOldFiles: '--keep-old-files',
  allowAbsolutePaths: 'use a relative path or --disable-path-validation',
  force: 'use --force to replace it',
  conflictPolicy: 'use --component-version-conflict-policy skip or replace',
  credentials: 'log in with lading login, or pass --username and --password',
  ocmCredentials: 'use lading login or an OCM configuration',
  plainHttp: 'use plain HTTP for it, e.g. --plain-http',
  https: 'use HTTPS for it: no --plain-http; for localhost --plain-http=false, or https:// in an OCM repository',
  tls: 'trust its CA (--ca-file) or skip verification for it (--insecure)',
  tlsName: 'use a name its certificate lists, or skip verification for it (--insecure)',
  insecure: 'skip verification for it (--insecure)',
  clientCert: 'give one with --cert-file and --key-file',
  extractionPolicy: 'or keep it whole with --extraction-policy disable',
};

/** An error's message as the command line says it: each library hint (its own or a cause's) in flags. */
export function cliMessage(error: unknown): string {
  let message = error instanceof Error ? error.message : String(error);
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    const hint = isLadingError(e) ? e.hint : undefined;
    const flags = hint ? flagHints[hint.key] : undefined;
    if (hint && flags) message = message.replace(`(${hint.text})`, () => `(${flags})`);
  }
  return message;
}

/** The credentials this run sends (see rememberSecret): masked in whatever it prints of an error. */
const secrets = new Set<string>();

/**
 * Remembers a credential this run may send (a password, a token, a Basic value), so that no error
 * prints it: a server that quotes the Authorization it got back in an error body, for one.
 */
export function rememberSecret(value: string | undefined): void {
  // Short values would mask ordinary words.
  if (value && value.length >= 6) secrets.add(value);
}

/** `text` with the user information of addresses and every remembered credential masked. */
function withoutSecrets(text: string): string {
  let out = redactUserinfo(text);
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

/**
 * One line on stderr; the cause chain only with --debug. No stack traces for user errors. A
 * message may quote a server or an artifact, so what is printed of it is escaped (`safeText`):
 * none of it can drive the terminal or start a line of its own. lading's own messages are one
 * line, so a line break in one is quoted data (a name, a label): escaped, not cut, or the reason
 * after it would be lost. Of other errors (a parser's, with its excerpt below) the first line.
 */
export function reportError(io: CliIO, error: unknown): number {
  // Whatever a message quotes back (a URL the user typed, a server's answer), no password in it shows.
  const message = withoutSecrets(cliMessage(error));
  io.stderr.write(`Error: ${safeText(isLadingError(error) ? message : message.split('\n')[0])}\n`);
  if (io.debug) {
    let cause = error instanceof Error ? error.cause : undefined;
    while (cause) {
      io.stderr.write(
        `  caused by: ${safeText(withoutSecrets(cause instanceof Error ? cause.message : String(cause)))}\n`,
      );
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    if (!isLadingError(error) && error instanceof Error && error.stack) {
      // The stack starts with the message, which may quote data: that part escaped too.
      io.stderr.write(`${withoutSecrets(error.stack.replace(error.message, () => safeText(error.message)))}\n`);
    }
  }
  return ExitCode.Failure;
}

/**
 * A command that succeeded but whose output could not be written (a full disk under `> file`)
 * did not succeed. A reader that went away (`| head -1`) is not such a failure.
 */
export function reportLostOutput(io: CliIO, code: number): number {
  const failure = io.stdout.failure ?? io.stderr.failure;
  if (code !== ExitCode.Ok || !failure) return code;
  return reportError(
    io,
    new LadingError('IO_ERROR', `writing the output failed: ${failure.message}`, { cause: failure }),
  );
}
