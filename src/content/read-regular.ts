import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { LadingError } from '../oci/index.js';
import { assertOpenedWithin } from './opened-within.js';

/**
 * Reads a file whole, only if it is a regular file of at most `limit` bytes: a FIFO or device at
 * the path is refused instead of hanging the read (the open does not block, the opened file is
 * checked), and never more than `limit` + 1 bytes are read, so a file that grows meanwhile is
 * refused, not read into memory. `noFollow`: a symbolic link at the path is refused too;
 * `within`: the opened file must lie below this real path ({@link assertOpenedWithin}). Errors
 * name `where` (the path as the user wrote it, by default the path).
 */
export async function readRegularFile(
  path: string,
  options: { limit: number; where?: string; noFollow?: boolean; within?: string },
): Promise<Buffer> {
  const where = options.where ?? path;
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0);
  const handle = await open(path, flags).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new LadingError('NOT_FOUND', `${where}: no such file`, { cause: error });
    if (error.code === 'ELOOP') {
      throw new LadingError('INVALID_ARGUMENT', `${where} is a symbolic link; refusing to follow it`, { cause: error });
    }
    throw new LadingError('IO_ERROR', `${where}: cannot open: ${error.message}`, { cause: error });
  });
  try {
    if (options.within !== undefined) await assertOpenedWithin(handle.fd, options.within, where);
    const info = await handle.stat();
    checkOpened(info, where, options.limit);
    const buffer = Buffer.allocUnsafe(info.size + 1);
    let got = 0;
    while (got < buffer.length) {
      const { bytesRead } = await handle.read(buffer, got, buffer.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got > options.limit) throw grewPast(where, options.limit);
    return buffer.subarray(0, got);
  } finally {
    await handle.close();
  }
}

/**
 * {@link readRegularFile} for a caller that cannot wait (a constructor), or a small file not worth
 * a trip through the thread pool: the same checks, the same errors. The open does not block on a
 * FIFO either, so the one thread is never stuck in it.
 */
export function readRegularFileSync(
  path: string,
  options: { limit: number; where?: string; noFollow?: boolean },
): Buffer {
  const where = options.where ?? path;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (options.noFollow ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LadingError('NOT_FOUND', `${where}: no such file`, { cause: error });
    if (code === 'ELOOP') {
      throw new LadingError('INVALID_ARGUMENT', `${where} is a symbolic link; refusing to follow it`, { cause: error });
    }
    throw new LadingError('IO_ERROR', `${where}: cannot open: ${(error as Error).message}`, { cause: error });
  }
  try {
    const info = fstatSync(fd);
    checkOpened(info, where, options.limit);
    const buffer = Buffer.allocUnsafe(info.size + 1);
    let got = 0;
    while (got < buffer.length) {
      const read = readSync(fd, buffer, got, buffer.length - got, got);
      if (read === 0) break;
      got += read;
    }
    if (got > options.limit) throw grewPast(where, options.limit);
    return buffer.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** What both readers check once the file is open: a regular file, within the limit. */
function checkOpened(info: { isFile(): boolean; size: number }, where: string, limit: number): void {
  if (!info.isFile()) throw new LadingError('INVALID_ARGUMENT', `${where} is not a regular file`);
  if (info.size > limit) {
    throw new LadingError('SIZE_EXCEEDS_LIMIT', `${where} is ${info.size} bytes, over the ${limit}-byte limit`);
  }
}

function grewPast(where: string, limit: number): LadingError {
  return new LadingError('SIZE_EXCEEDS_LIMIT', `${where} grew past the ${limit}-byte limit while read`);
}
