/**
 * One error type for the whole library. The `code` is stable and is what callers (and the CLI's
 * exit-code mapping) branch on; the message says what went wrong and where.
 */
export type ErrorCode =
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'SIZE_EXCEEDS_LIMIT'
  | 'INVALID_REFERENCE'
  | 'INVALID_DIGEST'
  | 'INVALID_MEDIA_TYPE'
  | 'INVALID_MANIFEST'
  | 'INVALID_LAYOUT'
  | 'INVALID_ARCHIVE'
  | 'INVALID_ARGUMENT'
  | 'PATH_TRAVERSAL'
  | 'UNSUPPORTED'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'REGISTRY_ERROR'
  | 'NETWORK_ERROR'
  | 'ABORTED'
  | 'IO_ERROR'
  | 'INVALID_CONSTRUCTOR'
  | 'INVALID_DESCRIPTOR'
  | 'DUPLICATE_IDENTITY'
  | 'UNKNOWN_TYPE'
  | 'SIGNATURE_INVALID'
  | 'SIGNATURE_EXISTS'
  | 'INVALID_KEY';

const brand = Symbol.for('lading.error');

/**
 * What would change an error's outcome, in the library's terms: `key` names it for programs (an
 * option such as `keepOldFiles`, `conflictPolicy`, `plainHttp`), `text` says it for people and ends
 * the message in parentheses. A command line replaces `text` with its own words (its flags).
 */
export interface ErrorHint {
  /** The library option the hint is about (the CLI puts it in its own words, a flag). */
  key: string;
  /** The hint in the library's words. */
  text: string;
}

/** Options of the {@link LadingError} constructor. */
export interface LadingErrorOptions {
  /** What led to the error (another error, or an abort's reason). */
  cause?: unknown;
  /** Appended to the message as ` (text)` and kept as {@link LadingError.hint}. */
  hint?: ErrorHint;
}

/**
 * The one error type of the library: every failure rejects or throws a `LadingError` whose `code`
 * is stable (branch on it, never on the message) and whose message is one line naming what failed
 * and where. `cause` holds the underlying error when there is one.
 */
export class LadingError extends Error {
  /** The stable kind of failure. */
  readonly code: ErrorCode;
  /** What would change the outcome, when the library knows (see {@link ErrorHint}). */
  readonly hint: ErrorHint | undefined;
  /** Marks a lading error, so that `instanceof` recognises those of another copy of the package. */
  readonly [brand] = true;

  /** An error of kind `code` with a one-line `message` naming what failed and where. */
  constructor(code: ErrorCode, message: string, options?: LadingErrorOptions) {
    super(
      options?.hint ? `${message} (${options.hint.text})` : message,
      options && 'cause' in options ? { cause: options.cause } : undefined,
    );
    this.code = code;
    this.hint = options?.hint;
    this.name = 'LadingError';
  }

  /**
   * `error instanceof LadingError` holds for the errors of any copy of the package (two installs
   * in one program recognise each other's errors).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

/** Whether `value` is a {@link LadingError} (of `code`, when given), also one from another copy of the package. */
export function isLadingError(value: unknown, code?: ErrorCode): value is LadingError {
  return value instanceof LadingError && (code === undefined || value.code === code);
}

/**
 * The error every cancelled call rejects with: a {@link LadingError} of code `ABORTED` whose
 * `cause` is the signal's reason, whether the signal was aborted before the call or during it.
 */
export function abortError(signal: AbortSignal, what?: string): LadingError {
  const reason: unknown = signal.reason;
  const detail = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  const message = `${what ? `${what}: ` : ''}aborted${detail && detail !== 'aborted' ? ` (${detail})` : ''}`;
  return new LadingError('ABORTED', message, { cause: reason });
}

/** Throws {@link abortError} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what?: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/**
 * `error` as the caller of a cancellable call must see it: when `signal` was aborted, the
 * `ABORTED` error (whatever Node or a store threw on the way out); otherwise `error` itself.
 */
export function asAbortError(error: unknown, signal: AbortSignal | undefined, what?: string): unknown {
  if (!signal?.aborted) return error;
  if (isLadingError(error, 'ABORTED') && error.cause === signal.reason) return error;
  return abortError(signal, what);
}

/**
 * Runs a cancellable call: rejects with {@link abortError} when `signal` is aborted before it
 * starts, and turns whatever it rejects with once `signal` is aborted (Node's `AbortError`, the
 * reason itself, a broken stream) into that same error.
 */
export async function cancellable<T>(signal: AbortSignal | undefined, fn: () => Promise<T>, what?: string): Promise<T> {
  throwIfAborted(signal, what);
  try {
    return await fn();
  } catch (error) {
    throw asAbortError(error, signal, what);
  }
}

/**
 * {@link cancellable} for a listing read page by page: the first page rejects with the `ABORTED`
 * error when `signal` is aborted already, and any page read once it is aborted rejects with it too.
 */
export async function* cancellablePages<T>(
  signal: AbortSignal | undefined,
  pages: () => AsyncIterable<T>,
  what?: string,
): AsyncGenerator<T> {
  throwIfAborted(signal, what);
  try {
    yield* pages();
  } catch (error) {
    throw asAbortError(error, signal, what);
  }
}
