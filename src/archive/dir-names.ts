import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LadingError } from '../oci/index.js';

/**
 * The names in the folder `dir`, as strings. Linux names are bytes; a name that is not UTF-8
 * (`caf\xe9` from a Latin-1 system) would come back from a plain `readdir` with U+FFFD in place of
 * its bad bytes, naming no file, and whatever read it next failed with a bare `ENOENT`. Such a
 * name is refused here instead, naming the folder and the name with its bytes escaped: tar
 * headers, annotations and descriptors of this project carry names as UTF-8 text.
 */
export async function readdirUtf8(dir: string): Promise<string[]> {
  const raw = await readdir(dir, { encoding: 'buffer' });
  return raw.map((name) => {
    const text = name.toString('utf8');
    if (!Buffer.from(text, 'utf8').equals(name)) {
      throw new LadingError(
        'UNSUPPORTED',
        `${join(dir, escapedName(name))}: the file name is not valid UTF-8 (rename it to archive the folder)`,
      );
    }
    return text;
  });
}

/** Printable ASCII as it is, every other byte (and the backslash) as `\xNN`. */
export function escapedName(name: Buffer): string {
  let out = '';
  for (const byte of name) {
    out +=
      byte >= 0x20 && byte < 0x7f && byte !== 0x5c
        ? String.fromCharCode(byte)
        : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return out;
}
