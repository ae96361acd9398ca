import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { OciLayout } from '../src/layout/index.js';
import { isLadingError } from '../src/oci/index.js';
import { extractResourceTar, unpackingFor } from '../src/ocm/resource-extraction.js';
import { startCli } from './reliability-support.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { lessUmask, overwriteStored, pushImage, withDir } from './support/fixtures.js';
import { HostileRegistry, sha256 } from './support/hostile-registry.js';
import { loadPeers } from './support/peers.mjs';
import { ocmVectors } from './support/vectors.js';

const run = promisify(execFile);
const reg = loadPeers().plain.host;
let counter = 0;

type Entry = {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'fifo';
  linkname?: string;
  body?: string;
  mode?: number;
};

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of entries) {
    p.entry(
      {
        name: e.name,
        type: e.type ?? 'file',
        ...(e.linkname ? { linkname: e.linkname } : {}),
        ...(e.mode ? { mode: e.mode } : {}),
      },
      e.type && e.type !== 'file' ? '' : (e.body ?? ''),
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

const tree: Entry[] = [
  { name: 'app/', type: 'directory' },
  { name: 'app/run.sh', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
  { name: 'app/data/readme.txt', body: 'read me\n' },
  { name: 'app/current', type: 'symlink', linkname: 'data/readme.txt' },
  { name: 'app/same.txt', type: 'link', linkname: 'app/data/readme.txt' },
];

/** Where an absolute entry name would land if it were obeyed (in the OS temp folder, per run). */
const escapedTo = join(tmpdir(), `lading-escaped-${process.pid}.txt`);

/** Hostile archives: each must fail in one line, leaving nothing in the output folder's parent nor outside it. */
const hostile: [string, Entry[], RegExp][] = [
  ['dotdot', [{ name: '../escaped.txt', body: 'x' }], /escapes the archive root/],
  ['nested-dotdot', [{ name: 'a/../../escaped.txt', body: 'x' }], /escapes the archive root/],
  ['absolute', [{ name: escapedTo, body: 'x' }], /is an absolute path/],
  ['link-out', [{ name: 'out', type: 'symlink', linkname: '../../escaped' }], /symlink/],
  ['link-absolute', [{ name: 'out', type: 'symlink', linkname: '/etc' }], /symlink/],
  ['hardlink-out', [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], /absolute path/],
  ['hardlink-dotdot', [{ name: 'pw', type: 'link', linkname: '../escaped.txt' }], /escapes the archive root/],
  [
    'file-through-link',
    [
      { name: 'sub/', type: 'directory' },
      { name: 'via', type: 'symlink', linkname: 'sub' },
      { name: 'via/x.txt', body: 'x' },
    ],
    /passes through the symlink "via"/,
  ],
  ['device', [{ name: 'null', type: 'character-device' }], /character-device; devices, fifos/],
  ['fifo', [{ name: 'pipe', type: 'fifo' }], /fifo; devices, fifos/],
  ['truncated', [], /not a valid tar archive|unexpected end/i],
];

/** One component version in the registry with every kind of resource these tests download. */
async function setUp(dir: string): Promise<string> {
  const tarBytes = await tarOf(tree);
  await writeFile(join(dir, 'tree.tar'), tarBytes);
  await writeFile(join(dir, 'tree.tgz'), gzipSync(tarBytes));
  await writeFile(join(dir, 'notes.txt'), 'plain notes\n');
  await writeFile(join(dir, 'packed.gz'), gzipSync('packed text\n'));
  const layout = await OciLayout.open(join(dir, 'layout'), { mode: 'create' });
  await layout.tag((await pushImage(layout, { 'app.txt': 'from the image\n' })).manifest, '1.0.0');
  const resources = [
    ['tree', 'tree.tar', 'application/x-tar'],
    ['tree-gz', 'tree.tgz', 'application/tar+gzip'],
    ['notes', 'notes.txt', 'text/plain'],
    ['packed', 'packed.gz', 'application/gzip'],
  ];
  for (const [name, entries] of hostile) {
    const bytes = name === 'truncated' ? (await tarOf(tree)).subarray(0, 700) : await tarOf(entries);
    await writeFile(join(dir, `${name}.tar`), bytes);
    resources.push([`evil-${name}`, `${name}.tar`, 'application/x-tar']);
  }
  const yaml = resources
    .map(
      ([name, path, mediaType]) =>
        `  - name: ${name}\n    type: blob\n    input:\n      type: file/v1\n      path: ./${path}\n      mediaType: ${mediaType}\n`,
    )
    .join('');
  await writeFile(
    join(dir, 'component-constructor.yaml'),
    `components:\n- name: acme.org/extract\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n${yaml}  - name: image\n    type: ociImage\n    version: 1.0.0\n    input:\n      type: dir/v1\n      path: ./layout\n      mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n`,
  );
  const target = `http://${reg}/extract/t-${process.pid}-${++counter}`;
  await ladingOk(['add', 'cv', '-r', target], { cwd: dir });
  return `${target}//acme.org/extract:1.0.0`;
}

const download = (ref: string, name: string, out: string, ...more: string[]) =>
  lading(['download', 'resource', ref, '--identity', `name=${name}`, '--output', out, ...more]);

async function assertTree(root: string): Promise<void> {
  assert.equal(await readFile(join(root, 'app', 'data', 'readme.txt'), 'utf8'), 'read me\n');
  assert.equal(await readlink(join(root, 'app', 'current')), 'data/readme.txt');
  assert.equal(await readFile(join(root, 'app', 'same.txt'), 'utf8'), 'read me\n');
  assert.equal(
    (await lstat(join(root, 'app', 'run.sh'))).mode & 0o777,
    await lessUmask(0o755),
    'the executable bits are kept',
  );
}

describe('download resource --extraction-policy (OCM v2), against the registry peer', () => {
  test('auto (the default) unpacks tar, tar+gzip and OCI artifacts into folders, gunzips gzip, and leaves other blobs alone; disable writes them as they are', () =>
    withDir(async (dir) => {
      const ref = await setUp(dir);
      const out = join(dir, 'out');
      await mkdir(out);

      const t = await download(ref, 'tree', join(out, 'tree'));
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stderr, /^Downloaded name=tree,version=1\.0\.0 \(application\/x-tar, unpacked\) to .*tree\n$/);
      assert.equal(t.stdout, '', 'the status line is a message: stderr');
      // --output /dev/stdout: stdout holds the resource's bytes and nothing else.
      const piped = await download(ref, 'notes', '/dev/stdout');
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(piped.stdout, 'plain notes\n');
      assert.match(piped.stderr, /^Downloaded name=notes,version=1\.0\.0 \(text\/plain\) to \/dev\/stdout\n$/);
      await assertTree(join(out, 'tree'));
      const tgz = await download(ref, 'tree-gz', join(out, 'tree-gz'), '--extraction-policy', 'auto');
      assert.equal(tgz.code, 0, tgz.stderr);
      assert.match(tgz.stderr, /\(application\/tar\+gzip, unpacked\)/);
      await assertTree(join(out, 'tree-gz'));

      // A plain blob is written as it is; application/gzip is gunzipped (as upstream's auto does).
      await ladingOk(['download', 'resource', ref, '--identity', 'name=notes', '--output', join(out, 'notes')]);
      assert.equal(await readFile(join(out, 'notes'), 'utf8'), 'plain notes\n');
      const packed = await download(ref, 'packed', join(out, 'packed'));
      assert.match(packed.stderr, /\(application\/gzip, gunzipped\)/);
      assert.equal(await readFile(join(out, 'packed'), 'utf8'), 'packed text\n');

      // An OCI artifact becomes an OCI image layout folder that skopeo and umoci read.
      const image = await download(ref, 'image', join(out, 'image'));
      assert.equal(image.code, 0, image.stderr);
      assert.match(image.stderr, /, unpacked\) to /);
      assert.deepEqual((await readdir(join(out, 'image'))).sort(), ['blobs', 'index.json', 'oci-layout']);
      const inspect = JSON.parse((await run('skopeo', ['inspect', `oci:${join(out, 'image')}:1.0.0`])).stdout);
      assert.equal(inspect.Layers.length, 1);
      await run('umoci', [
        'raw',
        'unpack',
        '--rootless',
        '--image',
        `${join(out, 'image')}:1.0.0`,
        join(dir, 'rootfs'),
      ]);
      assert.equal(await readFile(join(dir, 'rootfs', 'app.txt'), 'utf8'), 'from the image\n');
      await run('skopeo', [
        'copy',
        '--dest-tls-verify=false',
        `oci:${join(out, 'image')}:1.0.0`,
        `docker://${reg}/extract/copied-${process.pid}:1.0.0`,
      ]);

      // disable: the bytes as stored, and the OCI artifact as an OCI image layout tar.
      await ladingOk([
        'download',
        'resource',
        ref,
        '--identity',
        'name=tree',
        '--output',
        join(out, 'tree.tar'),
        '--extraction-policy',
        'disable',
      ]);
      assert.ok((await readFile(join(out, 'tree.tar'))).equals(await readFile(join(dir, 'tree.tar'))));
      await ladingOk([
        'download',
        'resource',
        ref,
        '--identity',
        'name=tree-gz',
        '--output',
        join(out, 'tree.tgz'),
        '--extraction-policy',
        'disable',
      ]);
      assert.ok((await readFile(join(out, 'tree.tgz'))).equals(await readFile(join(dir, 'tree.tgz'))));
      await ladingOk([
        'download',
        'resource',
        ref,
        '--identity',
        'name=packed',
        '--output',
        join(out, 'packed.gz'),
        '--extraction-policy',
        'disable',
      ]);
      assert.equal(gunzipSync(await readFile(join(out, 'packed.gz'))).toString(), 'packed text\n');
      await ladingOk([
        'download',
        'resource',
        ref,
        '--identity',
        'name=image',
        '--output',
        join(out, 'image.tar'),
        '--extraction-policy',
        'disable',
      ]);
      assert.ok((await lstat(join(out, 'image.tar'))).isFile());
      const fromTar = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${join(out, 'image.tar')}`])).stdout);
      assert.equal(fromTar.Digest, inspect.Digest);

      assertOneLineError(await download(ref, 'tree', join(out, 'x'), '--extraction-policy', 'always'), /always/);
      assert.deepEqual(
        (await readdir(out)).filter((n) => n.startsWith('.lading-')),
        [],
        'no temp folder left behind',
      );
    }));

  test('an existing output is never merged into nor followed: a folder with files, a file, a link', () =>
    withDir(async (dir) => {
      const ref = await setUp(dir);
      await mkdir(join(dir, 'full'));
      await writeFile(join(dir, 'full', 'mine.txt'), 'mine');
      await mkdir(join(dir, 'elsewhere'));
      await symlink(join(dir, 'elsewhere'), join(dir, 'link'));
      await writeFile(join(dir, 'file'), 'mine');
      for (const [out, kind] of [
        ['full', 'a folder with files'],
        ['link', 'a symlink'],
        ['file', 'a file'],
      ]) {
        for (const name of ['tree', 'image']) {
          const r = await download(ref, name, join(dir, out as string));
          assertOneLineError(r, new RegExp(`already exists \\(${kind}\\).*--extraction-policy disable`));
        }
      }
      assert.deepEqual(await readdir(join(dir, 'full')), ['mine.txt']);
      assert.deepEqual(await readdir(join(dir, 'elsewhere')), []);
      assert.equal(await readFile(join(dir, 'file'), 'utf8'), 'mine');
      // As upstream, the folders leading to --output are made; a failed download removes them again.
      await ladingOk(['download', 'resource', ref, '--identity', 'name=tree', '--output', join(dir, 'a', 'b', 't')]);
      await assertTree(join(dir, 'a', 'b', 't'));
      await ladingOk([
        'download',
        'resource',
        ref,
        '--identity',
        'name=notes',
        '--output',
        join(dir, 'n', 'o', 'n.txt'),
      ]);
      assert.equal(await readFile(join(dir, 'n', 'o', 'n.txt'), 'utf8'), 'plain notes\n');
      assertOneLineError(await download(ref, 'evil-dotdot', join(dir, 'a', 'x', 'y', 'z')), /escapes/);
      assert.deepEqual(await readdir(join(dir, 'a')), ['b'], 'the folders made for a failed download are gone');
      // An empty folder is taken (it is replaced by the unpacked one).
      await mkdir(join(dir, 'empty'));
      await ladingOk(['download', 'resource', ref, '--identity', 'name=tree', '--output', join(dir, 'empty')]);
      await assertTree(join(dir, 'empty'));
    }));

  test('hostile archives fail in one line and leave nothing behind, inside the output or outside it', () =>
    withDir(async (dir) => {
      const ref = await setUp(dir);
      const parent = join(dir, 'deep', 'parent');
      await mkdir(parent, { recursive: true });
      for (const [name, , why] of hostile) {
        const r = await download(ref, `evil-${name}`, join(parent, 'out'));
        assertOneLineError(r, why);
        assert.match(r.stderr, new RegExp(`resource name=evil-${name}`), 'the error names the resource');
        assert.doesNotMatch(r.stderr, /\.lading-/, 'the error names the output, not the temp folder');
        assert.deepEqual(await readdir(parent), [], `${name}: nothing left in the output's folder`);
      }
      assert.deepEqual((await readdir(join(dir, 'deep'))).sort(), ['parent']);
      await assert.rejects(lstat(join(dir, 'escaped.txt')));
      await assert.rejects(lstat(join(dir, 'deep', 'escaped.txt')));
      await assert.rejects(lstat(escapedTo));
    }));
});

