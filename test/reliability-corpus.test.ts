// Every malformed input in test/fixtures/bad goes through the library function a program would call
// and through the lading command a user would run: the library fails with the expected stable code;
// the command exits non-zero with one `Error: ` line and no stack trace; nothing in the case folder
// changes (no write outside the target, the target store as it was); bombs stay in bounded memory.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLadingError } from '../src/oci/index.js';
import { type BadCase, type Kind, kinds, loadCases, prepareCase, runCli, snapshot } from './reliability-support.js';

/** Resident memory a command may reach on a bomb or a huge input: its baseline plus a small margin. */
const MaxRssBytes = 400 * 1024 * 1024;

const all: [Kind, string, BadCase][] = [];
for (const kind of kinds) for (const [name, c] of await loadCases(kind)) all.push([kind, name, c]);

function describeError(error: unknown): string {
  if (isLadingError(error)) return `${error.code}: ${error.message.slice(0, 300)}`;
  return `${(error as Error)?.constructor?.name}: ${String((error as Error)?.stack ?? error).slice(0, 600)}`;
}

/** Files and folders under `dir` this process still holds open (Linux), waiting briefly for closes in flight. */
async function openUnder(dir: string): Promise<string[]> {
  let held: string[] = [];
  for (let i = 0; i < 40; i++) {
    held = [];
    for (const fd of await readdir('/proc/self/fd').catch(() => [])) {
      const to = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (to === dir || to.startsWith(`${dir}/`)) held.push(to);
    }
    if (held.length === 0) break;
    await sleep(50);
  }
  return held;
}

describe('bad input corpus', { concurrency: 4 }, () => {
  test('the corpus holds at least 200 cases, each with a stable code', () => {
    assert.ok(all.length >= 200, `only ${all.length} cases`);
    for (const [kind, name, c] of all) assert.match(c.code, /^[A-Z_]+$/, `${kind}/${name}`);
  });

  for (const [kind, name, c] of all) {
    test(`${kind}/${name} (${c.via}) → ${c.code}`, async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lading-bad-'));
      try {
        const prepared = await prepareCase(kind, name, c, dir);
        const before = await snapshot(dir, prepared.writable);

        let thrown: unknown;
        try {
          await prepared.lib();
        } catch (error) {
          thrown = error;
        }
        assert.ok(thrown !== undefined, 'the library accepted it');
        assert.ok(isLadingError(thrown) && thrown.code === c.code, `expected ${c.code}, got ${describeError(thrown)}`);
        assert.deepEqual(await snapshot(dir, prepared.writable), before, 'the library call changed the case folder');
        if (process.platform === 'linux')
          assert.deepEqual(await openUnder(dir), [], 'the library call left files of the case open');

        const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: join(dir, 'tmp'), HOME: join(dir, 'home') };
        delete env.DOCKER_CONFIG;
        delete env.OCM_CONFIG;
        const r = await runCli(prepared.cli, { cwd: dir, env });
        assert.notEqual(r.code, 0, `lading ${prepared.cli.join(' ')} exited 0:\n${r.stdout}`);
        const lines = r.stderr.trimEnd().split('\n');
        assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
        assert.match(lines[0] as string, /^Error: \S/);
        // A field the message could not show (missing, nested past the stack, huge) shows as a word.
        assert.doesNotMatch(lines[0] as string, /\bundefined\b|\[object Object\]|Maximum call stack/);
        assert.ok((lines[0] as string).length <= 1000, `an error line of ${(lines[0] as string).length} characters`);
        assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'a stack trace');
        assert.deepEqual(await snapshot(dir, prepared.writable), before, 'the command changed the case folder');
        if (c.rss) assert.ok(r.maxRss < MaxRssBytes, `peak RSS ${Math.round(r.maxRss / 2 ** 20)} MiB`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});
