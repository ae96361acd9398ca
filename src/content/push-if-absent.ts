import { type Descriptor, isLadingError } from '../oci/index.js';
import { destroyContent } from './cancel.js';
import type { Content, Op, Storage } from './storage.js';

/**
 * Pushes `content` (or what `content()` opens, only when it is needed) as `desc` unless `store` has
 * it; resolves to whether this call stored it. Another
 * writer of the same store (another process) may store the same content between the check and
 * the push, which then rejects with ALREADY_EXISTS: content-addressed, that is all we wanted.
 */
export async function pushIfAbsent(
  store: Storage,
  desc: Descriptor,
  content: Content | (() => Content | Promise<Content>),
  o: Op = {},
): Promise<boolean> {
  if (await store.exists(desc, o)) {
    if (typeof content !== 'function') destroyContent(content);
    return false;
  }
  try {
    await store.push(desc, typeof content === 'function' ? await content() : content, o);
    return true;
  } catch (error) {
    if (isLadingError(error, 'ALREADY_EXISTS') && (await store.exists(desc, o))) return false;
    throw error;
  }
}
