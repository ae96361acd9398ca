import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { writeDirectoryAsTar } from '../src/archive/index.js';
import { OciLayout } from '../src/layout/index.js';
import { digestBytes } from '../src/oci/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { pushImage, withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const peers = loadPeers();
const reg = peers.plain.host;
let counter = 0;
/** A fresh repository per test, so tests do not see each other's tags. */
const repo = (name: string) => `${reg}/seeds/${name}-${process.pid}-${++counter}`;

/** The workflows of the seed documents, run as written with `oras` replaced by `lading`. */
describe('seed 003: working with OCI artifacts using ORAS', () => {
  test('push a file, fetch its manifest, pull it back', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'artifact.txt'), 'hello world\n');
      const ref = `${repo('hello-artifact')}:v1`;
      const push = await ladingOk(['push', '--plain-http', ref, './artifact.txt'], { cwd: dir });
      assert.match(push.stdout, new RegExp(`^Pushed \\[registry\\] ${ref.replace(/[.]/g, '\\.')}$`, 'm'));
      assert.match(push.stdout, /^ArtifactType: application\/vnd\.unknown\.artifact\.v1$/m);
      const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(push.stdout)?.[1];
      assert.ok(digest);
      const fetched = await ladingOk(['manifest', 'fetch', '--plain-http', ref]);
      const manifest = JSON.parse(fetched.stdout);
      assert.equal(digestBytes(Buffer.from(fetched.stdout)), digest);
      assert.equal(manifest.config.mediaType, 'application/vnd.oci.empty.v1+json');
      assert.equal(manifest.config.data, 'e30=');
      assert.equal(manifest.layers[0].size, 12);
      assert.equal(manifest.layers[0].annotations['org.opencontainers.image.title'], 'artifact.txt');
      assert.equal(
        manifest.layers[0].digest,
        'sha256:a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447',
      );
      const out = join(dir, 'pulled');
      await mkdir(out);
      const pull = await ladingOk(['pull', '--plain-http', ref], { cwd: out });
      assert.match(pull.stdout, /^Pulled \[registry\] /m);
      assert.match(pull.stdout, new RegExp(`^Digest: ${digest}$`, 'm'));
      assert.equal(await readFile(join(out, 'artifact.txt'), 'utf8'), 'hello world\n');
    }));

  test('push a directory (tar+gzip, unpacked on pull) and a ready-made tar.gz (kept as is)', () =>
    withDir(async (dir) => {
      await mkdir(join(dir, 'docs'));
      await writeFile(join(dir, 'docs/readme.md'), 'Docs on this artifact\n');
      await writeFile(join(dir, 'docs/readme2.md'), 'More content for this artifact\n');
      const v2 = `${repo('hello-artifact')}:v2`;
      await ladingOk(['push', '--plain-http', v2, './docs'], { cwd: dir });
      const m2 = JSON.parse((await ladingOk(['manifest', 'fetch', '--plain-http', v2])).stdout);
      assert.equal(m2.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
      assert.equal(m2.layers[0].annotations['io.deis.oras.content.unpack'], 'true');
      assert.equal(m2.layers[0].annotations['org.opencontainers.image.title'], 'docs');
      await run('tar', ['-czf', 'res.tar.gz', 'docs'], { cwd: dir });
      const v3 = `${repo('hello-artifact')}:v3`;
      await ladingOk(['push', '--plain-http', v3, 'res.tar.gz'], { cwd: dir });
      const m3 = JSON.parse((await ladingOk(['manifest', 'fetch', '--plain-http', v3])).stdout);
      assert.equal(m3.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar');
      assert.equal(m3.layers[0].size, (await stat(join(dir, 'res.tar.gz'))).size);
      const out = join(dir, 'out');
      await ladingOk(['pull', '--plain-http', v2, '-o', out]);
      assert.equal(await readFile(join(out, 'docs/readme2.md'), 'utf8'), 'More content for this artifact\n');
    }));

  test('annotations from a file land on config, manifest and files', () =>
    withDir(async (dir) => {
      await writeFile(
        join(dir, 'annotation.json'),
        JSON.stringify({ $config: { hello: 'world' }, $manifest: { foo: 'bar' }, 'cake.txt': { fun: 'more cream' } }),
      );
      await writeFile(join(dir, 'cake.txt'), 'cake');
      const ann = `${repo('hello-artifact')}:ann`;
      const pushed = await ladingOk(['push', '--plain-http', '--annotation-file', 'annotation.json', ann], {
        cwd: dir,
      });
      assert.match(pushed.stdout, /^ArtifactType: application\/vnd\.unknown\.artifact\.v1$/m);
      const m = JSON.parse((await ladingOk(['manifest', 'fetch', '--plain-http', ann])).stdout);
      // As in the seed: the empty config carries the `$config` annotations, and the type is ORAS's default.
      assert.equal(m.artifactType, 'application/vnd.unknown.artifact.v1');
      assert.equal(m.config.mediaType, 'application/vnd.oci.empty.v1+json');
      assert.deepEqual(m.config.annotations, { hello: 'world' });
      assert.equal(m.annotations.foo, 'bar');
      assert.equal(m.layers[0].mediaType, 'application/vnd.oci.empty.v1+json', 'no files: the empty layer');
      const withFile = `${repo('hello-artifact')}:ann2`;
      await ladingOk(['push', '--plain-http', '--annotation-file', 'annotation.json', withFile, 'cake.txt'], {
        cwd: dir,
      });
      const m2 = JSON.parse((await ladingOk(['manifest', 'fetch', '--plain-http', withFile])).stdout);
      assert.equal(m2.layers[0].annotations.fun, 'more cream');
    }));

  test('cp of an image layout tar without a tag, fetch-config, blob fetch with the flag before the subcommand, discover', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'hello-world');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const image = await pushImage(layout, { 'etc/os-release': 'NAME="lading test"\n' });
      await layout.tag(image.manifest, 'v4');
      await writeDirectoryAsTar(layoutDir, join(dir, 'hello-world.tar'));
      const v4 = `${repo('hello-artifact')}:v4`;
      const cp = await ladingOk(['cp', '--to-plain-http', '--from-oci-layout', './hello-world.tar', v4], { cwd: dir });
      assert.match(
        cp.stdout,
        new RegExp(
          `^Copied \\[oci-layout\\] \\./hello-world\\.tar => \\[registry\\] ${v4.replace(/[.]/g, '\\.')}$`,
          'm',
        ),
      );
      assert.match(cp.stdout, new RegExp(`^Digest: ${image.manifest.digest}$`, 'm'));
      const config = await ladingOk(['manifest', 'fetch-config', '--plain-http', v4]);
      assert.equal(JSON.parse(config.stdout).os, 'linux');
      const base = v4.slice(0, v4.lastIndexOf(':'));
      const blob = await ladingOk(['blob', '-o', '-', 'fetch', '--plain-http', `${base}@${image.config.digest}`]);
      assert.equal(blob.stdout, config.stdout);
      await ladingOk([
        'blob',
        'fetch',
        '--plain-http',
        `${base}@${image.layer.digest}`,
        '-o',
        join(dir, 'output.tar.gz'),
      ]);
      await mkdir(join(dir, 'output'));
      await run('tar', ['zxf', join(dir, 'output.tar.gz'), '-C', join(dir, 'output')]);
      assert.equal(await readFile(join(dir, 'output/etc/os-release'), 'utf8'), 'NAME="lading test"\n');
      await writeFile(join(dir, 'sbom.json'), '{"sbom":true}');
      await ladingOk(['attach', '--plain-http', '--artifact-type', 'application/vnd.example.sbom', v4, 'sbom.json'], {
        cwd: dir,
      });
      const tree = await ladingOk(['discover', '--plain-http', v4]);
      assert.match(tree.stdout, new RegExp(`^${base.replace(/[.]/g, '\\.')}@${image.manifest.digest}$`, 'm'));
      assert.match(tree.stdout, /└── application\/vnd\.example\.sbom/);
      const json = JSON.parse((await ladingOk(['discover', '--plain-http', '--format', 'json', v4])).stdout);
      assert.equal(json.referrers.length, 1);
      assert.equal(json.referrers[0].artifactType, 'application/vnd.example.sbom');
    }));
});

