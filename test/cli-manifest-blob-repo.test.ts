import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { writeDirectoryAsTar } from '../src/archive/index.js';
import type { Storage } from '../src/content/index.js';
import { OciLayout } from '../src/layout/index.js';
import { Annotation, digestBytes, EmptyJsonDescriptor, encodeManifest, MediaType } from '../src/oci/index.js';
import { type CliResult, lading, ladingOk } from './support/cli.js';
import { pushArtifact, pushBytes, pushImage, pushIndex, withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const peers = loadPeers();
const reg = peers.plain.host;
const namespace = `extras-${process.pid}`;
let counter = 0;
/** A fresh repository per test, all under one namespace that `repo ls` can filter on. */
const repo = (name: string) => `${reg}/${namespace}/${name}-${++counter}`;
const sha256 = (text: string | Buffer) => digestBytes(Buffer.isBuffer(text) ? text : Buffer.from(text));

async function skopeoRaw(ref: string): Promise<Buffer> {
  const r = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
    encoding: 'buffer',
  });
  return r.stdout as Buffer;
}

async function skopeoCopy(layoutDir: string, tag: string, ref: string): Promise<void> {
  await run('skopeo', [
    'copy',
    '--preserve-digests',
    '--dest-tls-verify=false',
    `oci:${layoutDir}:${tag}`,
    `docker://${ref}`,
  ]);
}

/** A small image for one architecture (the layer need not be a real tar for a registry). */
async function pushPlatformImage(store: Storage, architecture: string) {
  const layer = await pushBytes(store, gzipSync(Buffer.from(`layer for ${architecture}\n`)), MediaType.ImageLayerGzip);
  const config = await pushBytes(
    store,
    Buffer.from(JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } })),
    MediaType.ImageConfig,
  );
  const bytes = encodeManifest({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers: [layer] });
  return pushBytes(store, bytes, MediaType.ImageManifest);
}

/**
 * One `Error: ...` line and a non-zero exit. (ORAS messages say "cannot be used at the same time",
 * so a stack trace is recognised by its frames, not by the word "at".)
 */
function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'expected a non-zero exit');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0] as string, /^Error: /);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
}

function digestLine(stdout: string): string {
  const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(stdout)?.[1];
  assert.ok(digest, `no Digest line in:\n${stdout}`);
  return digest;
}