describe('download resource: a failed unpack leaves nothing', () => {
  test('an OCI artifact with a layer corrupted at rest: DIGEST_MISMATCH in one line, no folder, no temp folder', () =>
    withDir(async (dir) => {
      const layout = await OciLayout.open(join(dir, 'layout'), { mode: 'create' });
      const image = await pushImage(layout, { 'app.txt': 'from the image\n' });
      await layout.tag(image.manifest, '1.0.0');
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        'components:\n- name: acme.org/corrupt\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n  - name: image\n    type: ociImage\n    input:\n      type: dir/v1\n      path: ./layout\n      mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n',
      );
      await ladingOk(['add', 'cv', '-r', 'ctf'], { cwd: dir });
      const blob = join(dir, 'ctf', 'blobs', `sha256.${image.layer.digest.slice('sha256:'.length)}`);
      const bytes = await readFile(blob);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      await overwriteStored(blob, bytes);
      await mkdir(join(dir, 'out'));
      const r = await download(`${join(dir, 'ctf')}//acme.org/corrupt:1.0.0`, 'image', join(dir, 'out', 'image'));
      assertOneLineError(r, /digest/i);
      assert.doesNotMatch(r.stderr, /\.lading-/);
      assert.deepEqual(await readdir(join(dir, 'out')), []);
    }));
});

