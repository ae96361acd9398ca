import type { Content } from './storage.js';

/** Streams that read a whole file of their own, by the file's path. */
const origins = new WeakMap<object, string>();

/**
 * Records that `stream` reads the whole file at `path` (and nothing else), so that a store on the
 * same machine may copy that file itself instead of taking the stream chunk by chunk.
 */
export function markFileOrigin<T extends object>(stream: T, path: string): T {
  origins.set(stream, path);
  return stream;
}

/** The file `content` is a stream of, when it was marked with `markFileOrigin`. */
export function fileOriginOf(content: Content): string | undefined {
  return typeof content === 'object' && content !== null ? origins.get(content) : undefined;
}