describe('manifest fetch and fetch-config', () => {
  test('fetch prints the exact bytes skopeo sees; --pretty, --descriptor, --format json and -o agree', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'artifact.txt'), 'hello world\n');
      const ref = `${repo('fetch')}:v1`;
      await ladingOk(['push', '--plain-http', ref, 'artifact.txt'], { cwd: dir });
      const digest = (await ladingOk(['resolve', '--plain-http', ref])).stdout.trim();

      const raw = await ladingOk(['manifest', 'fetch', '--plain-http', ref]);
      assert.equal(sha256(raw.stdout), digest);
      assert.ok((await skopeoRaw(ref)).equals(Buffer.from(raw.stdout)), 'same bytes as skopeo inspect --raw');
      assert.ok(!raw.stdout.endsWith('\n'), 'raw bytes, nothing added');

      const pretty = await ladingOk(['manifest', 'get', '--pretty', '--plain-http', ref]);
      assert.deepEqual(JSON.parse(pretty.stdout), JSON.parse(raw.stdout));
      assert.match(pretty.stdout, /^\{\n {2}"schemaVersion": 2,\n/);
      assert.ok(pretty.stdout.endsWith('}\n'));

      const desc = JSON.parse((await ladingOk(['manifest', 'fetch', '--descriptor', '--plain-http', ref])).stdout);
      assert.deepEqual(desc, {
        mediaType: MediaType.ImageManifest,
        digest,
        size: Buffer.byteLength(raw.stdout),
      });

      const json = JSON.parse((await ladingOk(['manifest', 'show', '--format', 'json', '--plain-http', ref])).stdout);
      assert.equal(json.reference, `${ref.slice(0, ref.lastIndexOf(':'))}@${digest}`);
      assert.equal(json.digest, digest);
      assert.equal(json.artifactType, undefined, 'a registry HEAD gives no artifact type');
      assert.deepEqual(json.content, JSON.parse(raw.stdout));

      await ladingOk(['manifest', 'fetch', '--plain-http', '-o', join(dir, 'm.json'), ref]);
      assert.equal(await readFile(join(dir, 'm.json'), 'utf8'), raw.stdout);
      const accepted = await ladingOk([
        'manifest',
        'fetch',
        '--plain-http',
        '--media-type',
        MediaType.ImageManifest,
        ref,
      ]);
      assert.equal(accepted.stdout, raw.stdout);

      assertOneLineError(
        await lading(['manifest', 'fetch', '--plain-http', '--format', 'json', '--pretty', ref]),
        /--format, --pretty cannot be used at the same time/,
      );
      assertOneLineError(
        await lading(['manifest', 'fetch', '--plain-http', '--descriptor', '-o', '-', ref]),
        /--descriptor.*--output -/,
      );
      assertOneLineError(
        await lading(['manifest', 'fetch', '--plain-http', `${ref.slice(0, ref.lastIndexOf(':'))}:missing`]),
        /not found|unknown/i,
      );
    }));

  test('fetch-config of an image copied in by skopeo; blob fetch with the flag before the subcommand', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'img');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const image = await pushImage(layout, { 'etc/os-release': 'NAME="lading"\n' });
      await layout.tag(image.manifest, 'v1');
      const ref = `${repo('image')}:v1`;
      await skopeoCopy(layoutDir, 'v1', ref);
      const base = ref.slice(0, ref.lastIndexOf(':'));

      const config = await ladingOk(['manifest', 'fetch-config', '--plain-http', ref]);
      assert.equal(sha256(config.stdout), image.config.digest);
      assert.equal(JSON.parse(config.stdout).architecture, 'amd64');
      const configDesc = JSON.parse(
        (await ladingOk(['manifest', 'get-config', '--descriptor', '--plain-http', ref])).stdout,
      );
      assert.deepEqual(configDesc, {
        mediaType: MediaType.ImageConfig,
        digest: image.config.digest,
        size: image.config.size,
      });

      const blob = await ladingOk(['blob', '-o', '-', 'fetch', '--plain-http', `${base}@${image.config.digest}`]);
      assert.equal(blob.stdout, config.stdout);
      const layerFile = join(dir, 'layer.tar.gz');
      const fetched = await ladingOk([
        'blob',
        'fetch',
        '--plain-http',
        `${base}@${image.layer.digest}`,
        '-o',
        layerFile,
      ]);
      assert.equal(fetched.stdout, '', 'nothing printed when not on a terminal');
      assert.equal(sha256(await readFile(layerFile)), image.layer.digest);
      assert.deepEqual(await readdir(dir), ['img', 'layer.tar.gz'], 'no temp file left beside the output');
      const desc = JSON.parse(
        (await ladingOk(['blob', 'get', '--descriptor', '--plain-http', `${base}@${image.layer.digest}`])).stdout,
      );
      assert.deepEqual(desc, { mediaType: MediaType.OctetStream, digest: image.layer.digest, size: image.layer.size });

      assertOneLineError(
        await lading(['blob', 'fetch', '--plain-http', `${base}@${image.layer.digest}`]),
        /--output.*--descriptor/,
      );
      assertOneLineError(await lading(['blob', 'fetch', '--plain-http', '-o', '-', ref]), /named by its digest/);
      const missing = `${base}@sha256:${'1'.repeat(64)}`;
      assertOneLineError(await lading(['blob', 'fetch', '--plain-http', '-o', join(dir, 'x'), missing]), /not found/);
      await assert.rejects(stat(join(dir, 'x')), { code: 'ENOENT' });

      // An artifact's config is the empty JSON; an index has no config at all.
      const art = await pushArtifact(layout, { 'a.txt': 'A' });
      await layout.tag(art.manifest, 'art');
      const empty = await ladingOk(['manifest', 'fetch-config', '--oci-layout', `${layoutDir}:art`]);
      assert.equal(empty.stdout, '{}');
      const index = await pushIndex(layout, [image.manifest]);
      await layout.tag(index, 'index');
      assertOneLineError(
        await lading(['manifest', 'fetch-config', '--oci-layout', `${layoutDir}:index`]),
        /not an image manifest/,
      );
    }));
});

