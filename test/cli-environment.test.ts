// The environments users run lading in, beyond the developer's shell: a TMPDIR that is gone or
// read-only, a HOME that does not exist, terminals that cannot move the cursor. Each case is a
// workflow that works in the usual environment; here it must work too, or fail in one line that
// names the setting to fix.
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { withDir } from './support/fixtures.js';

describe('a TMPDIR that cannot be used', () => {
  test('a push of plain files needs none; a folder push and add cv name TMPDIR in one line', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'a\n');
      await mkdir(join(dir, 'docs'));
      await writeFile(join(dir, 'docs', 'r.md'), 'r\n');
      const gone = join(dir, 'no-such-tmp');
      const env = { ...process.env, TMPDIR: gone };
      // Before: `Error: ENOENT: no such file or directory, mkdtemp '…/lading-push-cDmJaB'`, for a
      // plain file too (the scratch folder for folder tars was made for every push).
      await ladingOk(['push', '--oci-layout', 'lay:v1', 'a.txt'], { cwd: dir, env });
      await ladingOk(['pull', '--oci-layout', 'lay:v1', '-o', 'out'], { cwd: dir, env });
      const folder = await lading(['push', '--oci-layout', 'lay:v2', 'docs'], { cwd: dir, env });
      assertOneLineError(
        folder,
        new RegExp(`^Error: cannot make a temporary folder in ${gone} \\(TMPDIR="${gone}"\\): it does not exist$`),
      );
      await writeFile(
        join(dir, 'c.yaml'),
        'name: acme.org/tmp\nversion: 1.0.0\nprovider: {name: acme.org}\nresources:\n' +
          '  - {name: packed, type: blob, input: {type: file/v1, path: a.txt, compress: true}}\n',
      );
      const add = await lading(['add', 'cv', '-c', 'c.yaml', '--repository', 'ctf'], { cwd: dir, env });
      assertOneLineError(
        add,
        /^Error: c\.yaml:5: resources\[0\]\.input: cannot make a temporary folder in .*\(TMPDIR=.*\): it does not exist$/,
      );
      assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'c.yaml', 'docs', 'lay', 'out'], 'no TMPDIR made');
      // With a TMPDIR that works, both go through.
      await ladingOk(['push', '--oci-layout', 'lay:v2', 'docs'], { cwd: dir });
    });
  });
});
