import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, mock, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { lessUmask } from '../../test/support/fixtures.js';
import { isLadingError } from '../oci/index.js';
import {
  acquireLock,
  ContainedTree,
  containedLinkTarget,
  extractTar,
  RealDir,
  systemMessage,
  withLock,
  writeNewFile,
} from './index.js';

async function inDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lading-archive-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A folder beside the tree root that nothing may touch, dated 2001. */
async function sentinel(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'outside');
  await mkdir(path);
  await writeFile(join(path, 'keep.txt'), 'keep');
  const old = new Date('2001-01-01T00:00:00Z');
  await utimes(join(path, 'keep.txt'), old, old);
  await utimes(path, old, old);
  const print = async () => {
    const [d, f] = await Promise.all([stat(path), stat(join(path, 'keep.txt'))]);
    return {
      names: await readdir(path),
      d: d.mtimeMs,
      f: f.mtimeMs,
      body: await readFile(join(path, 'keep.txt'), 'utf8'),
    };
  };
  const before = await print();
  return async () => assert.deepEqual(await print(), before, 'the folder outside the root changed');
}

const pull = { existing: 'replace', escapeCode: 'PATH_TRAVERSAL' } as const;
const body = (text: string) => Readable.from([Buffer.from(text)]);

describe('containedLinkTarget', () => {
  const cases: [string, string, string | RegExp][] = [
    ['a/l', 'b', 'a/b'],
    ['a/l', '../b/c', 'b/c'],
    ['a/l', '.', 'a'],
    ['a/l', './b//c/', 'a/b/c'],
    ['l', '.', ''],
    ['a/b/l', '../../x', 'x'],
    ['l', '..', /outside the folder/],
    ['a/l', '../../x', /outside the folder/],
    ['a/l', '/etc/passwd', /absolute path/],
    ['a/s', 's/..', /after a named folder/],
    ['a/l', 'b/../c', /after a named folder/],
    ['a/l', '../b/../../x', /after a named folder/],
    ['a/l', '', /empty target/],
    ['a/l', 'x\0y', /NUL/],
  ];
  for (const [at, target, expected] of cases) {
    test(`${at} -> ${JSON.stringify(target)}`, () => {
      const got = containedLinkTarget(at, target);
      if (typeof expected === 'string') assert.deepEqual(got, { rel: expected });
      else assert.ok('refused' in got && expected.test(got.refused), JSON.stringify(got));
    });
  }
});

