import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LadingError } from '../oci/index.js';

/**
 * Checks, before a command changes anything, that the file an option names can be written: its
 * folder exists and is writable, and the path is not a folder. A command that pushes and then
 * fails to write its output file would otherwise have changed a registry and still fail.
 */
export async function checkOutputFile(path: string, option: string): Promise<void> {
  const folder = dirname(resolve(path));
  try {
    if (!(await stat(folder)).isDirectory()) throw new Error('not a folder');
    await access(folder, constants.W_OK);
  } catch {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${option} ${path}: the folder ${folder} does not exist or is not writable`,
    );
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new LadingError('INVALID_ARGUMENT', `${option} ${path}: is a folder`);
}

/** Writes an output file, naming the option when that fails. */
export async function writeOutputFile(path: string, data: Uint8Array, option: string): Promise<void> {
  try {
    await writeFile(path, data);
  } catch (error) {
    throw new LadingError('IO_ERROR', `${option} ${path}: ${(error as Error).message}`, { cause: error });
  }
}
