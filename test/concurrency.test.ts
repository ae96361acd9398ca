import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  type Content,
  fetchAll,
  MemoryStore,
  type Op,
  readAll,
  type Target,
  toReadable,
} from '../src/content/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { backupRepository, OciLayout } from '../src/layout/index.js';
import { type Descriptor, digestBytes, isLadingError } from '../src/oci/index.js';
import { ComponentVersionRepository } from '../src/ocm/repository/index.js';
import { assertOneLineError, type CliResult, cliArgs, lading } from './support/cli.js';
import { componentDescriptor, pushArtifact, withDir } from './support/fixtures.js';

// Two writers of one store, one of them another process. The races are made to happen every time:
// the other writer's step is run at the exact point between this writer's check and its write.

/** Every tag of the layout at `path` names a manifest that is there and reads back whole. */
async function assertEveryTagReadable(path: string): Promise<string[]> {
  const layout = await OciLayout.open(path);
  const tags: string[] = [];
  for await (const page of layout.tags()) tags.push(...page);
  for (const tag of tags) await fetchAll(layout, await layout.resolve(tag));
  for (const manifest of layout.manifests()) await fetchAll(layout, manifest);
  return tags;
}

/**
 * `layout` running `meanwhile` once, right after it first finds `digest` there (its first look at
 * the file, whichever check makes it: exists(), or a write's own); resolves to whether it ran.
 */
function deleteAfterCheck(layout: OciLayout, digest: string, meanwhile: () => Promise<void>): () => boolean {
  const files = layout.files;
  const stat = files.stat.bind(files);
  const name = digest.slice('sha256:'.length);
  let done = false;
  files.stat = async (path: string) => {
    const entry = await stat(path);
    if (entry && !done && path.endsWith(name)) {
      done = true;
      await meanwhile();
    }
    return entry;
  };
  return () => done;
}

describe('an OCI layout written by two processes', () => {
  test('a manifest deleted by another writer between the check and the tag is stored again, not named missing', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'layout');
      const a = await OciLayout.open(path, { mode: 'create' });
      const { manifest } = await pushArtifact(a, { 'a.txt': 'a' });
      const bytes = await fetchAll(a, manifest);
      const b = await OciLayout.open(path, { mode: 'readwrite' });
      const ran = deleteAfterCheck(a, manifest.digest, () => b.delete(manifest));
      await a.pushReference(manifest, bytes, 'new');
      assert.ok(ran(), 'the other writer deleted it between the check and the update');
      assert.deepEqual(await assertEveryTagReadable(path), ['new']);
    });
  });

  test('a tag of a manifest another writer deleted meanwhile fails NOT_FOUND and records nothing', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'layout');
      const a = await OciLayout.open(path, { mode: 'create' });
      const { manifest } = await pushArtifact(a, { 'a.txt': 'a' });
      await a.tag(manifest, 'keep');
      const b = await OciLayout.open(path, { mode: 'readwrite' });
      const ran = deleteAfterCheck(a, manifest.digest, () => b.delete(manifest));
      await assert.rejects(a.tag(manifest, 'new'), (e) => isLadingError(e, 'NOT_FOUND'));
      assert.ok(ran(), 'the other writer deleted it between the check and the update');
      assert.deepEqual(await assertEveryTagReadable(path), []);
    });
  });

  test("a killed writer's staged blobs are removed when the layout is next opened for writing; a live one's stay", async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'layout');
      await OciLayout.open(path, { mode: 'create' });
      // A process id that no longer runs: a child that has exited.
      const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
      const hex = 'ab'.repeat(32);
      const killed = `.${hex}.${dead}.0123456789ab.tmp`;
      const live = `.${hex}.${process.pid}.0123456789ab.tmp`;
      await mkdir(join(path, 'ingest'), { recursive: true });
      await writeFile(join(path, 'ingest', killed), Buffer.alloc(1024));
      await writeFile(join(path, 'ingest', live), Buffer.alloc(1024));
      await OciLayout.open(path);
      assert.deepEqual(
        (await readdir(join(path, 'ingest'))).sort(),
        [live, killed].sort(),
        'read-only opens touch nothing',
      );
      await OciLayout.open(path, { mode: 'readwrite' });
      assert.deepEqual(await readdir(join(path, 'ingest')), [live]);
    });
  });
});

/**
 * `target` as another process racing it sees it: each push is preceded by the same push through
 * `other` (another handle on the same store), as if that writer stored the content between this
 * one's exists() and its push.
 */
