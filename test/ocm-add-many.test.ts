import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli } from './reliability-support.js';
import { tempDir } from './support/fixtures.js';
import { manyComponents } from './support/many-components.mjs';

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('add cv of thousands of components', () => {
  it('a Ctrl-C while the constructor is read stops the read: no warning of its end, nothing written', async () => {
    const t = await tempDir();
    try {
      // Seconds of reading: the signal lands well before the end.
      await writeFile(join(t.path, 'c.yaml'), manyComponents(8000, { lastInput: ['unknownField: read last'] }));
      const p = startCli(['add', 'cv', '--loglevel', 'debug', '-c', 'c.yaml', '-r', 'ctf'], { cwd: t.path });
      await waitFor('the constructor read', () => /reading component constructor c\.yaml/.test(p.stderr()));
      process.kill(p.pid, 'SIGINT');
      const r = await p.done;
      assert.equal(r.code, 130, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      // Read to its end, the file would have warned about its last component before the stop.
      assert.deepEqual(
        lines.filter((l) => !/level=DEBUG/.test(l)),
        ['Error: interrupted'],
      );
      assert.equal(existsSync(join(t.path, 'ctf')), false);
    } finally {
      await t.cleanup();
    }
  });
});
