// Faults with the real registry and real processes: the registry stopped in the middle of push,
// pull and cp (both ways); Ctrl-C during add cv, pull, cp and transfer cv; two writers on one
// store; content corrupted at rest. Each test is self-contained and restarts the registry it stops.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fetchAll } from '../src/content/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { type Descriptor, isLadingError, parseNode } from '../src/oci/index.js';
import { Registry } from '../src/registry/index.js';
import { type CliRun, runCli, type Snapshot, snapshot, startCli } from './reliability-support.js';
import { transferProgressLine } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { loadPeers, restartRegistry, stopRegistry } from './support/peers.mjs';

const peers = loadPeers();
const host = peers.plain.host;

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function ok(args: string[], cwd?: string): Promise<CliRun> {
  const r = await runCli(args, cwd ? { cwd } : {});
  assert.equal(r.code, 0, `lading ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r;
}

function assertOneLine(r: CliRun, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'expected a non-zero exit');
  const lines = r.stderr
    .trimEnd()
    .split('\n')
    .filter((line) => !transferProgressLine.test(line));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0] as string, /^Error: /);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'a stack trace');
}

/** `count` files of `size` random bytes named part-<i>.bin. */
async function bigFiles(dir: string, count: number, size: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    names.push(`part-${i}.bin`);
    await writeFile(join(dir, `part-${i}.bin`), randomBytes(size));
  }
  return names;
}

async function sameFiles(a: string, b: string, names: string[]): Promise<void> {
  for (const n of names) assert.ok((await readFile(join(a, n))).equals(await readFile(join(b, n))), `${n} differs`);
}

const isTemp = (path: string) => /(^|\/)(\.[^/]+\.tmp(\.[0-9a-f]{12}\.tmp)?|ingest)(\/|$)/.test(path);

/** The snapshot without temp files, which an interrupted command may leave for the next run. */
function withoutTemps(s: Snapshot): Snapshot {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !isTemp(k)));
}

/** Every blob of a layout or CTF folder holds the bytes its name promises. */
async function assertBlobsIntact(root: string): Promise<void> {
  const { createHash } = await import('node:crypto');
  const s = await snapshot(root);
  for (const path of Object.keys(s)) {
    if (isTemp(path) || path.endsWith('/')) continue;
    const m = /^blobs\/(?:sha256\/|sha256\.)([0-9a-f]{64})$/.exec(path);
    if (!m) continue;
    const hex = createHash('sha256')
      .update(await readFile(join(root, path)))
      .digest('hex');
    assert.equal(hex, m[1], `${path} is corrupted`);
  }
}

async function interruptAfter(
  args: string[],
  cwd: string,
  ready: (output: string) => boolean,
  options: { twice?: boolean; on?: 'stdout' | 'stderr' } = {},
): Promise<CliRun> {
  const p = startCli(args, { cwd });
  // `ready` reads stdout, or stderr where the command reports there (OCM's transfer); an error stops the wait.
  await waitFor(`progress of lading ${args[0]}`, () =>
    options.on === 'stderr'
      ? ready(p.stderr()) || /^Error:/m.test(p.stderr())
      : ready(p.stdout()) || p.stderr().length > 0,
  );
  process.kill(p.pid, 'SIGINT');
  // `timeout -s INT` sends the signal to the process and to its group: two close together. The
  // second comes 10 ms later here so that the CLI surely sees two (at once, Node may merge them).
  if (options.twice) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    try {
      process.kill(p.pid, 'SIGINT');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // already done
    }
  }
  const r = await p.done;
  // The command has cleaned up once it says so. A second signal that lands after that, while Node
  // is already exiting (its handlers gone), ends the process by the signal itself: also fine.
  const diedOfSecond = options.twice === true && r.signal === 'SIGINT';
  if (!diedOfSecond) {
    assert.equal(r.code, 130, `expected exit 130 after SIGINT, got ${r.code}:\n${r.stderr}\n${r.stdout}`);
  }
  assert.deepEqual(
    r.stderr
      .trimEnd()
      .split('\n')
      .filter((line) => !transferProgressLine.test(line)),
    ['Error: interrupted'],
  );
  return r;
}

describe('the registry stops in the middle of a transfer', () => {
  const stopDuring = async (args: string[], cwd: string, ready: RegExp) => {
    const p = startCli(args, { cwd });
    let stoppedAt = 0;
    try {
      await waitFor('the first blob', () => ready.test(p.stdout()));
      await stopRegistry(peers, 'plain');
      stoppedAt = Date.now();
      const r = await p.done;
      assertOneLine(r, /refused|reset|closed|socket|network|connect/i);
      assert.ok(Date.now() - stoppedAt < 30_000, 'it gave up within seconds');
      return r;
    } finally {
      await restartRegistry(peers, 'plain');
    }
  };

  test('push, pull, cp to a layout and cp from a layout: one line, source untouched, rerun completes', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      const names = await bigFiles(dir, 6, 16 * 1024 * 1024);
      const ref = `${host}/reliability/killed-${process.pid}:v1`;
      const sourceFiles = await snapshot(dir);

      // push
      await stopDuring(['push', '--plain-http', '--no-tty', '--concurrency', '1', ref, ...names], dir, /^Uploaded/m);
      const pushed = await ok(['push', '--plain-http', '--no-tty', '--concurrency', '1', ref, ...names], dir);
      assert.match(pushed.stdout, /^Exists/m, 'what arrived before is skipped');
      assert.deepEqual(await snapshot(dir), sourceFiles, 'the source files are untouched');

      // pull
      await stopDuring(
        ['pull', '--plain-http', '--no-tty', '--concurrency', '1', ref, '-o', 'pulled'],
        dir,
        /^Downloaded/m,
      );
      await ok(['pull', '--plain-http', '--no-tty', ref, '-o', 'pulled'], dir);
      await sameFiles(dir, join(dir, 'pulled'), names);

      // registry → layout
      await stopDuring(
        ['cp', '--from-plain-http', '--no-tty', '--concurrency', '1', ref, '--to-oci-layout', 'layout:v1'],
        dir,
        /^Copied/m,
      );
      const copied = await ok(
        ['cp', '--from-plain-http', '--no-tty', '--concurrency', '1', ref, '--to-oci-layout', 'layout:v1'],
        dir,
      );
      assert.match(copied.stdout, /^Exists/m, 'blobs already in the layout are skipped');
      await assertBlobsIntact(join(dir, 'layout'));
      await ok(['pull', '--oci-layout', 'layout:v1', '-o', 'from-layout'], dir);
      await sameFiles(dir, join(dir, 'from-layout'), names);

      // layout → registry
      const ref2 = `${host}/reliability/killed-back-${process.pid}:v1`;
      const layoutBefore = await snapshot(join(dir, 'layout'));
      await stopDuring(
        ['cp', '--to-plain-http', '--no-tty', '--concurrency', '1', '--from-oci-layout', 'layout:v1', ref2],
        dir,
        /^Copied/m,
      );
      assert.deepEqual(await snapshot(join(dir, 'layout')), layoutBefore, 'the source layout is untouched');
      const back = await ok(
        ['cp', '--to-plain-http', '--no-tty', '--concurrency', '1', '--from-oci-layout', 'layout:v1', ref2],
        dir,
      );
      assert.match(back.stdout, /^Exists/m);
      await ok(['pull', '--plain-http', ref2, '-o', 'back'], dir);
      await sameFiles(dir, join(dir, 'back'), names);
    } finally {
      await restartRegistry(peers, 'plain').catch(() => {});
      await t.cleanup();
    }
  });
});

/** A component with one tiny resource: something already in a CTF before the interrupted run. */
const smallConstructor =
  'name: acme.org/small\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input:\n      type: utf8/v1\n      text: hi\n';

describe('Ctrl-C', () => {
  test('transfer into a tgz, stopped while the archive is written back: the archive as it was, nothing left beside it', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      await writeFile(join(dir, 'big.bin'), randomBytes(96 * 1024 * 1024));
      await writeFile(
        join(dir, 'big.yaml'),
        'name: acme.org/big\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: data\n    type: blob\n    input:\n      type: file/v1\n      path: ./big.bin\n',
      );
      await writeFile(join(dir, 'small.yaml'), smallConstructor);
      await ok(['add', 'cv', '-c', 'big.yaml', '-r', 'src'], dir);
      await ok(['add', 'cv', '-c', 'small.yaml', '-r', join('out', 'dst.tgz')], dir);
      const before = await readFile(join(dir, 'out', 'dst.tgz'));
      // "Transferred" is printed when the component is in the unpacked copy; the tgz is written after.
      await interruptAfter(
        ['transfer', 'cv', 'src//acme.org/big:1.0.0', join('out', 'dst.tgz')],
        dir,
        (s) => /^Transferred/m.test(s),
        { on: 'stderr' },
      );
      assert.ok((await readFile(join(dir, 'out', 'dst.tgz'))).equals(before), 'the archive is unchanged');
      assert.deepEqual(await readdir(join(dir, 'out')), ['dst.tgz'], 'no temp files, no lock');
      await ok(['transfer', 'cv', 'src//acme.org/big:1.0.0', join('out', 'dst.tgz')], dir);
      await ok(['get', 'cv', `${join('out', 'dst.tgz')}//acme.org/big:1.0.0`], dir);
    } finally {
      await t.cleanup();
    }
  });

  test('add cv with a big dir input: the CTF stays as it was, the rerun completes', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      await mkdir(join(dir, 'data'));
      for (let i = 0; i < 48; i++) await writeFile(join(dir, 'data', `f${i}.bin`), randomBytes(2 * 1024 * 1024));
      await writeFile(join(dir, 'small.yaml'), smallConstructor);
      await writeFile(
        join(dir, 'big.yaml'),
        'name: acme.org/big\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: data\n    type: directoryTree\n    input:\n      type: dir/v1\n      path: ./data\n      compress: true\n',
      );
      await ok(['add', 'cv', '-c', 'small.yaml', '-r', 'ctf'], dir);
      const before = await snapshot(join(dir, 'ctf'));
      const started = Date.now();
      await interruptAfter(['add', 'cv', '-c', 'big.yaml', '-r', 'ctf'], dir, () => Date.now() - started > 1500);
      assert.deepEqual(withoutTemps(await snapshot(join(dir, 'ctf'))), withoutTemps(before));
      await ok(['add', 'cv', '-c', 'big.yaml', '-r', 'ctf'], dir);
      assert.deepEqual(
        Object.keys(await snapshot(join(dir, 'ctf'))).filter(isTemp),
        [],
        'the next run cleaned the temp files',
      );
      await ok(['get', 'cv', 'ctf//acme.org/small:1.0.0'], dir);
      await ok(['get', 'cv', 'ctf//acme.org/big:1.0.0'], dir);
    } finally {
      await t.cleanup();
    }
  });

  test('blob fetch -o from a registry that trickles: SIGTERM stops it at once and removes the temp file', async () => {
    // A registry slower than any test can wait for is a fault docker-registry cannot produce: a
    // server here announces 64 MiB and sends 64 KiB now and then.
    const { createServer } = await import('node:http');
    const size = 64 * 1024 * 1024;
    const digest = `sha256:${'ab'.repeat(32)}`;
    const server = createServer((req, res) => {
      if (!req.url?.startsWith('/v2/slow/blobs/')) {
        res.writeHead(req.url === '/v2/' ? 200 : 404).end();
        return;
      }
      res.writeHead(200, { 'content-length': String(size), 'docker-content-digest': digest });
      if (req.method === 'HEAD') return void res.end();
      const tick = setInterval(() => res.write(Buffer.alloc(64 * 1024, 1)), 50);
      res.on('close', () => clearInterval(tick));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const t = await tempDir();
    try {
      const { port } = server.address() as import('node:net').AddressInfo;
      const p = startCli(['blob', 'fetch', '--plain-http', '-o', 'blob', `127.0.0.1:${port}/slow@${digest}`], {
        cwd: t.path,
      });
      await waitFor('the temp file', async () => (await readdir(t.path)).some((f) => f.endsWith('.tmp')));
      const sent = Date.now();
      process.kill(p.pid, 'SIGTERM');
      const r = await p.done;
      assert.equal(r.code, 143, r.stderr);
      assert.equal(r.stderr.trimEnd(), 'Error: interrupted');
      assert.ok(Date.now() - sent < 5000, 'it stopped at once, not at the 10 s deadline');
      assert.deepEqual(await readdir(t.path), [], 'no temp file and no output are left');
    } finally {
      server.closeAllConnections();
      server.close();
      await t.cleanup();
    }
  });

  test('pull and cp to a layout: a stopped pull leaves nothing, the layout index unchanged, reruns complete', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      const names = await bigFiles(dir, 6, 16 * 1024 * 1024);
      await ok(['push', '--oci-layout', 'src:v1', ...names], dir);
      await ok(['push', '--oci-layout', 'dst:other', names[0] as string], dir);

      await interruptAfter(
        ['pull', '--no-tty', '--concurrency', '1', '--oci-layout', 'src:v1', '-o', 'out'],
        dir,
        (s) => /^Downloaded/m.test(s),
        { twice: true },
      );
      // A pull that did not finish leaves nothing: not even the folder it created for its output.
      assert.deepEqual(await readdir(join(dir, 'out')).catch(() => []), [], 'nothing from the stopped pull');
      await ok(['pull', '--oci-layout', 'src:v1', '-o', 'out'], dir);
      await sameFiles(dir, join(dir, 'out'), names);

      const index = await readFile(join(dir, 'dst', 'index.json'));
      await interruptAfter(
        ['cp', '--no-tty', '--concurrency', '1', '--from-oci-layout', 'src:v1', '--to-oci-layout', 'dst:v1'],
        dir,
        (s) => /^Copied/m.test(s),
      );
      assert.ok((await readFile(join(dir, 'dst', 'index.json'))).equals(index), 'index.json is unchanged');
      await assertBlobsIntact(join(dir, 'dst'));
      await ok(['cp', '--from-oci-layout', 'src:v1', '--to-oci-layout', 'dst:v1'], dir);
      await ok(['pull', '--oci-layout', 'dst:v1', '-o', 'out2'], dir);
      await sameFiles(dir, join(dir, 'out2'), names);
      await ok(['resolve', '--oci-layout', 'dst:other'], dir);
    } finally {
      await t.cleanup();
    }
  });

  test('transfer cv to a CTF folder and to a .tgz: both stay as they were, reruns complete', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      const names = await bigFiles(dir, 6, 16 * 1024 * 1024);
      const resources = names
        .map((n, i) => `  - name: part${i}\n    type: blob\n    input:\n      type: file/v1\n      path: ./${n}\n`)
        .join('');
      await writeFile(
        join(dir, 'big.yaml'),
        `name: acme.org/big\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n${resources}`,
      );
      await writeFile(join(dir, 'small.yaml'), smallConstructor);
      await ok(['add', 'cv', '-c', 'big.yaml', '-r', 'source'], dir);
      for (const target of ['target', 'target.tgz']) {
        await ok(['add', 'cv', '-c', 'small.yaml', '-r', target], dir);
        const before = await snapshot(
          dir,
          ['source', 'target', 'target.tgz'].filter((x) => x !== target),
        );
        await interruptAfter(
          ['transfer', 'cv', '--no-tty', '--concurrency', '1', 'source//acme.org/big:1.0.0', target],
          dir,
          (s) => /^Copied/m.test(s),
          { on: 'stderr' },
        );
        const after = await snapshot(
          dir,
          ['source', 'target', 'target.tgz'].filter((x) => x !== target),
        );
        assert.deepEqual(withoutTemps(after), withoutTemps(before), `${target} changed`);
        await ok(['transfer', 'cv', 'source//acme.org/big:1.0.0', target], dir);
        await ok(['get', 'cv', `${target}//acme.org/small:1.0.0`], dir);
        await ok(
          [
            'download',
            'resource',
            `${target}//acme.org/big:1.0.0`,
            '--identity',
            'name=part5',
            '--output',
            `${target}-5.bin`,
          ],
          dir,
        );
        assert.ok((await readFile(join(dir, `${target}-5.bin`))).equals(await readFile(join(dir, 'part-5.bin'))));
      }
      assert.deepEqual(
        Object.keys(await snapshot(dir, ['source', 'target'])).filter(isTemp),
        [],
        'no temp left beside',
      );
    } finally {
      await t.cleanup();
    }
  });
});

