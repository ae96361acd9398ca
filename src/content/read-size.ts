/** The largest single read from a file: few system calls, flat memory. */
export const MaxFileReadBytes = 1024 * 1024;

/**
 * How much to read at a time from a file of `size` bytes (unknown: the largest read). Node's file
 * streams allocate a buffer of this size for every read, the last, empty one included, so reading
 * a 16 KiB file with 1 MiB reads allocates 2 MiB: over many small files that is most of what the
 * garbage collector sees.
 */
export function fileReadBytes(size?: number): number {
  if (size === undefined) return MaxFileReadBytes;
  return Math.min(MaxFileReadBytes, Math.max(size, 4096));
}
