import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { FidelityTitle, makeFidelityTree } from '../../test/support/fidelity-tree.js';
import { pushBytes, tempDir } from '../../test/support/fixtures.js';
import { processSpace } from '../archive/index.js';
import { fetchAll, MemoryStore } from '../content/index.js';
import { packManifest } from '../copy/index.js';
import { OciLayout } from '../layout/index.js';
import { Annotation, digestBytes, isLadingError, MediaType } from '../oci/index.js';
import { extractTarGz, unpackBounds } from './extract.js';
import { pullFiles } from './pull.js';
import { pushFiles } from './push.js';

const run = promisify(execFile);

async function inDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const t = await tempDir();
  const cwd = process.cwd();
  try {
    process.chdir(t.path);
    return await fn(t.path);
  } finally {
    process.chdir(cwd);
    await t.cleanup();
  }
}

async function manifestOf(store: OciLayout | MemoryStore, ref: string) {
  return JSON.parse((await fetchAll(store, await store.resolve(ref))).toString());
}

describe('push of files and directories (ORAS semantics)', () => {
  test('cwd, per-file titles and annotations: no dependence on process.cwd()', async () => {
    const t = await tempDir();
    try {
      const cwd = process.cwd();
      await mkdir(join(t.path, 'work', 'sub'), { recursive: true });
      await writeFile(join(t.path, 'work', 'sub', 'data.json'), '{"a":1}');
      await writeFile(join(t.path, 'work', 'config.json'), '{}');
      const store = new MemoryStore();
      await pushFiles(
        store,
        [
          { path: 'sub/data.json', mediaType: 'application/json' },
          { path: 'sub/data.json', title: 'renamed.json', annotations: { 'org.example.kind': 'copy' } },
        ],
        { cwd: join(t.path, 'work'), tags: ['v1'], config: { path: 'config.json' } },
      );
      assert.equal(process.cwd(), cwd);
      const m = await manifestOf(store, 'v1');
      assert.deepEqual(
        m.layers.map((l: { annotations: Record<string, string> }) => l.annotations),
        [{ [Annotation.Title]: 'sub/data.json' }, { 'org.example.kind': 'copy', [Annotation.Title]: 'renamed.json' }],
      );
      assert.equal(m.config.digest, digestBytes(Buffer.from('{}')));
      const out = join(t.path, 'out');
      const pulled = await pullFiles(store, 'v1', { output: out });
      assert.deepEqual(
        pulled.files.map((f) => f.path).sort(),
        [join(out, 'renamed.json'), join(out, 'sub', 'data.json')].sort(),
      );
      assert.equal(await readFile(join(out, 'renamed.json'), 'utf8'), '{"a":1}');
      await assert.rejects(
        pushFiles(store, [{ path: 'x', title: '/etc/x' }], { cwd: t.path }),
        (e) => isLadingError(e, 'INVALID_ARGUMENT') && e.hint?.key === 'allowAbsolutePaths',
      );
      const aborted = new AbortController();
      const reason = new Error('stop');
      aborted.abort(reason);
      await assert.rejects(
        pushFiles(store, [{ path: 'sub/data.json' }], { cwd: join(t.path, 'work'), signal: aborted.signal }),
        (e) => isLadingError(e, 'ABORTED') && e.cause === reason,
      );
      await assert.rejects(
        pullFiles(store, 'v1', { output: join(t.path, 'out2'), signal: aborted.signal }),
        (e) => isLadingError(e, 'ABORTED') && e.cause === reason,
      );
    } finally {
      await t.cleanup();
    }
  });

  test('files become titled layers with the default media type; the manifest has the ORAS shape', () =>
    inDir(async (dir) => {
      await writeFile('hello.txt', 'hello\n');
      await mkdir('sub');
      await writeFile('sub/data.json', '{"a":1}');
      const layout = await OciLayout.open(join(dir, 'out'), { mode: 'create' });
      const desc = await pushFiles(
        layout,
        [{ path: 'hello.txt' }, { path: 'sub/data.json', mediaType: 'application/json' }],
        {
          tags: ['v1', 'latest'],
        },
      );
      const m = await manifestOf(layout, 'latest');
      assert.equal(m.artifactType, 'application/vnd.unknown.artifact.v1');
      assert.equal(m.config.mediaType, MediaType.Empty);
      assert.equal(m.config.data, 'e30=');
      assert.deepEqual(
        m.layers.map((l: { mediaType: string; annotations: Record<string, string> }) => [
          l.mediaType,
          l.annotations[Annotation.Title],
        ]),
        [
          ['application/vnd.oci.image.layer.v1.tar', 'hello.txt'],
          ['application/json', 'sub/data.json'],
        ],
      );
      assert.match(m.annotations[Annotation.Created], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.equal((await layout.resolve('v1')).digest, desc.digest);
    }));

  test('a directory is a tar+gzip layer with the io.deis.oras annotations, and pulls back unpacked', () =>
    inDir(async (dir) => {
      await mkdir('tree/nested', { recursive: true });
      await writeFile('tree/a.txt', 'A');
      await writeFile('tree/nested/b.txt', 'B');
      await writeFile('tree/empty', '');
      await symlink('a.txt', 'tree/link-to-a');
      const layout = await OciLayout.open(join(dir, 'out'), { mode: 'create' });
      await pushFiles(layout, [{ path: 'tree' }], { tags: ['dir'] });
      const m = await manifestOf(layout, 'dir');
      const layer = m.layers[0];
      assert.equal(layer.mediaType, MediaType.ImageLayerGzip);
      assert.equal(layer.annotations[Annotation.OrasContentUnpack], 'true');
      assert.match(layer.annotations[Annotation.OrasContentDigest], /^sha256:[0-9a-f]{64}$/);
      // GNU tar reads the layer and sees the ORAS layout: the root entry, then title-prefixed names.
      const blob = join(dir, 'out', 'blobs', 'sha256', layer.digest.slice(7));
      const listing = (await run('tar', ['-tzf', blob], { encoding: 'utf8' })).stdout.trim().split('\n');
      assert.deepEqual(listing, [
        'tree',
        'tree/a.txt',
        'tree/empty',
        'tree/link-to-a',
        'tree/nested',
        'tree/nested/b.txt',
      ]);
      const result = await pullFiles(layout, 'dir', { output: join(dir, 'pulled') });
      assert.deepEqual(
        result.files.map((f) => f.path),
        [`${join(dir, 'pulled', 'tree')}/`],
      );
      assert.equal(await readFile(join(dir, 'pulled/tree/nested/b.txt'), 'utf8'), 'B');
      assert.equal(await readFile(join(dir, 'pulled/tree/empty'), 'utf8'), '');
      assert.equal(await readlink(join(dir, 'pulled/tree/link-to-a')), 'a.txt');
    }));

  test('a folder named through a link is pushed as the folder; links inside it stay links', () =>
    inDir(async (dir) => {
      await mkdir('src/sub', { recursive: true });
      await writeFile('src/a.txt', 'A');
      await writeFile('src/sub/b.txt', 'B');
      await symlink('a.txt', 'src/l');
      await symlink('src', 'srclink');
      const layout = await OciLayout.open(join(dir, 'lay'), { mode: 'create' });
      await pushFiles(layout, [{ path: 'srclink' }], { tags: ['v2'] });
      const layer = (await manifestOf(layout, 'v2')).layers[0];
      const blob = join(dir, 'lay', 'blobs', 'sha256', layer.digest.slice(7));
      const listing = (await run('tar', ['-tvzf', blob], { encoding: 'utf8' })).stdout.trim().split('\n');
      assert.match(listing[0] ?? '', /^d.* srclink$/, 'the root entry is a folder');
      await pullFiles(layout, 'v2', { output: join(dir, 'out') });
      assert.equal(await readFile(join(dir, 'out', 'srclink', 'a.txt'), 'utf8'), 'A');
      assert.equal(await readFile(join(dir, 'out', 'srclink', 'sub', 'b.txt'), 'utf8'), 'B');
      assert.equal(await readlink(join(dir, 'out', 'srclink', 'l')), 'a.txt');
    }));

  test('a folder whose name is NAME_MAX (255 bytes) long pushes and pulls back', () =>
    inDir(async (dir) => {
      const name = `${'é'.repeat(127)}x`;
      assert.equal(Buffer.byteLength(name), 255);
      await mkdir(name);
      await writeFile(join(name, 'a.txt'), 'A');
      const layout = await OciLayout.open(join(dir, 'out'), { mode: 'create' });
      await pushFiles(layout, [{ path: name }], { tags: ['long'] });
      await pullFiles(layout, 'long', { output: join(dir, 'pulled') });
      assert.equal(await readFile(join(dir, 'pulled', name, 'a.txt'), 'utf8'), 'A');
    }));

  test('--reproducible: the same tree gives the same digest whatever the file times', () =>
    inDir(async (dir) => {
      await mkdir('tree');
      await writeFile('tree/x', 'x');
      const layout = await OciLayout.open(join(dir, 'out'), { mode: 'create' });
      const opts = { reproducible: true, annotations: { [Annotation.Created]: '2020-01-01T00:00:00Z' } };
      const a = await pushFiles(layout, [{ path: 'tree' }], opts);
      await utimes('tree/x', new Date(2001, 1, 1), new Date(2001, 1, 1));
      const b = await pushFiles(layout, [{ path: 'tree' }], opts);
      assert.equal(a.digest, b.digest);
      const c = await pushFiles(layout, [{ path: 'tree' }], { ...opts, reproducible: false });
      assert.notEqual(c.digest, a.digest);
    }));

  test('annotation file: $manifest, $config and per-file keys, and a title rename', () =>
    inDir(async (dir) => {
      await writeFile('bar', 'bar');
      const layout = await OciLayout.open(join(dir, 'out'), { mode: 'create' });
      await pushFiles(layout, [{ path: 'bar' }], {
        tags: ['a'],
        fileAnnotations: {
          $manifest: { hello: 'world' },
          $config: { cfg: 'yes' },
          bar: { [Annotation.Title]: 'baz', extra: '1' },
        },
      });
      const m = await manifestOf(layout, 'a');
      assert.equal(m.annotations.hello, 'world');
      assert.deepEqual(m.config.annotations, { cfg: 'yes' });
      assert.equal(m.artifactType, 'application/vnd.unknown.artifact.v1', 'an empty config needs a type');
      assert.deepEqual(m.layers[0].annotations, { extra: '1', [Annotation.Title]: 'baz' });
    }));

  test('image-spec v1.0: no artifactType, the type goes on the config', () =>
    inDir(async (dir) => {
      await writeFile('f', 'f');
      const mem = new MemoryStore();
      await pushFiles(mem, [{ path: 'f' }], {
        imageSpec: 'v1.0',
        artifactType: 'application/vnd.x.config',
        tags: ['t'],
      });
      const m = await manifestOf(mem, 't');
      assert.equal(m.artifactType, undefined);
      assert.equal(m.config.mediaType, 'application/vnd.x.config');
      assert.equal(dir.length > 0, true);
    }));

  test('a folder holding a name that is not UTF-8 is refused with the name escaped, not a bare ENOENT', () =>
    inDir(async (dir) => {
      await mkdir('tree');
      await writeFile(join('tree', 'ok.txt'), 'A');
      await writeFile(
        Buffer.concat([Buffer.from(join(dir, 'tree/bad')), Buffer.from([0xff, 0xfe]), Buffer.from('name')]),
        'B',
      );
      await assert.rejects(
        () => pushFiles(new MemoryStore(), [{ path: 'tree' }]),
        (e) =>
          isLadingError(e, 'UNSUPPORTED') &&
          (e as Error).message ===
            'tree/bad\\xff\\xfename: the file name is not valid UTF-8 (rename it to archive the folder)',
      );
    }));

  test('a FIFO is pushed as a FIFO entry (as ORAS) and skipped by the pull; a socket is refused, not left out', () =>
    inDir(async (dir) => {
      await mkdir('tree');
      await writeFile(join('tree', 'a.txt'), 'A');
      await run('mkfifo', [join('tree', 'pipe')]);
      const layout = await OciLayout.open(join(dir, 'out'), { mode: 'create' });
      await pushFiles(layout, [{ path: 'tree' }], { tags: ['v1'] });
      const layer = (await manifestOf(layout, 'v1')).layers[0];
      const { stdout } = await run('tar', ['-tvzf', join(dir, 'out', 'blobs', 'sha256', layer.digest.slice(7))]);
      assert.match(stdout, /^p.* tree\/pipe$/m);
      await pullFiles(layout, 'v1', { output: join(dir, 'pulled') });
      assert.deepEqual((await readdir(join(dir, 'pulled', 'tree'))).sort(), ['a.txt']);
      const { createServer } = await import('node:net');
      const server = createServer();
      await new Promise<void>((r) => server.listen(join(dir, 'tree', 'sock'), r));
      try {
        await assert.rejects(
          () => pushFiles(new MemoryStore(), [{ path: 'tree' }]),
          (e) => isLadingError(e, 'UNSUPPORTED') && /tree\/sock: a socket cannot be pushed/.test((e as Error).message),
        );
      } finally {
        await new Promise((r) => server.close(r));
      }
    }));

  test('absolute paths and missing files are refused', () =>
    inDir(async (dir) => {
      await assert.rejects(
        () => pushFiles(new MemoryStore(), [{ path: join(dir, 'x') }]),
        (e) => isLadingError(e, 'INVALID_ARGUMENT'),
      );
      await assert.rejects(
        () => pushFiles(new MemoryStore(), [{ path: 'missing' }]),
        (e) => isLadingError(e, 'NOT_FOUND'),
      );
    }));
});

describe('folder layers keep the file tree as ORAS does', () => {
  /** The uncompressed tar of the artifact's only layer, and the layer. */
  async function folderLayer(dir: string, layout: OciLayout, tag: string) {
    const layer = (await manifestOf(layout, tag)).layers[0];
    const blob = await readFile(join(dir, 'lay', 'blobs', 'sha256', layer.digest.slice(7)));
    return { tar: gunzipSync(blob), layer };
  }

  test("a folder's tar is oras-go's byte for byte: owners 0, setuid/setgid/sticky kept, times rounded as Go, hard links as files, names in byte order", () =>
    inDir(async (dir) => {
      await makeFidelityTree(dir);
      const layout = await OciLayout.open(join(dir, 'lay'), { mode: 'create' });
      await pushFiles(layout, [{ path: FidelityTitle }], { tags: ['t'] });
      const { tar, layer } = await folderLayer(dir, layout, 't');
      const upstream = await readFile(new URL('../../test/fixtures/oras-go-folder/tree.tar', import.meta.url));
      assert.equal(layer.annotations[Annotation.OrasContentDigest], digestBytes(upstream));
      assert.ok(tar.equals(upstream), 'the same bytes as oras-go');
    }));

  test("a pull keeps permission bits less the umask, a folder's sticky bit and the times; setuid and setgid are dropped; pushed hard links come back as copies", () =>
    inDir(async (dir) => {
      const tree = await makeFidelityTree(dir);
      const layout = await OciLayout.open(join(dir, 'lay'), { mode: 'create' });
      await pushFiles(layout, [{ path: FidelityTitle }], { tags: ['t'] });
      await pullFiles(layout, 't', { output: join(dir, 'out') });
      const got = join(dir, 'out', FidelityTitle);
      const umask = process.umask();
      const mode = async (rel: string) => (await lstat(join(got, rel))).mode & 0o7777;
      assert.equal(await mode('sticky'), 0o1777 & ~umask, 'the sticky bit stays (ORAS keeps it)');
      assert.equal(await mode('sgid-dir'), 0o775 & ~umask);
      assert.equal(await mode('suid'), 0o755 & ~umask, 'setuid is dropped');
      assert.equal(await mode('sgid'), 0o755 & ~umask, 'setgid is dropped');
      assert.equal(await mode('both'), 0o711 & ~umask);
      assert.equal(await mode('a.txt'), 0o640 & ~umask);
      for (const rel of ['a.txt', 'b.txt', 'sub/c.txt']) {
        assert.equal(await readFile(join(got, rel), 'utf8'), 'hello\n');
        assert.equal((await lstat(join(got, rel))).nlink, 1, `${rel}: pushed as a file of its own, as oras-go does`);
      }
      const seconds = async (rel: string) => (await lstat(join(got, rel))).mtimeMs / 1000;
      assert.equal(await seconds('half'), 1588748890, 'the half second rounded up, as Go writes it');
      assert.equal(await seconds('under-half'), 1588748889);
      for (const rel of ['sticky', 'sub', '.'])
        assert.equal(await seconds(rel), (await lstat(join(tree, rel))).mtimeMs / 1000);
      assert.equal(await readlink(join(got, 'link')), 'a.txt');
      assert.equal(await readFile(join(got, 'z\u{1F600}'), 'utf8'), 'astral\n');
    }));

  for (const format of ['gnu', 'pax', 'ustar']) {
    test(`hard links of a layer that tar wrote (--format=${format}) come back as hard links`, () =>
      inDir(async (dir) => {
        await makeFidelityTree(dir);
        const tgz = join(dir, 'tree.tgz');
        await run('tar', [`--format=${format}`, '-czf', tgz, '-C', dir, FidelityTitle]);
        const listing = (await run('tar', ['-tvzf', tgz], { encoding: 'utf8' })).stdout;
        assert.match(listing, /^h.* link to tree\//m, 'tar wrote hard-link entries');
        const bytes = await readFile(tgz);
        const layout = await OciLayout.open(join(dir, 'lay'), { mode: 'create' });
        const desc = await pushBytes(layout, bytes, MediaType.ImageLayerGzip, {
          [Annotation.Title]: FidelityTitle,
          [Annotation.OrasContentUnpack]: 'true',
          [Annotation.OrasContentDigest]: digestBytes(gunzipSync(bytes)),
        });
        await layout.tag(await packManifest(layout, [desc]), 'gnu');
        await pullFiles(layout, 'gnu', { output: join(dir, 'out') });
        const got = join(dir, 'out', FidelityTitle);
        const inodes = new Set<number>();
        for (const rel of ['a.txt', 'b.txt', 'sub/c.txt']) {
          const info = await lstat(join(got, rel));
          assert.equal(info.nlink, 3, rel);
          inodes.add(info.ino);
          assert.equal(await readFile(join(got, rel), 'utf8'), 'hello\n');
        }
        assert.equal(inodes.size, 1, 'one file under three names');
        assert.equal((await lstat(join(got, 'sticky'))).mode & 0o7777, 0o1777 & ~process.umask());
      }));
  }
});

describe('pull safety', () => {
  async function storeWithLayer(
    title: string,
    content: Buffer,
    extra: Record<string, string> = {},
    mediaType: string = MediaType.ImageLayer,
  ) {
    const mem = new MemoryStore();
    const { packManifest } = await import('../copy/index.js');
    const layer = await pushBytes(mem, content, mediaType, { [Annotation.Title]: title, ...extra });
    const m = await packManifest(mem, [layer]);
    await mem.tag(m, 'v1');
    return mem;
  }

  test('a title escaping the output folder is refused unless -T', () =>
    inDir(async (dir) => {
      const mem = await storeWithLayer('../escape.txt', Buffer.from('x'));
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: join(dir, 'out') }),
        (e) => isLadingError(e, 'PATH_TRAVERSAL'),
      );
      await assert.rejects(() => stat(join(dir, 'escape.txt')));
      const r = await pullFiles(mem, 'v1', { output: join(dir, 'out'), allowPathTraversal: true });
      assert.equal(await readFile(join(dir, 'escape.txt'), 'utf8'), 'x');
      assert.equal(r.files.length, 1);
      const abs = await storeWithLayer('/etc/lading-should-not-exist', Buffer.from('x'));
      await assert.rejects(
        () => pullFiles(abs, 'v1', { output: join(dir, 'out') }),
        (e) => isLadingError(e, 'PATH_TRAVERSAL'),
      );
    }));

  test('a symlink in the output folder cannot redirect a write', () =>
    inDir(async (dir) => {
      await mkdir(join(dir, 'out'));
      await mkdir(join(dir, 'elsewhere'));
      await symlink(join(dir, 'elsewhere'), join(dir, 'out', 'sub'));
      const mem = await storeWithLayer('sub/file.txt', Buffer.from('x'));
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: join(dir, 'out') }),
        (e) => isLadingError(e, 'PATH_TRAVERSAL'),
      );
      await assert.rejects(() => stat(join(dir, 'elsewhere', 'file.txt')));
    }));

  test('-k refuses to overwrite; otherwise files are overwritten', () =>
    inDir(async (dir) => {
      await mkdir(join(dir, 'out'));
      await writeFile(join(dir, 'out', 'f.txt'), 'old');
      const mem = await storeWithLayer('f.txt', Buffer.from('new'));
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: join(dir, 'out'), keepOldFiles: true }),
        (e) => isLadingError(e, 'ALREADY_EXISTS'),
      );
      assert.equal(await readFile(join(dir, 'out', 'f.txt'), 'utf8'), 'old');
      await pullFiles(mem, 'v1', { output: join(dir, 'out') });
      assert.equal(await readFile(join(dir, 'out', 'f.txt'), 'utf8'), 'new');
    }));

  /** Every file under `dir` with its content (symlinks as `-> target`), to compare a folder before and after. */
  async function snapshot(dir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    const { readdir, lstat: lst } = await import('node:fs/promises');
    for (const name of await readdir(dir, { recursive: true })) {
      const path = join(dir, name);
      const info = await lst(path);
      if (info.isSymbolicLink()) out[name] = `-> ${await readlink(path)}`;
      else if (info.isFile()) out[name] = await readFile(path, 'utf8');
      else out[name] = '<dir>';
    }
    return out;
  }

  test('a pull that fails half-way leaves the output folder as it was, and a new one is not left behind', () =>
    inDir(async (dir) => {
      // Two layers: a file that would replace the user's, then a folder whose tar has a hostile symlink.
      const mem = new MemoryStore();
      const { packManifest } = await import('../copy/index.js');
      const good = await pushBytes(mem, Buffer.from('pulled'), MediaType.ImageLayer, {
        [Annotation.Title]: 'mine.txt',
      });
      const { tar, gz } = await tarGz([
        { name: 'dir/ok.txt', body: 'pwned' },
        { name: 'dir/lnk', type: 'symlink', linkname: '/tmp' },
      ]);
      const bad = await pushBytes(mem, gz, MediaType.ImageLayerGzip, {
        [Annotation.Title]: 'dir',
        [Annotation.OrasContentUnpack]: 'true',
        [Annotation.OrasContentDigest]: digestBytes(tar),
      });
      await mem.tag(await packManifest(mem, [good, bad]), 'v1');

      const out = join(dir, 'out');
      await mkdir(join(out, 'dir'), { recursive: true });
      await writeFile(join(out, 'mine.txt'), 'MINE');
      await writeFile(join(out, 'dir', 'ok.txt'), 'MY PRECIOUS');
      const before = await snapshot(out);
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: out, concurrency: 1 }),
        (e) => isLadingError(e, 'PATH_TRAVERSAL'),
      );
      assert.deepEqual(await snapshot(out), before, 'nothing changed, no staging folder left');

      await assert.rejects(() => pullFiles(mem, 'v1', { output: join(dir, 'new', 'out') }));
      await assert.rejects(() => stat(join(dir, 'new')), 'the folder made for the pull is gone');
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: join(out, 'mine.txt') }),
        (e) => isLadingError(e, 'INVALID_ARGUMENT') && /mine\.txt: not a folder/.test((e as Error).message),
      );
    }));

  test('a pulled folder merges into an existing one; a file where a folder is stops the pull before any write', () =>
    inDir(async (dir) => {
      const { tar, gz } = await tarGz([
        { name: 'dir/a.txt', body: 'new a' },
        { name: 'dir/sub/b.txt', body: 'new b' },
      ]);
      const mem = await storeWithLayer(
        'dir',
        gz,
        { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(tar) },
        MediaType.ImageLayerGzip,
      );
      const out = join(dir, 'out');
      await mkdir(join(out, 'dir', 'sub'), { recursive: true });
      await writeFile(join(out, 'dir', 'a.txt'), 'old a');
      await writeFile(join(out, 'dir', 'keep.txt'), 'kept');
      await pullFiles(mem, 'v1', { output: out });
      assert.deepEqual(await snapshot(out), {
        dir: '<dir>',
        'dir/a.txt': 'new a',
        'dir/keep.txt': 'kept',
        'dir/sub': '<dir>',
        'dir/sub/b.txt': 'new b',
      });

      const blocked = join(dir, 'blocked');
      await mkdir(join(blocked, 'dir'), { recursive: true });
      await writeFile(join(blocked, 'dir', 'a.txt'), 'old a');
      await mkdir(join(blocked, 'dir', 'sub', 'b.txt'), { recursive: true }); // a folder where a file goes
      const before = await snapshot(blocked);
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: blocked }),
        (e) =>
          isLadingError(e, 'ALREADY_EXISTS') &&
          /b\.txt: a folder is already there; nothing was written/.test((e as Error).message),
      );
      assert.deepEqual(await snapshot(blocked), before);
    }));

  test("a pull follows the user's link to a folder of the output, never one that leaves it, and refuses an artifact at odds with itself", () =>
    inDir(async (dir) => {
      const out = join(dir, 'out');
      await mkdir(join(out, 'real'), { recursive: true });
      await symlink(join(out, 'real'), join(out, 'd'));
      await pullFiles(await storeWithLayer('d/x.txt', Buffer.from('x')), 'v1', { output: out });
      assert.equal(await readFile(join(out, 'real', 'x.txt'), 'utf8'), 'x');

      // Inside a pulled folder, an existing link to elsewhere is not written through.
      await mkdir(join(dir, 'elsewhere'));
      await mkdir(join(out, 'dir'));
      await symlink(join(dir, 'elsewhere'), join(out, 'dir', 'sub'));
      const { tar, gz } = await tarGz([{ name: 'dir/sub/p.txt', body: 'p' }]);
      const folder = await storeWithLayer(
        'dir',
        gz,
        { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(tar) },
        MediaType.ImageLayerGzip,
      );
      await assert.rejects(
        () => pullFiles(folder, 'v1', { output: out }),
        (e) =>
          isLadingError(e, 'PATH_TRAVERSAL') &&
          /sub: a symlink that leaves the output folder/.test((e as Error).message),
      );
      await assert.rejects(() => stat(join(dir, 'elsewhere', 'p.txt')));

      const mem = new MemoryStore();
      const { packManifest } = await import('../copy/index.js');
      const z = await pushBytes(mem, Buffer.from('z'), MediaType.ImageLayer, { [Annotation.Title]: 'z' });
      const zy = await pushBytes(mem, Buffer.from('zy'), MediaType.ImageLayer, { [Annotation.Title]: 'z/y' });
      await mem.tag(await packManifest(mem, [z, zy]), 'v1');
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: join(dir, 'out2') }),
        (e) =>
          isLadingError(e, 'ALREADY_EXISTS') &&
          /z: a file of layer "z", and a folder of layer "z\/y"/.test((e as Error).message),
      );
      await assert.rejects(() => stat(join(dir, 'out2')), 'nothing written, the new folder removed');
    }));

  test('a link that the artifact writes replaces a link there, to a folder, a file or outside, never following it', () =>
    inDir(async (dir) => {
      const { tar, gz } = await tarGz([
        { name: 'sl/', type: 'directory' },
        { name: 'sl/sub/', type: 'directory' },
        { name: 'sl/sub/f', body: 'f' },
        { name: 'sl/dirlink', type: 'symlink', linkname: 'sub' },
        { name: 'sl/filelink', type: 'symlink', linkname: 'sub/f' },
      ]);
      const folder = await storeWithLayer(
        'sl',
        gz,
        { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(tar) },
        MediaType.ImageLayerGzip,
      );
      const out = join(dir, 'p4');
      await pullFiles(folder, 'v1', { output: out });
      await pullFiles(folder, 'v1', { output: out });
      assert.equal(await readlink(join(out, 'sl', 'dirlink')), 'sub');
      assert.equal(await readlink(join(out, 'sl', 'filelink')), 'sub/f');
      assert.deepEqual((await readdir(join(out, 'sl', 'sub'))).sort(), ['f']);

      // Links of someone else's at those names (outside, to a folder): replaced, not written through.
      await mkdir(join(dir, 'elsewhere'));
      await writeFile(join(dir, 'elsewhere', 'keep'), 'kept');
      const other = join(dir, 'p5');
      await mkdir(join(other, 'sl', 'sub'), { recursive: true });
      await symlink(join(dir, 'elsewhere'), join(other, 'sl', 'dirlink'));
      await symlink(join(dir, 'elsewhere', 'keep'), join(other, 'sl', 'filelink'));
      await pullFiles(folder, 'v1', { output: other });
      assert.equal(await readlink(join(other, 'sl', 'dirlink')), 'sub');
      assert.equal(await readlink(join(other, 'sl', 'filelink')), 'sub/f');
      assert.deepEqual(await readdir(join(dir, 'elsewhere')), ['keep']);
      assert.equal(await readFile(join(dir, 'elsewhere', 'keep'), 'utf8'), 'kept');

      // A folder of the artifact where a link to no folder is: told as a link.
      const third = join(dir, 'p6');
      await mkdir(third);
      await writeFile(join(third, 'file'), 'x');
      await symlink('file', join(third, 'sl'));
      await assert.rejects(
        () => pullFiles(folder, 'v1', { output: third }),
        (e) =>
          isLadingError(e, 'ALREADY_EXISTS') &&
          /sl: a link is already there; nothing was written/.test((e as Error).message),
      );
    }));

  test('an escaping link in a folder pulled to a relative output is told at its path, named once', () =>
    inDir(async (dir) => {
      const { tar, gz } = await tarGz([{ name: 'sl/evil', type: 'symlink', linkname: '/etc' }]);
      const folder = await storeWithLayer(
        'sl',
        gz,
        { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(tar) },
        MediaType.ImageLayerGzip,
      );
      const out = join(dir, 'p9');
      await assert.rejects(
        () => pullFiles(folder, 'v1', { output: relative(process.cwd(), out) }),
        (e) =>
          isLadingError(e, 'PATH_TRAVERSAL') &&
          (e as Error).message.endsWith(`absolute path "/etc" (in ${join(out, 'sl')})`),
      );
    }));

  async function tarGz(
    entries: { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string; body?: string }[],
  ) {
    const p = pack();
    const chunks: Buffer[] = [];
    p.on('data', (c) => {
      chunks.push(c as Buffer);
    });
    const done = new Promise<void>((r) => p.on('end', () => r()));
    for (const e of entries) {
      p.entry({ name: e.name, type: e.type ?? 'file', ...(e.linkname ? { linkname: e.linkname } : {}) }, e.body ?? '');
    }
    p.finalize();
    await done;
    const tar = Buffer.concat(chunks);
    return { tar, gz: gzipSync(tar) };
  }

  const hostile: [string, Parameters<typeof tarGz>[0]][] = [
    [
      'an entry outside the title',
      [
        { name: 'dir/ok.txt', body: 'ok' },
        { name: 'other.txt', body: 'x' },
      ],
    ],
    ['a .. entry', [{ name: 'dir/../../evil.txt', body: 'x' }]],
    ['a symlink leaving the folder', [{ name: 'dir/l', type: 'symlink', linkname: '../../..' }]],
    ['an absolute symlink', [{ name: 'dir/l', type: 'symlink', linkname: '/etc/passwd' }]],
    ['a hard link to a file outside', [{ name: 'dir/h', type: 'link', linkname: 'outside.txt' }]],
    [
      'a file written through an earlier symlink',
      [
        { name: 'dir/l', type: 'symlink', linkname: '.' },
        { name: 'dir/l/x.txt', body: 'x' },
      ],
    ],
  ];
  for (const [name, entries] of hostile) {
    test(`unpacking refuses ${name}`, () =>
      inDir(async (dir) => {
        const { tar, gz } = await tarGz(entries);
        const mem = await storeWithLayer(
          'dir',
          gz,
          { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(tar) },
          MediaType.ImageLayerGzip,
        );
        await writeFile(join(dir, 'outside.txt'), 'secret');
        await assert.rejects(
          () => pullFiles(mem, 'v1', { output: join(dir, 'out') }),
          // Named by the user's path, not by the staging folder the pull unpacks in.
          (e) => isLadingError(e, 'PATH_TRAVERSAL') && !e.message.includes('.lading-pull'),
        );
        await assert.rejects(() => stat(join(dir, 'evil.txt')));
        await assert.rejects(() => stat(join(dir, 'other.txt')));
      }));
  }

  test('unpacking is bounded in bytes and entries (a gzip bomb, an inode flood), by default as CTF archives are', () =>
    inDir(async (dir) => {
      const { gz, tar } = await tarGz([
        { name: 'dir/a', body: 'x'.repeat(5000) },
        { name: 'dir/b', body: 'b' },
        { name: 'dir/c', body: 'c' },
      ]);
      const unpack = (o: { maxBytes?: number; maxEntries?: number }, out: string) =>
        extractTarGz(Readable.from([gz]), { root: join(dir, out, 'dir'), base: join(dir, out), ...o });
      await assert.rejects(unpack({ maxBytes: 4096 }, 'o1'), (e) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT'));
      await assert.rejects(
        unpack({ maxEntries: 2 }, 'o2'),
        (e) => isLadingError(e) && /more than 2 entries/.test(e.message),
      );
      await unpack({}, 'o3');
      assert.equal(await readFile(join(dir, 'o3', 'dir', 'c'), 'utf8'), 'c');
      // A pull sets no bounds of its own: the defaults hold for its directory layers.
      const mem = await storeWithLayer(
        'dir',
        gz,
        { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(tar) },
        MediaType.ImageLayerGzip,
      );
      const saved = { ...unpackBounds };
      unpackBounds.maxEntries = 2;
      try {
        await assert.rejects(
          () => pullFiles(mem, 'v1', { output: join(dir, 'o4') }),
          (e) => isLadingError(e) && /more than 2 entries/.test(e.message),
        );
      } finally {
        Object.assign(unpackBounds, saved);
      }
      await pullFiles(mem, 'v1', { output: join(dir, 'o5') });
      assert.equal(await readFile(join(dir, 'o5', 'dir', 'c'), 'utf8'), 'c');
      // maxUnpackSize sets the byte bound of a pull: lower, or none at all (a sparse disk image
      // compresses past any ratio; lading must be able to pull back what it pushed).
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: join(dir, 'o6'), maxUnpackSize: 4096 }),
        (e) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /more than 4096 bytes/.test(e.message),
      );
      await assert.rejects(stat(join(dir, 'o6', 'dir')), { code: 'ENOENT' });
      const ratio = { ...unpackBounds };
      unpackBounds.maxBytes = () => 4096;
      try {
        await pullFiles(mem, 'v1', { output: join(dir, 'o7'), maxUnpackSize: Number.POSITIVE_INFINITY });
      } finally {
        Object.assign(unpackBounds, ratio);
      }
      assert.equal((await readFile(join(dir, 'o7', 'dir', 'a'), 'utf8')).length, 5000);
      for (const bad of [0, -1, 1.5, Number.NaN, '1' as unknown as number]) {
        await assert.rejects(
          () => pullFiles(mem, 'v1', { output: join(dir, 'o8'), maxUnpackSize: bad }),
          (e) => isLadingError(e, 'INVALID_ARGUMENT') && /maxUnpackSize/.test(e.message),
        );
      }
    }));

  test('an unpacked tar whose content digest does not match is an error', () =>
    inDir(async (dir) => {
      const { gz } = await tarGz([{ name: 'dir/a', body: 'a' }]);
      const mem = await storeWithLayer(
        'dir',
        gz,
        { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(Buffer.from('no')) },
        MediaType.ImageLayerGzip,
      );
      await assert.rejects(
        () => pullFiles(mem, 'v1', { output: join(dir, 'out') }),
        (e) => isLadingError(e, 'DIGEST_MISMATCH'),
      );
    }));

  test('a directory layer named twice is refused before anything is written', () =>
    inDir(async (dir) => {
      const { packManifest } = await import('../copy/index.js');
      const { gz, tar } = await tarGz([{ name: 'd/f', body: 'from the folder' }]);
      const unpack = { [Annotation.OrasContentUnpack]: 'true', [Annotation.OrasContentDigest]: digestBytes(tar) };
      const artifact = async (layers: { title: string; body: Buffer; folder?: boolean }[]) => {
        const mem = new MemoryStore();
        const descs = [];
        for (const l of layers) {
          const extra = { [Annotation.Title]: l.title, ...(l.folder ? unpack : {}) };
          descs.push(await pushBytes(mem, l.body, l.folder ? MediaType.ImageLayerGzip : MediaType.ImageLayer, extra));
        }
        await mem.tag(await packManifest(mem, descs), 'v1');
        return mem;
      };
      const cases = [
        {
          layers: [
            { title: 'd', body: gz, folder: true },
            { title: 'e', body: gz, folder: true },
          ],
          why: /named twice/,
        },
      ];
      for (const [i, c] of cases.entries()) {
        const out = join(dir, `out${i}`);
        await mkdir(out);
        await writeFile(join(out, 'keep'), 'mine');
        const store = await artifact(c.layers);
        await assert.rejects(
          () => pullFiles(store, 'v1', { output: out }),
          (e) => isLadingError(e, 'INVALID_MANIFEST') && c.why.test(e.message),
        );
        assert.deepEqual(await readdir(out), ['keep'], 'nothing written');
      }
    }));

  /** An artifact of file layers (`body`) and folder layers (`entries`), in this order. */
  async function layered(
    layers: { title: string; body?: string; entries?: Parameters<typeof tarGz>[0] }[],
    store: MemoryStore = new MemoryStore(),
  ) {
    const { packManifest } = await import('../copy/index.js');
    const descs = [];
    for (const l of layers) {
      if (l.entries) {
        const { tar, gz } = await tarGz(l.entries);
        descs.push(
          await pushBytes(store, gz, MediaType.ImageLayerGzip, {
            [Annotation.Title]: l.title,
            [Annotation.OrasContentUnpack]: 'true',
            [Annotation.OrasContentDigest]: digestBytes(tar),
          }),
        );
      } else {
        descs.push(
          await pushBytes(store, Buffer.from(l.body ?? ''), MediaType.ImageLayer, { [Annotation.Title]: l.title }),
        );
      }
    }
    await store.tag(await packManifest(store, descs), 'v1');
    return store;
  }

  test('layers that overlap inside an unpacked folder are refused before anything moves, in either order', () =>
    inDir(async (dir) => {
      const file = { title: 'd/f', body: 'x' };
      const folder = { title: 'd', entries: [{ name: 'd/f', body: 'z' }] };
      // A folder layer holding the FILE d/sub, and a file layer that needs d/sub as a folder.
      const asFile = { title: 'd', entries: [{ name: 'd/sub', body: 'a file' }] };
      const below = { title: 'd/sub/x', body: 'x' };
      const cases = [
        { layers: [file, folder], why: /d\/f: a file of two layers \("d\/f" and "d"\); nothing was written/ },
        { layers: [folder, file], why: /d\/f: a file of two layers \("d" and "d\/f"\)/ },
        {
          layers: [asFile, below],
          why: /d\/sub: a file of layer "d", and a folder of layer "d\/sub\/x"; nothing was written/,
        },
        {
          layers: [below, asFile],
          why: /d\/sub: a file of layer "d", and a folder of layer "d\/sub\/x"; nothing was written/,
        },
      ];
      for (const [i, c] of cases.entries()) {
        const out = join(dir, `out${i}`);
        await mkdir(join(out, 'd'), { recursive: true });
        await writeFile(join(out, 'd', 'keep'), 'mine');
        const before = await snapshot(out);
        for (const concurrency of [1, 4]) {
          const store = await layered(c.layers);
          await assert.rejects(
            () => pullFiles(store, 'v1', { output: out, concurrency }),
            (e) => isLadingError(e, 'ALREADY_EXISTS') && c.why.test(e.message),
          );
          assert.deepEqual(await snapshot(out), before, `case ${i}: nothing written, no staging left`);
        }
      }
      // The same bytes in a folder layer and as a file of their own: one outcome, so both are fine.
      const same = await layered([{ title: 'd/f', body: 'z' }, folder]);
      await pullFiles(same, 'v1', { output: join(dir, 'same') });
      assert.equal(await readFile(join(dir, 'same', 'd', 'f'), 'utf8'), 'z');
    }));

  test('folder layers beside other layers are not walked again at the commit: a tree deeper than PATH_MAX pulls', () =>
    inDir(async (dir) => {
      // 20 folders of 250 bytes: the file's path is over 5,000 bytes, past what one system call
      // takes (PATH_MAX, 4096). The extractor reaches it folder by folder; the overlap check
      // walked every staged tree by full path (ENAMETOOLONG) and held every path it met (a pull
      // of 300,000 files: 330 MB resident).
      const deep = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(3, '0')}${'x'.repeat(247)}`).join('/');
      const store = await layered([
        { title: 'd', entries: [{ name: `d/${deep}/f`, body: 'deep' }] },
        { title: 'other', body: 'o' },
      ]);
      const out = join(dir, 'out');
      await pullFiles(store, 'v1', { output: out });
      const { stdout } = await run('find', ['.', '-name', 'f'], { cwd: join(out, 'd') });
      assert.equal(stdout.trim().length > 4096, true);
      assert.equal(await readFile(join(out, 'other'), 'utf8'), 'o');
      await run('rm', ['-rf', out]); // node's rm cannot remove a path that long
    }));

  test('files are committed and reported in the layer order of the manifest, whichever download ends first', () =>
    inDir(async (dir) => {
      // The first layer's bytes come only once the second layer was fetched and written.
      class Late extends MemoryStore {
        first = '';
        release: () => void = () => {};
        readonly second = new Promise<void>((r) => {
          this.release = r;
        });
        override async fetch(desc: Parameters<MemoryStore['fetch']>[0], o?: Parameters<MemoryStore['fetch']>[1]) {
          if (desc.digest === this.first) await this.second;
          return super.fetch(desc, o);
        }
      }
      const store = new Late();
      await layered(
        [
          { title: 'a', body: 'first' },
          { title: 'b', body: 'second' },
        ],
        store,
      );
      const m = await manifestOf(store, 'v1');
      store.first = m.layers[0].digest;
      const written: string[] = [];
      const r = await pullFiles(store, 'v1', {
        output: join(dir, 'out'),
        concurrency: 2,
        onFile: (path) => {
          written.push(path);
          store.release();
        },
      });
      assert.deepEqual(written, [join(dir, 'out', 'b'), join(dir, 'out', 'a')], 'b was downloaded first');
      assert.deepEqual(
        r.files.map((f) => f.path),
        [join(dir, 'out', 'a'), join(dir, 'out', 'b')],
      );
    }));

  test("a killed pull's staging folder is removed by a later pull, once its process is gone and it is old", () =>
    inDir(async (dir) => {
      const { spawn } = await import('node:child_process');
      const gone = spawn(process.execPath, ['-e', '']);
      const dead = gone.pid as number;
      await new Promise((r) => gone.once('exit', r));
      const out = join(dir, 'out');
      const hour = Date.now() / 1000 - 3600;
      const leftover = async (name: string, old: boolean) => {
        await mkdir(join(out, name, '0', 'd'), { recursive: true });
        await writeFile(join(out, name, '0', 'd', 'f'), 'half');
        if (old) await utimes(join(out, name), hour, hour);
        return name;
      };
      const stale = await leftover(`.lading-pull.${dead}.0123456789ab.tmp`, true);
      const recent = await leftover(`.lading-pull.${dead}.bbbbbbbbbbbb.tmp`, false);
      const live = await leftover(`.lading-pull.${process.pid}.cccccccccccc.tmp`, true);
      const other = await leftover(`.other.${dead}.dddddddddddd.tmp`, true);
      // A link of that name is removed as a link: what it points at stays.
      await mkdir(join(dir, 'elsewhere'));
      await writeFile(join(dir, 'elsewhere', 'keep'), 'kept');
      const link = `.lading-pull.${dead}.eeeeeeeeeeee.tmp`;
      await symlink(join(dir, 'elsewhere'), join(out, link));
      await run('touch', ['-h', '-d', `@${Math.floor(hour)}`, join(out, link)]);
      await pullFiles(await storeWithLayer('f.txt', Buffer.from('x')), 'v1', { output: out });
      assert.deepEqual((await readdir(out)).sort(), [recent, live, other, 'f.txt'].sort());
      assert.ok(!(await readdir(out)).includes(stale));
      assert.equal(await readFile(join(dir, 'elsewhere', 'keep'), 'utf8'), 'kept');
    }));

  test("a killed pull's staging folder marked as this machine's is removed by the next pull at once", () =>
    inDir(async (dir) => {
      const { spawn } = await import('node:child_process');
      const { hostname } = await import('node:os');
      const gone = spawn(process.execPath, ['-e', '']);
      const dead = gone.pid as number;
      await new Promise((r) => gone.once('exit', r));
      const out = join(dir, 'out');
      const leftover = async (name: string, host: string) => {
        await mkdir(join(out, name, '0', 'd'), { recursive: true });
        await writeFile(join(out, name, '0', 'd', 'f'), 'half');
        await writeFile(join(out, name, '.host'), host);
        return name;
      };
      // The marker names the host, the boot and the PID namespace the process ID belongs to.
      const here = (await processSpace()) as string;
      const [, boot] = here.split('\n');
      const mine = await leftover(`.lading-pull.${dead}.0123456789ab.tmp`, here);
      const elsewhere = await leftover(
        `.lading-pull.${dead}.bbbbbbbbbbbb.tmp`,
        here.replace(hostname(), `${hostname()}-other`),
      );
      // Another container with this host's name (`--network host`): its own PID space.
      const container = await leftover(
        `.lading-pull.${dead}.dddddddddddd.tmp`,
        `${hostname()}\n${boot}\npid:[4026531999]\n`,
      );
      const live = await leftover(`.lading-pull.${process.pid}.cccccccccccc.tmp`, here);
      await pullFiles(await storeWithLayer('f.txt', Buffer.from('x')), 'v1', { output: out });
      assert.deepEqual((await readdir(out)).sort(), [elsewhere, container, live, 'f.txt'].sort());
      assert.ok(!(await readdir(out)).includes(mine));
    }));

  test('a title too long for the file system is refused before its blob is fetched', () =>
    inDir(async (dir) => {
      class Watched extends MemoryStore {
        readonly fetched: string[] = [];
        override fetch(desc: Parameters<MemoryStore['fetch']>[0], o?: Parameters<MemoryStore['fetch']>[1]) {
          this.fetched.push(desc.mediaType);
          return super.fetch(desc, o);
        }
      }
      const cases = [
        { title: `d/${'n'.repeat(256)}`, why: /has a name of 256 bytes; a file name is at most 255 bytes/ },
        {
          title: `${'p'.repeat(200)}/`.repeat(25),
          why: /makes a path of \d+ bytes under .*; a pull writes paths of at most \d+ bytes/,
        },
      ];
      for (const c of cases) {
        const store = new Watched();
        await layered([{ title: c.title, body: 'x' }], store);
        await assert.rejects(
          () => pullFiles(store, 'v1', { output: join(dir, 'out') }),
          (e) => isLadingError(e, 'INVALID_MANIFEST') && c.why.test(e.message) && !e.message.includes('\n'),
        );
        assert.deepEqual(store.fetched, [MediaType.ImageManifest], 'only the manifest was fetched');
      }
      // 255 bytes is a name like any other.
      await pullFiles(await layered([{ title: 'n'.repeat(255), body: 'x' }]), 'v1', { output: join(dir, 'ok') });
      assert.equal(await readFile(join(dir, 'ok', 'n'.repeat(255)), 'utf8'), 'x');
    }));

  test('untitled layers are skipped and reported; the same bytes under two titles are both written', () =>
    inDir(async (dir) => {
      const mem = new MemoryStore();
      const { packManifest } = await import('../copy/index.js');
      const foo1 = await pushBytes(mem, Buffer.from('foo'), MediaType.ImageLayer, { [Annotation.Title]: 'foo1' });
      const foo2 = { ...foo1, annotations: { [Annotation.Title]: 'foo2' } };
      const untitled = await pushBytes(mem, Buffer.from('raw'), MediaType.ImageLayer);
      const m = await packManifest(mem, [foo1, foo2, untitled]);
      await mem.tag(m, 'v1');
      const r = await pullFiles(mem, 'v1', { output: join(dir, 'out') });
      assert.equal(await readFile(join(dir, 'out', 'foo1'), 'utf8'), 'foo');
      assert.equal(await readFile(join(dir, 'out', 'foo2'), 'utf8'), 'foo');
      assert.equal(r.skipped.length, 1);
      assert.equal(r.skipped[0]?.digest, untitled.digest);
    }));
});
