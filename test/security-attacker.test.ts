// Issue 14, second pass as an attacker: holes of the classes that the first pass did not
// cover. Each test checks what ended up outside the output (a sentinel folder), or what was
// accepted or printed, not only the exit code.
import assert from 'node:assert/strict';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { digestBytes, isLadingError } from '../src/oci/index.js';
import { assertOneLineError, lading } from './support/cli.js';
import { withDir } from './support/fixtures.js';

const cronLine = Buffer.from('* * * * * root touch /tmp/pwned\n');
const cronBlob = { mediaType: 'application/octet-stream', digest: digestBytes(cronLine), size: cronLine.length };

/** An existing OCI layout folder whose `blobs/sha256` (or `ingest`) is a link planted by whoever shipped it. */
async function plantedLayout(
  dir: string,
  link: 'blobs/sha256' | 'blobs' | 'ingest',
): Promise<{ layout: string; outside: string }> {
  const layout = join(dir, 'layout');
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await mkdir(layout);
  if (link !== 'blobs') await mkdir(join(layout, 'blobs'));
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(layout, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
  await symlink(outside, join(layout, link));
  return { layout, outside };
}

describe('writes into an existing OCI layout or CTF folder never follow a link planted in it', () => {
  for (const link of ['blobs/sha256', 'blobs', 'ingest'] as const) {
    test(`an OCI layout whose ${link} is a link: a pushed blob is refused, nothing lands outside`, () =>
      withDir(async (dir) => {
        const { layout, outside } = await plantedLayout(dir, link);
        const store = await OciLayout.open(layout, { create: true });
        await assert.rejects(
          store.push(cronBlob, cronLine),
          (e) => isLadingError(e) && e.code === 'INVALID_LAYOUT' && /is a symlink/.test(e.message),
        );
        assert.deepEqual(await readdir(outside, { recursive: true }), []);
      }));
  }

  test('lading push --oci-layout into a layout whose blobs/sha256 is a link: one error line, nothing outside', () =>
    withDir(async (dir) => {
      const { layout, outside } = await plantedLayout(dir, 'blobs/sha256');
      await writeFile(join(dir, 'job'), cronLine);
      const r = await lading(['push', '--oci-layout', `${layout}:v1`, 'job'], { cwd: dir });
      assertOneLineError(r, /blobs\/sha256 is a symlink/);
      assert.deepEqual(await readdir(outside), []);
    }));

  test('a CTF folder whose blobs/ is a link: a blob written through a repository is refused', () =>
    withDir(async (dir) => {
      const ctf = join(dir, 'ctf');
      const outside = join(dir, 'outside');
      await mkdir(outside);
      await mkdir(ctf);
      await writeFile(join(ctf, 'artifact-index.json'), '{"schemaVersion":1,"artifacts":null}');
      await symlink(outside, join(ctf, 'blobs'));
      const archive = await CtfArchive.open(ctf, { mode: 'readwrite' });
      try {
        await assert.rejects(
          archive.repository('x').push(cronBlob, cronLine),
          (e) => isLadingError(e) && e.code === 'INVALID_ARCHIVE' && /blobs is a symlink/.test(e.message),
        );
      } finally {
        await archive.close({ commit: false }).catch(() => {});
      }
      assert.deepEqual(await readdir(outside), []);
    }));

  test('deleting a blob of a layout whose blobs/sha256 is a link removes nothing outside', () =>
    withDir(async (dir) => {
      const { layout, outside } = await plantedLayout(dir, 'blobs/sha256');
      const victim = join(outside, cronBlob.digest.slice('sha256:'.length));
      await writeFile(victim, cronLine);
      const store = await OciLayout.open(layout, { create: true });
      await assert.rejects(store.delete(cronBlob), (e) => isLadingError(e) && e.code === 'INVALID_LAYOUT');
      assert.deepEqual(await readdir(outside), [cronBlob.digest.slice('sha256:'.length)]);
    }));
});