function racedBy(target: Target, other: Target): Target {
  return new Proxy(target, {
    get(t, key) {
      if (key === 'push') {
        return async (desc: Descriptor, content: Content, o?: Op) => {
          const bytes = content instanceof Uint8Array ? content : await readAll(toReadable(content), 64 << 20);
          if (!(await other.exists(desc))) await other.push(desc, bytes);
          return t.push(desc, bytes, o);
        };
      }
      const value = Reflect.get(t, key, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
}

describe('a CTF written by two processes', () => {
  test('content another writer stores between the check and the push is taken as stored (add cv of one version twice)', async () => {
    await withDir(async (dir) => {
      const path = join(dir, 'ctf');
      const a = await CtfArchive.open(path, { mode: 'create' });
      const b = await CtfArchive.open(path, { mode: 'readwrite' });
      const repo = new ComponentVersionRepository({
        targetFor: async (name) => racedBy(a.repository(name), b.repository(name)),
      });
      const name = 'acme.org/raced';
      const text = Buffer.from('a local blob\n');
      const local = await repo.addLocalBlob(name, {
        mediaType: 'text/plain',
        digest: digestBytes(text),
        size: text.length,
        open: () => Readable.from([text]),
      });
      const desc = componentDescriptor(name, '1.0.0');
      desc.component.resources = [
        {
          name: 'text',
          version: '1.0.0',
          type: 'plainText',
          relation: 'local',
          access: local.access,
          digest: local.digest,
        },
      ];
      const { result } = await repo.addComponentVersion(desc, { conflictPolicy: 'skip' });
      assert.equal(result, 'added');
      await a.close();
      await b.close();
      const check = await CtfArchive.open(path);
      const stored = new ComponentVersionRepository(check.resolver());
      const read = await stored.getComponentVersion(name, '1.0.0');
      assert.equal(read.descriptor.component.version, '1.0.0');
    });
  });
});

/**
 * Runs lading with files limited to `kib` KiB (`ulimit -f`): a write past it fails with EFBIG, as a
 * write to a full disk fails with ENOSPC, without a small file system to mount (which needs root).
 */
function ladingWithFileLimit(kib: number, args: string[], cwd: string): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      'bash',
      ['-c', `ulimit -f ${kib} && exec "$0" "$@"`, process.execPath, ...cliArgs(args)],
      { cwd, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

describe('writes that the file system refuses', () => {
  test('a pull that runs out of room fails in one line naming the file, and leaves the output folder as it was', async () => {
    await withDir(async (dir) => {
      const layout = await OciLayout.open(join(dir, 'layout'), { mode: 'create' });
      const { manifest } = await pushArtifact(layout, { 'big.bin': Buffer.alloc(3 << 20, 1) });
      await layout.tag(manifest, 'v1');
      const out = join(dir, 'out');
      await mkdir(out);
      await writeFile(join(out, 'mine.txt'), 'mine');
      const r = await ladingWithFileLimit(1024, ['pull', '--oci-layout', `${join(dir, 'layout')}:v1`, '-o', out], dir);
      assertOneLineError(
        r,
        new RegExp(`${join(out, 'big.bin').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write: EFBIG`),
      );
      assert.deepEqual(await readdir(out), ['mine.txt']);
    });
  });

  test('a layout path through a file fails in one line naming the path, for reading and for writing', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, 'file'), 'mine');
      const path = join(dir, 'file', 'layout');
      for (const mode of ['readonly', 'create'] as const) {
        await assert.rejects(
          OciLayout.open(path, { mode }),
          (e) => isLadingError(e, 'IO_ERROR') && e.message.startsWith(`${path}: `),
        );
      }
      const r = await lading(['cp', '--from-oci-layout', '--to-oci-layout', `${path}:v1`, `${dir}/to:v1`]);
      assertOneLineError(r, /cannot open the OCI layout: ENOTDIR/);
      assert.equal(await readFile(join(dir, 'file'), 'utf8'), 'mine');
    });
  });
});

describe('backups into one tar', () => {
  test('a second backup into a tar being written fails at once naming it; the first completes', async () => {
    await withDir(async (dir) => {
      const src = new MemoryStore();
      const { manifest } = await pushArtifact(src, { 'a.txt': 'a' });
      await src.tag(manifest, 'v1');
      const out = join(dir, 'backup.tar');
      let second: Promise<unknown> | undefined;
      const first = await backupRepository(src, out, {
        // The other backup starts while this one copies into the staging folder they would share.
        preCopy: async () => {
          second ??= backupRepository(src, out).then(
            () => 'succeeded',
            (e: unknown) => e,
          );
          await second;
        },
      });
      assert.deepEqual(
        first.tags.map((t) => t.tag),
        ['v1'],
      );
      const error = await second;
      assert.ok(isLadingError(error, 'IO_ERROR'), String(error));
      assert.match((error as Error).message, /backup\.tar: another backup into it is running/);
      const tar = await OciLayout.open(out);
      await fetchAll(tar, await tar.resolve('v1'));
      assert.deepEqual(await readdir(dir), ['backup.tar']);
    });
  });
});
