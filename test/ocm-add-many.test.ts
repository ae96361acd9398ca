import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli } from './reliability-support.js';
import { tempDir } from './support/fixtures.js';

/**
 * A constructor of `count` components, one tiny `utf8/v1` resource each (bench/many-components.mjs's
 * shape); the last one's input has a field upstream ignores, which makes a warning when the whole
 * file has been read.
 */
function manyComponents(count: number): string {
  const out = ['components:'];
  for (let i = 0; i < count; i++) {
    out.push(
      `  - name: acme.org/many/c${i}`,
      '    version: 1.0.0',
      '    provider:',
      '      name: acme.org',
      '    resources:',
      '      - name: text',
      '        type: plainText',
      '        input:',
      '          type: utf8/v1',
      `          text: component ${i}`,
      ...(i === count - 1 ? ['          unknownField: read last'] : []),
    );
  }
  return `${out.join('\n')}\n`;
}

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
      await writeFile(join(t.path, 'c.yaml'), manyComponents(8000));
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