describe('blob push and delete', () => {
  test('push from a file and from stdin, Exists on a second push, delete with and without --force', () =>
    withDir(async (dir) => {
      const name = repo('blobs');
      const text = 'some blob content\n';
      await writeFile(join(dir, 'hi.txt'), text);
      const digest = sha256(text);
      const pushed = await ladingOk(['blob', 'push', '--plain-http', name, 'hi.txt'], { cwd: dir });
      assert.match(
        pushed.stdout,
        new RegExp(`^Uploading ${digest.slice(7, 19)} application/vnd\\.oci\\.image\\.layer\\.v1\\.tar$`, 'm'),
      );
      assert.match(pushed.stdout, new RegExp(`^Uploaded  ${digest.slice(7, 19)} `, 'm'));
      // ORAS 1.3: `Pushed:` and the reference as given.
      assert.match(pushed.stdout, new RegExp(`^Pushed: \\[registry\\] ${name.replace(/\./g, '\\.')}$`, 'm'));
      assert.equal(digestLine(pushed.stdout), digest);
      const again = await ladingOk(['blob', 'push', '--plain-http', `${name}@${digest}`, 'hi.txt'], { cwd: dir });
      assert.match(again.stdout, /^Exists {4}[0-9a-f]{12} /m);
      // A missing file or a folder: one line naming it (a folder said only "EISDIR: illegal operation").
      await mkdir(join(dir, 'a-folder'));
      for (const [bad, why] of [
        ['nope.txt', 'no such file or directory'],
        ['a-folder', 'a directory, not a file'],
      ] as const) {
        for (const args of [
          ['blob', 'push', '--plain-http', name, bad],
          ['manifest', 'push', '--plain-http', `${name}:x`, bad],
        ]) {
          assertOneLineError(await lading(args, { cwd: dir }), new RegExp(`^Error: ${bad}: ${why}$`));
        }
      }

      const stdinText = 'from standard input';
      const stdinDigest = sha256(stdinText);
      const described = await ladingOk(
        [
          'blob',
          'push',
          '--plain-http',
          '--descriptor',
          '--size',
          String(stdinText.length),
          `${name}@${stdinDigest}`,
          '-',
        ],
        { input: stdinText },
      );
      assert.deepEqual(JSON.parse(described.stdout), {
        mediaType: MediaType.ImageLayer,
        digest: stdinDigest,
        size: stdinText.length,
      });
      const back = await ladingOk(['blob', 'fetch', '--plain-http', '-o', '-', `${name}@${stdinDigest}`]);
      assert.equal(back.stdout, stdinText);

      assertOneLineError(
        await lading(['blob', 'push', '--plain-http', `${name}@${stdinDigest}`, '-'], { input: stdinText }),
        /--size.*stdin/,
      );
      assertOneLineError(
        await lading(['blob', 'push', '--plain-http', '--size', '3', name, '-'], { input: 'abc' }),
        /digest must be given/,
      );
      // Content that does not match the digest it claims is refused and never stored.
      const lie = sha256('something else');
      assertOneLineError(
        await lading(['blob', 'push', '--plain-http', '--size', '3', `${name}@${lie}`, '-'], { input: 'abc' }),
        /digest|mismatch/i,
      );
      assertOneLineError(
        await lading(['blob', 'fetch', '--plain-http', '--descriptor', `${name}@${lie}`]),
        /not found/,
      );

      const cancelled = await ladingOk(['blob', 'delete', '--plain-http', `${name}@${digest}`], { input: 'n\n' });
      assert.equal(
        cancelled.stdout,
        `Are you sure you want to delete the blob "${digest}"? [y/N] Operation cancelled.\n`,
      );
      await ladingOk(['blob', 'fetch', '--plain-http', '--descriptor', `${name}@${digest}`]);
      const confirmed = await ladingOk(['blob', 'rm', '--plain-http', `${name}@${digest}`], { input: 'y\n' });
      assert.match(confirmed.stdout, new RegExp(`Deleted \\[registry\\] ${name.replace(/\./g, '\\.')}@${digest}\\n$`));
      assertOneLineError(
        await lading(['blob', 'fetch', '--plain-http', '--descriptor', `${name}@${digest}`]),
        /not found/,
      );
      const missing = await ladingOk(['blob', 'delete', '-f', '--plain-http', `${name}@${digest}`]);
      assert.equal(missing.stdout, `Missing ${name}@${digest}\n`);
      assertOneLineError(
        await lading(['blob', 'delete', '--plain-http', `${name}@${digest}`]),
        /the specified blob does not exist/,
      );
      assertOneLineError(
        await lading(['blob', 'delete', '--descriptor', '--plain-http', `${name}@${stdinDigest}`]),
        /must apply --force/,
      );
      const deleted = await ladingOk([
        'blob',
        'delete',
        '-f',
        '--descriptor',
        '--plain-http',
        `${name}@${stdinDigest}`,
      ]);
      assert.equal(JSON.parse(deleted.stdout).digest, stdinDigest);
    }));
});

