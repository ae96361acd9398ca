import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * The part of a file name that its temp names repeat: the name itself, cut to 200 bytes (at a
 * character boundary) so that the temp name, and a temp of that temp, stay under NAME_MAX (255
 * bytes) however long the final name is.
 */
export function tempStem(name: string): string {
  if (Buffer.byteLength(name) <= TempStemBytes) return name;
  let stem = '';
  let bytes = 0;
  for (const char of name) {
    bytes += Buffer.byteLength(char);
    if (bytes > TempStemBytes) break;
    stem += char;
  }
  return stem;
}
const TempStemBytes = 200;

/** A unique temp name next to `target`, so that the final rename stays on one file system. */
export function tempPathFor(target: string, dir = dirname(target)): string {
  return join(dir, `.${tempStem(basename(target))}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes a whole small file atomically: temp file (exclusive create), fsync, rename. */
export async function writeFileAtomic(target: string, data: Uint8Array, mode = 0o644): Promise<void> {
  const temp = tempPathFor(target);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, target);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