describe('ContainedTree', () => {
  test('a file is seen at its name only whole, unless the folder is private (newFilesInPlace)', () =>
    inDir(async (dir) => {
      for (const inPlace of [false, true]) {
        const root = join(dir, `root-${inPlace}`);
        await mkdir(root);
        const tree = await ContainedTree.open(root, { ...pull, ...(inPlace ? { newFilesInPlace: true } : {}) });
        const seen: string[][] = [];
        // Over 64 KiB: the streamed way. Between its chunks, what is there under the name?
        async function* halves(): AsyncGenerator<Buffer> {
          yield Buffer.alloc(40_000, 1);
          seen.push((await readdir(root)).filter((n) => n === 'big'));
          yield Buffer.alloc(40_000, 2);
        }
        await tree.file('big', halves(), 'big', { size: 80_000 });
        await tree.file('small', body('s'), 'small', { size: 1 });
        await tree.finish();
        assert.deepEqual(seen, [inPlace ? ['big'] : []], `in place: ${inPlace}`);
        assert.equal((await stat(join(root, 'big'))).size, 80_000);
        assert.equal(await readFile(join(root, 'small'), 'utf8'), 's');
        assert.deepEqual((await readdir(root)).sort(), ['big', 'small'], 'no temp file left');
      }
    }));

  test('a file whose body is not the size it declares is refused and leaves nothing', () =>
    inDir(async (dir) => {
      for (const [size, inPlace] of [
        [10, true],
        [10, false],
        [70_000, true],
        [70_000, false],
      ] as const) {
        const root = join(dir, `root-${size}-${inPlace}`);
        await mkdir(root);
        const tree = await ContainedTree.open(root, { ...pull, ...(inPlace ? { newFilesInPlace: true } : {}) });
        await assert.rejects(
          tree.file('f', body('short'), 'tar entry "f"', { size }),
          (e) => isLadingError(e, 'INVALID_ARCHIVE') && /holds 5 bytes, not the \d+ it declares/.test(e.message),
        );
        await tree.close();
        assert.deepEqual(await readdir(root), []);
      }
    }));

  test('files, folders and links inside; folder times are set at the end; names of 255 bytes', () =>
    inDir(async (dir) => {
      const root = join(dir, 'root');
      await mkdir(root);
      const tree = await ContainedTree.open(root, pull);
      const when = new Date('2005-05-05T00:00:00Z');
      await tree.directory('a', 'a', { mode: 0o755, mtime: when });
      await tree.file('a/f.txt', body('F'), 'f', { mode: 0o640, mtime: when });
      await tree.file(`a/${'n'.repeat(255)}`, body('long'), 'long');
      await tree.symlink('a/l', 'f.txt', 'l');
      await tree.hardlink('a/h', 'a/f.txt', 'h');
      await tree.finish();
      assert.equal((await stat(join(root, 'a'))).mtime.getTime(), when.getTime(), 'set after the files went in');
      assert.equal((await stat(join(root, 'a', 'f.txt'))).mode & 0o777, await lessUmask(0o640));
      assert.equal(await readFile(join(root, 'a', 'l'), 'utf8'), 'F');
      assert.equal((await stat(join(root, 'a', 'h'))).ino, (await stat(join(root, 'a', 'f.txt'))).ino);
      assert.equal(await readFile(join(root, 'a', 'n'.repeat(255)), 'utf8'), 'long');
      assert.deepEqual(tree.links, ['a/l']);
      assert.deepEqual(
        (await readdir(join(root, 'a'))).filter((n) => n.endsWith('.tmp')),
        [],
        'no temp left',
      );
    }));

  test('never writes through a link it made, nor through one that was there before', () =>
    inDir(async (dir) => {
      const unchanged = await sentinel(dir);
      const root = join(dir, 'root');
      await mkdir(join(root, 'sub'), { recursive: true });
      await symlink(join(dir, 'outside'), join(root, 'planted'));
      const tree = await ContainedTree.open(root, pull);
      await tree.symlink('l', 'sub', 'l');
      for (const [rel, why] of [
        ['l/x.txt', /passes through the symlink "l"/],
        ['planted/keep.txt', /passes through the symlink "planted"/],
        ['planted/new.txt', /passes through the symlink "planted"/],
      ] as const) {
        await assert.rejects(
          tree.file(rel, body('x'), rel),
          (e) => isLadingError(e, 'PATH_TRAVERSAL') && why.test(e.message),
        );
      }
      await assert.rejects(tree.directory('planted', 'dir'), (e) => isLadingError(e, 'PATH_TRAVERSAL'));
      await assert.rejects(
        tree.symlink('p', 'planted/keep.txt', 'p'),
        (e) => isLadingError(e, 'PATH_TRAVERSAL') && /a link that was already there/.test(e.message),
      );
      // A link the tree made may be passed by a link target: it leads inside by construction.
      await tree.symlink('ok', 'l/x.txt', 'ok');
      await tree.close();
      await unchanged();
    }));

  test('an existing file or link at a name is replaced, never followed; a folder is never replaced', () =>
    inDir(async (dir) => {
      const unchanged = await sentinel(dir);
      const root = join(dir, 'root');
      await mkdir(join(root, 'folder'), { recursive: true });
      await symlink(join(dir, 'outside', 'keep.txt'), join(root, 'target'));
      const tree = await ContainedTree.open(root, pull);
      await tree.file('target', body('mine'), 'target', { mtime: new Date('2010-01-01T00:00:00Z') });
      assert.equal(await readFile(join(root, 'target'), 'utf8'), 'mine');
      assert.ok((await lstat(join(root, 'target'))).isFile());
      await assert.rejects(tree.symlink('folder', '.', 'folder'), (e) => isLadingError(e, 'PATH_TRAVERSAL'));
      await assert.rejects(tree.file('folder', body('x'), 'folder'), (e) => isLadingError(e, 'INVALID_ARCHIVE'));
      await tree.symlink('target', 'folder', 'target again');
      assert.equal(await readlink(join(root, 'target')), 'folder');
      await tree.close();
      await unchanged();
    }));

  test('hard links only to regular files the tree made', () =>
    inDir(async (dir) => {
      const unchanged = await sentinel(dir);
      const root = join(dir, 'root');
      await mkdir(root);
      await writeFile(join(root, 'preexisting'), 'p');
      const tree = await ContainedTree.open(root, pull);
      await tree.file('f', body('f'), 'f');
      await tree.symlink('l', 'f', 'l');
      for (const to of ['l', 'preexisting', 'missing', '']) {
        await assert.rejects(tree.hardlink('h', to, 'h'), (e) => isLadingError(e, 'PATH_TRAVERSAL'), to);
      }
      await tree.close();
      assert.deepEqual((await readdir(root)).sort(), ['f', 'l', 'preexisting']);
      await unchanged();
    }));

  test("with existing: 'refuse' a name is written once", () =>
    inDir(async (dir) => {
      const tree = await ContainedTree.open(dir, { existing: 'refuse', escapeCode: 'INVALID_ARCHIVE' });
      await tree.file('a/b', body('first'), 'b');
      await assert.rejects(tree.file('a/b', body('second'), 'b'), (e) => isLadingError(e, 'INVALID_ARCHIVE'));
      await tree.close();
      assert.equal(await readFile(join(dir, 'a', 'b'), 'utf8'), 'first');
    }));
});

