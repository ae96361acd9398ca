import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { OciLayout } from '../src/layout/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { pushArtifact, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

describe('lading command line', () => {
  test('--version and --help', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    const v = await lading(['--version']);
    assert.equal(v.code, 0);
    assert.equal(v.stdout.trim(), pkg.version);
    const h = await lading(['--help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Usage: lading/);
    assert.match(h.stdout, /cp\|copy/);
    const u = await lading(['no-such-command']);
    assert.equal(u.code, 1, 'a usage error exits 1, as cobra does for oras and ocm');
    // A usage error is one line, commander's suggestion included.
    const typo = await lading(['pussh']);
    assert.equal(typo.code, 1);
    assert.equal(typo.stderr, "Error: unknown command 'pussh' (did you mean push?)\n");
    const flag = await lading(['push', '--formt', 'json', 'localhost:5000/x:v1', 'a.txt']);
    assert.equal(flag.stderr, "Error: unknown option '--formt' (did you mean --format?)\n");
    // Defaults read as the flags take them, not as raw numbers.
    const gc = await lading(['serve', 'gc', '--help']);
    assert.match(gc.stdout.replace(/\s+/g, ' '), /--grace <duration> .*\(default: 1h\)/);
    assert.match((await lading(['serve', '--help'])).stdout, /largest manifest accepted .*\(default: 4 MiB\)/);
    // An OCM-style http:// registry address in an ORAS reference: one line saying what to write.
    const scheme = await lading(['pull', 'http://localhost:5000/hello:v1']);
    assert.equal(scheme.code, 1);
    assert.equal(
      scheme.stderr,
      'Error: invalid reference "http://localhost:5000/hello:v1": a registry reference names no scheme: write localhost:5000/hello:v1 (use plain HTTP for it, e.g. --plain-http)\n',
    );
  });

  test('an output folder that cannot be made (under /proc): one line naming it, not a hang', {
    skip: !existsSync('/proc/self') && 'no /proc',
    timeout: 60_000,
  }, async () => {
    const t = await tempDir();
    try {
      await writeFile(join(t.path, 'a.txt'), 'A');
      await ladingOk(['push', '--oci-layout', `${join(t.path, 'src')}:v1`, 'a.txt'], { cwd: t.path });
      for (const args of [
        ['pull', '--oci-layout', `${join(t.path, 'src')}:v1`, '-o', '/proc/lading-no-such/out'],
        ['cp', '--from-oci-layout', `${join(t.path, 'src')}:v1`, '--to-oci-layout', '/proc/lading-no-such:v1'],
      ]) {
        const r = await lading(args, { cwd: t.path });
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.stderr, /^Error: [^\n]*\/proc\/lading-no-such[^\n]*\n$/);
      }
    } finally {
      await t.cleanup();
    }
  });

  test('cp copies between a layout tar and a layout directory with several tags', async () => {
    const t = await tempDir();
    try {
      const src = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const { manifest } = await pushArtifact(src, { 'a.txt': 'A', 'b.txt': 'B' });
      await src.tag(manifest, 'v1');
      const r = await lading([
        'cp',
        '--from-oci-layout',
        `${join(t.path, 'src')}:v1`,
        '--to-oci-layout',
        `${join(t.path, 'dst')}:v1,latest`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Copied {2}[0-9a-f]{12} a\.txt$/m);
      // As ORAS: the first destination tag in the Copied line, the others as Tagged lines.
      assert.match(r.stdout, /Copied \[oci-layout\] .*src:v1 => \[oci-layout\] .*dst:v1\nTagged latest\n/);
      assert.match(r.stdout, new RegExp(`Digest: ${manifest.digest}`));
      const dst = await OciLayout.open(join(t.path, 'dst'));
      assert.equal((await dst.resolve('latest')).digest, manifest.digest);
      assert.equal((await dst.resolve('v1')).digest, manifest.digest);
      const again = await lading([
        'cp',
        '--from-oci-layout',
        `${join(t.path, 'src')}:v1`,
        '--to-oci-layout',
        `${join(t.path, 'dst')}:v2`,
      ]);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /^Exists {2}[0-9a-f]{12} application\/vnd\.oci\.image\.manifest\.v1\+json$/m);
    } finally {
      await t.cleanup();
    }
  });

  test('cp with a high --concurrency from a registry prints no warnings on stderr', async () => {
    const t = await tempDir();
    try {
      const files: Record<string, Buffer> = {};
      for (let i = 0; i < 24; i++) files[`f${i}.bin`] = Buffer.alloc(2 * 1024 * 1024, i);
      const src = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const { manifest } = await pushArtifact(src, files);
      await src.tag(manifest, 'v1');
      const remote = `${loadPeers().plain.host}/lading/cli-concurrency-${process.pid}:v1`;
      const up = await lading([
        'cp',
        '--concurrency',
        '12',
        '--to-plain-http',
        '--from-oci-layout',
        `${join(t.path, 'src')}:v1`,
        remote,
      ]);
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stderr, '');
      const down = await lading([
        'cp',
        '--concurrency',
        '12',
        '--from-plain-http',
        remote,
        '--to-oci-layout',
        `${join(t.path, 'dst')}:v1`,
      ]);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(down.stderr, '');
      assert.equal((await (await OciLayout.open(join(t.path, 'dst'))).resolve('v1')).digest, manifest.digest);
    } finally {
      await t.cleanup();
    }
  });

  test("cp to and from a plain-HTTP registry never loads TLS, nor Node's http modules", async () => {
    const t = await tempDir();
    try {
      const src = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const { manifest } = await pushArtifact(src, { 'p.txt': 'plain' });
      await src.tag(manifest, 'v1');
      // A preload writes the built-in modules the command loaded to a file as it exits.
      const probe = join(t.path, 'probe.cjs');
      await writeFile(
        probe,
        "process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, process.moduleLoadList.join('\\n')));\n",
      );
      const loaded = async (args: string[], name: string) => {
        const out = join(t.path, `${name}.txt`);
        const env = { ...process.env, NODE_OPTIONS: `--require ${probe}`, PROBE_OUT: out };
        const r = await lading(args, { env });
        assert.equal(r.code, 0, r.stderr);
        return (await readFile(out, 'utf8')).split('\n');
      };
      const remote = `${loadPeers().plain.host}/lading/cli-no-tls-${process.pid}:v1`;
      const up = await loaded(
        ['cp', '--to-plain-http', '--from-oci-layout', `${join(t.path, 'src')}:v1`, remote],
        'up',
      );
      const down = await loaded(
        ['cp', '--from-plain-http', remote, '--to-oci-layout', `${join(t.path, 'dst')}:v1`],
        'down',
      );
      for (const list of [up, down]) {
        assert.ok(list.includes('NativeModule net'), 'the probe sees what was loaded');
        assert.ok(!list.includes('NativeModule tls'), 'node:tls was loaded');
        // The client speaks HTTP/1.1 itself (src/registry/h1/): Node's http modules stay unloaded.
        assert.ok(!list.includes('NativeModule http'), 'node:http was loaded');
        assert.ok(!list.includes('NativeModule https'), 'node:https was loaded');
      }
      assert.equal((await (await OciLayout.open(join(t.path, 'dst'))).resolve('v1')).digest, manifest.digest);
    } finally {
      await t.cleanup();
    }
  });

  test('bad input ends in one clear line, a non-zero exit, and the destination as it was', async () => {
    const t = await tempDir();
    try {
      const src = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const { manifest } = await pushArtifact(src, { 'a.txt': 'A' });
      await src.tag(manifest, 'v1');
      await src.tag(manifest, 'v2'); // two tags: a reference-less source is ambiguous
      const dstDir = join(t.path, 'dst');
      await OciLayout.open(dstDir, { mode: 'create' });
      const before = await readFile(join(dstDir, 'index.json'));

      assertOneLineError(
        await lading(['cp', '--from-oci-layout', `${join(t.path, 'src')}:nope`, '--to-oci-layout', dstDir]),
        /nope not found/,
      );
      assertOneLineError(
        await lading(['cp', '--from-oci-layout', join(t.path, 'src'), '--to-oci-layout', dstDir]),
        /no tag or digest given/,
      );
      assertOneLineError(
        await lading(['cp', '--from-oci-layout', `${join(t.path, 'src')}:v1`, '--to-oci-layout', `${dstDir}:bad tag!`]),
        /invalid tag/,
      );
      assertOneLineError(
        await lading(['cp', '--from-oci-layout', `${join(t.path, 'src')}@sha256:123`, '--to-oci-layout', dstDir]),
        /invalid digest/,
      );
      assertOneLineError(
        await lading([
          'cp',
          '--from-oci-layout',
          `${join(t.path, 'src')}:v1`,
          '--to-oci-layout',
          dstDir,
          '--concurrency',
          '0',
        ]),
        /--concurrency/,
      );
      await writeFile(join(t.path, 'src', 'index.json'), '{"schemaVersion":2,"manifests":[{"digest":5}]}');
      assertOneLineError(
        await lading(['cp', '--from-oci-layout', `${join(t.path, 'src')}:v1`, '--to-oci-layout', dstDir]),
        /index\.json: manifests\[0\]/,
      );
      assert.ok((await readFile(join(dstDir, 'index.json'))).equals(before));
      assert.deepEqual(await readdir(join(dstDir, 'blobs', 'sha256')).catch(() => []), []);
      // A destination layout that was not there stays absent: no empty layout is left behind.
      const fresh = join(t.path, 'fresh', 'layout');
      assertOneLineError(
        await lading(['cp', '--from-oci-layout', `${join(t.path, 'src')}:v1`, '--to-oci-layout', fresh]),
        /index\.json: manifests\[0\]/,
      );
      const remote = `${loadPeers().plain.host}/lading/cli-missing-${process.pid}:v1`;
      assertOneLineError(await lading(['cp', '--from-plain-http', remote, '--to-oci-layout', fresh]), /404|not found/i);
      assert.deepEqual(await readdir(t.path).then((names) => names.sort()), ['dst', 'src']);
    } finally {
      await t.cleanup();
    }
  });
  test('an output file that cannot be written is refused before anything is pushed', async () => {
    const t = await tempDir();
    try {
      await writeFile(join(t.path, 'a.txt'), 'a');
      const layout = join(t.path, 'layout');
      const r = await lading(
        [
          'push',
          '--oci-layout',
          `${layout}:v1`,
          'a.txt',
          '--export-manifest',
          join(t.path, 'no-such-folder', 'm.json'),
        ],
        { cwd: t.path },
      );
      assertOneLineError(r, /--export-manifest .*no-such-folder.*does not exist or is not writable/);
      assert.deepEqual(await readdir(t.path), ['a.txt'], 'no layout was written');
      assertOneLineError(
        await lading(['push', '--oci-layout', `${layout}:v1`, 'a.txt:not a type'], { cwd: t.path }),
        /"a\.txt:not a type": invalid media type "not a type"/,
      );
      assertOneLineError(
        await lading(['push', '--oci-layout', `${layout}:v1`, '--config', 'a.txt:bad type', 'a.txt'], { cwd: t.path }),
        /"a\.txt:bad type": invalid media type "bad type"/,
      );
      assert.deepEqual(await readdir(t.path), ['a.txt'], 'no layout was written');
    } finally {
      await t.cleanup();
    }
  });

  test('a secret on the command line is warned about on stderr, in ORAS words, by every remote command', async () => {
    const password = 'WARNED-SECRET';
    const runs: [string[], string | undefined][] = [
      [['resolve', '-u', 'alice', '-p', password, '127.0.0.1:9/r:v1'], '--password'],
      [['pull', '--password', password, '127.0.0.1:9/r:v1'], '--password'],
      [['repo', 'ls', '--identity-token', password, '127.0.0.1:9'], '--identity-token'],
      [['login', '-u', 'alice', '-p', password, '127.0.0.1:9'], '--password'],
      [['resolve', '-u', 'alice', '--password-stdin', '127.0.0.1:9/r:v1'], undefined],
    ];
    for (const [args, flag] of runs) {
      const r = await lading(args, { input: `${password}\n` });
      const warnings = r.stderr.split('\n').filter((line) => line.startsWith('WARNING!'));
      if (flag === '--password')
        assert.deepEqual(
          warnings,
          ['WARNING! Using --password via the CLI is insecure. Use --password-stdin.'],
          args.join(' '),
        );
      else if (flag)
        assert.deepEqual(
          warnings,
          ['WARNING! Using --identity-token via the CLI is insecure. Use --identity-token-stdin.'],
          args.join(' '),
        );
      else assert.deepEqual(warnings, [], args.join(' '));
      assert.doesNotMatch(r.stderr + r.stdout, /WARNED-SECRET/);
    }
  });

  test('a password written into a registry or repository URL is refused and never repeated', async () => {
    const t = await tempDir();
    try {
      await writeFile(
        join(t.path, 'component-constructor.yaml'),
        'name: acme.org/x\nversion: 1.0.0\nprovider:\n  name: acme\n',
      );
      const ctorFile = join(t.path, 'component-constructor.yaml');
      const cases: [string[], RegExp][] = [
        [['add', 'cv', '-c', ctorFile, '-r', 'http://testuser:URLSECRET@127.0.0.1:9/ocm'], /credentials do not belong/],
        [['get', 'cv', 'https://testuser:URLSECRET@127.0.0.1:9/ocm//acme.org/x:1.0.0'], /credentials do not belong/],
        // ORAS references take no scheme: refused as such, and the message masks what it quotes.
        [['repo', 'ls', 'http://testuser:URLSECRET@127.0.0.1:9'], /"http:\/\/\*\*\*@127\.0\.0\.1:9"/],
        // A password with a slash, a space or a quote, a token without a user name, an odd host.
        [['pull', 'alice:URL/SECRET@reg.test:5000/repo:v1'], /invalid reference "\*\*\*@reg\.test:5000\/repo:v1"/],
        [['pull', 'alice:URL SECRET"@reg.test:5000/repo:v1'], /invalid reference "\*\*\*@reg\.test/],
        [['pull', 'ghp_URLSECRET@reg.test:5000/repo:v1'], /invalid reference "\*\*\*@reg\.test/],
        [['pull', `alice:URLSECRET@[::1]:5000/repo@sha256:${'a'.repeat(64)}`], /invalid reference "\*\*\*@\[::1\]/],
        [['repo', 'ls', 'alice:URL/SECRET@reg.test:5000'], /"\*\*\*@reg\.test:5000": it holds user information/],
        [['login', '-u', 'alice:URLSECRET', '-p', 'x', '127.0.0.1:9'], /the user name must not contain ":"/],
        [['pull', '-H', 'Bearer URLSECRET', '127.0.0.1:9/repo:v1'], /invalid header \(16 characters\)/],
      ];
      for (const [args, pattern] of cases) {
        const r = await lading(args);
        assertOneLineError(r, pattern);
        assert.doesNotMatch(r.stderr + r.stdout, /URLSECRET/);
      }
      assertOneLineError(
        await lading(['login', '-u', 'testuser', '--password-stdin', '127.0.0.1:9'], { input: '' }),
        /--password-stdin: nothing was read from standard input/,
      );
    } finally {
      await t.cleanup();
    }
  });

  test('a registry that quotes the credentials it got back in its error: they are masked in what lading prints', async () => {
    const server = http.createServer((req, res) => {
      req.resume();
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="echo"', 'content-length': '0' });
        res.end();
        return;
      }
      const body = JSON.stringify({
        errors: [{ code: 'DENIED', message: `bad credentials: ${req.headers.authorization ?? 'none'}` }],
      });
      res.writeHead(403, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await lading([
        'pull',
        '--plain-http',
        '-u',
        'alice',
        '-p',
        'ECHOEDSECRET',
        `127.0.0.1:${port}/repo:v1`,
      ]);
      assertOneLineError(r, /403 Forbidden: denied: bad credentials: Basic \*\*\*/);
      assert.doesNotMatch(r.stderr, /ECHOEDSECRET/);
      assert.doesNotMatch(r.stderr, new RegExp(Buffer.from('alice:ECHOEDSECRET').toString('base64')));
    } finally {
      server.close();
    }
  });

  test('pull --config <file>:<type> saves the config only when it has that type, as ORAS', async () => {
    const t = await tempDir();
    try {
      await writeFile(join(t.path, 'a.txt'), 'a');
      await writeFile(join(t.path, 'cfg.json'), '{"x":1}');
      await ladingOk(['push', '--oci-layout', './l:v1', '--config', 'cfg.json:application/vnd.me.config', 'a.txt'], {
        cwd: t.path,
      });
      const pull = (out: string, config: string) =>
        ladingOk(['pull', '--oci-layout', './l:v1', '-o', out, '--config', config], { cwd: t.path });
      await pull('other', 'c.json:application/vnd.other.config');
      assert.deepEqual(await readdir(join(t.path, 'other')), ['a.txt']);
      await pull('same', 'c.json:application/vnd.me.config');
      assert.equal(await readFile(join(t.path, 'same', 'c.json'), 'utf8'), '{"x":1}');
      await pull('any', 'c.json');
      assert.deepEqual((await readdir(join(t.path, 'any'))).sort(), ['a.txt', 'c.json']);
    } finally {
      await t.cleanup();
    }
  });

  test('pull --max-unpack-size bounds what a folder layer unpacks to; the refusal names the flag; unlimited lifts it', async () => {
    const t = await tempDir();
    try {
      await mkdir(join(t.path, 'disk'));
      await writeFile(join(t.path, 'disk', 'zeros.img'), Buffer.alloc(64 * 1024));
      await ladingOk(['push', '--oci-layout', './l:v1', 'disk'], { cwd: t.path });
      const refused = await lading(['pull', '--oci-layout', './l:v1', '-o', 'small', '--max-unpack-size', '16KiB'], {
        cwd: t.path,
      });
      assertOneLineError(
        refused,
        /more than 16384 bytes.*gzip bomb \(if you trust it: --max-unpack-size <size> or unlimited\)$/,
      );
      await assert.rejects(readdir(join(t.path, 'small', 'disk')), { code: 'ENOENT' });
      await ladingOk(['pull', '--oci-layout', './l:v1', '-o', 'all', '--max-unpack-size', 'unlimited'], {
        cwd: t.path,
      });
      assert.equal((await readFile(join(t.path, 'all', 'disk', 'zeros.img'))).length, 64 * 1024);
      const usage = await lading(['pull', '--oci-layout', './l:v1', '--max-unpack-size', 'lots'], { cwd: t.path });
      assert.equal(usage.code, 1, usage.stderr);
      assert.match(usage.stderr, /--max-unpack-size.*expected a size/);
    } finally {
      await t.cleanup();
    }
  });

  test('push --artifact-platform stores the platform as config, byte-identical to oras (vector e94c0ba8…)', async () => {
    const t = await tempDir();
    try {
      await writeFile(join(t.path, 'arm64'), 'binary for arm64');
      const push = await lading(['push', '--oci-layout', './l:v1', '--artifact-platform', 'darwin/arm64', 'arm64'], {
        cwd: t.path,
      });
      assert.equal(push.code, 0, push.stderr);
      const layout = await OciLayout.open(join(t.path, 'l'));
      const { fetchAll } = await import('../src/content/index.js');
      const manifest = JSON.parse((await fetchAll(layout, await layout.resolve('v1'))).toString());
      assert.equal(manifest.config.digest, 'sha256:e94c0ba80a1157ffab5b5c6656fffc089c6446c7ed0604f3382910d1ef7dd40d');
      assert.equal(manifest.config.size, 38);
      // image-spec 1.1 (the default): the artifact says its type, ORAS's unknown one when none is given
      assert.equal(manifest.artifactType, 'application/vnd.unknown.artifact.v1');
      await ladingOk(
        ['push', '--oci-layout', './l:v0', '--image-spec', 'v1.0', '--artifact-platform', 'darwin/arm64', 'arm64'],
        {
          cwd: t.path,
        },
      );
      const again = await OciLayout.open(join(t.path, 'l'));
      const v10 = JSON.parse((await fetchAll(again, await again.resolve('v0'))).toString());
      assert.equal(v10.artifactType, undefined);
      assert.equal(v10.config.mediaType, 'application/vnd.oci.image.config.v1+json');
      // as ORAS: an explicit image-spec 1.1 with a config file needs an artifact type
      await writeFile(join(t.path, 'config.json'), '{}');
      assertOneLineError(
        await lading(['push', '--oci-layout', './l:v2', '--image-spec', 'v1.1', '--config', 'config.json', 'arm64'], {
          cwd: t.path,
        }),
        /missing artifact type for OCI image-spec v1\.1 artifacts/,
      );
      const pull = await lading(['pull', '--oci-layout', './l:v1', '--platform', 'darwin/arm64', '-o', 'out'], {
        cwd: t.path,
      });
      assert.equal(pull.code, 0, pull.stderr);
      assert.equal(await readFile(join(t.path, 'out', 'arm64'), 'utf8'), 'binary for arm64');
      const wrong = await lading(['pull', '--oci-layout', './l:v1', '--platform', 'linux/amd64', '-o', 'out2'], {
        cwd: t.path,
      });
      assertOneLineError(wrong, /built for darwin\/arm64, not linux\/amd64/);
    } finally {
      await t.cleanup();
    }
  });
});