describe('manifest push and delete', () => {
  test('a hand-written manifest goes up byte for byte with extra tags; a malformed one is refused', () =>
    withDir(async (dir) => {
      const name = repo('handmade');
      await writeFile(join(dir, 'layer.txt'), 'layer\n');
      await writeFile(join(dir, 'config.json'), '{}');
      await ladingOk(['blob', 'push', '--plain-http', name, 'layer.txt'], { cwd: dir });
      await ladingOk(['blob', 'push', '--plain-http', '--media-type', MediaType.Empty, name, 'config.json'], {
        cwd: dir,
      });
      // Hand-written: indented, keys in an order no serialiser of ours would choose.
      const manifest = `{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "artifactType": "application/vnd.example.handmade",
  "config": { "mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "${EmptyJsonDescriptor.digest}" },
  "layers": [ { "size": 6, "digest": "${sha256('layer\n')}", "mediaType": "text/plain" } ],
  "annotations": { "made": "by hand" }
}
`;
      await writeFile(join(dir, 'manifest.json'), manifest);
      const digest = sha256(manifest);
      const pushed = await ladingOk(['manifest', 'push', '--plain-http', `${name}:v1,v2,v3`, 'manifest.json'], {
        cwd: dir,
      });
      assert.equal(
        pushed.stdout,
        [
          `Uploading ${digest.slice(7, 19)} ${MediaType.ImageManifest}`,
          `Uploaded  ${digest.slice(7, 19)} ${MediaType.ImageManifest}`,
          `Pushed: [registry] ${name}:v1`,
          // Extra tags go up in parallel, so they are reported in the order they finish.
          ...pushed.stdout.split('\n').filter((l) => l.startsWith('Tagged ')),
          `Digest: ${digest}`,
          '',
        ].join('\n'),
      );
      assert.deepEqual(
        pushed.stdout
          .split('\n')
          .filter((l) => l.startsWith('Tagged '))
          .sort(),
        ['Tagged v2', 'Tagged v3'],
      );
      for (const tag of ['v1', 'v3']) {
        assert.ok((await skopeoRaw(`${name}:${tag}`)).equals(Buffer.from(manifest)), `skopeo reads ${tag} as written`);
      }
      const again = await ladingOk(['manifest', 'push', '--plain-http', `${name}:v1`, '-'], { input: manifest });
      assert.match(again.stdout, /^Exists {4}[0-9a-f]{12} application\/vnd\.oci\.image\.manifest\.v1\+json$/m);
      assert.doesNotMatch(again.stdout, /Uploading/);
      const described = await ladingOk(['manifest', 'push', '--plain-http', '--descriptor', `${name}:v4`, '-'], {
        input: manifest,
      });
      assert.deepEqual(JSON.parse(described.stdout), {
        mediaType: MediaType.ImageManifest,
        digest,
        size: Buffer.byteLength(manifest),
      });

      const broken = manifest.replace(`"size": 6`, `"size": "six"`);
      await writeFile(join(dir, 'broken.json'), broken);
      assertOneLineError(
        await lading(['manifest', 'push', '--plain-http', `${name}:broken`, 'broken.json'], { cwd: dir }),
        /broken\.json.*(schema|size)/,
      );
      await writeFile(join(dir, 'notjson.json'), '{"schemaVersion": 2,');
      assertOneLineError(
        await lading(['manifest', 'push', '--plain-http', `${name}:broken`, 'notjson.json'], { cwd: dir }),
        /not valid JSON/,
      );
      await writeFile(join(dir, 'untyped.json'), JSON.stringify({ schemaVersion: 2, manifests: [] }));
      assertOneLineError(
        await lading(['manifest', 'push', '--plain-http', `${name}:broken`, 'untyped.json'], { cwd: dir }),
        /media type is not specified/,
      );
      assertOneLineError(await lading(['resolve', '--plain-http', `${name}:broken`]), /not found|unknown/i);
    }));

  test('delete asks first, -f does not, and a missing manifest with -f is only reported', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'A');
      const name = repo('delete');
      const pushed = await ladingOk(['push', '--plain-http', `${name}:v1`, 'a.txt'], { cwd: dir });
      const digest = digestLine(pushed.stdout);
      const cancelled = await ladingOk(['manifest', 'delete', '--plain-http', `${name}:v1`], { input: 'no\n' });
      assert.equal(
        cancelled.stdout,
        `Are you sure you want to delete the manifest "${digest}" and all tags associated with it? [y/N] Operation cancelled.\n`,
      );
      assert.equal((await ladingOk(['resolve', '--plain-http', `${name}:v1`])).stdout.trim(), digest);
      const deleted = await ladingOk(['manifest', 'delete', '-f', '--plain-http', `${name}:v1`]);
      assert.equal(deleted.stdout, `Deleted [registry] ${name}:v1\n`);
      assertOneLineError(await lading(['resolve', '--plain-http', `${name}:v1`]), /not found|unknown/i);
      assertOneLineError(await lading(['resolve', '--plain-http', `${name}@${digest}`]), /not found|unknown/i);
      const missing = await ladingOk(['manifest', 'rm', '--force', '--plain-http', `${name}:v1`]);
      assert.equal(missing.stdout, `Missing ${name}:v1\n`);
      assertOneLineError(
        await lading(['manifest', 'delete', '--plain-http', `${name}:v1`]),
        /the specified manifest does not exist/,
      );
    }));
});

