import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliArgs, ladingOk } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { loadPeers, restartRegistry, stopRegistry } from './support/peers.mjs';

const peers = loadPeers();

/** Starts lading and resolves with its exit code, stderr and how long it ran. */
function runTimed(args: string[], cwd: string) {
  const started = Date.now();
  const child = spawn(process.execPath, cliArgs(args), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  const done = new Promise<{ code: number; stderr: string; stdout: string; ms: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code: code ?? -1, stderr, stdout, ms: Date.now() - started })),
  );
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

describe('a registry that dies in the middle of a transfer', () => {
  test('transfer cv fails fast with one line, and a rerun after the restart completes and skips what arrived', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      // Several incompressible resources, so the transfer is still running when the registry stops.
      const resources: string[] = [];
      for (let i = 0; i < 6; i++) {
        const buf = Buffer.alloc(24 * 1024 * 1024);
        for (let j = 0; j < buf.length; j += 4) buf.writeUInt32LE((Math.imul(j + 1, 2654435761) ^ (i * 7919)) >>> 0, j);
        await writeFile(join(dir, `part-${i}.bin`), buf);
        resources.push(
          `  - name: part-${i}\n    type: blob\n    input:\n      type: file/v1\n      path: ./part-${i}.bin\n`,
        );
      }
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `name: acme.org/faults\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n${resources.join('')}`,
      );
      await ladingOk(['add', 'cv'], { cwd: dir });
      const target = `http://${peers.plain.host}/faults-${process.pid}`;
      const first = runTimed(
        ['transfer', 'cv', '--concurrency', '1', './transport-archive//acme.org/faults:1.0.0', target],
        dir,
      );
      // Wait until the first blob has gone through, then pull the plug.
      for (let i = 0; i < 400 && !/Copied/.test(first.stderr()); i++) await new Promise((r) => setTimeout(r, 25));
      await stopRegistry(peers, 'plain');
      const stoppedAt = Date.now();
      const failed = await first.done;
      await restartRegistry(peers, 'plain');
      assert.notEqual(failed.code, 0, 'the transfer must fail');
      // OCM's transfer reports its progress on stderr (as upstream); the failure is one Error line after it.
      const lines = failed.stderr.trim().split('\n');
      assert.equal(lines.filter((l) => !/^(Copying|Copied|Exists|Mounted) /.test(l)).length, 1, failed.stderr);
      assert.match(lines.at(-1) as string, /^Error: .*(refused|reset|closed|socket|network|connect)/i);
      assert.equal(failed.stdout, '');
      assert.ok(Date.now() - stoppedAt < 30_000, 'it gave up within seconds, it did not hang');
      const copiedBefore = (failed.stderr.match(/^Copied/gm) ?? []).length;
      assert.ok(copiedBefore >= 1);
      const second = await ladingOk(
        ['transfer', 'cv', '--concurrency', '1', './transport-archive//acme.org/faults:1.0.0', target],
        { cwd: dir },
      );
      assert.match(second.stderr, /^Transferred acme\.org\/faults:1\.0\.0/m);
      assert.ok((second.stderr.match(/^Exists/gm) ?? []).length >= copiedBefore, 'what arrived before is skipped');
      await ladingOk(
        [
          'download',
          'resource',
          `${target}//acme.org/faults:1.0.0`,
          '--identity',
          'name=part-5',
          '--output',
          join(dir, 'back.bin'),
        ],
        { cwd: dir },
      );
      const { readFile } = await import('node:fs/promises');
      assert.ok(
        (await readFile(join(dir, 'back.bin'))).equals(await readFile(join(dir, 'part-5.bin'))),
        'byte for byte',
      );
    } finally {
      await restartRegistry(peers, 'plain').catch(() => {});
      await t.cleanup();
    }
  });
});
