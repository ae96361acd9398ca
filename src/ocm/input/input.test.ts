import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { encodeTarHeader, readTarBytes } from '../../archive/index.js';
import { readAll } from '../../content/index.js';
import { isLadingError } from '../../oci/index.js';
import { dirInput } from './dir.js';
import { fileInput } from './file.js';
import { goPathMatch } from './glob-match.js';
import { helmInput } from './helm.js';
import { runInput } from './registry.js';
import { sniffMediaType } from './sniff.js';
import { spoolToTempFile } from './spool.js';
import type { InputBlob } from './types.js';
import { utf8Input } from './utf8.js';

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function bytesOf(blob: InputBlob): Promise<Buffer> {
  return readAll(await blob.open(), 1 << 30);
}

/** Checks the blob's declared digest and size against what open() delivers, twice. */
async function content(blob: InputBlob): Promise<Buffer> {
  const first = await bytesOf(blob);
  assert.equal(blob.digest, sha256(first));
  assert.equal(blob.size, first.length);
  assert.ok((await bytesOf(blob)).equals(first), 'open() is repeatable');
  return first;
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'lading-ocm-input-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A tree whose reproducible tars were recorded with Go's archive/tar using upstream's algorithm. */
function makeTree(root: string): void {
  rmSync(root, { recursive: true, force: true });
  const long = 'long'.repeat(30);
  const dirs = ['', 'a', 'a/b', 'a.d', 'ünï', 'empty', long];
  for (const d of dirs) mkdirSync(join(root, d), { recursive: true });
  const files: [string, string | Buffer][] = [
    ['a/b/c.txt', 'hello\n'],
    ['a.txt', 'x'],
    ['a/bin.dat', Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256))],
    ['ünï/f', 'u'],
    [`${long}/${'name'.repeat(20)}.txt`, 'l'],
    ['zero', ''],
    ['a/b/x.yaml', 'k: v\n'],
  ];
  for (const [f, body] of files) writeFileSync(join(root, f), body);
  for (const d of dirs) chmodSync(join(root, d), 0o755);
  for (const [f] of files) chmodSync(join(root, f), 0o644);
  chmodSync(join(root, 'a/bin.dat'), 0o600);
  for (const [f] of files) utimesSync(join(root, f), 1_700_000_000, 1_700_000_000);
}