describe('RealDir', () => {
  test('a folder swapped for a link after it was opened still receives what is created in it', () =>
    inDir(async (dir) => {
      const unchanged = await sentinel(dir);
      await mkdir(join(dir, 'd'));
      const d = await RealDir.open(join(dir, 'd'));
      try {
        await rename(join(dir, 'd'), join(dir, 'moved'));
        await symlink(join(dir, 'outside'), join(dir, 'd'));
        await writeFile(d.at('x.txt'), 'x');
        assert.equal(await d.realPath(), join(dir, 'moved'));
      } finally {
        await d.close();
      }
      assert.deepEqual(await readdir(join(dir, 'moved')), ['x.txt']);
      await unchanged();
    }));

  test("an error's message leaves out the /proc/self/fd path a file was reached by", () =>
    inDir(async (dir) => {
      const d = await RealDir.open(dir);
      try {
        const error = await writeFile(d.at('missing/x.tmp'), 'x').catch((e: unknown) => e);
        assert.match(String((error as Error).message), /\/proc\/self\/fd\//, 'the folder is held by its descriptor');
        assert.equal(systemMessage(error), 'ENOENT: no such file or directory, open');
        assert.equal(
          systemMessage(new Error(`EACCES: permission denied, open '${join(dir, 'x')}'`)),
          `EACCES: permission denied, open '${join(dir, 'x')}'`,
        );
      } finally {
        await d.close();
      }
    }));
});

describe('extractTar', () => {
  async function tarOf(
    entries: {
      name: string;
      type?: 'file' | 'symlink' | 'fifo' | 'character-device';
      linkname?: string;
      body?: string;
    }[],
  ) {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on('data', (c) => {
      chunks.push(c as Buffer);
    });
    const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
    for (const e of entries)
      p.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}) }, e.body ?? '');
    p.finalize();
    await done;
    return Buffer.concat(chunks);
  }
  const options = (into: string) => ({
    into,
    where: 'test.tgz',
    gzip: true,
    ...pull,
    keepAttributes: true,
    place: (header: { name: string }) => header.name,
  });

  test('writes what it keeps, skips devices and fifos, returns the tar digest and the links', () =>
    inDir(async (dir) => {
      const tar = await tarOf([
        { name: 'a.txt', body: 'A' },
        { name: 'fifo', type: 'fifo' },
        { name: 'null', type: 'character-device' },
        { name: 'l', type: 'symlink', linkname: 'a.txt' },
      ]);
      const r = await extractTar(Readable.from([gzipSync(tar)]), options(dir));
      assert.equal(r.tarDigest, `sha256:${createHash('sha256').update(tar).digest('hex')}`);
      assert.deepEqual(r.links, ['l']);
      assert.deepEqual((await readdir(dir)).sort(), ['a.txt', 'l']);
    }));

  test('a PAX sparse file is refused, not written as its sparse map and data under a made-up name', () =>
    inDir(async (dir) => {
      const p = pack();
      const chunks: Buffer[] = [];
      p.on('data', (c) => {
        chunks.push(c as Buffer);
      });
      const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
      const pax = {
        'GNU.sparse.major': '1',
        'GNU.sparse.minor': '0',
        'GNU.sparse.name': 'disk.img',
        'GNU.sparse.realsize': '4096',
      };
      p.entry(
        { name: 'GNUSparseFile.0/disk.img', type: 'file', pax },
        '1\n0\n512\n'.padEnd(512, '\0') + 'x'.repeat(512),
      );
      p.finalize();
      await done;
      await assert.rejects(
        extractTar(Readable.from([gzipSync(Buffer.concat(chunks))]), options(dir)),
        (e) => isLadingError(e, 'UNSUPPORTED') && /"GNUSparseFile\.0\/disk\.img" is a sparse file/.test(e.message),
      );
      assert.deepEqual(await readdir(dir), []);
    }));

  test('names are the header bytes as UTF-8; a name that is not UTF-8 refuses the archive, not merges two files', () =>
    inDir(async (dir) => {
      // GNU tar's default format keeps a name's bytes as they are on disk.
      const src = join(dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'caf\u00e9.txt'), 'utf8');
      const tarOfSrc = () => execFileSync('sh', ['-c', 'cd "$1" && tar --format=gnu -cf - *', 'sh', src]);
      const good = tarOfSrc();
      await mkdir(join(dir, 'good'));
      await extractTar(Readable.from([gzipSync(good)]), options(join(dir, 'good')));
      assert.equal(await readFile(join(dir, 'good', 'caf\u00e9.txt'), 'utf8'), 'utf8');

      // Latin-1 names: caf\xe9 and caf\xe8 both decode to "caf\uFFFD" if read as UTF-8.
      await writeFile(Buffer.from(join(src, 'caf\xe9'), 'latin1'), 'z');
      await writeFile(Buffer.from(join(src, 'caf\xe8'), 'latin1'), 'y');
      const bad = tarOfSrc();
      await mkdir(join(dir, 'bad'));
      await assert.rejects(
        extractTar(Readable.from([gzipSync(bad)]), options(join(dir, 'bad'))),
        (e) =>
          isLadingError(e, 'UNSUPPORTED') && /test\.tgz: the entry caf\\xe[89] is not named in UTF-8/.test(e.message),
      );
    }));

  test('a link chain that climbs through links is refused at its first step', () =>
    inDir(async (dir) => {
      await mkdir(join(dir, 'root'));
      const tar = await tarOf([
        { name: 's', type: 'symlink', linkname: '.' },
        { name: 't', type: 'symlink', linkname: 's/..' },
      ]);
      await assert.rejects(
        extractTar(Readable.from([gzipSync(tar)]), options(join(dir, 'root'))),
        (e) => isLadingError(e, 'PATH_TRAVERSAL') && /tar entry "t": symlink climbs/.test(e.message),
      );
    }));

  test('the bound on unpacked bytes holds', () =>
    inDir(async (dir) => {
      const tar = await tarOf([{ name: 'big', body: 'x'.repeat(100_000) }]);
      await assert.rejects(extractTar(Readable.from([gzipSync(tar)]), { ...options(dir), maxBytes: 10_000 }), (e) =>
        isLadingError(e, 'SIZE_EXCEEDS_LIMIT'),
      );
    }));

  test('the bound on entries holds, skipped entries included, and stops at the first one past it', () =>
    inDir(async (dir) => {
      const names = Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, body: 'x' }));
      const tar = await tarOf([{ name: 'fifo', type: 'fifo' }, ...names]);
      await assert.rejects(
        extractTar(Readable.from([gzipSync(tar)]), { ...options(dir), maxEntries: 10 }),
        (e) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /test\.tgz: has more than 10 entries/.test(e.message),
      );
      assert.ok((await readdir(dir)).length <= 9, 'nothing past the bound was written');
      const ok = join(dir, 'ok');
      await mkdir(ok);
      await extractTar(Readable.from([gzipSync(tar)]), { ...options(ok), maxEntries: 51 });
      assert.equal((await readdir(ok)).length, 50);
    }));
});