describe('OCM v1 CTFs: an OCI artifact copied by value (an artifact set, ociArtifactDigest/v1)', () => {
  test('download resource and transfer cv --copy-resources deliver it, checked against its main manifest', () =>
    withDir(async (dir) => {
      const ref = `${join(ocmVectors, 'bindings/go/ctf/testdata/compatibility/02/with-resource')}//github.com/acme.org/helloworld:1.0.0`;
      const out = join(dir, 'set');
      await ladingOk([
        'download',
        'resource',
        ref,
        '--identity',
        'name=mychart',
        '--extraction-policy',
        'disable',
        '--output',
        out,
      ]);
      assert.equal(
        sha256(await readFile(out)),
        'sha256:e40e3a2f1ab1a98328dfd14539a79d27aff5c4d5c34cd16a85f0288bfa76490b',
      );
      await ladingOk(['transfer', 'cv', ref, join(dir, 'ctf'), '--copy-resources']);
      const copied = (
        await ladingOk(['get', 'resources', `${join(dir, 'ctf')}//github.com/acme.org/helloworld:1.0.0`, '-o', 'json'])
      ).stdout;
      assert.match(
        copied,
        /"localReference": "sha256:e40e3a2f1ab1a98328dfd14539a79d27aff5c4d5c34cd16a85f0288bfa76490b"/,
      );
      assert.match(copied, /"normalisationAlgorithm": "ociArtifactDigest\/v1"/);
    }));
});

