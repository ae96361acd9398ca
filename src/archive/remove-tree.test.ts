import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/support/fixtures.js';
import { removeTree } from './remove-tree.js';

test('removeTree removes nested folders, read-only files and links (not what they lead to); a missing path is fine', async () => {
  const t = await tempDir();
  try {
    const kept = join(t.path, 'kept');
    await mkdir(kept);
    await writeFile(join(kept, 'file'), 'stays');
    const gone = join(t.path, 'gone');
    await mkdir(join(gone, 'a/b/c'), { recursive: true });
    await writeFile(join(gone, 'a/b/c/deep'), 'x');
    await writeFile(join(gone, 'read-only'), 'x');
    await chmod(join(gone, 'read-only'), 0o444);
    await symlink(kept, join(gone, 'link-to-folder'));
    await symlink(join(kept, 'file'), join(gone, 'link-to-file'));
    await removeTree(gone);
    assert.equal(existsSync(gone), false);
    assert.equal(existsSync(join(kept, 'file')), true);
    await removeTree(gone);
    await removeTree(join(kept, 'file'));
    assert.equal(existsSync(join(kept, 'file')), false);
  } finally {
    await t.cleanup();
  }
});

test('removeTree of a folder of 20,000 files takes little memory (fs.rm took ~70 MB for a moment)', async (t) => {
  const dir = await tempDir();
  try {
    const blobs = join(dir.path, 'ctf/blobs');
    mkdirSync(blobs, { recursive: true });
    for (let i = 0; i < 20_000; i++) writeFileSync(join(blobs, `sha256.${String(i).padStart(64, '0')}`), 'x');
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      await removeTree(join(dir.path, 'ctf'));
    } finally {
      clearInterval(timer);
    }
    peak = Math.max(peak, process.memoryUsage().rss);
    const growth = (peak - before) / 1024 / 1024;
    t.diagnostic(`RSS growth ${growth.toFixed(1)} MB`);
    assert.equal(existsSync(join(dir.path, 'ctf')), false);
    assert.ok(growth < 25, `RSS grew by ${growth.toFixed(1)} MB`);
  } finally {
    await dir.cleanup();
  }
});