describe('Dir/v1', () => {
  // sha256 of the tar Go 1.19 archive/tar writes for the same tree with upstream's walk (reproducible).
  const golden: [Record<string, unknown>, string][] = [
    [{}, 'sha256:339e92463f329829c966537dac80d02bbe4b9f86d69001203999ae5702db370c'],
    [{ preserveDir: true }, 'sha256:5c8ba074a3c622004705271d9b1fd443200e4e4e3b15ed7782f1c82ce31bf317'],
    [{ excludeFiles: ['a'] }, 'sha256:ed8d8fbbcaba7ffd59ace2b676a70ef81bed68892062d86606adffe7c0f17a5b'],
    [{ includeFiles: ['a/*'] }, 'sha256:fb87c6854f7266ce4c4fd2668b84ef401a9f694a66cb413d56d33097b124883e'],
    [
      { includeFiles: ['*.txt'], excludeFiles: ['a.txt'] },
      'sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef',
    ],
    [
      { includeFiles: ['[a-b]*'], excludeFiles: ['a/b'] },
      'sha256:f304b1f7fd7a1885dbf82a568920415579afc626270047344b1fa1e1b7acd523',
    ],
    [
      { preserveDir: true, includeFiles: ['tree/a/*'] },
      'sha256:91628e2790140eedf6aed3127746a117c571af07e61a77b5aa786a807daaffc5',
    ],
  ];
  for (const [options, digest] of golden) {
    it(`reproducible tar with ${JSON.stringify(options)} is byte-identical to Go's`, async () => {
      makeTree(join(work, 'tree'));
      const blob = await dirInput(
        { type: 'Dir/v1', path: 'tree', reproducible: true, ...options },
        { workingDirectory: work },
      );
      assert.equal(blob.mediaType, 'application/x-tar');
      await content(blob);
      assert.equal(blob.digest, digest);
    });
  }

  it('gives identical digests on two runs, and GNU tar lists and extracts the archive', async () => {
    makeTree(join(work, 'tree'));
    const spec = { type: 'dir', path: './tree', reproducible: true };
    const one = await dirInput(spec, { workingDirectory: work });
    utimesSync(join(work, 'tree/a.txt'), 1_800_000_000, 1_800_000_000);
    const two = await dirInput(spec, { workingDirectory: work });
    assert.equal(one.digest, two.digest);
    const tarFile = join(work, 'tree.tar');
    writeFileSync(tarFile, await content(one));
    const listing = execFileSync('tar', ['--quoting-style=literal', '-tf', tarFile]).toString().trim().split('\n');
    assert.equal(listing[0], './');
    // Only the root carries `./`: Go's fs.WalkDir names children of "." without it.
    assert.deepEqual(listing.slice(1, 6), ['a/', 'a/b/', 'a/b/c.txt', 'a/b/x.yaml', 'a/bin.dat']);
    assert.ok(listing.includes('ünï/f') && listing.includes('empty/'));
    assert.ok(listing.includes(`${'long'.repeat(30)}/${'name'.repeat(20)}.txt`));
    const out = join(work, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xf', tarFile, '-C', out]);
    assert.equal(readFileSync(join(out, 'a/b/c.txt'), 'utf8'), 'hello\n');
    assert.ok(readFileSync(join(out, 'a/bin.dat')).equals(readFileSync(join(work, 'tree/a/bin.dat'))));
    const verbose = execFileSync('tar', ['-tvf', tarFile, 'a/bin.dat']).toString();
    assert.match(verbose, /^-rw------- 0\/0 +1000 1970-01-01/);
  });

  it('keeps mtime (rounded to the second), ids and set-id bits without reproducible', async () => {
    makeTree(join(work, 'tree'));
    utimesSync(join(work, 'tree/a.txt'), 1_700_000_000.6, 1_700_000_000.6);
    chmodSync(join(work, 'tree/a.txt'), 0o4755);
    const bytes = await content(await dirInput({ type: 'Dir/v1', path: 'tree' }, { workingDirectory: work }));
    const entry = readTarBytes(bytes, 't').find((e) => e.name === 'a.txt');
    assert.ok(entry);
    const offset = bytes.indexOf(Buffer.from('a.txt\0'));
    assert.equal(bytes.subarray(offset + 100, offset + 108).toString(), '0004755\0');
    assert.equal(bytes.subarray(offset + 136, offset + 148).toString(), `${(1_700_000_001).toString(8)}\0`);
  });

  it('compresses with +gzip into a temporary file that dispose() removes', async () => {
    makeTree(join(work, 'tree'));
    const blob = await dirInput(
      { type: 'Dir/v1', path: 'tree', compress: true, reproducible: true, mediaType: 'application/x-custom' },
      { workingDirectory: work, tempDir: work },
    );
    assert.equal(blob.mediaType, 'application/x-custom+gzip');
    const tar = gunzipSync(await content(blob));
    assert.equal(sha256(tar), golden[0]?.[1]);
    await blob.dispose?.();
    await blob.dispose?.();
    await assert.rejects(async () => bytesOf(blob));
  });

  it('refuses a file name that is not UTF-8, naming it with its bytes escaped', async () => {
    makeTree(join(work, 'tree'));
    writeFileSync(Buffer.concat([Buffer.from(join(work, 'tree/caf')), Buffer.from([0xe9])]), 'latin-1');
    await assert.rejects(
      async () => content(await dirInput({ type: 'Dir/v1', path: 'tree' }, { workingDirectory: work })),
      (e) =>
        isLadingError(e, 'UNSUPPORTED') &&
        /tree\/caf\\xe9: the file name is not valid UTF-8/.test((e as Error).message),
    );
  });

  it('refuses symbolic links, paths outside the working directory, and patterns on a single file', async () => {
    makeTree(join(work, 'tree'));
    symlinkSync('a.txt', join(work, 'tree/link'));
    await assert.rejects(
      async () => content(await dirInput({ type: 'Dir/v1', path: 'tree' }, { workingDirectory: work })),
      (e) =>
        isLadingError(e, 'UNSUPPORTED') &&
        /symlinks are not supported yet: found symlink "link"/.test((e as Error).message),
    );
    await assert.rejects(dirInput({ type: 'Dir/v1', path: '../x' }, { workingDirectory: join(work, 'tree') }), (e) =>
      isLadingError(e, 'PATH_TRAVERSAL'),
    );
    await assert.rejects(
      dirInput({ type: 'Dir/v1', path: 'a.txt', includeFiles: ['*'] }, { workingDirectory: join(work, 'tree') }),
      /not supported for single files/,
    );
    const single = await dirInput({ type: 'Dir/v1', path: 'a.txt' }, { workingDirectory: join(work, 'tree') });
    assert.equal(single.mediaType, 'application/octet-stream');
    assert.equal((await content(single)).toString(), 'x');
  });
});

describe('File/v1', () => {
  it('sniffs "foobar" as text/plain; charset=utf-8 (upstream test) and streams the bytes', async () => {
    writeFileSync(join(work, 'test-file.txt'), 'foobar');
    const blob = await fileInput({ type: 'file/v1', path: './test-file.txt' }, { workingDirectory: work });
    assert.equal(blob.mediaType, 'text/plain; charset=utf-8');
    assert.equal((await content(blob)).toString(), 'foobar');
    assert.equal(blob.digest, 'sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2');
  });

  it('a file whose folder is swapped for a link to elsewhere after it was checked is not read there', async () => {
    const top = mkdtempSync(join(tmpdir(), 'lading-swap-'));
    try {
      const root = join(top, 'work');
      mkdirSync(join(root, 'sub'), { recursive: true });
      mkdirSync(join(top, 'secret'));
      writeFileSync(join(root, 'sub', 'f.txt'), 'mine');
      writeFileSync(join(top, 'secret', 'f.txt'), 'secret');
      for (const input of [fileInput, dirInput]) {
        const blob = await input({ type: 'file/v1', path: 'sub/f.txt' }, { workingDirectory: root });
        assert.equal((await bytesOf(blob)).toString(), 'mine');
        // Another process replaces the folder with a link out of the working directory.
        renameSync(join(root, 'sub'), join(root, 'sub.old'));
        symlinkSync(join(top, 'secret'), join(root, 'sub'));
        await assert.rejects(
          bytesOf(blob),
          (e) =>
            isLadingError(e, 'PATH_TRAVERSAL') && /something replaced part of its path with a link/.test(e.message),
        );
        rmSync(join(root, 'sub'));
        renameSync(join(root, 'sub.old'), join(root, 'sub'));
      }
      // A folder's tar: the folder above it swapped before the tar is read.
      mkdirSync(join(root, 'sub', 'data'));
      writeFileSync(join(root, 'sub', 'data', 'f.txt'), 'mine');
      mkdirSync(join(top, 'secret', 'data'));
      writeFileSync(join(top, 'secret', 'data', 'f.txt'), 'secret');
      const tar = await dirInput({ type: 'dir/v1', path: 'sub/data' }, { workingDirectory: root, digestLater: true });
      renameSync(join(root, 'sub'), join(root, 'sub.old'));
      symlinkSync(join(top, 'secret'), join(root, 'sub'));
      await assert.rejects(bytesOf(tar), (e) => isLadingError(e, 'PATH_TRAVERSAL'));
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });

  it('keeps a given media type, compresses with +gzip, accepts an absolute path inside the working directory', async () => {
    writeFileSync(join(work, 'config.yaml'), 'a: 1\n');
    const blob = await fileInput(
      { type: 'File/v1', path: join(work, 'config.yaml'), mediaType: 'application/yaml', compress: true },
      { workingDirectory: work },
    );
    assert.equal(blob.mediaType, 'application/yaml+gzip');
    assert.equal(gunzipSync(await content(blob)).toString(), 'a: 1\n');
    await blob.dispose?.();
  });

  it('refuses missing files, escapes by .. or by symbolic link, and directories', async () => {
    const wd = join(work, 'wd');
    mkdirSync(wd, { recursive: true });
    writeFileSync(join(work, 'secret'), 's');
    symlinkSync('../secret', join(wd, 'escape'));
    await assert.rejects(fileInput({ type: 'File/v1', path: 'missing.txt' }, { workingDirectory: wd }), (e) =>
      isLadingError(e, 'NOT_FOUND'),
    );
    await assert.rejects(fileInput({ type: 'File/v1', path: '../secret' }, { workingDirectory: wd }), (e) =>
      isLadingError(e, 'PATH_TRAVERSAL'),
    );
    await assert.rejects(fileInput({ type: 'File/v1', path: 'escape' }, { workingDirectory: wd }), (e) =>
      isLadingError(e, 'PATH_TRAVERSAL'),
    );
    await assert.rejects(fileInput({ type: 'File/v1', path: '/etc/hostname' }, { workingDirectory: wd }), (e) =>
      isLadingError(e, 'PATH_TRAVERSAL'),
    );
    await assert.rejects(fileInput({ type: 'File/v1', path: '.' }, { workingDirectory: wd }), /not a regular file/);
  });

  it('embeds an OCI image layout tar under the layout media type (seed example)', async () => {
    const layout = new URL(
      '../../../test/fixtures/upstream/ocm/bindings/go/oci/transformer/testdata/oci-layout.tar.gz',
      import.meta.url,
    );
    writeFileSync(join(work, 'oci-artifact.tar.gz'), readFileSync(layout));
    const blob = await fileInput(
      {
        type: 'file/v1',
        path: './oci-artifact.tar.gz',
        mediaType: 'application/vnd.ocm.software.oci.layout.v1+tar+gzip',
      },
      { workingDirectory: work },
    );
    assert.equal(blob.mediaType, 'application/vnd.ocm.software.oci.layout.v1+tar+gzip');
    assert.equal(blob.digest, sha256(readFileSync(layout)));
    const unsniffed = await fileInput({ type: 'file', path: './oci-artifact.tar.gz' }, { workingDirectory: work });
    assert.equal(unsniffed.mediaType, 'application/gzip');
  });
});

describe('UTF8/v1', () => {
  it('text → text/plain', async () => {
    const blob = await utf8Input({ type: 'UTF8/v1', text: 'héllo' });
    assert.equal(blob.mediaType, 'text/plain');
    assert.equal((await content(blob)).toString(), 'héllo');
  });

  it('json → compact canonical JSON with Go escaping', async () => {
    const blob = await utf8Input({
      type: 'utf8',
      json: { replicas: 3, env: 'production', html: '<b>&', n: [1.5, 1e21, 1e-7] },
    });
    assert.equal(blob.mediaType, 'application/json');
    assert.equal(
      (await content(blob)).toString(),
      '{"env":"production","html":"\\u003cb\\u003e\\u0026","n":[1.5,1e+21,1e-7],"replicas":3}',
    );
  });

  it('formattedJson → two-space indentation', async () => {
    const blob = await utf8Input({ type: 'utf8', formattedJson: { b: [1, {}], a: [] } });
    assert.equal((await content(blob)).toString(), '{\n  "a": [],\n  "b": [\n    1,\n    {}\n  ]\n}');
  });

  it('yaml → go-yaml text with sorted keys, application/x-yaml', async () => {
    const blob = await utf8Input({ type: 'utf8', yaml: { replicas: 3, env: 'production', list: ['yes', 1.0] } });
    assert.equal(blob.mediaType, 'application/x-yaml');
    assert.equal((await content(blob)).toString(), 'env: production\nlist:\n- "yes"\n- 1\nreplicas: 3\n');
  });

  it('compress → +gzip; exactly one field must be set', async () => {
    const blob = await utf8Input({ type: 'utf8', text: 'x', compress: true });
    assert.equal(blob.mediaType, 'text/plain+gzip');
    assert.equal(gunzipSync(await content(blob)).toString(), 'x');
    await assert.rejects(
      utf8Input({ type: 'utf8', text: '' }),
      /one of 'text', 'json', 'formattedJson', or 'yaml' must be set/,
    );
    await assert.rejects(utf8Input({ type: 'utf8', text: 'a', json: {} }), /only one of/);
    assert.equal((await content(await utf8Input({ type: 'utf8', json: null }))).toString(), 'null');
  });
});

describe('Helm/v1 (local charts)', () => {
  const testdata = new URL('../../../test/fixtures/upstream/ocm/bindings/go/helm/testdata/', import.meta.url);

  async function layout(blob: InputBlob): Promise<Map<string, Buffer>> {
    const entries = readTarBytes(gunzipSync(await content(blob)), 'layout');
    return new Map(entries.map((e) => [e.name, e.body]));
  }

  it('packages a chart directory into an OCI layout tagged with the chart version', async () => {
    const blob = await helmInput(
      { type: 'Helm/v1', path: 'mychart', repository: 'charts/mychart:0.1.0' },
      { workingDirectory: testdata.pathname },
    );
    assert.equal(blob.mediaType, 'application/vnd.ocm.software.oci.layout.v1+tar+gzip');
    // Each folder is named before its files, as skopeo needs when it is not run as root.
    const entries = readTarBytes(gunzipSync(await content(blob)), 'layout');
    assert.deepEqual(
      entries.slice(0, 3).map((e) => [e.name, e.typeflag]),
      [
        ['oci-layout', '0'],
        ['blobs/', '5'],
        ['blobs/sha256/', '5'],
      ],
    );
    const files = await layout(blob);
    const index = JSON.parse(files.get('index.json')?.toString() ?? '{}');
    assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], '0.1.0');
    const manifest = JSON.parse(files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)?.toString() ?? '{}');
    assert.equal(manifest.config.mediaType, 'application/vnd.cncf.helm.config.v1+json');
    assert.equal(
      files.get(`blobs/sha256/${manifest.config.digest.slice(7)}`)?.toString(),
      '{"name":"mychart","version":"0.1.0"}',
    );
    assert.equal(manifest.layers[0].mediaType, 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
    const chart = readTarBytes(
      gunzipSync(files.get(`blobs/sha256/${manifest.layers[0].digest.slice(7)}`) as Buffer),
      'chart',
    );
    assert.deepEqual(
      chart.map((e) => e.name),
      ['mychart/Chart.yaml', 'mychart/values.yaml', 'mychart/templates/pod.yaml', 'mychart/.helmignore'],
    );
    const again = await helmInput({ type: 'helm', path: 'mychart' }, { workingDirectory: testdata.pathname });
    assert.equal(again.digest, blob.digest, 'packaging is reproducible');
  });

  it('embeds a packaged chart as is, with its provenance file', async () => {
    const blob = await helmInput(
      { type: 'helm', path: 'provenance/mychart-0.1.0.tgz' },
      { workingDirectory: testdata.pathname },
    );
    const files = await layout(blob);
    const index = JSON.parse(files.get('index.json')?.toString() ?? '{}');
    const manifest = JSON.parse(files.get(`blobs/sha256/${index.manifests[0].digest.slice(7)}`)?.toString() ?? '{}');
    assert.deepEqual(
      manifest.layers.map((l: { mediaType: string }) => l.mediaType),
      ['application/vnd.cncf.helm.chart.content.v1.tar+gzip', 'application/vnd.cncf.helm.chart.provenance.v1.prov'],
    );
    assert.equal(manifest.layers[0].digest, sha256(readFileSync(new URL('provenance/mychart-0.1.0.tgz', testdata))));
  });

  it('rejects a bad chart, a repository tag that is not the chart version, and a helmRepository of an unknown scheme', async () => {
    const ctx = { workingDirectory: testdata.pathname };
    await assert.rejects(helmInput({ type: 'helm', path: 'badchart' }, ctx), /chart version is required/);
    await assert.rejects(
      helmInput({ type: 'helm', path: 'mychart', repository: 'charts/mychart:9.9.9' }, ctx),
      /must equal the chart version/,
    );
    // Remote charts (http(s) and oci://) are downloaded: see test/ocm-helm.test.ts, against local servers.
    await assert.rejects(
      helmInput({ type: 'helm', helmRepository: 'ftp://example.com/charts/c-1.0.0.tgz' }, ctx),
      (e) => isLadingError(e, 'INVALID_ARGUMENT'),
    );
  });
});

