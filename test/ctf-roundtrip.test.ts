// Writing CTFs with lading (folder, .tar, .tgz) and reading them back; what GNU tar sees of
// them; reproducible bytes; write-back only on change; two processes writing one CTF folder.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmod, lstat, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fetchAll, MemoryStore, readAll } from '../src/content/index.js';
import { copy } from '../src/copy/index.js';
import { CtfArchive, type CtfFormat, encodeArtifactIndex, withCtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { type Descriptor, isLadingError, MediaType } from '../src/oci/index.js';
import { pushArtifact, pushImage, pushIndex, tempDir } from './support/fixtures.js';

const repoName = 'component-descriptors/acme.org/hello';
const extension: Record<CtfFormat, string> = { directory: '', tar: '.tar', tgz: '.tgz' };

async function source() {
  const mem = new MemoryStore();
  const image = await pushImage(mem, { 'hello.txt': 'hello\n' });
  await mem.tag(image.manifest, '1.0.0');
  const artifact = await pushArtifact(mem, { 'readme.md': '# hello', 'data.bin': new Uint8Array(300_000).fill(7) });
  const index = await pushIndex(mem, [image.manifest, artifact.manifest]);
  await mem.tag(index, '2.0.0');
  return { mem, image, artifact, index };
}

async function allTags(target: { tags(): AsyncIterable<string[]> }): Promise<string[]> {
  const out: string[] = [];
  for await (const page of target.tags()) out.push(...page);
  return out;
}

function gnuList(path: string, gzip: boolean): string[] {
  return execFileSync('tar', ['--utc', gzip ? '-tzvf' : '-tvf', path], { encoding: 'utf8' })
    .trim()
    .split('\n');
}

describe('CTF round trip', () => {
  for (const format of ['directory', 'tar', 'tgz'] as const) {
    test(`${format}: copy in, close, re-open, read back everything`, async () => {
      const t = await tempDir();
      try {
        const src = await source();
        const path = join(t.path, `ctf${extension[format]}`);
        const archive = await CtfArchive.open(path, { mode: 'create' });
        assert.equal(archive.format, format);
        const repo = archive.repository(repoName);
        await copy(src.mem, '1.0.0', repo, '1.0.0');
        await copy(src.mem, '2.0.0', repo, '2.0.0');
        await archive.close();
        if (format !== 'directory') {
          // nothing but the archive is left beside it
          assert.deepEqual(await readdir(t.path), [`ctf${extension[format]}`]);
        }

        const back = await CtfArchive.open(path);
        try {
          assert.deepEqual(await back.repositories(), [repoName]);
          const r = back.repository(repoName);
          assert.deepEqual(await allTags(r), ['1.0.0', '2.0.0']);
          assert.equal((await r.resolve('1.0.0')).digest, src.image.manifest.digest);
          const root = await r.resolve('2.0.0');
          assert.deepEqual(root, { mediaType: MediaType.ImageIndex, digest: src.index.digest, size: src.index.size });
          // every blob comes back verified, byte for byte
          const expected: Descriptor[] = [
            src.image.manifest,
            src.image.config,
            src.image.layer,
            src.artifact.manifest,
            ...src.artifact.layers,
            src.index,
          ];
          for (const desc of expected) {
            const bytes = await readAll(await r.fetch(desc), 1 << 20);
            assert.deepEqual(bytes, await readAll(await src.mem.fetch(desc), 1 << 20));
          }
          assert.equal((await back.blobs()).length, expected.length + 1); // + the artifact's {} config
          // and the whole graph copies out again, to an OCI layout
          const layout = await OciLayout.open(join(t.path, 'layout'), { mode: 'create' });
          await copy(r, '2.0.0', layout, 'v2');
          assert.equal((await layout.resolve('v2')).digest, src.index.digest);
        } finally {
          await back.close();
        }
      } finally {
        await t.cleanup();
      }
    });
  }

  test('artifact-index.json is exactly what upstream writes for the same pushes', async () => {
    const t = await tempDir();
    try {
      const mem = new MemoryStore();
      const { manifest } = await pushImage(mem);
      await mem.tag(manifest, '1.0.0');
      const dir = join(t.path, 'ctf');
      await withCtfArchive(dir, { mode: 'create' }, (archive) =>
        copy(mem, '1.0.0', archive.repository(repoName), '1.0.0'),
      );
      const expected = encodeArtifactIndex({
        schemaVersion: 1,
        artifacts: [
          { repository: repoName, tag: '1.0.0', digest: manifest.digest, mediaType: MediaType.ImageManifest },
        ],
      });
      assert.deepEqual(await readFile(join(dir, 'artifact-index.json')), expected);
      assert.equal(
        expected.toString(),
        `{"schemaVersion":1,"artifacts":[{"repository":"${repoName}","tag":"1.0.0","digest":"${manifest.digest}","mediaType":"application/vnd.oci.image.manifest.v1+json"}]}`,
      );
    } finally {
      await t.cleanup();
    }
  });

  test('GNU tar lists artifact-index.json first, then the blobs in order: 0644, mtime 0, no folders', async () => {
    const t = await tempDir();
    try {
      const src = await source();
      for (const format of ['tar', 'tgz'] as const) {
        const path = join(t.path, `ctf${extension[format]}`);
        await withCtfArchive(path, { mode: 'create' }, (a) => copy(src.mem, '2.0.0', a.repository(repoName), '2.0.0'));
        const lines = gnuList(path, format === 'tgz');
        assert.match(lines[0] as string, /^-rw-r--r-- 0\/0 +\d+ 1970-01-01 00:00 artifact-index\.json$/);
        const names = lines.slice(1).map((l) => l.split(/\s+/).at(-1) as string);
        assert.equal(names.length, 8);
        assert.deepEqual(names, [...names].sort());
        for (const line of lines.slice(1)) {
          assert.match(line, /^-rw-r--r-- 0\/0 +\d+ 1970-01-01 00:00 blobs\/sha256\.[0-9a-f]{64}$/);
        }
        // and GNU tar extracts it into a folder CTF that lading reads
        const out = join(t.path, `extracted-${format}`);
        execFileSync('mkdir', [out]);
        execFileSync('tar', [format === 'tgz' ? '-xzf' : '-xf', path, '-C', out]);
        const archive = await CtfArchive.open(out);
        assert.equal((await archive.repository(repoName).resolve('2.0.0')).digest, src.index.digest);
        await archive.close();
      }
    } finally {
      await t.cleanup();
    }
  });

  test('the same content written twice gives byte-identical .tar and .tgz files', async () => {
    const t = await tempDir();
    try {
      for (const format of ['tar', 'tgz'] as const) {
        const files: Buffer[] = [];
        for (const n of [1, 2]) {
          const mem = new MemoryStore();
          const { manifest } = await pushImage(mem);
          await mem.tag(manifest, '1.0.0');
          const path = join(t.path, `ctf-${n}${extension[format]}`);
          await withCtfArchive(path, { mode: 'create' }, (a) => copy(mem, '1.0.0', a.repository(repoName), '1.0.0'));
          files.push(await readFile(path));
        }
        assert.ok((files[0] as Buffer).equals(files[1] as Buffer), `${format} files differ`);
      }
    } finally {
      await t.cleanup();
    }
  });

  test('a discarded new CTF leaves nothing: not its folders, nor its files in a folder that was empty', async () => {
    const t = await tempDir();
    try {
      const src = await source();
      const discard = async (path: string) => {
        const archive = await CtfArchive.open(path, { mode: 'create' });
        await copy(src.mem, '1.0.0', archive.repository(repoName), '1.0.0');
        await archive.close({ commit: false });
      };
      await discard(join(t.path, 'new', 'sub', 'ctf'));
      await discard(join(t.path, 'new2', 'sub', 'ctf.tgz'));
      await discard(join(t.path, 'new3', 'ctf.tar'));
      await mkdir(join(t.path, 'empty'));
      await discard(join(t.path, 'empty'));
      assert.deepEqual(await readdir(t.path), ['empty']);
      assert.deepEqual(await readdir(join(t.path, 'empty')), []);
      // Kept, the same are all there.
      await withCtfArchive(join(t.path, 'kept', 'sub', 'ctf.tgz'), { mode: 'create' }, (a) =>
        copy(src.mem, '1.0.0', a.repository(repoName), '1.0.0'),
      );
      assert.deepEqual(await readdir(join(t.path, 'kept', 'sub')), ['ctf.tgz']);
    } finally {
      await t.cleanup();
    }
  });

  test('a private tar CTF is never readable by others while it is unpacked or written back', async () => {
    const t = await tempDir();
    try {
      const src = await source();
      const path = join(t.path, 'private.tar');
      await withCtfArchive(path, { mode: 'create' }, (a) => copy(src.mem, '1.0.0', a.repository(repoName), '1.0.0'));
      await chmod(path, 0o600);
      const seen: string[] = [];
      const archive = await CtfArchive.open(path, { mode: 'readwrite' });
      await copy(src.mem, '2.0.0', archive.repository(repoName), '2.0.0');
      await archive.close({
        onEntry: async () => {
          for (const name of await readdir(t.path)) {
            if (name === 'private.tar' || !name.includes('private.tar') || name.endsWith('.lock')) continue;
            seen.push(
              `${name.endsWith('.tmp') ? 'temp' : name} ${((await lstat(join(t.path, name))).mode & 0o777).toString(8)}`,
            );
          }
        },
      });
      assert.ok(seen.length > 0, 'the unpacked folder and the temp file were looked at');
      for (const entry of seen) assert.match(entry, / (600|700)$/, entry);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
    } finally {
      await t.cleanup();
    }
  });

  test('a CTF written back keeps its permissions, and one reached through a link stays a link', async () => {
    const t = await tempDir();
    try {
      const src = await source();
      for (const format of ['tar', 'tgz', 'directory'] as const) {
        const real = join(t.path, `real-${format}${extension[format]}`);
        await withCtfArchive(real, { mode: 'create', ...(format === 'directory' ? {} : { format }) }, (a) =>
          copy(src.mem, '1.0.0', a.repository(repoName), '1.0.0'),
        );
        const file = format === 'directory' ? join(real, 'artifact-index.json') : real;
        await chmod(file, 0o600);
        const link = join(t.path, `link-${format}${extension[format]}`);
        await symlink(real, link);
        await withCtfArchive(link, { mode: 'readwrite' }, (a) =>
          copy(src.mem, '2.0.0', a.repository(repoName), '2.0.0'),
        );
        assert.equal((await lstat(link)).isSymbolicLink(), true, `${format}: the link stays a link`);
        assert.equal((await stat(file)).mode & 0o777, 0o600, `${format}: the archive stays private`);
        const check = await CtfArchive.open(real);
        assert.deepEqual(await allTags(check.repository(repoName)), ['1.0.0', '2.0.0']);
        await check.close();
      }
    } finally {
      await t.cleanup();
    }
  });

  test('a tar or tgz is written back only when it changed, and not at all on commit: false', async () => {
    const t = await tempDir();
    try {
      const src = await source();
      for (const format of ['tar', 'tgz'] as const) {
        const path = join(t.path, `ctf${extension[format]}`);
        await withCtfArchive(path, { mode: 'create' }, (a) => copy(src.mem, '1.0.0', a.repository(repoName), '1.0.0'));
        const original = await readFile(path);
        const before = await stat(path);

        const untouched = await CtfArchive.open(path, { mode: 'readwrite' });
        await untouched.repository(repoName).resolve('1.0.0');
        await untouched.close();
        const after = await stat(path);
        assert.equal(after.ino, before.ino, 'not rewritten when nothing changed');
        assert.equal(after.mtimeMs, before.mtimeMs);

        const discarded = await CtfArchive.open(path, { mode: 'readwrite' });
        await copy(src.mem, '2.0.0', discarded.repository(repoName), '2.0.0');
        await discarded.close({ commit: false });
        assert.deepEqual(await readFile(path), original);

        await assert.rejects(
          withCtfArchive(path, { mode: 'readwrite' }, async (a) => {
            await copy(src.mem, '2.0.0', a.repository(repoName), '2.0.0');
            throw new Error('the command failed');
          }),
          /the command failed/,
        );
        assert.deepEqual(await readFile(path), original);

        await withCtfArchive(path, { mode: 'readwrite' }, (a) =>
          copy(src.mem, '2.0.0', a.repository(repoName), '2.0.0'),
        );
        const changed = await CtfArchive.open(path);
        assert.deepEqual(await allTags(changed.repository(repoName)), ['1.0.0', '2.0.0']);
        await changed.close();
        assert.deepEqual(await readdir(t.path).then((n) => n.filter((x) => x.startsWith('.'))), []);
      }
    } finally {
      await t.cleanup();
    }
  });

  test('a folder CTF keeps working when opened read-write again (create on an existing CTF too)', async () => {
    const t = await tempDir();
    try {
      const src = await source();
      const dir = join(t.path, 'ctf');
      await withCtfArchive(dir, { mode: 'create' }, (a) => copy(src.mem, '1.0.0', a.repository(repoName), '1.0.0'));
      await withCtfArchive(dir, { mode: 'create' }, (a) => copy(src.mem, '2.0.0', a.repository('other/repo'), 'v2'));
      await withCtfArchive(dir, { mode: 'readwrite' }, async (a) => {
        const r = a.repository(repoName);
        await r.tag(await r.resolve('1.0.0'), 'latest');
      });
      const archive = await CtfArchive.open(dir);
      assert.deepEqual(await archive.repositories(), [repoName, 'other/repo'].sort());
      assert.deepEqual(await allTags(archive.repository(repoName)), ['1.0.0', 'latest']);
      const manifest = await fetchAll(
        archive.repository('other/repo'),
        await archive.repository('other/repo').resolve('v2'),
      );
      assert.equal(JSON.parse(manifest.toString()).manifests.length, 2);
      await archive.close();
    } finally {
      await t.cleanup();
    }
  });
});

describe('concurrent writers', () => {
  test('two processes writing one CTF folder lose nothing', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'shared');
      await (await CtfArchive.open(path, { mode: 'create' })).close();
      const script = join(t.path, 'writer.mts');
      const ctfModule = fileURLToPath(new URL('../src/ctf/index.ts', import.meta.url));
      const fixtures = fileURLToPath(new URL('./support/fixtures.ts', import.meta.url));
      await writeFile(
        script,
        `import { CtfArchive } from ${JSON.stringify(ctfModule)};
import { pushArtifact } from ${JSON.stringify(fixtures)};
const [path, who] = process.argv.slice(2);
const archive = await CtfArchive.open(path, { mode: 'readwrite' });
for (let i = 0; i < 15; i++) {
  const repo = archive.repository(i % 2 === 0 ? 'shared/repo' : 'repo/' + who);
  const { manifest } = await pushArtifact(repo, { [who + i]: who + ' ' + i });
  await repo.tag(manifest, who + '-' + i);
}
await archive.close();
`,
      );
      const run = (who: string) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script, path, who], {
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          child.on('error', reject);
          child.on('exit', (code) => resolve(code ?? -1));
        });
      assert.deepEqual(await Promise.all([run('a'), run('b')]), [0, 0]);
      const archive = await CtfArchive.open(path);
      assert.deepEqual(await archive.repositories(), ['repo/a', 'repo/b', 'shared/repo']);
      let count = 0;
      for (const name of await archive.repositories()) {
        const repo = archive.repository(name);
        for (const tag of await allTags(repo)) {
          await fetchAll(repo, await repo.resolve(tag));
          count++;
        }
      }
      assert.equal(count, 30);
      assert.equal((await archive.artifacts()).length, 30);
      await archive.close();
      assert.deepEqual((await readdir(path)).sort(), ['artifact-index.json', 'blobs']);
    } finally {
      await t.cleanup();
    }
  });

  test('writers creating one new CTF folder at the same moment all open it', async () => {
    const t = await tempDir();
    try {
      for (let round = 0; round < 20; round++) {
        const path = join(t.path, `new-${round}`);
        const opened = await Promise.allSettled(
          Array.from({ length: 8 }, () => CtfArchive.open(path, { mode: 'create' })),
        );
        const refused = opened.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
        assert.deepEqual(refused, [], `round ${round}`);
        for (const r of opened) if (r.status === 'fulfilled') await r.value.close();
        assert.deepEqual((await readdir(path)).sort(), ['artifact-index.json', 'blobs']);
      }
    } finally {
      await t.cleanup();
    }
  });

  test('a tar rewritten by someone else meanwhile is not overwritten', async () => {
    const t = await tempDir();
    try {
      const src = await source();
      const path = join(t.path, 'ctf.tar');
      await withCtfArchive(path, { mode: 'create' }, (a) => copy(src.mem, '1.0.0', a.repository(repoName), '1.0.0'));
      const mine = await CtfArchive.open(path, { mode: 'readwrite' });
      await withCtfArchive(path, { mode: 'readwrite' }, (a) => copy(src.mem, '2.0.0', a.repository('theirs'), 'v2'));
      const theirs = await readFile(path);
      await copy(src.mem, '2.0.0', mine.repository('mine'), 'v2');
      await assert.rejects(
        mine.close(),
        (e) => isLadingError(e, 'IO_ERROR') && /changed by another process/.test(e.message),
      );
      assert.deepEqual(await readFile(path), theirs);
      assert.deepEqual(await readdir(t.path), ['ctf.tar']);
    } finally {
      await t.cleanup();
    }
  });
});