describe('seed 002: distributing OCI layouts', () => {
  test('cp from a layout tar to the registry, pull back, and pull from the layout itself', () =>
    withDir(async (dir) => {
      const layoutDir = join(dir, 'layout');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const image = await pushImage(layout);
      await layout.tag(image.manifest, 'v1');
      await writeDirectoryAsTar(layoutDir, join(dir, 'hello-world.tar'));
      const ref = `${repo('hello-artifact')}:v1`;
      const cp = await ladingOk(['cp', '--to-plain-http', '--from-oci-layout', './hello-world.tar:v1', ref], {
        cwd: dir,
      });
      assert.match(cp.stdout, /^Copied \[oci-layout\] \.\/hello-world\.tar:v1 => \[registry\] /m);
      const pull = await ladingOk(['pull', '--plain-http', ref], { cwd: dir });
      // ORAS 1.3 says that the untitled layers were skipped (the seed shows an older ORAS's line).
      assert.match(pull.stdout, /^Skipped pulling layers without file name in "org\.opencontainers\.image\.title"$/m);
      assert.match(pull.stdout, new RegExp(`^Digest: ${image.manifest.digest}$`, 'm'));
      const local = await ladingOk(['pull', '--oci-layout', 'hello-world.tar:v1'], { cwd: dir });
      assert.match(local.stdout, /^Pulled \[oci-layout\] hello-world\.tar:v1$/m);
      assert.match(local.stdout, new RegExp(`^Digest: ${image.manifest.digest}$`, 'm'));
    }));
});