describe('manifest index create and update', () => {
  test('an index of two platform images resolves per platform; update removes and adds', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'images');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const amd64 = await pushPlatformImage(layout, 'amd64');
      const arm64 = await pushPlatformImage(layout, 'arm64');
      const riscv = await pushPlatformImage(layout, 'riscv64');
      await layout.tag(amd64, 'linux-amd64');
      await layout.tag(arm64, 'linux-arm64');
      await layout.tag(riscv, 'linux-riscv64');
      const name = repo('multi');
      for (const tag of ['linux-amd64', 'linux-arm64', 'linux-riscv64'])
        await skopeoCopy(layoutDir, tag, `${name}:${tag}`);

      const created = await ladingOk([
        'manifest',
        'index',
        'create',
        '--plain-http',
        `${name}:v1,latest`,
        'linux-amd64',
        arm64.digest,
      ]);
      const index = digestLine(created.stdout);
      assert.match(created.stdout, /^Fetching {2}linux-amd64$/m);
      assert.match(created.stdout, new RegExp(`^Fetched   ${amd64.digest} linux-amd64$`, 'm'));
      assert.match(created.stdout, new RegExp(`^Fetched   ${arm64.digest}$`, 'm'));
      assert.match(
        created.stdout,
        new RegExp(`^Packed    ${index.slice(7, 19)} application/vnd\\.oci\\.image\\.index\\.v1\\+json$`, 'm'),
      );
      assert.match(created.stdout, new RegExp(`^Pushed    \\[registry\\] ${name.replace(/\./g, '\\.')}:v1$`, 'm'));
      assert.match(created.stdout, /^Tagged latest$/m);
      for (const [platform, want] of [
        ['linux/amd64', amd64],
        ['linux/arm64', arm64],
      ] as const) {
        const r = await ladingOk(['resolve', '--plain-http', '--platform', platform, `${name}:latest`]);
        assert.equal(r.stdout.trim(), want.digest);
      }
      const raw = await skopeoRaw(`${name}:v1`);
      assert.equal(sha256(raw), index);
      const parsed = JSON.parse(raw.toString('utf8'));
      assert.equal(parsed.mediaType, MediaType.ImageIndex);
      assert.deepEqual(parsed.manifests[1], { ...arm64, platform: { architecture: 'arm64', os: 'linux' } });
      const armFetched = await ladingOk([
        'manifest',
        'fetch',
        '--plain-http',
        '--platform',
        'linux/arm64',
        `${name}:v1`,
      ]);
      assert.equal(sha256(armFetched.stdout), arm64.digest);

      const updated = await ladingOk([
        'manifest',
        'index',
        'update',
        '--plain-http',
        `${name}:v1`,
        '--remove',
        amd64.digest,
        '--add',
        'linux-riscv64',
        '--tag',
        'v2',
      ]);
      assert.match(updated.stdout, new RegExp(`^Removed   ${amd64.digest}$`, 'm'));
      assert.match(updated.stdout, new RegExp(`^Added     ${riscv.digest} linux-riscv64$`, 'm'));
      const next = digestLine(updated.stdout);
      assert.match(updated.stdout, new RegExp(`^Updated   ${next}$`, 'm'));
      assert.match(updated.stdout, /^Tagged v2$/m);
      const v2 = JSON.parse((await skopeoRaw(`${name}:v2`)).toString('utf8'));
      assert.deepEqual(
        v2.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture),
        ['arm64', 'riscv64'],
      );
      assert.equal((await ladingOk(['resolve', '--plain-http', `${name}:v1`])).stdout.trim(), next);
      assert.equal((await ladingOk(['resolve', '--plain-http', `${name}:latest`])).stdout.trim(), index);

      const printed = await ladingOk(['manifest', 'index', 'pack', '--plain-http', name, 'linux-amd64', '-o', '-']);
      const single = JSON.parse(printed.stdout);
      assert.equal(single.manifests.length, 1);
      assert.equal(sha256(printed.stdout), sha256(JSON.stringify(single)), 'compact, Go-style bytes');
      const nothing = await ladingOk(['manifest', 'index', 'update', '--plain-http', `${name}:v1`]);
      assert.equal(nothing.stdout, 'Nothing to update as no change is requested\n');
      assertOneLineError(
        await lading(['manifest', 'index', 'update', '--plain-http', `${name}:v1`, '--remove', 'linux-arm64']),
        /remove: linux-arm64 is not a digest/,
      );
      assertOneLineError(
        await lading(['manifest', 'index', 'update', '--plain-http', `${name}:linux-amd64`, '--add', 'linux-arm64']),
        /linux-amd64 is not an index/,
      );
    }));

  test('in an OCI layout, with -o to a file', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'layout');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const amd64 = await pushPlatformImage(layout, 'amd64');
      const arm64 = await pushPlatformImage(layout, 'arm64');
      await layout.tag(amd64, 'amd64');
      await layout.tag(arm64, 'arm64');
      const created = await ladingOk([
        'manifest',
        'index',
        'create',
        '--oci-layout',
        `${layoutDir}:v1`,
        'amd64',
        'arm64',
      ]);
      const index = digestLine(created.stdout);
      assert.match(created.stdout, /^Pushed {4}\[oci-layout\] .*layout:v1$/m);
      const reopened = await OciLayout.open(layoutDir);
      assert.equal((await reopened.resolve('v1')).digest, index);
      const r = await ladingOk(['resolve', '--oci-layout', '--platform', 'linux/arm64', `${layoutDir}:v1`]);
      assert.equal(r.stdout.trim(), arm64.digest);
      const out = join(dir, 'index.json');
      const saved = await ladingOk(['manifest', 'index', 'create', '--oci-layout', layoutDir, 'arm64', '-o', out]);
      assert.equal(sha256(await readFile(out)), digestLine(saved.stdout));
      assert.doesNotMatch(saved.stdout, /Pushed/);
    }));
});

