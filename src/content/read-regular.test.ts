import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { readRegularFile } from './read-regular.js';

test('readRegularFile with `within`: a file reached through a link out of the folder is refused after the open; one inside is read', async () => {
  const top = realpathSync(mkdtempSync(join(tmpdir(), 'lading-within-')));
  try {
    const root = join(top, 'root');
    mkdirSync(join(root, 'real'), { recursive: true });
    mkdirSync(join(top, 'outside'));
    writeFileSync(join(root, 'real', 'f'), 'inside');
    writeFileSync(join(top, 'outside', 'f'), 'secret');
    symlinkSync(join(top, 'outside'), join(root, 'swapped'));
    symlinkSync(join(root, 'real'), join(root, 'alias'));
    const read = (path: string) => readRegularFile(join(root, path), { limit: 100, within: root, where: path });
    assert.equal((await read('real/f')).toString(), 'inside');
    // A link that stays inside is followed, as the path checks allow it.
    assert.equal((await read('alias/f')).toString(), 'inside');
    await assert.rejects(
      read('swapped/f'),
      (e) =>
        isLadingError(e, 'PATH_TRAVERSAL') &&
        e.message ===
          `swapped/f was opened as ${join(top, 'outside', 'f')}, outside ${root}: something replaced part of its path with a link`,
    );
    // Without `within` nothing is checked after the open (the caller checked by path).
    assert.equal((await readRegularFile(join(root, 'swapped', 'f'), { limit: 100 })).toString(), 'secret');
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});