describe('seed 004: the Earth-observation workflow', () => {
  test('push into a layout, cp --from-oci-layout … --to registry, pull --output', () =>
    withDir(async (dir) => {
      await mkdir(join(dir, 'data'));
      const imagery = Buffer.alloc(256 * 1024);
      for (let i = 0; i < imagery.length; i++) imagery[i] = (i * 31) & 0xff;
      await writeFile(join(dir, 'data/imagery.tif'), imagery);
      await writeFile(join(dir, 'data/stac_item.json'), '{"type":"Feature"}');
      await writeFile(join(dir, 'data/config.json'), '{}\n');
      await ladingOk(
        [
          'push',
          '--oci-layout',
          'eo-layout:eo/products:v1',
          '--artifact-type',
          'application/vnd.my-earth-observation-product.v1',
          'data/imagery.tif:image/tiff',
          'data/stac_item.json:application/geo+json',
          'data/config.json:application/vnd.oci.artifact.config.v1+json',
        ],
        { cwd: dir },
      );
      const target = `${repo('eo/products')}:v1`;
      await ladingOk(['cp', '--from-oci-layout', 'eo-layout:eo/products:v1', '--to', target, '--to-plain-http'], {
        cwd: dir,
      });
      const m = JSON.parse((await ladingOk(['manifest', 'fetch', '--plain-http', target])).stdout);
      assert.equal(m.artifactType, 'application/vnd.my-earth-observation-product.v1');
      assert.deepEqual(
        m.layers.map((l: { mediaType: string }) => l.mediaType),
        ['image/tiff', 'application/geo+json', 'application/vnd.oci.artifact.config.v1+json'],
      );
      await ladingOk(['pull', '--plain-http', target, '--output', './retrieved'], { cwd: dir });
      assert.ok((await readFile(join(dir, 'retrieved/data/imagery.tif'))).equals(imagery));
      assert.equal(await readFile(join(dir, 'retrieved/data/stac_item.json'), 'utf8'), '{"type":"Feature"}');
    }));
});

describe('registry errors on the command line', () => {
  test('a missing tag, a bad reference and an unreachable registry are one line each', async () => {
    assertOneLineError(
      await lading(['manifest', 'fetch', '--plain-http', `${repo('none')}:missing`]),
      /not found|unknown/i,
    );
    assertOneLineError(await lading(['pull', '--plain-http', 'NOT A REF']), /invalid reference/);
    assertOneLineError(
      await lading(['resolve', '--plain-http', '127.0.0.1:1/x:y']),
      /connection refused|ECONNREFUSED/i,
    );
  });

  test('skopeo reads exactly what lading pushed, and lading reads what skopeo pushed', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.bin'), Buffer.alloc(70_000, 9));
      const ref = `${repo('interop')}:v1`;
      const push = await ladingOk(['push', '--plain-http', ref, 'a.bin'], { cwd: dir });
      const digest = /^Digest: (\S+)$/m.exec(push.stdout)?.[1];
      const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
        encoding: 'buffer',
      });
      assert.equal(digestBytes(raw.stdout as Buffer), digest);
      const layoutDir = join(dir, 'img');
      const layout = await OciLayout.open(layoutDir, { mode: 'create' });
      const image = await pushImage(layout);
      await layout.tag(image.manifest, 'v1');
      const other = `${repo('from-skopeo')}:v1`;
      await run('skopeo', [
        'copy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${layoutDir}:v1`,
        `docker://${other}`,
      ]);
      const resolved = await ladingOk(['resolve', '--plain-http', other]);
      assert.equal(resolved.stdout.trim(), image.manifest.digest);
      await ladingOk(['cp', '--from-plain-http', other, '--to-oci-layout', `${join(dir, 'back')}:v1`]);
      const back = await OciLayout.open(join(dir, 'back'));
      assert.equal((await back.resolve('v1')).digest, image.manifest.digest);
    }));
});