describe('repo ls and repo tags', () => {
  test('repositories under a namespace, tags sorted, digest-like tags hidden, in text and JSON', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'A');
      const name = repo('tags');
      const pushed = await ladingOk(['push', '--plain-http', `${name}:v2,v10,alpha`, 'a.txt'], { cwd: dir });
      const digest = digestLine(pushed.stdout);
      await ladingOk(['tag', '--plain-http', `${name}:v2`, `sha256-${digest.slice(7)}`]);

      const tags = await ladingOk(['repo', 'tags', '--plain-http', name]);
      assert.equal(tags.stdout, `alpha\nsha256-${digest.slice(7)}\nv10\nv2\n`);
      const plain = await ladingOk(['repo', 'show-tags', '--plain-http', '--exclude-digest-tags', name]);
      assert.equal(plain.stdout, 'alpha\nv10\nv2\n');
      const json = await ladingOk(['repo', 'tags', '--plain-http', '--format', 'json', '--exclude-digest-tags', name]);
      assert.equal(json.stdout, '{\n  "tags": [\n    "alpha",\n    "v10",\n    "v2"\n  ]\n}\n');
      const last = await ladingOk(['repo', 'tags', '--plain-http', '--last', 'sha256-z', name]);
      assert.equal(last.stdout, 'v10\nv2\n');

      const short = name.slice(`${reg}/${namespace}/`.length);
      const ls = await ladingOk(['repo', 'ls', '--plain-http', `${reg}/${namespace}`]);
      assert.ok(ls.stdout.split('\n').includes(short), `${short} in:\n${ls.stdout}`);
      assert.ok(
        ls.stdout.split('\n').every((l) => !l.includes('/') || l === ''),
        'names below the namespace',
      );
      const lsJson = JSON.parse(
        (await ladingOk(['repository', 'list', '--plain-http', '--format', 'json', `${reg}/${namespace}/`])).stdout,
      );
      assert.equal(lsJson.registry, reg);
      assert.ok(lsJson.repositories.includes(`${namespace}/${short}`));
      assert.ok(lsJson.repositories.every((r: string) => r.startsWith(`${namespace}/`)));
      const all = await ladingOk(['repo', 'ls', '--plain-http', reg]);
      assert.ok(all.stdout.split('\n').includes(`${namespace}/${short}`));
      assertOneLineError(
        await lading(['repo', 'ls', '--plain-http', `${name}:v2`]),
        /tags or digests should not be provided/,
      );
    }));

  test('tags of an OCI layout directory and tar', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'layout');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const { manifest } = await pushArtifact(layout, { 'a.txt': 'A' });
      for (const tag of ['v2', 'v1', 'latest']) await layout.tag(manifest, tag);
      const other = await pushArtifact(layout, { 'b.txt': 'B' });
      await layout.tag(other.manifest, 'other');
      const tags = await ladingOk(['repo', 'tags', '--oci-layout', layoutDir]);
      assert.equal(tags.stdout, 'latest\nother\nv1\nv2\n');
      await writeDirectoryAsTar(layoutDir, join(dir, 'layout.tar'));
      const fromTar = await ladingOk(['repo', 'tags', '--format', 'json', '--oci-layout', join(dir, 'layout.tar')]);
      assert.deepEqual(JSON.parse(fromTar.stdout), { tags: ['latest', 'other', 'v1', 'v2'] });
      const same = await ladingOk(['repo', 'tags', '--oci-layout', `${layoutDir}:v1`]);
      assert.equal(same.stdout, 'latest\nv1\nv2\n');
    }));
});