describe('two writers on one store', () => {
  test('two add cv into one CTF folder and into one .tgz, two pushes into one layout', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      for (const n of ['a', 'b']) {
        await writeFile(
          join(dir, `${n}.yaml`),
          `name: acme.org/${n}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: data\n    type: blob\n    input:\n      type: file/v1\n      path: ./${n}.bin\n`,
        );
        await writeFile(join(dir, `${n}.bin`), randomBytes(4 * 1024 * 1024));
      }
      for (const repo of ['ctf', 'ctf.tgz']) {
        const [a, b] = await Promise.all(
          ['a', 'b'].map((n) => runCli(['add', 'cv', '-c', `${n}.yaml`, '-r', repo], { cwd: dir })),
        );
        const results = [a, b] as CliRun[];
        for (const r of results) if (r.code !== 0) assertOneLine(r, /changed by another process|lock/i);
        if (repo === 'ctf')
          assert.ok(
            results.every((r) => r.code === 0),
            'both writers of a folder succeed',
          );
        assert.ok(results.some((r) => r.code === 0));
        for (const [i, n] of ['a', 'b'].entries()) {
          const got = await runCli(['get', 'cv', `${repo}//acme.org/${n}:1.0.0`], { cwd: dir });
          assert.equal(got.code, results[i]?.code === 0 ? 0 : got.code, got.stderr);
          if (results[i]?.code === 0) assert.equal(got.code, 0, `${repo}: ${n} was lost`);
        }
      }
      await assertBlobsIntact(join(dir, 'ctf'));
      const pushes = await Promise.all(
        ['a', 'b'].map((n) => runCli(['push', '--oci-layout', `layout:${n}`, `${n}.bin`], { cwd: dir })),
      );
      for (const r of pushes) assert.equal(r.code, 0, r.stderr);
      for (const n of ['a', 'b']) {
        await ok(['pull', '--oci-layout', `layout:${n}`, '-o', `out-${n}`], dir);
        assert.ok((await readFile(join(dir, `out-${n}`, `${n}.bin`))).equals(await readFile(join(dir, `${n}.bin`))));
      }
      await assertBlobsIntact(join(dir, 'layout'));
    } finally {
      await t.cleanup();
    }
  });
});

