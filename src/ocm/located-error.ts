import { isLadingError, LadingError } from '../oci/index.js';

/**
 * `error` with `where` (`component-constructor.yaml:9: resources[0].input`) in front of its
 * message, as every constructor error is worded: its code and hint kept, another kind of error
 * an `IO_ERROR`, the original as the cause. A cancellation is about no element and passes as it is.
 */
export function locateError(error: unknown, where: string): Error {
  if (isLadingError(error, 'ABORTED')) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  if (isLadingError(error)) {
    // The hint's text ends the message and the constructor appends it again: it goes once.
    const suffix = error.hint ? ` (${error.hint.text})` : undefined;
    const hinted = suffix !== undefined && error.message.endsWith(suffix);
    const message = hinted ? error.message.slice(0, -suffix.length) : error.message;
    return new LadingError(error.code, `${where}: ${message}`, {
      cause: error,
      ...(hinted && error.hint ? { hint: error.hint } : {}),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LadingError('IO_ERROR', `${where}: ${message}`, { cause: error });
}
