import type { Readable } from 'node:stream';
import { abortError, cancellable } from '../oci/index.js';
import type { Content, Op } from './storage.js';

/** Destroys content a store will not read: a stream left unread would keep its source open. */
export function destroyContent(content: Content): void {
  if (typeof (content as Readable).destroy === 'function') (content as Readable).destroy();
}

/**
 * A push as every store runs it: aborted before it starts, the content is destroyed and the push
 * rejects with the `ABORTED` error; aborted while it runs, whatever stopped it becomes that error.
 */
export function cancellablePush(content: Content, o: Op | undefined, fn: () => Promise<void>): Promise<void> {
  const signal = o?.signal;
  if (signal?.aborted) {
    destroyContent(content);
    return Promise.reject(abortError(signal));
  }
  return cancellable(signal, fn);
}