describe('OCI layouts', () => {
  test("blob fetch -o removes a killed run's old temp beside the file, and leaves a live run's", () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'layout');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const blob = await pushBytes(layout, Buffer.from('payload'), 'text/plain');
      await layout.close();
      const { spawnSync } = await import('node:child_process');
      const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
      const stale = join(dir, `.blob.${dead}.0123456789ab.tmp`);
      const young = join(dir, `.blob.${dead}.bbbbbbbbbbbb.tmp`);
      const live = join(dir, `.blob.${process.pid}.cccccccccccc.tmp`);
      for (const f of [stale, young, live]) await writeFile(f, 'half');
      const hourAgo = new Date(Date.now() - 3_600_000);
      await utimes(stale, hourAgo, hourAgo);
      await utimes(live, hourAgo, hourAgo);
      await ladingOk(['blob', 'fetch', '--oci-layout', '-o', join(dir, 'blob'), `${layoutDir}@${blob.digest}`]);
      assert.equal(await readFile(join(dir, 'blob'), 'utf8'), 'payload');
      const left = (await readdir(dir)).filter((f) => f.endsWith('.tmp')).sort();
      // A young one may be a run on another machine sharing the folder; a live process's stays.
      assert.deepEqual(left, [young, live].map((f) => f.slice(dir.length + 1)).sort());
    }));

  test('manifest fetch --format json of a manifest nested deeper than any real one: one line, not a null content', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'deep');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const nested = (depth: number) =>
        Buffer.from(
          `{"schemaVersion":2,"mediaType":"${MediaType.ImageManifest}","config":${JSON.stringify(EmptyJsonDescriptor)},"layers":[],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`,
        );
      const deep = await pushBytes(layout, nested(5000), MediaType.ImageManifest);
      await layout.tag(deep, 'deep');
      const shallow = await pushBytes(layout, nested(50), MediaType.ImageManifest);
      await layout.tag(shallow, 'shallow');
      await layout.close();
      const r = await lading(['manifest', 'fetch', '--format', 'json', '--oci-layout', `${layoutDir}:deep`]);
      assertOneLineError(r, /@sha256:[0-9a-f]{64}: JSON nested more than 1000 levels deep/);
      const ok = await ladingOk(['manifest', 'fetch', '--format', 'json', '--oci-layout', `${layoutDir}:shallow`]);
      assert.equal(JSON.parse(ok.stdout).content.schemaVersion, 2);
    }));

  test('manifest and blob commands read a tar layout and write a layout directory', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'layout');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const image = await pushImage(layout);
      await layout.tag(image.manifest, 'v1');
      const tar = join(dir, 'layout.tar');
      await writeDirectoryAsTar(layoutDir, tar);

      const fetched = await ladingOk(['manifest', 'fetch', '--oci-layout', `${tar}:v1`]);
      assert.equal(sha256(fetched.stdout), image.manifest.digest);
      const desc = JSON.parse(
        (await ladingOk(['manifest', 'fetch', '--descriptor', '--oci-layout', `${tar}:v1`])).stdout,
      );
      assert.deepEqual(desc, image.manifest, 'a layout tar resolves to the plain descriptor (oras-go ReadOnlyStore)');
      // A layout directory's tag resolves to its index.json entry, ref.name included, as oras-go's
      // Store (ORAS's e2e: manifest fetch/delete --descriptor, discover --format json).
      const tagged = { ...image.manifest, annotations: { [Annotation.RefName]: 'v1' } };
      const fromDir = await ladingOk(['manifest', 'fetch', '--descriptor', '--oci-layout', `${layoutDir}:v1`]);
      assert.equal(
        fromDir.stdout,
        `{"mediaType":"${image.manifest.mediaType}","digest":"${image.manifest.digest}","size":${image.manifest.size},"annotations":{"org.opencontainers.image.ref.name":"v1"}}`,
      );
      const byDigest = `${layoutDir}@${image.manifest.digest}`;
      assert.deepEqual(
        JSON.parse((await ladingOk(['manifest', 'fetch', '--descriptor', '--oci-layout', byDigest])).stdout),
        image.manifest,
      );
      const model = JSON.parse(
        (await ladingOk(['manifest', 'fetch', '--format', 'json', '--oci-layout', `${layoutDir}:v1`])).stdout,
      );
      assert.deepEqual(model.annotations, tagged.annotations);
      const discovered = JSON.parse(
        (await ladingOk(['discover', '--format', 'json', '--oci-layout', `${layoutDir}:v1`])).stdout,
      );
      assert.deepEqual(discovered.annotations, tagged.annotations);
      const config = await ladingOk(['manifest', 'fetch-config', '--oci-layout', `${tar}@${image.manifest.digest}`]);
      assert.equal(sha256(config.stdout), image.config.digest);
      const blob = await ladingOk(['blob', 'fetch', '--oci-layout', '-o', '-', `${tar}@${image.config.digest}`]);
      assert.equal(blob.stdout, config.stdout);
      assertOneLineError(
        await lading(['manifest', 'fetch', '--oci-layout', '--media-type', MediaType.ImageManifest, `${tar}:v1`]),
        /--media-type.*--oci-layout/,
      );
      assertOneLineError(await lading(['manifest', 'delete', '-f', '--oci-layout', `${tar}:v1`]), /tar|directory/);

      // Writes go to a directory: blob push, manifest push, manifest delete.
      const out = join(dir, 'out');
      await writeFile(join(dir, 'config.json'), '{}');
      const pushedBlob = await ladingOk(['blob', 'push', '--oci-layout', out, join(dir, 'config.json')]);
      assert.match(pushedBlob.stdout, /^Pushed: \[oci-layout\] .*out$/m);
      await writeFile(join(dir, 'l.txt'), 'L');
      await ladingOk(['blob', 'push', '--oci-layout', out, join(dir, 'l.txt')]);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        config: { mediaType: MediaType.Empty, digest: EmptyJsonDescriptor.digest, size: 2 },
        layers: [{ mediaType: 'text/plain', digest: sha256('L'), size: 1 }],
      });
      await writeFile(join(dir, 'm.json'), manifest);
      const pushed = await ladingOk(['manifest', 'push', '--oci-layout', `${out}:v1,v2`, join(dir, 'm.json')]);
      assert.match(pushed.stdout, /^Pushed: \[oci-layout\] .*out:v1$/m);
      assert.equal(digestLine(pushed.stdout), sha256(manifest));
      const written = await OciLayout.open(out);
      assert.equal((await written.resolve('v2')).digest, sha256(manifest));
      const raw = await run('skopeo', ['inspect', '--raw', `oci:${out}:v1`], { encoding: 'buffer' });
      assert.equal((raw.stdout as Buffer).toString('utf8'), manifest);

      const deleted = await ladingOk(['manifest', 'delete', '-f', '--descriptor', '--oci-layout', `${out}:v1`]);
      assert.deepEqual(JSON.parse(deleted.stdout), {
        mediaType: MediaType.ImageManifest,
        digest: sha256(manifest),
        size: manifest.length,
        annotations: { [Annotation.RefName]: 'v1' },
      });
      assertOneLineError(await lading(['resolve', '--oci-layout', `${out}:v2`]), /not found/);
      const blobDeleted = await ladingOk(['blob', 'delete', '-f', '--oci-layout', `${out}@${sha256('L')}`]);
      assert.match(blobDeleted.stdout, /^Deleted \[oci-layout\] /m);
      await assert.rejects(stat(join(out, 'blobs', 'sha256', sha256('L').slice(7))), { code: 'ENOENT' });
    }));
});