describe('download resource: Ctrl-C in the middle of an unpack', () => {
  test('exits 130 with one line and removes the folder it was filling', () =>
    withDir(async (dir) => {
      const tar = await tarOf([
        { name: 'first.txt', body: 'first\n' },
        { name: 'big.bin', body: 'b'.repeat(256 * 1024) },
      ]);
      const server = await HostileRegistry.start();
      try {
        // The blob arrives up to the middle of big.bin, then the registry stalls.
        server.on('GET', /\/blobs\//, ({ res }) => {
          res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(tar.length) });
          res.write(tar.subarray(0, 64 * 1024));
        });
        await writeFile(
          join(dir, 'c.yaml'),
          `components:\n- name: acme.org/stall\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n  - name: data\n    version: 1.0.0\n    type: blob\n    relation: external\n    access:\n      type: ociBlob/v1\n      ref: http://${server.host}/stall/repo\n      mediaType: application/x-tar\n      digest: ${sha256(tar)}\n      size: ${tar.length}\n`,
        );
        await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], { cwd: dir });
        await mkdir(join(dir, 'out'));
        const p = startCli(
          ['download', 'resource', 'ctf//acme.org/stall:1.0.0', '--identity', 'name=data', '--output', 'out/data'],
          { cwd: dir },
        );
        // The unpack has begun once first.txt is in the new folder beside the output.
        const deadline = Date.now() + 30_000;
        for (;;) {
          const temps = (await readdir(join(dir, 'out'))).filter((n) => n.startsWith('.lading-'));
          const started =
            temps.length === 1 && (await readdir(join(dir, 'out', temps[0] as string))).includes('first.txt');
          if (started) break;
          assert.ok(Date.now() < deadline && p.stderr() === '', `the unpack did not start: ${p.stderr()}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        process.kill(p.pid, 'SIGINT');
        const r = await p.done;
        assert.equal(r.code, 130, r.stderr);
        assert.equal(r.stderr.trimEnd(), 'Error: interrupted');
        assert.deepEqual(await readdir(join(dir, 'out')), [], 'nothing left behind');
      } finally {
        await server.close();
      }
    }));
});

describe('extractResourceTar (library): the bounds', () => {
  test('media types decide, as upstream: tar, +tar, gzip and +gzip', () => {
    assert.deepEqual(unpackingFor('application/x-tar'), { gunzip: false, tar: true, mediaType: 'application/x-tar' });
    assert.deepEqual(unpackingFor('application/vnd.ocm.software.oci.layout.v1+tar+gzip'), {
      gunzip: true,
      tar: true,
      mediaType: 'application/vnd.ocm.software.oci.layout.v1+tar',
    });
    assert.deepEqual(unpackingFor('application/gzip'), {
      gunzip: true,
      tar: false,
      mediaType: 'application/octet-stream',
    });
    // An OCI layer media type ends in ".tar", not "+tar": upstream does not unpack it, nor does lading.
    assert.equal(unpackingFor('application/vnd.oci.image.layer.v1.tar+gzip').tar, false);
    assert.equal(unpackingFor('application/octet-stream').gunzip, false);
  });

  test('too many entries, or a gzip bomb, fail before the bound is passed and leave nothing', () =>
    withDir(async (dir) => {
      const many = await tarOf(Array.from({ length: 100 }, (_, i) => ({ name: `f${i}`, body: 'x' })));
      await assert.rejects(
        extractResourceTar(Readable.from([many]), join(dir, 'many'), {
          where: 'many.tar',
          gzip: false,
          maxEntries: 20,
        }),
        (e) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /many\.tar: has more than 20 entries/.test(e.message),
      );
      const bomb = gzipSync(await tarOf([{ name: 'zeros', body: '\0'.repeat(4 * 1024 * 1024) }]));
      await assert.rejects(
        extractResourceTar(Readable.from([bomb]), join(dir, 'bomb'), {
          where: 'bomb.tgz',
          gzip: true,
          maxBytes: (compressed) => 100 * compressed,
        }),
        (e) => isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /bomb\.tgz: expands to more than/.test(e.message),
      );
      assert.deepEqual(await readdir(dir), []);
      const ok = await extractResourceTar(Readable.from([many]), join(dir, 'ok'), { where: 'many.tar', gzip: false });
      assert.equal(ok.entries, 100);
      assert.equal((await readdir(join(dir, 'ok'))).length, 100);
    }));
});
