import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `mkdir -p`: makes `path` and the folders leading to it, and returns the first folder it made
 * (undefined when `path` was already a folder), as `mkdir(path, { recursive: true })` does.
 *
 * Node's own recursive mkdir never returns where a parent exists but making the child fails with
 * ENOENT, as on /proc and /sys (`-o /proc/x` spun a core forever): this one fails with that error.
 */
export async function makeDirectory(path: string, mode?: number): Promise<string | undefined> {
  const options = mode === undefined ? {} : { mode };
  try {
    await mkdir(path, options);
    return path;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await isDirectory(path))) return undefined;
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
    const first = await makeDirectory(parent, mode);
    try {
      await mkdir(path, options);
    } catch (again) {
      // Made meanwhile by someone else: fine, as for `mkdir -p`.
      if ((again as NodeJS.ErrnoException).code === 'EEXIST' && (await isDirectory(path))) return first;
      throw again;
    }
    return first ?? path;
  }
}

/** {@link makeDirectory}, synchronously. */
export function makeDirectorySync(path: string, mode?: number): string | undefined {
  const options = mode === undefined ? {} : { mode };
  try {
    mkdirSync(path, options);
    return path;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && isDirectorySync(path)) return undefined;
    const parent = dirname(path);
    if (code !== 'ENOENT' || parent === path) throw error;
    const first = makeDirectorySync(parent, mode);
    try {
      mkdirSync(path, options);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code === 'EEXIST' && isDirectorySync(path)) return first;
      throw again;
    }
    return first ?? path;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

function isDirectorySync(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
