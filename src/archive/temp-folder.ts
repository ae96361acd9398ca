import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LadingError } from '../oci/index.js';

/**
 * Makes a new private folder `<base>/<prefix>XXXXXX` (mkdtemp: mode 0700, a name nobody had) for
 * scratch files; `base` defaults to the system's temp folder (os.tmpdir(): TMPDIR, else /tmp).
 * One that cannot be made is {@link tempFolderError}.
 */
export async function makeTempFolder(prefix: string, base?: string): Promise<string> {
  const parent = base ?? tmpdir();
  try {
    return await mkdtemp(join(parent, prefix));
  } catch (error) {
    throw tempFolderError(parent, error);
  }
}

const reasons: Record<string, string> = {
  ENOENT: 'it does not exist',
  ENOTDIR: 'it is not a folder',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

/**
 * IO_ERROR for a scratch folder or file that could not be made in `parent`: names the folder and,
 * when it is the system's temp folder and TMPDIR chose it, TMPDIR (a TMPDIR that names a folder
 * gone or read-only is a setting to fix, where Node's `ENOENT … mkdtemp '/x/lading-push-Ab12Cd'`
 * said neither).
 */
export function tempFolderError(parent: string, error: unknown): LadingError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const reason = (code && reasons[code]) ?? String((error as Error)?.message ?? error);
  const env = process.env.TMPDIR;
  const viaEnv = env !== undefined && env !== '' && parent === tmpdir() ? ` (TMPDIR="${env}")` : '';
  return new LadingError('IO_ERROR', `cannot make a temporary folder in ${parent}${viaEnv}: ${reason}`, {
    cause: error,
  });
}
