// Bad input and interrupted writes: each failure is a LadingError with a stable code that names
// the file or field, and the archive is left as it was, with no temp files beyond what the next
// open cleans.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createGzip, gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { readAll } from '../src/content/index.js';
import {
  CtfArchive,
  type CtfFormat,
  DefaultMinExtractBytes,
  extractionLimit,
  readArtifactSet,
  withCtfArchive,
} from '../src/ctf/index.js';
import { digestBytes, type ErrorCode, isLadingError } from '../src/oci/index.js';
import { pushArtifact, tempDir } from './support/fixtures.js';

interface Entry {
  name: string;
  content?: string | Buffer;
  type?: 'file' | 'symlink' | 'link' | 'directory' | 'character-device';
  linkname?: string;
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const header = {
      name: e.name,
      mode: 0o644,
      mtime: new Date(0),
      type: e.type ?? 'file',
      linkname: e.linkname ?? '',
    };
    await new Promise<void>((resolve, reject) =>
      pack.entry(header, e.content ?? '', (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const blobContent = Buffer.from('some blob');
const blobName = `blobs/sha256.${digestBytes(blobContent).slice(7)}`;
const goodIndex = `{"schemaVersion":1,"artifacts":[{"repository":"r","tag":"v1","digest":"${digestBytes(blobContent)}"}]}`;

/** Writes a CTF with these entries in the given form; returns its path. */
async function writeCtf(dir: string, format: CtfFormat, entries: Entry[]): Promise<string> {
  if (format === 'directory') {
    const path = join(dir, 'ctf');
    for (const e of entries) {
      await mkdir(join(path, e.name, '..'), { recursive: true });
      await writeFile(join(path, e.name), e.content ?? '');
    }
    return path;
  }
  const tar = await tarOf(entries);
  const path = join(dir, format === 'tar' ? 'ctf.tar' : 'ctf.tgz');
  await writeFile(path, format === 'tar' ? tar : gzipSync(tar));
  return path;
}

async function snapshot(path: string): Promise<string> {
  const names = (await readdir(path, { recursive: true })).sort();
  const hash = createHash('sha256');
  for (const name of names) {
    hash.update(name);
    try {
      hash.update(await readFile(join(path, name)));
    } catch {
      // a folder
    }
  }
  return hash.digest('hex');
}

/** Opens in both modes and expects `code` with `pattern`; the archive and its folder stay as they were. */
async function expectRefused(
  base: string,
  path: string,
  code: ErrorCode,
  pattern: RegExp,
  options: { maxExtractedBytes?: number } = {},
): Promise<void> {
  const temp = join(base, 'temp');
  await mkdir(temp, { recursive: true });
  const before = await snapshot(base);
  for (const mode of ['readonly', 'readwrite'] as const) {
    await assert.rejects(CtfArchive.open(path, { mode, ...options }), (e) => {
      assert.ok(isLadingError(e, code), `${mode}: expected ${code}, got ${(e as Error).message}`);
      assert.match((e as Error).message, pattern);
      assert.ok((e as Error).message.includes(path), `${mode}: the message names the archive`);
      return true;
    });
    await assert.rejects(CtfArchive.open(path, { mode, tempDir: temp, ...options }), (e) => isLadingError(e, code));
  }
  assert.equal(await snapshot(base), before, 'archive unchanged, no temps left');
}

describe('bad artifact-index.json, in every form', () => {
  const cases: [string, string, RegExp][] = [
    ['invalid JSON', '{"schemaVersion":1,"artifacts":[', /artifact-index\.json: not valid JSON/],
    [
      'wrong schemaVersion',
      '{"schemaVersion":2,"artifacts":null}',
      /artifact-index\.json: unsupported schemaVersion 2/,
    ],
    [
      'unknown field',
      '{"schemaVersion":1,"artifacts":[{"repository":"r","tag":"v1","annotations":{}}]}',
      /artifact-index\.json: artifacts\[0\]: unknown field "annotations"/,
    ],
    [
      'bad digest',
      '{"schemaVersion":1,"artifacts":[{"repository":"r","tag":"v1","digest":"sha256:1234"}]}',
      /artifact-index\.json: artifacts\[0\]: digest: invalid digest "sha256:1234"/,
    ],
  ];
  for (const format of ['directory', 'tar', 'tgz'] as const) {
    test(`${format}`, async () => {
      for (const [what, index, pattern] of cases) {
        const t = await tempDir();
        try {
          const path = await writeCtf(t.path, format, [
            { name: 'artifact-index.json', content: index },
            { name: blobName, content: blobContent },
          ]);
          await expectRefused(t.path, path, 'INVALID_ARCHIVE', pattern);
        } catch (error) {
          throw new Error(`${format}, ${what}: ${(error as Error).message}`, { cause: error });
        } finally {
          await t.cleanup();
        }
      }
    });
  }
});

describe('unsafe or broken archives', () => {
  for (const format of ['tar', 'tgz'] as const) {
    test(`${format}: entries that escape, links and devices are refused`, async () => {
      const cases: [Entry, RegExp][] = [
        [{ name: '../evil', content: 'x' }, /"\.\.\/evil" escapes the archive root/],
        [{ name: 'blobs/../../evil', content: 'x' }, /escapes the archive root/],
        [{ name: blobName, type: 'symlink', linkname: '/etc/passwd' }, /is a link; links are not allowed/],
        [{ name: blobName, type: 'link', linkname: 'artifact-index.json' }, /is a link; links are not allowed/],
        [{ name: 'dev', type: 'character-device' }, /is a char(acter)?-device entry/],
      ];
      for (const [entry, pattern] of cases) {
        const t = await tempDir();
        try {
          const path = await writeCtf(t.path, format, [{ name: 'artifact-index.json', content: goodIndex }, entry]);
          await expectRefused(t.path, path, 'INVALID_ARCHIVE', pattern);
        } finally {
          await t.cleanup();
        }
      }
    });
  }

  test('a tar read in place verifies blobs on fetch: content that does not match its name', async () => {
    const t = await tempDir();
    try {
      const path = await writeCtf(t.path, 'tar', [
        { name: 'artifact-index.json', content: goodIndex },
        { name: blobName, content: Buffer.from('some blub') },
      ]);
      const archive = await CtfArchive.open(path);
      const repo = archive.repository('r');
      await assert.rejects(
        readAll(await repo.fetch(await repo.resolve('v1'))),
        (e) => isLadingError(e, 'DIGEST_MISMATCH') && e.message.includes(`${path}: ${blobName}`),
      );
      await archive.close();
    } finally {
      await t.cleanup();
    }
  });

  test('a truncated tgz, a tgz that is not gzip, and archives that are not CTFs', async () => {
    const t = await tempDir();
    try {
      const good = await tarOf([
        { name: 'artifact-index.json', content: goodIndex },
        { name: blobName, content: blobContent },
      ]);
      const truncated = join(t.path, 'truncated.tgz');
      await writeFile(truncated, gzipSync(good).subarray(0, 60));
      await expectRefused(t.path, truncated, 'INVALID_ARCHIVE', /not a valid gzip stream|not a valid tar archive/);
      const notGzip = join(t.path, 'plain.tgz');
      await writeFile(notGzip, good);
      await expectRefused(t.path, notGzip, 'INVALID_ARCHIVE', /not a valid gzip stream/);
      const other = join(t.path, 'other.tar');
      await writeFile(other, await tarOf([{ name: 'README', content: 'hi' }]));
      await expectRefused(t.path, other, 'INVALID_ARCHIVE', /not a CTF/);
      const folder = join(t.path, 'folder');
      await mkdir(folder);
      await writeFile(join(folder, 'notes.txt'), 'mine');
      await expectRefused(t.path, folder, 'INVALID_ARCHIVE', /not a CTF/);
      await assert.rejects(CtfArchive.open(folder, { mode: 'create' }), (e) => isLadingError(e, 'INVALID_ARCHIVE'));
      assert.deepEqual(await readdir(folder), ['notes.txt']);
      await mkdir(join(t.path, 'dir.tgz'));
      await assert.rejects(CtfArchive.open(join(t.path, 'dir.tgz')), (e) => isLadingError(e, 'INVALID_ARCHIVE'));
      await assert.rejects(CtfArchive.open(join(folder, 'notes.txt')), (e) => isLadingError(e, 'INVALID_ARCHIVE'));
      await assert.rejects(CtfArchive.open(join(t.path, 'missing')), (e) => isLadingError(e, 'NOT_FOUND'));
      await assert.rejects(CtfArchive.open(join(t.path, 'missing.tgz'), { mode: 'readwrite' }), (e) =>
        isLadingError(e, 'NOT_FOUND'),
      );
      await assert.rejects(CtfArchive.open(folder, { mode: 'write' as 'readwrite' }), (e) =>
        isLadingError(e, 'INVALID_ARGUMENT'),
      );
    } finally {
      await t.cleanup();
    }
  });
});

describe('gzip bombs', () => {
  /** 20 MB of zeros as one blob: about 20 KB of tgz. Streamed, so the test itself stays small. */
  async function writeBomb(path: string): Promise<void> {
    const size = 20 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024);
    const hash = createHash('sha256');
    for (let i = 0; i < size / chunk.length; i++) hash.update(chunk);
    const digest = `sha256:${hash.digest('hex')}`;
    const pack = tarStream.pack();
    const written = pipeline(pack, createGzip(), createWriteStream(path));
    const index = `{"schemaVersion":1,"artifacts":[{"repository":"r","tag":"v1","digest":"${digest}"}]}`;
    pack.entry({ name: 'artifact-index.json', mtime: new Date(0) }, index);
    const sink = pack.entry({ name: `blobs/sha256.${digest.slice(7)}`, size, mtime: new Date(0) });
    for (let i = 0; i < size / chunk.length; i++) {
      if (!sink.write(chunk)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    }
    sink.end(undefined);
    pack.finalize();
    await written;
  }

  test('a tgz that expands past the bound is refused before it is unpacked', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'bomb.tgz');
      await writeBomb(path);
      const compressed = (await readFile(path)).length;
      assert.ok(compressed < 100_000, `the bomb is small (${compressed} bytes)`);
      await expectRefused(t.path, path, 'SIZE_EXCEEDS_LIMIT', /possible gzip bomb/, { maxExtractedBytes: 1024 * 1024 });
      // the default bound: 100 times the compressed size, but never below 1 GiB
      assert.equal(extractionLimit(compressed), DefaultMinExtractBytes);
      assert.equal(extractionLimit(50 * 1024 * 1024 * 1024), 100 * 50 * 1024 * 1024 * 1024);
      const ok = await CtfArchive.open(path);
      assert.equal((await ok.repository('r').resolve('v1')).size, 20 * 1024 * 1024);
      await ok.close();
    } finally {
      await t.cleanup();
    }
  });

  test('an artifact set stream that expands past the bound is refused', async () => {
    const t = await tempDir();
    try {
      const path = join(t.path, 'bomb.tgz');
      await writeBomb(path);
      const temp = join(t.path, 'temp');
      await mkdir(temp);
      await assert.rejects(
        readArtifactSet(Readable.from([await readFile(path)]), {
          maxExtractedBytes: 1024 * 1024,
          tempDir: temp,
          where: 'set.tgz',
        }),
        (e) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /set\.tgz/.test(e.message),
      );
      assert.deepEqual(await readdir(temp), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe('interrupted writes', () => {
  for (const format of ['tgz', 'tar'] as const) {
    test(`${format}: a commit that fails midway leaves the archive as it was, and no temps`, async () => {
      const t = await tempDir();
      try {
        const path = join(t.path, `ctf.${format}`);
        await withCtfArchive(path, { mode: 'create' }, async (a) => {
          await pushArtifact(a.repository('r'), { one: '1', two: '2' });
        });
        const original = await readFile(path);
        const archive = await CtfArchive.open(path, { mode: 'readwrite' });
        await pushArtifact(archive.repository('r'), { three: '3', four: '4' });
        let seen = 0;
        await assert.rejects(
          archive.close({
            onEntry: () => {
              if (++seen === 3) throw new Error('disk unplugged');
            },
          }),
          /disk unplugged/,
        );
        assert.deepEqual(await readFile(path), original);
        assert.deepEqual(await readdir(t.path), [`ctf.${format}`]);
      } finally {
        await t.cleanup();
      }
    });

    test(`${format}: a process killed during its commit leaves the archive as it was; the next open cleans up`, async () => {
      const t = await tempDir();
      try {
        const path = join(t.path, `ctf.${format}`);
        await withCtfArchive(path, { mode: 'create' }, async (a) => {
          await pushArtifact(a.repository('r'), { one: '1' });
        });
        const original = await readFile(path);
        const script = join(t.path, 'writer.mts');
        const ctfModule = fileURLToPath(new URL('../src/ctf/index.ts', import.meta.url));
        const fixtures = fileURLToPath(new URL('./support/fixtures.ts', import.meta.url));
        await writeFile(
          script,
          `import { CtfArchive } from ${JSON.stringify(ctfModule)};
import { pushArtifact } from ${JSON.stringify(fixtures)};
const archive = await CtfArchive.open(process.argv[2], { mode: 'readwrite' });
await pushArtifact(archive.repository('r'), { two: '2', three: 'x'.repeat(100000) });
let seen = 0;
await archive.close({
  onEntry: async () => {
    if (++seen < 3) return;
    process.stdout.write('committing\\n');
    // Held here until killed (a pending promise alone would let the process end with code 13).
    setInterval(() => {}, 1000);
    await new Promise(() => {});
  },
});
`,
        );
        const child = spawn(process.execPath, ['--import', 'tsx', script, path], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on('exit', (_code, signal) => resolve(signal)),
        );
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            if (d.toString().includes('committing')) resolve();
          });
          child.on('exit', () => reject(new Error('the writer ended before its commit')));
        });
        child.kill('SIGKILL');
        assert.equal(await exited, 'SIGKILL');
        assert.deepEqual(await readFile(path), original);
        const left = (await readdir(t.path)).filter((n) => n.startsWith('.'));
        assert.ok(left.length > 0, 'the killed commit left its temps');
        // the next writer sweeps what dead processes left behind
        const next = await CtfArchive.open(path, { mode: 'readwrite' });
        assert.deepEqual(
          (await readdir(t.path)).filter((n) => n.startsWith('.') && !n.includes(`.${process.pid}.`)),
          [],
        );
        assert.equal((await next.repository('r').artifacts()).length, 1);
        await next.close();
        assert.deepEqual((await readdir(t.path)).sort(), [`ctf.${format}`, 'writer.mts']);
      } finally {
        await t.cleanup();
      }
    });
  }
});
