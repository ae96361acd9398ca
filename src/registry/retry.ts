import { setTimeout as sleep } from 'node:timers/promises';
import { abortError } from '../oci/index.js';
import { errorCodeOf } from './errors.js';

/** How a registry retries a request that failed for a reason that may pass (5xx, 429, a dropped connection). */
export interface RetryPolicy {
  /** Further attempts after the first (oras-go: 5). */
  maxRetries: number;
  /** Shortest wait before a retry, in milliseconds. */
  minWaitMs: number;
  /** Longest wait before a retry, in milliseconds (a `Retry-After` is capped by it too). */
  maxWaitMs: number;
  /**
   * Longest `Retry-After` honoured; a request whose registry asks for more is not retried (its
   * answer is returned at once, the pause named in the error).
   */
  maxRetryAfterMs: number;
}

/** The retry policy of a registry unless its options say otherwise. */
export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 5,
  minWaitMs: 200,
  maxWaitMs: 3000,
  maxRetryAfterMs: 30_000,
};

/** A retry policy that never retries. */
export const noRetry: RetryPolicy = { ...defaultRetryPolicy, maxRetries: 0 };

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

const transientCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
  'HEADERS_TIMEOUT',
  'BODY_TIMEOUT',
]);

const timeoutCodes = new Set(['ETIMEDOUT', 'CONNECT_TIMEOUT', 'HEADERS_TIMEOUT', 'BODY_TIMEOUT']);

/** A server or network that stayed silent (as opposed to one that refused or reset). */
export function isTimeout(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code !== undefined && timeoutCodes.has(code);
}

/** Connection resets and timeouts: the request may not have reached the server, so try again. */
export function isTransientError(error: unknown): boolean {
  const code = errorCodeOf(error);
  return code !== undefined && transientCodes.has(code);
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP date), or undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Exponential backoff (250 ms · 2^attempt) with ±10 % jitter, clamped to the policy's window. */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const base = 250 * 2 ** attempt;
  const jittered = base * (0.9 + Math.random() * 0.2);
  return Math.min(policy.maxWaitMs, Math.max(policy.minWaitMs, jittered));
}

/**
 * Waits `ms` before a retry. Cut short by `signal`, it rejects with the library's `ABORTED` error
 * (the signal's reason as cause), never with the timer's bare `AbortError`.
 */
export async function wait(ms: number, signal?: AbortSignal): Promise<void> {
  if (!signal) return sleep(ms);
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (signal.aborted) throw abortError(signal);
    throw error;
  }
}