describe('writeNewFile', () => {
  test('writes a file that is not there; never replaces one that is, and leaves no temp file', async () => {
    await inDir(async (dir) => {
      const target = join(dir, 'index.json');
      assert.equal(await writeNewFile(target, Buffer.from('first')), true);
      assert.equal(await readFile(target, 'utf8'), 'first');
      assert.equal(await writeNewFile(target, Buffer.from('second')), false);
      assert.equal(await readFile(target, 'utf8'), 'first');
      assert.deepEqual(await readdir(dir), ['index.json']);
    });
  });
});

describe('withLock', () => {
  test('a FIFO, a link or a big file under the lock name is an error at once, not a read that hangs', async () => {
    await inDir(async (dir) => {
      const lock = join(dir, 'index.json.lock');
      const big = join(dir, 'big');
      await writeFile(big, Buffer.alloc(4096, 'x'));
      const plant: [string, () => Promise<void>][] = [
        [
          'a FIFO',
          async () => {
            execFileSync('mkfifo', [lock]);
          },
        ],
        ['a link', () => symlink(join(dir, 'elsewhere'), lock)],
        ['a big file', () => writeFile(lock, Buffer.alloc(4096, '7'))],
      ];
      for (const [what, make] of plant) {
        await make();
        let ran = false;
        const started = Date.now();
        await assert.rejects(
          withLock(lock, async () => {
            ran = true;
          }),
          (e) => isLadingError(e, 'IO_ERROR') && e.message.includes('not a lock file lading wrote'),
          what,
        );
        assert.equal(ran, false, what);
        assert.ok(Date.now() - started < 5000, what);
        await rm(lock, { force: true });
      }
    });
  });

  test("a stale lock that cannot be removed (another user's, in a sticky folder) fails at once, never spins", async () => {
    await inDir(async (dir) => {
      const lock = join(dir, 'x.lock');
      // Left by a process that no longer runs.
      const dead = '2147483646\n';
      if (process.getuid?.() === 0) {
        // Root removes anything: the lock is root's in a sticky folder, and nobody asks for it.
        await chmod(dir, 0o1777);
        await writeFile(lock, dead);
        const script = `import { acquireLock } from ${JSON.stringify(new URL('./index.ts', import.meta.url).href)};
          try { await acquireLock(${JSON.stringify(lock)}); console.log('taken'); }
          catch (e) { console.log(e.code, e.message); }`;
        const tsx = import.meta.resolve('tsx');
        const out = await new Promise<string>((resolve, reject) =>
          execFile(
            'setpriv',
            [
              '--reuid=65534',
              '--regid=65534',
              '--clear-groups',
              '--',
              process.execPath,
              '--import',
              tsx,
              '--input-type=module',
              '-e',
              script,
            ],
            { timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, HOME: '/nonexistent' } },
            (error, stdout, stderr) => (error ? reject(new Error(`${error.message} ${stderr}`)) : resolve(stdout)),
          ),
        );
        assert.match(
          out,
          /^IO_ERROR .*x\.lock was left by a process that no longer runs and cannot be removed \(EPERM\)/,
        );
        assert.equal(await readFile(lock, 'utf8'), dead);
      } else {
        await writeFile(lock, dead);
        await chmod(dir, 0o555);
        try {
          await assert.rejects(
            acquireLock(lock),
            (e) => isLadingError(e, 'IO_ERROR') && /cannot be removed \(EACCES\)/.test(e.message),
          );
        } finally {
          await chmod(dir, 0o755);
        }
      }
    });
  });

  test('a long-held lock is kept fresh without touching what a link planted under its name points to', async () => {
    await inDir(async (dir) => {
      const lock = join(dir, 'x.lock');
      const victim = join(dir, 'victim');
      await writeFile(victim, 'mine');
      const old = new Date('2001-01-01T00:00:00Z');
      await utimes(victim, old, old);
      mock.timers.enable({ apis: ['setInterval'] });
      try {
        const release = await acquireLock(lock, { held: 'long' });
        // Kept fresh: a time long past is renewed at the next touch, so others never break it as stale.
        await utimes(lock, old, old);
        mock.timers.tick(60_000);
        assert.ok((await lstat(lock)).mtimeMs > Date.now() - 60_000, 'the lock was touched');
        // Another local user swaps the lock file for a link to a file of the victim's.
        await rm(lock);
        await symlink(victim, lock);
        mock.timers.tick(60_000);
        release();
      } finally {
        mock.timers.reset();
      }
      assert.equal((await stat(victim)).mtimeMs, old.getTime());
    });
  });

  test('runs the work holding the lock, and removes it after, also when the work throws', async () => {
    await inDir(async (dir) => {
      const lock = join(dir, 'x.lock');
      await withLock(lock, async () => {
        assert.equal((await readFile(lock, 'utf8')).trim(), String(process.pid));
      });
      await assert.rejects(
        withLock(lock, async () => {
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await readdir(dir), []);
    });
  });
});