describe('--oci-layout-path', () => {
  test('the argument is a plain name inside the layout, stored as its ref.name, for every command', () =>
    withDir(async (dir) => {
      const olp = join(dir, 'olp');
      await writeFile(join(dir, 'a.txt'), 'A');
      const cwd = dir;
      await ladingOk(['push', '--oci-layout-path', olp, 'localhost:5000/hello:v1', 'a.txt'], { cwd });
      const index = JSON.parse(await readFile(join(olp, 'index.json'), 'utf8'));
      const names = index.manifests.map(
        (m: { annotations?: Record<string, string> }) => m.annotations?.[Annotation.RefName],
      );
      assert.deepEqual(names, ['localhost:5000/hello:v1']);
      const digest = (await ladingOk(['resolve', '--oci-layout-path', olp, 'localhost:5000/hello:v1'])).stdout.trim();
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);
      await ladingOk(['tag', '--oci-layout-path', olp, 'localhost:5000/hello:v1', 'example.com:v1']);
      const fetched = await ladingOk(['manifest', 'fetch', '--oci-layout-path', olp, 'example.com:v1']);
      assert.equal(sha256(fetched.stdout), digest);
      const byDigest = await ladingOk(['manifest', 'fetch', '--oci-layout-path', olp, digest]);
      assert.equal(byDigest.stdout, fetched.stdout);
      await ladingOk(['pull', '--oci-layout-path', olp, 'example.com:v1', '-o', join(dir, 'out')]);
      assert.equal(await readFile(join(dir, 'out', 'a.txt'), 'utf8'), 'A');
      const olp2 = join(dir, 'olp2');
      await ladingOk([
        'cp',
        '--from-oci-layout-path',
        olp,
        'localhost:5000/hello:v1',
        '--to-oci-layout-path',
        olp2,
        'other.io/x:v2',
      ]);
      assert.equal((await (await OciLayout.open(olp2)).resolve('other.io/x:v2')).digest, digest);
      const tags = await ladingOk(['repo', 'tags', '--oci-layout-path', olp, 'localhost:5000/hello']);
      assert.equal(tags.stdout, 'v1\n');
      assertOneLineError(await lading(['resolve', '--oci-layout-path', olp, 'example.com:nope']), /not found/);
    }));
});

describe('completion', () => {
  test('bash, zsh and fish scripts come from the command tree', async () => {
    const bash = await ladingOk(['completion', 'bash']);
    assert.match(bash.stdout, /\bpush\b/);
    assert.match(bash.stdout, /--oci-layout/);
    assert.match(bash.stdout, /"manifest index"\) subs="create pack update"/);
    assert.match(bash.stdout, /complete -o default -F _lading_complete lading/);
    await run('bash', ['-n', '-c', bash.stdout]);
    // The script completes what a user types.
    const complete = async (line: string) => {
      const words = line.split(' ');
      const script = `${bash.stdout}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _lading_complete; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return (await run('bash', ['-c', script])).stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(await complete('lading man'), ['manifest']);
    assert.deepEqual(await complete('lading manifest index c'), ['create']);
    assert.ok((await complete('lading blob -o - fetch --oci')).includes('--oci-layout'));
    const zsh = await ladingOk(['completion', 'zsh']);
    assert.match(zsh.stdout, /^#compdef lading/);
    assert.match(zsh.stdout, /'--oci-layout:/);
    const fish = await ladingOk(['completion', 'fish']);
    assert.match(fish.stdout, /complete -c lading .* -l 'oci-layout'/);
    assertOneLineError(await lading(['completion', 'tcsh']), /tcsh|invalid|allowed/i);
  });
});
