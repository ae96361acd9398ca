import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { tempDir } from '../../test/support/fixtures.js';
import { writeTar } from '../archive/index.js';
import { digestBytes, isLadingError } from '../oci/index.js';
import { ctfArchiveEntries, writeCtfArchive } from './archive-writer.js';
import { blobFileName } from './format.js';

/** A CTF folder with an index, `small` blobs of a few bytes and one blob of 100 KiB. */
async function ctfFolder(dir: string, small: number): Promise<{ big: string; smallest: string }> {
  await mkdir(join(dir, 'blobs'), { recursive: true });
  await writeFile(join(dir, 'artifact-index.json'), '{"schemaVersion":1,"artifacts":null}');
  const names: string[] = [];
  for (let i = 0; i < small; i++) {
    const bytes = Buffer.from(`blob ${i}`);
    const name = blobFileName(digestBytes(bytes));
    names.push(name);
    await writeFile(join(dir, 'blobs', name), bytes);
  }
  const large = Buffer.alloc(100 * 1024, 7);
  const big = blobFileName(digestBytes(large));
  await writeFile(join(dir, 'blobs', big), large);
  return { big: `blobs/${big}`, smallest: `blobs/${names.sort()[0]}` };
}

test('a CTF written back reads each small blob whole (no stream per file), with the bytes streaming gives', async () => {
  const t = await tempDir();
  try {
    const dir = join(t.path, 'ctf');
    const { big } = await ctfFolder(dir, 200);
    const seen: string[] = [];
    const entries = [...(await ctfArchiveEntries(dir, { onEntry: (e) => void seen.push(e.path) }))];
    assert.equal(entries.length, 202);
    assert.equal(entries[0]?.path, 'artifact-index.json');
    for (const entry of entries.slice(1)) {
      if (entry.path === big) assert.equal(entry.read, undefined, 'a large blob is streamed');
      else assert.ok(entry.read, `${entry.path} is read whole`);
    }
    const out = join(t.path, 'ctf.tgz');
    await writeCtfArchive(dir, out, 'tgz', t.path, { onEntry: (e) => void seen.push(e.path) });
    assert.equal(seen.length, 202, 'onEntry is called for every entry, read whole or streamed');
    // The same entries, every one streamed, give the same tar.
    const streamed = join(t.path, 'streamed.tar');
    const plain = [...(await ctfArchiveEntries(dir, {}))].map(({ read: _read, ...entry }) => entry);
    await writeTar(streamed, plain, { nameFolders: false });
    assert.ok(gunzipSync(await readFile(out)).equals(await readFile(streamed)));
  } finally {
    await t.cleanup();
  }
});

test('a small blob that grows past the small size while the archive is written is refused', async () => {
  const t = await tempDir();
  try {
    const dir = join(t.path, 'ctf');
    const { smallest } = await ctfFolder(dir, 3);
    const out = join(t.path, 'ctf.tar');
    await assert.rejects(
      writeCtfArchive(dir, out, 'tar', t.path, {
        where: out,
        onEntry: async (e) => {
          if (e.path === smallest) await writeFile(join(dir, smallest), Buffer.alloc(70 * 1024));
        },
      }),
      (error: unknown) => isLadingError(error, 'SIZE_MISMATCH') && String(error).includes(smallest),
    );
    await assert.rejects(readFile(out), { code: 'ENOENT' });
  } finally {
    await t.cleanup();
  }
});