describe('Helm/v1: what a local chart may read', () => {
  // A chart folder inside the working directory, and a secret beside (outside) it.
  const sandboxes: string[] = [];
  after(() => {
    for (const top of sandboxes) rmSync(top, { recursive: true, force: true });
  });
  function chartSandbox(): { root: string; outside: string } {
    const top = mkdtempSync(join(tmpdir(), 'lading-helm-'));
    sandboxes.push(top);
    const root = join(top, 'work');
    mkdirSync(join(root, 'chart', 'templates'), { recursive: true });
    writeFileSync(join(root, 'chart', 'Chart.yaml'), 'apiVersion: v2\nname: mychart\nversion: 0.1.0\n');
    writeFileSync(join(root, 'shared.yaml'), 'kind: ConfigMap\n');
    const outside = join(top, 'secret.txt');
    writeFileSync(outside, 'secret');
    return { root, outside };
  }

  it('a link in the chart to a file outside the working directory is refused; one inside it is packed', async () => {
    const { root, outside } = chartSandbox();
    symlinkSync(join(root, 'shared.yaml'), join(root, 'chart', 'templates', 'shared.yaml'));
    const blob = await helmInput({ type: 'helm', path: 'chart' }, { workingDirectory: root });
    assert.ok(blob.digest?.startsWith('sha256:'));
    symlinkSync(outside, join(root, 'chart', 'templates', 'leak.yaml'));
    await assert.rejects(
      helmInput({ type: 'helm', path: 'chart' }, { workingDirectory: root }),
      (e) => isLadingError(e, 'PATH_TRAVERSAL') && /templates\/leak\.yaml/.test(e.message),
    );
  });

  it('a library chart linked in as a subchart folder is packed; a dangling link and a link loop are refused', async () => {
    const { root } = chartSandbox();
    mkdirSync(join(root, 'libs', 'common', 'templates'), { recursive: true });
    writeFileSync(
      join(root, 'libs', 'common', 'Chart.yaml'),
      'apiVersion: v2\nname: common\nversion: 1.0.0\ntype: library\n',
    );
    writeFileSync(join(root, 'libs', 'common', 'templates', '_helpers.tpl'), '{{- define "x" -}}{{- end -}}\n');
    mkdirSync(join(root, 'chart', 'charts'));
    symlinkSync('../../libs/common', join(root, 'chart', 'charts', 'common'));
    const blob = await helmInput({ type: 'helm', path: 'chart' }, { workingDirectory: root });
    const files = readTarBytes(gunzipSync(await content(blob)), 'layout');
    const index = JSON.parse(files.find((f) => f.name === 'index.json')?.body.toString() ?? '{}');
    const manifestDigest = index.manifests[0].digest.slice(7);
    const manifest = JSON.parse(
      files.find((f) => f.name === `blobs/sha256/${manifestDigest}`)?.body.toString() ?? '{}',
    );
    const layer = files.find((f) => f.name === `blobs/sha256/${manifest.layers[0].digest.slice(7)}`)?.body as Buffer;
    assert.deepEqual(
      readTarBytes(gunzipSync(layer), 'chart')
        .map((e) => e.name)
        .filter((n) => n.includes('/charts/')),
      ['mychart/charts/common/Chart.yaml', 'mychart/charts/common/templates/_helpers.tpl'],
    );
    symlinkSync('missing.yaml', join(root, 'chart', 'templates', 'gone.yaml'));
    await assert.rejects(
      helmInput({ type: 'helm', path: 'chart' }, { workingDirectory: root }),
      (e) => isLadingError(e, 'NOT_FOUND') && /templates\/gone\.yaml is a symbolic link to nothing/.test(e.message),
    );
    rmSync(join(root, 'chart', 'templates', 'gone.yaml'));
    symlinkSync('..', join(root, 'chart', 'charts', 'loop'));
    await assert.rejects(
      helmInput({ type: 'helm', path: 'chart' }, { workingDirectory: root }),
      (e) =>
        isLadingError(e, 'INVALID_ARGUMENT') && /charts\/loop links back to a folder already packed/.test(e.message),
    );
  });

  it('a chart whose name is not one path component is refused: it would lead every file of its archive elsewhere', async () => {
    const { root } = chartSandbox();
    for (const name of ['../../x', 'a/b', '..', 'a\\b']) {
      writeFileSync(join(root, 'chart', 'Chart.yaml'), `apiVersion: v2\nname: '${name}'\nversion: 0.1.0\n`);
      await assert.rejects(
        helmInput({ type: 'helm', path: 'chart' }, { workingDirectory: root }),
        (e) =>
          isLadingError(e, 'INVALID_ARGUMENT') &&
          e.message.includes(`chart name ${JSON.stringify(name)} must be one path component`),
        name,
      );
    }
  });

  it('a FIFO as the chart, its provenance, a chart file or caCertFile is refused, never read (which would hang)', async () => {
    const { root, outside } = chartSandbox();
    execFileSync('mkfifo', [join(root, 'chart.tgz')]);
    await assert.rejects(helmInput({ type: 'helm', path: 'chart.tgz' }, { workingDirectory: root }), (e) =>
      isLadingError(e, 'INVALID_ARGUMENT'),
    );
    execFileSync('mkfifo', [join(root, 'ca.pem')]);
    await assert.rejects(
      helmInput(
        { type: 'helm', helmRepository: 'https://127.0.0.1:9/c-1.0.0.tgz', caCertFile: 'ca.pem' },
        { workingDirectory: root },
      ),
      (e) => isLadingError(e, 'INVALID_ARGUMENT') && /caCertFile "ca\.pem" is not a regular file/.test(e.message),
    );
    execFileSync('mkfifo', [join(root, 'chart', 'templates', 'pipe.yaml')]);
    await assert.rejects(helmInput({ type: 'helm', path: 'chart' }, { workingDirectory: root }), (e) =>
      isLadingError(e, 'INVALID_ARGUMENT'),
    );
    // A packaged chart whose .prov beside it is a link to a file outside.
    const testdata = new URL('../../../test/fixtures/upstream/ocm/bindings/go/helm/testdata/', import.meta.url);
    writeFileSync(join(root, 'mychart-0.1.0.tgz'), readFileSync(new URL('provenance/mychart-0.1.0.tgz', testdata)));
    symlinkSync(outside, join(root, 'mychart-0.1.0.tgz.prov'));
    await assert.rejects(
      helmInput({ type: 'helm', path: 'mychart-0.1.0.tgz' }, { workingDirectory: root }),
      (e) => isLadingError(e, 'INVALID_ARGUMENT') && /symbolic link/.test(e.message),
    );
  });
});