describe('content corrupted at rest', () => {
  const flip = async (path: string) => {
    const bytes = await readFile(path);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
    await chmod(path, 0o644);
    await writeFile(path, bytes);
  };
  const isMismatch = (e: unknown) => isLadingError(e, 'DIGEST_MISMATCH');

  test('a registry blob, a layout blob and a CTF blob: DIGEST_MISMATCH, nothing written as good', async () => {
    const t = await tempDir();
    const registry = new Registry(host, { plainHttp: true });
    try {
      const dir = t.path;
      const data = randomBytes(2 * 1024 * 1024);
      await writeFile(join(dir, 'data.bin'), data);
      const { createHash } = await import('node:crypto');
      const hex = createHash('sha256').update(data).digest('hex');
      const desc: Descriptor = {
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: `sha256:${hex}`,
        size: data.length,
      };

      // registry
      const ref = `${host}/reliability/corrupt-${process.pid}:v1`;
      await ok(['push', '--plain-http', ref, 'data.bin'], dir);
      // Where each registry keeps the blob: distribution's own tree, or lading serve's OCI layout per repository.
      await flip(
        peers.plain.kind === 'lading-serve'
          ? join(peers.plain.dataDir, `reliability/corrupt-${process.pid}`, 'blobs/sha256', hex)
          : join(peers.plain.dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data'),
      );
      const pulled = await runCli(['pull', '--plain-http', ref, '-o', 'out'], { cwd: dir });
      assertOneLine(pulled, /digest/i);
      assert.deepEqual(await readdir(join(dir, 'out')).catch(() => []), [], 'no file written as good');
      await assert.rejects(fetchAll(registry.repository(`reliability/corrupt-${process.pid}`), desc), isMismatch);

      // layout
      await ok(['push', '--oci-layout', 'layout:v1', 'data.bin'], dir);
      await flip(join(dir, 'layout', 'blobs', 'sha256', hex));
      assertOneLine(await runCli(['pull', '--oci-layout', 'layout:v1', '-o', 'out2'], { cwd: dir }), /digest/i);
      assert.deepEqual(await readdir(join(dir, 'out2')).catch(() => []), []);
      assertOneLine(
        await runCli(['cp', '--from-oci-layout', 'layout:v1', '--to-oci-layout', 'copy:v1'], { cwd: dir }),
        /digest/i,
      );
      await assert.rejects(readFile(join(dir, 'copy', 'blobs', 'sha256', hex)), 'the bad blob did not land');
      await assert.rejects(fetchAll(await OciLayout.open(join(dir, 'layout')), desc), isMismatch);

      // CTF
      await writeFile(
        join(dir, 'c.yaml'),
        'name: acme.org/corrupt\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: data\n    type: blob\n    input:\n      type: file/v1\n      path: ./data.bin\n',
      );
      await ok(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], dir);
      await flip(join(dir, 'ctf', 'blobs', `sha256.${hex}`));
      const dl = await runCli(
        ['download', 'resource', 'ctf//acme.org/corrupt:1.0.0', '--identity', 'name=data', '--output', 'got.bin'],
        { cwd: dir },
      );
      assertOneLine(dl, /digest/i);
      await assert.rejects(readFile(join(dir, 'got.bin')), 'no file written as good');
      assertOneLine(await runCli(['transfer', 'cv', 'ctf//acme.org/corrupt:1.0.0', 'ctf2'], { cwd: dir }), /digest/i);
      const archive = await CtfArchive.open(join(dir, 'ctf'));
      try {
        await assert.rejects(fetchAll(archive.repository('component-descriptors/acme.org/corrupt'), desc), isMismatch);
      } finally {
        await archive.close();
      }
      // Nothing of the failed transfer is left as a CTF holding the bad blob.
      const ctf2 = await snapshot(join(dir, 'ctf2')).catch(() => ({}));
      assert.ok(!Object.keys(ctf2).some((k) => k.includes(hex)), 'the bad blob did not land in ctf2');
      assert.equal(typeof parseNode, 'function');
    } finally {
      await registry.close();
      await rm(t.path, { recursive: true, force: true });
    }
  });
});
