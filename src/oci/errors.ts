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

export class LadingError extends Error {
  readonly code: ErrorCode;
  readonly [brand] = true;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'LadingError';
  }

  // Duplicate installs of the package must still recognise each other's errors.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }
}

export function isLadingError(value: unknown, code?: ErrorCode): value is LadingError {
  return value instanceof LadingError && (code === undefined || value.code === code);
}