describe('input registry', () => {
  it('dispatches on any spelling and prefixes errors with the location', async () => {
    const blob = await runInput({ type: 'utf8/v1', text: 'a' }, { workingDirectory: work });
    assert.equal(blob.mediaType, 'text/plain');
    await assert.rejects(
      runInput(
        { type: 'File/v1', path: 'nope' },
        { workingDirectory: work },
        { where: 'c.yaml:3: resources[0].input' },
      ),
      (e) =>
        isLadingError(e, 'NOT_FOUND') && (e as Error).message.startsWith('c.yaml:3: resources[0].input: path "nope"'),
    );
    await assert.rejects(runInput({ type: 'Wget/v1', url: 'http://x' }, { workingDirectory: work }), (e) =>
      isLadingError(e, 'UNSUPPORTED'),
    );
    await assert.rejects(runInput({ type: 'docker' }, { workingDirectory: work }), (e) =>
      isLadingError(e, 'UNKNOWN_TYPE'),
    );
  });
});

describe('Go filepath.Match', () => {
  const table: [string, string, boolean][] = [
    ['*', 'abc', true],
    ['*', 'a/b', false],
    ['*', '.', true],
    ['a/*', 'a/b', true],
    ['a/*', 'a/b/c', false],
    ['*.txt', 'x.txt', true],
    ['?', 'é', true],
    ['a?c', 'a/c', false],
    ['[a-c]x', 'bx', true],
    ['[^a-c]x', 'dx', true],
    ['[^a-c]x', 'ax', false],
    ['[^a]', '/', true],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['a[\\]]b', 'a]b', true],
    // A `-` outside a class is a plain character (file names are full of them).
    ['my-file.txt', 'my-file.txt', true],
    ['charts/*-chart', 'charts/my-chart', true],
    ['a-b', 'a_b', false],
    // Chunk by chunk, as Go matches.
    ['', '', true],
    ['', 'a', false],
    ['**', 'abc', true],
    ['a*', 'a', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyyc/', false],
    ['a*b', 'abab', true],
    ['*b', 'a/b', false],
    ['*/b', 'a/b', true],
    ['a*/b', 'abc/b', true],
    ['a*', 'ab/c', false],
    ['*x', 'xxx', true],
  ];
  for (const [pattern, name, want] of table) {
    it(`${pattern} ~ ${name} = ${want}`, () => assert.equal(goPathMatch(pattern, name), want));
  }
  it('ends, whatever the stars (no backtracking into earlier ones)', { timeout: 30_000 }, () => {
    // As a regular expression this backtracked exponentially: minutes for 40 characters, and the
    // process could not be interrupted meanwhile.
    const pattern = `${'*a'.repeat(16)}*b`;
    for (let n = 20; n <= 4000; n *= 2) assert.equal(goPathMatch(pattern, 'a'.repeat(n)), false);
    assert.equal(goPathMatch(pattern, `${'a'.repeat(40)}b`), true);
  });
  it('reports malformed patterns', () => {
    for (const bad of ['[', '[]', '[a-', 'a\\', '[-a]', '[z-a]']) {
      assert.throws(
        () => goPathMatch(bad, 'x'),
        (e) => isLadingError(e, 'INVALID_ARGUMENT'),
        bad,
      );
    }
  });
});

describe('media type sniffing (gabriel-vasile/mimetype results)', () => {
  const tarHead = Buffer.concat([
    encodeTarHeader({ name: 'f', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: '0' }),
  ]);
  const table: [string, Buffer, string][] = [
    ['text', Buffer.from('foobar'), 'text/plain; charset=utf-8'],
    ['empty', Buffer.alloc(0), 'text/plain'],
    ['json', Buffer.from('{"a": [1,2]}\n'), 'application/json'],
    ['broken json', Buffer.from('[1,2'), 'text/plain; charset=utf-8'],
    ['latin-1', Buffer.from([0xe9, 0x74, 0xe9]), 'text/plain; charset=iso-8859-1'],
    ['windows-1252', Buffer.from([0x63, 0x61, 0x66, 0xc3, 0xa9, 0x20, 0x85]), 'text/plain; charset=windows-1252'],
    ['binary', Buffer.from([0, 1, 2]), 'application/octet-stream'],
    ['gzip', Buffer.from([0x1f, 0x8b, 8, 0]), 'application/gzip'],
    ['tar', tarHead, 'application/x-tar'],
    ['png', Buffer.from('\x89PNG\r\n\x1a\n0000', 'latin1'), 'image/png'],
    ['pdf', Buffer.from('%PDF-1.4 x'), 'application/pdf'],
    ['zip', Buffer.from('PK\x03\x04xxxx', 'latin1'), 'application/zip'],
    ['xml', Buffer.from('<?xml version="1.0"?><a/>'), 'text/xml; charset=utf-8'],
    ['html', Buffer.from('<!DOCTYPE html><html></html>'), 'text/html; charset=utf-8'],
    ['svg', Buffer.from('<svg xmlns="x"></svg>'), 'image/svg+xml'],
    ['bom', Buffer.from('\xef\xbb\xbfbom', 'latin1'), 'text/plain; charset=utf-8'],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'application/zstd'],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'application/x-xz'],
    ['yaml', Buffer.from('key: value\n'), 'text/plain; charset=utf-8'],
  ];
  for (const [name, bytes, want] of table) {
    it(`${name} → ${want}`, () => assert.equal(sniffMediaType(bytes), want));
  }
});

