import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeDirectory, makeDirectorySync } from './make-directory.js';

describe('makeDirectory', () => {
  test('makes the folders leading to a path and returns the first one made, as mkdir -p', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lading-mkdir-'));
    try {
      assert.equal(await makeDirectory(join(dir, 'a', 'b', 'c')), join(dir, 'a'));
      assert.ok((await stat(join(dir, 'a', 'b', 'c'))).isDirectory());
      assert.equal(await makeDirectory(join(dir, 'a', 'b')), undefined, 'already there');
      assert.equal(makeDirectorySync(join(dir, 'x', 'y')), join(dir, 'x'));
      assert.equal(makeDirectorySync(join(dir, 'x')), undefined);
      await writeFile(join(dir, 'file'), 'f');
      await assert.rejects(makeDirectory(join(dir, 'file')), { code: 'EEXIST' });
      await assert.rejects(makeDirectory(join(dir, 'file', 'sub')), { code: 'ENOTDIR' });
      assert.throws(() => makeDirectorySync(join(dir, 'file', 'sub')), { code: 'ENOTDIR' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // Node's recursive mkdir spins forever there (the parent exists, the child gives ENOENT).
  test('a folder that cannot be made under an existing parent (/proc): an error, not a hang', {
    skip: !existsSync('/proc/self') && 'no /proc',
    timeout: 10_000,
  }, async () => {
    await assert.rejects(makeDirectory('/proc/lading-no-such/x'), { code: 'ENOENT' });
    assert.throws(() => makeDirectorySync('/proc/lading-no-such'), { code: 'ENOENT' });
  });
});
