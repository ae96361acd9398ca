// Files named by options of the ORAS commands (and the registry options every command shares):
// a FIFO that nobody writes or reads, or a device that never ends, is refused or bounded, and
// never leaves the process stuck in a system call that no signal can end.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertErrorWithin, cliArgs, ladingWithin } from './support/cli.js';
import { withDir } from './support/fixtures.js';

/** Whether a thread of `pid` waits in the open() of a FIFO for the other end (Linux). */
async function inFifoOpen(pid: number): Promise<boolean> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  for (const t of tasks) {
    const wchan = await readFile(`/proc/${pid}/task/${t}/wchan`, 'utf8').catch(() => '');
    if (wchan.includes('wait_for_partner') || wchan.includes('fifo_open')) return true;
  }
  return false;
}

describe('push option files', () => {
  test('--annotation-file a FIFO, /dev/zero or a huge file: one Error line at once, nothing pushed', async () => {
    await withDir(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      await writeFile(join(dir, 'a.txt'), 'a');
      await writeFile(join(dir, 'huge.json'), `{"$manifest":{"x":"${'x'.repeat(5 * 1024 * 1024)}"}}`);
      for (const [file, why] of [
        ['fifo', /annotation file fifo is not a regular file/],
        ['/dev/zero', /annotation file \/dev\/zero is not a regular file/],
        ['huge.json', /annotation file huge\.json is \d+ bytes, over the 4194304-byte limit/],
      ] as const) {
        const r = await ladingWithin(20, ['push', '--oci-layout', 'lay:v1', '--annotation-file', file, 'a.txt'], {
          cwd: dir,
        });
        assertErrorWithin(r, why, `--annotation-file ${file}`);
      }
      assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'fifo', 'huge.json'], 'no layout made');
    });
  });

  test('--export-manifest a FIFO: refused before the push when nobody reads it, written when a reader waits', async () => {
    await withDir(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      await writeFile(join(dir, 'a.txt'), 'a');
      const lonely = await ladingWithin(20, ['push', '--oci-layout', 'lay:v1', '--export-manifest', 'fifo', 'a.txt'], {
        cwd: dir,
      });
      assertErrorWithin(lonely, /--export-manifest fifo: a FIFO that no process reads/, 'no reader');
      assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'fifo'], 'nothing pushed');

      const reader = spawn('cat', [join(dir, 'fifo')], { stdio: ['ignore', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      reader.stdout.on('data', (c: Buffer) => chunks.push(c));
      const closed = new Promise<void>((resolve) => reader.on('close', () => resolve()));
      try {
        const r = await ladingWithin(20, ['push', '--oci-layout', 'lay:v1', '--export-manifest', 'fifo', 'a.txt'], {
          cwd: dir,
        });
        assert.equal(r.code, 0, r.stderr);
        await closed;
        const manifest = JSON.parse(Buffer.concat(chunks).toString());
        assert.equal(manifest.layers[0].annotations['org.opencontainers.image.title'], 'a.txt');
      } finally {
        reader.kill();
      }
    });
  });

  test('manifest push from /dev/zero is bounded; a missing file is one line', async () => {
    await withDir(async (dir) => {
      const r = await ladingWithin(20, ['manifest', 'push', '--oci-layout', 'lay:v1', '/dev/zero'], { cwd: dir });
      assertErrorWithin(r, /\/dev\/zero: more than 4194304 bytes/, 'manifest push /dev/zero');
    });
  });
});

describe('registry option files', () => {
  test('--ca-file, --cert-file a FIFO or /dev/zero: one Error line, no hang', async () => {
    await withDir(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      for (const [args, why] of [
        [['--ca-file', 'fifo'], /CA file fifo is not a regular file/],
        [['--ca-file', '/dev/zero'], /CA file \/dev\/zero is not a regular file/],
        [['--cert-file', 'fifo', '--key-file', 'fifo'], /client certificate fifo is not a regular file/],
      ] as const) {
        const r = await ladingWithin(20, ['repo', 'tags', ...args, '127.0.0.1:9/repo'], { cwd: dir });
        assertErrorWithin(r, why, args.join(' '));
      }
    });
  });
});

describe('serve and add cv files', () => {
  test('--htpasswd, --tls-cert and add cv -c a FIFO or /dev/zero: one Error line, no hang', async () => {
    await withDir(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      const serve = ['serve', '--addr', '127.0.0.1:0', '--root', 'srv'];
      for (const [args, why] of [
        [[...serve, '--htpasswd', 'fifo'], /htpasswd file fifo is not a regular file/],
        [[...serve, '--htpasswd', '/dev/zero'], /htpasswd file \/dev\/zero is not a regular file/],
        [[...serve, '--tls-cert', 'fifo', '--tls-key', 'fifo'], /TLS (certificate|key) fifo is not a regular file/],
        [['add', 'cv', '-c', 'fifo', '-r', 'ctf'], /component constructor fifo is not a regular file/],
        [['add', 'cv', '-c', '/dev/zero', '-r', 'ctf'], /component constructor \/dev\/zero is not a regular file/],
      ] as const) {
        const r = await ladingWithin(20, [...args], { cwd: dir });
        assertErrorWithin(r, why, args.join(' '));
      }
    });
  });
});

describe('the last-resort exit', () => {
  test('a second Ctrl-C ends a process whose thread is stuck opening a FIFO', async () => {
    await withDir(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      // blob push reads its file as a stream, FIFOs too (as ORAS does): the open waits for a writer.
      const child = spawn(process.execPath, cliArgs(['blob', 'push', '--oci-layout', 'lay', 'fifo']), {
        cwd: dir,
        stdio: 'ignore',
      });
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      // Never hang the test: a child that outlives this is killed and reported.
      const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        const pid = child.pid as number;
        while (!(await inFifoOpen(pid))) await sleep(50);
        child.kill('SIGINT');
        await sleep(700); // past the half second in which a repeat counts as the same request
        child.kill('SIGINT');
        const { code, signal } = await ended;
        assert.ok(signal === 'SIGINT' || code === 130, `ended by the second SIGINT, not ${signal ?? code}`);
      } finally {
        clearTimeout(guard);
        child.kill('SIGKILL');
      }
    });
  });
});