describe('spool folders', () => {
  it('one a killed run left (its process gone, unchanged for an hour) is swept; live, recent and foreign ones stay', async () => {
    const base = mkdtempSync(join(tmpdir(), 'lading-spool-'));
    try {
      // A process id no process has: above the kernel's pid_max.
      const gone = 4_194_304 + 7;
      const stale = join(base, `.lading-input.${gone}.0123456789ab.tmp`);
      const recent = join(base, `.lading-input.${gone}.ba9876543210.tmp`);
      const live = join(base, `.lading-input.${process.pid}.aaaaaaaaaaaa.tmp`);
      const foreign = join(base, `.other.${gone}.0123456789ab.tmp`);
      for (const folder of [stale, recent, live, foreign]) mkdirSync(folder);
      writeFileSync(join(stale, 'blob-1'), 'left behind');
      const old = new Date(Date.now() - 2 * 3600 * 1000);
      for (const folder of [stale, live, foreign]) utimesSync(folder, old, old);
      const blob = await spoolToTempFile(() => Readable.from([Buffer.from('x')]), {
        mediaType: 'text/plain',
        gzip: true,
        tempDir: base,
      });
      const names = readdirSync(base);
      assert.ok(!names.includes(basename(stale)), 'the stale spool folder is swept');
      for (const kept of [recent, live, foreign]) assert.ok(names.includes(basename(kept)), kept);
      assert.equal(names.filter((n) => n.startsWith(`.lading-input.${process.pid}.`)).length, 2, 'ours is named so');
      await blob.dispose?.();
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
