/**
 * A network-level failure with the `code` the retry policy (retry.ts) and the error messages
 * (errors.ts) know, as Node's own socket errors carry one.
 */
export function failure(code: string, message: string, options: { type?: 'TypeError'; cause?: unknown } = {}): Error {
  const cause = options.cause === undefined ? {} : { cause: options.cause };
  const error = options.type === 'TypeError' ? new TypeError(message, cause) : new Error(message, cause);
  return Object.assign(error, { code });
}
