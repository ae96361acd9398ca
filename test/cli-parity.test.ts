import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { OciLayout } from '../src/layout/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { pushImage, withDir } from './support/fixtures.js';
import { loadPeers, ParityHostName } from './support/peers.mjs';

const peers = loadPeers();
const reg = peers.plain.host;
let counter = 0;
const repo = (name: string) => `${reg}/parity/${name}-${process.pid}-${++counter}`;

/** Pushes one small file to a fresh repository; returns its reference and manifest digest. */
async function pushed(dir: string, name: string): Promise<{ ref: string; digest: string }> {
  await writeFile(join(dir, 'a.txt'), 'parity\n');
  const ref = `${repo(name)}:v1`;
  const r = await ladingOk(['push', '--plain-http', ref, 'a.txt'], { cwd: dir });
  const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(r.stdout)?.[1];
  assert.ok(digest);
  return { ref, digest };
}

describe('machine-readable output (ORAS --format json / go-template)', () => {
  test('push --format json: stdout is the JSON model only, indented as ORAS; status lines are gone', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'a\n');
      await writeFile(join(dir, 'b.txt'), 'b\n');
      const ref = `${repo('json')}:v1,v2`;
      const r = await ladingOk(['push', '--plain-http', '--format', 'json', ref, 'a.txt', 'b.txt'], { cwd: dir });
      const model = JSON.parse(r.stdout); // the whole of stdout, nothing else
      assert.doesNotMatch(r.stdout, /Uploading|Uploaded|Exists/);
      assert.match(r.stdout, /^\{\n {2}"reference": "/);
      assert.equal(model.mediaType, 'application/vnd.oci.image.manifest.v1+json');
      assert.match(model.reference, /^127\.0\.0\.1:\d+\/parity\/json-\d+-\d+@sha256:[0-9a-f]{64}$/);
      assert.equal(model.reference.split('@')[1], model.digest);
      assert.deepEqual(
        model.referenceAsTags,
        ['v1', 'v2'].map((t) => `${ref.split(':v1')[0]}:${t}`),
      );
      // The digest it names is what the registry serves.
      const resolved = await ladingOk(['resolve', '--plain-http', ref.split(',')[0] as string]);
      assert.equal(resolved.stdout.trim(), model.digest);
      // Keys in the order ORAS writes them.
      assert.deepEqual(Object.keys(model), [
        'reference',
        'mediaType',
        'digest',
        'size',
        'annotations',
        'artifactType',
        'referenceAsTags',
      ]);
    }));

  test('push and pull --format go-template, both spellings; pull --format json lists absolute paths', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'hello\n');
      await mkdir(join(dir, 'docs'));
      await writeFile(join(dir, 'docs/readme.md'), 'docs\n');
      const ref = `${repo('tpl')}:v1`;
      const p1 = await ladingOk(['push', '--plain-http', '--format', 'go-template={{.digest}}', ref, 'a.txt', 'docs'], {
        cwd: dir,
      });
      const digest = p1.stdout;
      assert.match(digest, /^sha256:[0-9a-f]{64}$/);
      const p2 = await ladingOk(
        [
          'push',
          '--plain-http',
          '--format',
          'go-template',
          '--template',
          '{{.digest}}|{{range .referenceAsTags}}{{.}}{{"\\n"}}{{end}}',
          ref,
          'a.txt',
          'docs',
        ],
        { cwd: dir },
      );
      const [digest2, tags] = p2.stdout.split('|');
      assert.equal(tags, `${ref}\n`);
      const out = join(dir, 'out');
      const pulled = await ladingOk([
        'pull',
        '--plain-http',
        '-o',
        out,
        '--format',
        'go-template',
        '--template',
        '{{range .files}}{{.path}} {{.size}}{{"\\n"}}{{end}}',
        ref,
      ]);
      const lines = pulled.stdout.trim().split('\n').sort();
      assert.equal(lines.length, 2);
      assert.equal(lines[0], `${join(out, 'a.txt')} 6`);
      assert.match(lines[1] as string, new RegExp(`^${join(out, 'docs').replace(/[.]/g, '\\.')}/ \\d+$`));
      const json = await ladingOk(['pull', '--plain-http', '-o', join(dir, 'out2'), '--format', 'json', ref]);
      const model = JSON.parse(json.stdout);
      assert.equal(model.reference.split('@')[1], digest2);
      assert.deepEqual(model.files.map((f: { path: string }) => f.path).sort(), [
        join(dir, 'out2', 'a.txt'),
        `${join(dir, 'out2', 'docs')}/`,
      ]);
      assert.doesNotMatch(json.stdout, /Downloading|Downloaded/);
    }));

  test('--format and --template mistakes are one-line errors before any work', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'x\n');
      const ref = `${repo('bad')}:v1`;
      assertOneLineError(
        await lading(['push', '--plain-http', '--template', '{{.digest}}', ref, 'a.txt'], { cwd: dir }),
        /--template must be used with --format go-template/,
      );
      assertOneLineError(
        await lading(['push', '--plain-http', '--format', 'go-template', ref, 'a.txt'], { cwd: dir }),
        /no template given/,
      );
      assertOneLineError(
        await lading(['push', '--plain-http', '--format', 'yaml', ref, 'a.txt'], { cwd: dir }),
        /invalid format type: "yaml" \(supported types: text, json, go-template\)/,
      );
      assertOneLineError(
        await lading(['push', '--plain-http', '--format', 'go-template={{range .files}}', ref, 'a.txt'], { cwd: dir }),
        /^Error: template: format output:1: unexpected EOF/,
      );
      // Nothing was pushed by any of them.
      assertOneLineError(await lading(['resolve', '--plain-http', ref]), /not found|unknown/i);
    }));

  test('attach names the subject by digest; attach --format json; tag prints Tagging; discover table, -o, go-template', () =>
    withDir(async (dir) => {
      const { ref, digest } = await pushed(dir, 'attach');
      const base = ref.slice(0, -':v1'.length);
      await writeFile(join(dir, 'sbom.json'), '{}');
      const a = await ladingOk(
        ['attach', '--plain-http', '--artifact-type', 'application/vnd.example.sbom', ref, 'sbom.json'],
        {
          cwd: dir,
        },
      );
      assert.match(a.stdout, new RegExp(`^Attached to \\[registry\\] ${base.replace(/[.]/g, '\\.')}@${digest}$`, 'm'));
      const aj = await ladingOk(
        [
          'attach',
          '--plain-http',
          '--format',
          'json',
          '--artifact-type',
          'application/vnd.example.sig',
          '-a',
          'k=v',
          ref,
        ],
        { cwd: dir },
      );
      const attached = JSON.parse(aj.stdout);
      assert.equal(attached.artifactType, 'application/vnd.example.sig');
      assert.deepEqual(attached.annotations.k, 'v');
      assert.equal(attached.referenceAsTags, undefined);

      const t = await ladingOk(['tag', '--plain-http', ref, 'v2', 'v3']);
      const lines = t.stdout.trim().split('\n');
      assert.equal(lines[0], `Tagging [registry] ${base}@${digest}`);
      assert.deepEqual(lines.slice(1).sort(), ['Tagged v2', 'Tagged v3']);

      const table = await ladingOk(['discover', '--plain-http', '--format', 'table', ref]);
      assert.match(table.stderr, /Format "table" is deprecated/);
      assert.match(
        table.stdout,
        new RegExp(
          `^Discovered 2 artifacts referencing ${ref.replace(/[.]/g, '\\.')}\nDigest: ${digest}\n\nArtifact Type {18}Digest\n`,
        ),
      );
      assert.match(table.stdout, /^application\/vnd\.example\.sbom {3}sha256:[0-9a-f]{64}$/m);
      assert.match(table.stdout, /^ {2}"artifactType": "application\/vnd\.example\.sig"$/m);

      const old = await ladingOk(['discover', '--plain-http', '-o', 'json', ref]);
      assert.match(old.stderr, /\[DEPRECATED\] --output is deprecated, try `--format json` instead/);
      const tree = JSON.parse(old.stdout);
      assert.equal(tree.digest, digest);
      assert.equal(tree.referrers.length, 2);
      assertOneLineError(
        await lading(['discover', '--plain-http', '-o', 'json', '--format', 'tree', ref]),
        /cannot be used together/,
      );

      const tpl = await ladingOk([
        'discover',
        '--plain-http',
        '--no-tty',
        '--format',
        'go-template={{range .referrers}}{{.artifactType}}{{"\\n"}}{{end}}',
        ref,
      ]);
      assert.deepEqual(tpl.stdout.trim().split('\n').sort(), [
        'application/vnd.example.sbom',
        'application/vnd.example.sig',
      ]);
    }));

  test('pull of an image whose layers have no titles says it skipped them', () =>
    withDir(async (dir) => {
      const layout = await OciLayout.open(join(dir, 'layout'), { mode: 'create' });
      const image = await pushImage(layout);
      await layout.tag(image.manifest, 'v1');
      const ref = `${repo('image')}:v1`;
      await ladingOk(['cp', '--to-plain-http', '--from-oci-layout', `${join(dir, 'layout')}:v1`, ref]);
      const r = await ladingOk(['pull', '--plain-http', '-o', join(dir, 'out'), ref]);
      assert.match(r.stdout, /^Skipped pulling layers without file name in "org\.opencontainers\.image\.title"$/m);
      assert.match(
        r.stdout,
        new RegExp(
          `^Use 'lading copy ${ref.replace(/[.]/g, '\\.')} --to-oci-layout <layout-dir>' to pull all layers\\.$`,
          'm',
        ),
      );
      assert.doesNotMatch(r.stdout, /Downloaded empty artifact/);
      const json = JSON.parse(
        (await ladingOk(['pull', '--plain-http', '-o', join(dir, 'out'), '--format', 'json', ref])).stdout,
      );
      assert.equal(json.files, null);
      // From a layout, the suggested copy names the layout as its source, and runs as printed.
      const fromLayout = await ladingOk(['pull', '--oci-layout', '-o', join(dir, 'out2'), `${join(dir, 'layout')}:v1`]);
      const suggested = /^Use 'lading (.*)' to pull all layers\.$/m.exec(fromLayout.stdout)?.[1];
      assert.equal(suggested, `copy --from-oci-layout ${join(dir, 'layout')}:v1 --to-oci-layout <layout-dir>`);
      await ladingOk(suggested.replace('<layout-dir>', `${join(dir, 'all')}:v1`).split(' '));
      const all = await OciLayout.open(join(dir, 'all'));
      assert.equal((await all.resolve('v1')).digest, image.manifest.digest);
    }));

  test('manifest fetch and repo tags/ls with --format go-template', () =>
    withDir(async (dir) => {
      const { ref, digest } = await pushed(dir, 'mf');
      const m = await ladingOk([
        'manifest',
        'fetch',
        '--plain-http',
        '--format',
        'go-template={{.digest}} {{(index .content.layers 0).annotations}}',
        ref,
      ]);
      assert.equal(m.stdout, `${digest} map[org.opencontainers.image.title:a.txt]`);
      assertOneLineError(
        await lading(['manifest', 'fetch', '--plain-http', '--format', 'go-template={{.digest}}', '-o', '-', ref]),
        /`--output -` cannot be used with `--format go-template`/,
      );
      const tags = await ladingOk([
        'repo',
        'tags',
        '--plain-http',
        '--format',
        'go-template={{join "," .tags}}',
        ref.slice(0, -3),
      ]);
      assert.equal(tags.stdout, 'v1');
      const json = await ladingOk(['repo', 'tags', '--plain-http', '--format', 'json', ref.slice(0, -3)]);
      assert.equal(json.stdout, '{\n  "tags": [\n    "v1"\n  ]\n}\n');
    }));

  test('version --format json and legacyjson', async () => {
    const pkg = JSON.parse(
      await (await import('node:fs/promises')).readFile(new URL('../package.json', import.meta.url), 'utf8'),
    );
    const j = JSON.parse((await ladingOk(['version', '--format', 'json'])).stdout);
    assert.equal(j.version, pkg.version);
    assert.equal(j.nodeVersion, process.version);
    const legacy = await ladingOk(['version', '-f', 'legacyjson']);
    assert.equal(legacy.stdout.split('\n').length, 2, 'one line');
    const l = JSON.parse(legacy.stdout);
    assert.equal(`${l.major}.${l.minor}.${l.patch}`, pkg.version.replace(/[-+].*$/, ''));
    assert.equal(l.gitVersion, pkg.version);
    assertOneLineError(await lading(['version', '--format', 'xml']), /invalid format type: "xml"/);
  });
});

describe('what scripts see: exit codes, help, the lines ORAS prints', () => {
  test('every failure exits 1, usage errors included (cobra: os.Exit(1)); help exits 0 on stdout', async () => {
    for (const args of [
      ['push', '--no-such-flag', `${reg}/x:v1`],
      ['push'],
      ['no-such-command'],
      ['resolve', '--plain-http=maybe', `${reg}/x:v1`],
      ['push', '--format'],
      ['get', 'cv', '--no-such-flag', './ctf//a.b/c:1.0.0'],
      ['get', 'cv'],
      ['blob', '--no-such-flag'],
    ]) {
      const r = await lading(args);
      assert.equal(r.code, 1, `lading ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^Error: /);
    }
    for (const args of [['--help'], ['help'], ['push', '--help'], ['help', 'push'], ['get', 'cv', '--help']]) {
      const r = await lading(args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /^Usage: lading /);
      assert.equal(r.stderr, '');
    }
    // A group without its subcommand prints its help on stdout and exits 0, as `oras`, `oras blob`
    // and `ocm get` do (commander alone prints it on stderr).
    for (const [args, usage] of [
      [[], 'lading'],
      [['blob'], 'lading blob'],
      [['get'], 'lading get'],
      [['manifest', 'index'], 'lading manifest index'],
    ] as const) {
      const r = await lading([...args]);
      assert.equal(r.code, 0, usage);
      assert.ok(r.stdout.startsWith(`Usage: ${usage} `), r.stdout);
      assert.equal(r.stderr, '');
    }
  });

  test('push: Preparing lines, the first tag in Pushed and Tagged for the others, ArtifactType always; cp and blob push', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'lines\n');
      await mkdir(join(dir, 'docs'));
      await writeFile(join(dir, 'docs', 'r.md'), 'r\n');
      const name = repo('lines');
      const r = await ladingOk(['push', '--plain-http', `${name}:v1,v2,v3`, './a.txt', 'docs/'], { cwd: dir });
      const lines = r.stdout.trim().split('\n');
      // Each file is named (as its title) before any upload, as ORAS prints them when stdout is no terminal.
      assert.deepEqual(lines.slice(0, 2), ['Preparing a.txt', 'Preparing docs']);
      const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(r.stdout)?.[1];
      assert.ok(digest);
      assert.equal(lines.at(-5), `Pushed [registry] ${name}:v1`);
      assert.deepEqual(lines.slice(-4, -2).sort(), ['Tagged v2', 'Tagged v3']);
      assert.deepEqual(lines.slice(-2), ['ArtifactType: application/vnd.unknown.artifact.v1', `Digest: ${digest}`]);
      // `| grep Digest` style: nothing of it on stderr.
      assert.equal(r.stderr, '');

      // image-spec 1.0: the config's media type is the artifact type (oras-go's descriptor), in text and JSON.
      const v10 = await ladingOk(['push', '--plain-http', '--image-spec', 'v1.0', `${name}:old`, 'a.txt'], {
        cwd: dir,
      });
      assert.match(v10.stdout, /^ArtifactType: application\/vnd\.unknown\.config\.v1\+json$/m);
      const v10json = await ladingOk(
        ['push', '--plain-http', '--format', 'json', '--image-spec', 'v1.0', `${name}:old2`, 'a.txt'],
        { cwd: dir },
      );
      assert.equal(JSON.parse(v10json.stdout).artifactType, 'application/vnd.unknown.config.v1+json');

      const empty = await ladingOk(['push', '--plain-http', `${name}:empty`], { cwd: dir });
      assert.equal(empty.stdout.split('\n')[0], 'Uploading empty artifact');
      const quiet = await ladingOk(['push', '--plain-http', '--format', 'json', `${name}:empty2`, 'a.txt'], {
        cwd: dir,
      });
      assert.doesNotMatch(quiet.stdout, /Preparing|Uploading/);

      const copied = await ladingOk(['cp', '--from-plain-http', '--to-plain-http', `${name}:v1`, `${name}-copy:c1,c2`]);
      const tail = copied.stdout.trim().split('\n').slice(-3);
      assert.deepEqual(tail, [
        `Copied [registry] ${name}:v1 => [registry] ${name}-copy:c1`,
        'Tagged c2',
        `Digest: ${digest}`,
      ]);

      // ORAS 1.3's blob push: `Pushed:` and the reference as given.
      const blob = await ladingOk(['blob', 'push', '--plain-http', `${name}-blobs`, 'a.txt'], { cwd: dir });
      assert.match(blob.stdout, new RegExp(`^Pushed: \\[registry\\] ${name.replace(/[.]/g, '\\.')}-blobs$`, 'm'));
      assert.match(blob.stdout, /^Digest: sha256:[0-9a-f]{64}$/m);
    }));
});

describe('ORAS remote flags: --header, --from-header/--to-header, --resolve, deprecated -v', () => {
  /** Registry log lines (docker-registry's access log) that mention `text`. */
  /**
   * The registry's log lines that contain `text`, once `ready` holds for them: a registry writes a
   * request's line when it has answered, and the line reaches the log file a moment later (at most 5 s).
   */
  async function logLines(text: string, ready: (lines: string[]) => boolean = (l) => l.length > 0): Promise<string[]> {
    const { readFile } = await import('node:fs/promises');
    let lines: string[] = [];
    for (let i = 0; i < 50; i++) {
      lines = (await readFile(peers.plain.log, 'utf8')).split('\n').filter((l) => l.includes(text));
      if (ready(lines)) return lines;
      await new Promise((r) => setTimeout(r, 100));
    }
    return lines;
  }

  test('-H reaches the registry on push; cp sends --from-header to the source, --to-header to the destination', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'headers\n');
      const tag = `${process.pid}-${Date.now()}`;
      const src = `${repo('hdr-src')}:v1`;
      await ladingOk(['push', '--plain-http', '-H', `User-Agent: parity-push-${tag}`, src, 'a.txt'], { cwd: dir });
      const pushLines = await logLines(`parity-push-${tag}`, (ls) =>
        ls.some((l) => /PUT/.test(l) && l.includes('/manifests/v1')),
      );
      assert.ok(
        pushLines.some((l) => /PUT/.test(l) && l.includes('/manifests/v1')),
        pushLines.join('\n'),
      );
      const dst = `${repo('hdr-dst')}:v1`;
      const cp = await ladingOk([
        'cp',
        '--from-plain-http',
        '--to-plain-http',
        '--from-header',
        `User-Agent: parity-from-${tag}`,
        '--to-header',
        `User-Agent: parity-to-${tag}`,
        src,
        dst,
      ]);
      assert.match(cp.stdout, /^Copied \[registry\] /m);
      const srcPath = src.slice(src.indexOf('/') + 1, -3);
      const dstPath = dst.slice(dst.indexOf('/') + 1, -3);
      const from = await logLines(`parity-from-${tag}`);
      const to = await logLines(`parity-to-${tag}`, (ls) => ls.some((l) => l.includes(dstPath) && /PUT/.test(l)));
      assert.ok(from.length > 0 && from.every((l) => l.includes(srcPath) || !l.includes(dstPath)), from.join('\n'));
      assert.ok(
        to.some((l) => l.includes(dstPath) && /PUT/.test(l)),
        to.join('\n'),
      );
      assert.ok(
        to.every((l) => !l.includes(srcPath) || l.includes('mount')),
        to.join('\n'),
      );
    }));

  test('--resolve sends a made-up host name to the real registry; bad --resolve values are refused', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'resolve\n');
      const port = peers.plain.host.split(':')[1] as string;
      // A name lading serve on loopback is told to answer (test/support/peers.mjs): it answers
      // only the names it is reached by, docker-registry any.
      const name = ParityHostName;
      const path = `parity/resolve-${process.pid}-${++counter}`;
      const pushed = await ladingOk(
        ['push', '--plain-http', '--resolve', `${name}:5000:127.0.0.1:${port}`, `${name}:5000/${path}:v1`, 'a.txt'],
        { cwd: dir },
      );
      const digest = /^Digest: (sha256:[0-9a-f]{64})$/m.exec(pushed.stdout)?.[1];
      // What went to the made-up name is in the real registry.
      const real = await ladingOk(['resolve', '--plain-http', `${peers.plain.host}/${path}:v1`]);
      assert.equal(real.stdout.trim(), digest);
      // Without --resolve the made-up name does not resolve.
      const unresolved = await lading(['resolve', '--plain-http', `${name}:5000/${path}:v1`]);
      assert.notEqual(unresolved.code, 0);
      for (const [bad, why] of [
        ['x:5000', /expecting host:port:address\[:address_port\]/],
        ['x:port:127.0.0.1', /expecting a host port/],
        ['x:5000:not-an-ip', /invalid IP address/],
        ['x:5000:127.0.0.1:99999', /expecting an address port/],
      ] as const) {
        assertOneLineError(await lading(['resolve', '--plain-http', '--resolve', bad, `${name}:5000/${path}:v1`]), why);
      }
    }));

  test('-v/--verbose is accepted with a deprecation warning', async () => {
    const r = await lading(['resolve', '--plain-http', '-v', `${reg}/parity/none-${process.pid}:v1`]);
    assert.match(r.stderr, /^Flag --verbose has been deprecated, and will be removed in a future release\.$/m);
    assert.doesNotMatch(r.stderr, /unknown option/);
  });
});

describe('OCM command line: global flags anywhere, logging flags, transfer of every version', () => {
  const ctor = (component: string, version: string, extra = '') =>
    `name: ${component}\nversion: ${version}\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input:\n      type: utf8/v1\n      text: note of ${version}\n${extra}`;

  /** A CTF holding `versions` of one component, made with add cv from another working directory. */
  async function ctfWith(dir: string, component: string, versions: string[]): Promise<string> {
    await mkdir(join(dir, 'work'), { recursive: true });
    for (const v of versions) {
      await writeFile(join(dir, 'work', `c-${v}.yaml`), ctor(component, v));
      await ladingOk(['add', 'cv', '-c', `c-${v}.yaml`, '-r', 'ctf'], { cwd: join(dir, 'work') });
    }
    return join(dir, 'work', 'ctf');
  }

  test('flags before the command (lading --config x get cv …); --working-directory and --temp-folder are checked', () =>
    withDir(async (dir) => {
      const component = `acme.org/parity/global${process.pid}`;
      const ctf = await ctfWith(dir, component, ['1.0.0']);
      await writeFile(join(dir, 'cfg.yaml'), 'type: generic.config.ocm.software/v1\nconfigurations: []\n');
      const r = await ladingOk([
        '--config',
        join(dir, 'cfg.yaml'),
        '--loglevel',
        'warn',
        'get',
        'cv',
        `${ctf}//${component}:1.0.0`,
        '-o',
        'json',
      ]);
      assert.equal(JSON.parse(r.stdout)[0].component.version, '1.0.0');
      // A broken --config before the command is read (and refused), so it really was taken.
      await writeFile(join(dir, 'bad.yaml'), 'type: nonsense/v1\n: [\n');
      const bad = await lading(['--config', join(dir, 'bad.yaml'), 'get', 'cv', `${ctf}//${component}:1.0.0`]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /bad\.yaml/);
      assertOneLineError(
        await lading(['get', 'cv', '--working-directory', join(dir, 'nope'), `${ctf}//${component}:1.0.0`]),
        /--working-directory .*nope.*: not an existing folder/,
      );
      assertOneLineError(
        await lading(['--temp-folder', join(dir, 'nope'), 'get', 'cv', `${ctf}//${component}:1.0.0`]),
        /--temp-folder .*nope.*: not an existing folder/,
      );
      assertOneLineError(
        await lading(['get', 'cv', '--logformat', 'xml', `${ctf}//${component}:1.0.0`]),
        /--logformat must be one of text, json, got "xml"/,
      );
    }));

  test('--logformat json / text and --logoutput stdout: warnings as Go slog records', () =>
    withDir(async (dir) => {
      const component = `acme.org/parity/log${process.pid}`;
      await writeFile(
        join(dir, 'c.yaml'),
        ctor(component, '1.0.0').replace('type: utf8/v1', 'type: utf8/v1\n      txet: typo'),
      );
      const plain = await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf1'], { cwd: dir });
      assert.match(plain.stderr, /^warning: .*unknown field "txet"/m);
      const json = await ladingOk(['add', 'cv', '--logformat', 'json', '-c', 'c.yaml', '-r', 'ctf2'], { cwd: dir });
      const record = JSON.parse(json.stderr.split('\n').find((l) => l.includes('txet')) as string);
      assert.equal(record.level, 'WARN');
      assert.match(record.msg, /unknown field "txet"/);
      assert.ok(!Number.isNaN(Date.parse(record.time)));
      const text = await ladingOk(['add', 'cv', '--logoutput', 'stdout', '-c', 'c.yaml', '-r', 'ctf3'], { cwd: dir });
      assert.match(text.stdout, /^time=\S+ level=WARN msg=".*unknown field \\"txet\\".*"$/m);
      assert.doesNotMatch(text.stderr, /txet/);
      const quiet = await ladingOk(['add', 'cv', '--loglevel', 'error', '-c', 'c.yaml', '-r', 'ctf4'], { cwd: dir });
      assert.doesNotMatch(quiet.stderr, /txet/);
    }));

  test('transfer cv without a version transfers every version; --latest and --semver-constraint select', () =>
    withDir(async (dir) => {
      const component = `acme.org/parity/all${process.pid}`;
      const ctf = await ctfWith(dir, component, ['1.0.0', '1.1.0', '2.0.0']);
      const list = async (target: string) =>
        (await ladingOk(['get', 'cv', `${target}//${component}`, '-o', 'json']).then((r) => r.stdout))
          .trim()
          .split(/\n(?=\{)/)
          .map((t) => JSON.parse(t))
          .flatMap((d) => (Array.isArray(d) ? d : [d]))
          .map((d: { component: { version: string } }) => d.component.version)
          .sort();
      const all = `http://${reg}/parity/all-${process.pid}-${++counter}`;
      const t = await ladingOk(['transfer', 'cv', `${ctf}//${component}`, all]);
      // As upstream: nothing on stdout (a script's `> log` or parser sees none of it), the progress on stderr.
      assert.equal(t.stdout, '');
      assert.equal(t.stderr.match(/^Transferred /gm)?.length, 3, t.stderr);
      assert.deepEqual(await list(all), ['1.0.0', '1.1.0', '2.0.0']);
      const latest = `http://${reg}/parity/latest-${process.pid}-${++counter}`;
      await ladingOk(['transfer', 'cv', '--latest', `${ctf}//${component}`, latest]);
      assert.deepEqual(await list(latest), ['2.0.0']);
      const some = join(dir, 'some-ctf');
      await ladingOk(['transfer', 'cv', '--semver-constraint', '< 2.0.0', `${ctf}//${component}`, some]);
      assert.deepEqual(await list(some), ['1.0.0', '1.1.0']);
      assertOneLineError(
        await lading(['transfer', 'cv', '--semver-constraint', '> 9', `${ctf}//${component}`, join(dir, 'none')]),
        /no versions of/,
      );
    }));

  test('an empty folder, tar or tgz is an empty CTF, as upstream reads it; one holding other files is not a CTF', () =>
    withDir(async (dir) => {
      const component = 'acme.org/parity/none';
      await mkdir(join(dir, 'empty'));
      await mkdir(join(dir, 'only-folders', 'sub'), { recursive: true });
      execFileSync('tar', ['cf', join(dir, 'empty.tar'), '--files-from', '/dev/null']);
      execFileSync('tar', ['czf', join(dir, 'empty.tgz'), '--files-from', '/dev/null']);
      execFileSync('tar', ['cf', join(dir, 'folders.tar'), '-C', join(dir, 'only-folders'), 'sub']);
      for (const name of ['empty', 'empty.tar', 'empty.tgz', 'folders.tar']) {
        const at = join(dir, name);
        assert.equal((await ladingOk(['get', 'cv', `${at}//${component}`, '-o', 'json'])).stdout, '[]\n', name);
        assertOneLineError(await lading(['get', 'cv', at]), new RegExp(`^Error: no components found in ${at}$`, 'm'));
        assertOneLineError(
          await lading(['transfer', 'cv', `${at}//${component}`, join(dir, 'to')]),
          new RegExp(`^Error: ${at}: no versions of ${component}$`, 'm'),
        );
        assertOneLineError(
          await lading(['hash', 'cv', `${at}//${component}:1.0.0`]),
          new RegExp(`^Error: component version ${component}:1\\.0\\.0 not found in ${at}$`, 'm'),
        );
      }
      // Read, not written: the empty folder is still empty.
      assert.equal(execFileSync('ls', ['-A', join(dir, 'empty')]).toString(), '');
      // A folder or archive holding files but no CTF is refused (upstream would read it as empty).
      await mkdir(join(dir, 'notes'));
      await writeFile(join(dir, 'notes', 'readme.txt'), 'mine');
      execFileSync('tar', ['cf', join(dir, 'notes.tar'), '-C', join(dir, 'notes'), 'readme.txt']);
      execFileSync('tar', ['czf', join(dir, 'notes.tgz'), '-C', join(dir, 'notes'), 'readme.txt']);
      for (const name of ['notes', 'notes.tar', 'notes.tgz']) {
        assertOneLineError(
          await lading(['get', 'cv', `${join(dir, name)}//${component}`]),
          /: not a CTF \(no artifact-index\.json and no blobs\)$/,
        );
      }
    }));

  test('versions with build metadata and pre-releases: tagged `.build-`, listed, and a --dry-run spec of them runs', () =>
    withDir(async (dir) => {
      const component = `acme.org/parity/build${process.pid}`;
      const ctf = await ctfWith(dir, component, ['1.0.0', '1.0.0+build.1', '1.1.0-rc.1']);
      const registry = `http://${reg}/parity/build-${process.pid}-${++counter}`;
      await ladingOk(['transfer', 'cv', `${ctf}//${component}`, registry]);
      // The OCI tag replaces the first `+` with `.build-` (upstream's LooseSemverToOCITag).
      const stored = `${registry.slice('http://'.length)}/component-descriptors/${component}`;
      const tags = await fetch(`http://${stored.replace('/', '/v2/')}/tags/list`);
      assert.deepEqual((((await tags.json()) as { tags: string[] }).tags ?? []).sort(), [
        '1.0.0',
        '1.0.0.build-build.1',
        '1.1.0-rc.1',
      ]);
      const versions = (r: { stdout: string }) =>
        (JSON.parse(r.stdout) as { component: { version: string } }[]).map((d) => d.component.version).sort();
      for (const at of [ctf, registry]) {
        assert.deepEqual(versions(await ladingOk(['get', 'cv', `${at}//${component}`, '-o', 'json'])), [
          '1.0.0',
          '1.0.0+build.1',
          '1.1.0-rc.1',
        ]);
        const one = await ladingOk(['get', 'cv', `${at}//${component}:1.0.0+build.1`, '-o', 'json']);
        assert.deepEqual(versions(one), ['1.0.0+build.1']);
        // As upstream's constraints (Masterminds semver): a pre-release only where the constraint
        // names one; the default (`> 0.0.0-0`) does, so --latest is the pre-release.
        const select = (...flags: string[]) => ladingOk(['get', 'cv', ...flags, `${at}//${component}`, '-o', 'json']);
        assert.deepEqual(versions(await select('--semver-constraint', '>=1.0.0')), ['1.0.0', '1.0.0+build.1']);
        assert.deepEqual(versions(await select('--semver-constraint', '1.x', '--latest')).length, 1);
        assert.notDeepEqual(versions(await select('--semver-constraint', '1.x', '--latest')), ['1.1.0-rc.1']);
        assert.deepEqual(versions(await select('--latest')), ['1.1.0-rc.1']);
        assert.deepEqual(versions(await select('--semver-constraint', '~1.1.0-0')), ['1.1.0-rc.1']);
      }
      const rc = join(dir, 'rc');
      await ladingOk(['transfer', 'cv', '--semver-constraint', '>= 1.0.0', `${registry}//${component}`, rc]);
      assert.deepEqual(versions(await ladingOk(['get', 'cv', `${rc}//${component}`, '-o', 'json'])), [
        '1.0.0',
        '1.0.0+build.1',
      ]);
      // Upstream names the version's nodes `transform…100+build1…`, which its own builder (and
      // lading's reader) refuses: the spec --dry-run prints must be one --transfer-spec runs.
      const spec = await ladingOk(['transfer', 'cv', '--dry-run', '-o', 'json', `${registry}//${component}`, 'out'], {
        cwd: dir,
      });
      assert.ok(
        Object.keys(JSON.parse(spec.stdout).environment).some((k) => k.endsWith('100Build1')),
        spec.stdout.slice(0, 300),
      );
      await writeFile(join(dir, 'spec.json'), spec.stdout);
      await ladingOk(['transfer', 'cv', '--transfer-spec', 'spec.json'], { cwd: dir });
      assert.deepEqual(versions(await ladingOk(['get', 'cv', `${join(dir, 'out')}//${component}`, '-o', 'json'])), [
        '1.0.0',
        '1.0.0+build.1',
        '1.1.0-rc.1',
      ]);
    }));

  test('get cv of a component without versions: an empty answer, exit 0, as upstream; a registry without its repository fails', () =>
    withDir(async (dir) => {
      const component = `acme.org/parity/empty${process.pid}`;
      const ctf = await ctfWith(dir, component, ['1.0.0']);
      // Upstream lists a CTF's tags of the component (none) and renders no rows.
      const table = await ladingOk(['get', 'cv', `${ctf}//acme.org/parity/other`]);
      assert.equal(
        table.stdout
          .split('\n')[0]
          ?.trim()
          .split(/\s*│\s*/)
          .join(' '),
        'COMPONENT VERSION PROVIDER',
      );
      assert.equal(table.stdout.trim().split('\n').length, 2, table.stdout);
      assert.equal((await ladingOk(['get', 'cv', `${ctf}//acme.org/parity/other`, '-o', 'json'])).stdout, '[]\n');
      // A selection that keeps none is the same, in a CTF and in a registry.
      const none = ['--semver-constraint', '> 9', '-o', 'json'];
      assert.equal((await ladingOk(['get', 'cv', ...none, `${ctf}//${component}`])).stdout, '[]\n');
      const registry = `http://${reg}/parity/empty-${process.pid}-${++counter}`;
      await ladingOk(['transfer', 'cv', `${ctf}//${component}:1.0.0`, registry]);
      assert.equal((await ladingOk(['get', 'cv', ...none, `${registry}//${component}`])).stdout, '[]\n');
      // A registry answers 404 for the tags of a repository it does not have: upstream's listing fails.
      assertOneLineError(
        await lading(['get', 'cv', `${registry}//acme.org/parity/other`]),
        /: no versions of acme.org\/parity\/other: the registry has no repository component-descriptors\/acme.org\/parity\/other$/,
      );
      // transfer cv without a version fails where there is none (upstream: "no versions found for
      // component"), naming the repository, the selection, and a registry's missing repository as get cv.
      assertOneLineError(
        await lading(['transfer', 'cv', `${registry}//acme.org/parity/other`, join(dir, 'to')]),
        new RegExp(
          `^Error: ${registry}: no versions of acme.org/parity/other: the registry has no repository component-descriptors/acme.org/parity/other$`,
          'm',
        ),
      );
      assertOneLineError(
        await lading(['transfer', 'cv', `${ctf}//acme.org/parity/other`, join(dir, 'to')]),
        new RegExp(`^Error: ${ctf}: no versions of acme.org/parity/other$`, 'm'),
      );
      assertOneLineError(
        await lading([
          'transfer',
          'cv',
          '--latest',
          '--semver-constraint',
          '> 9',
          `${ctf}//${component}`,
          join(dir, 'to'),
        ]),
        new RegExp(`^Error: ${ctf}: no versions of ${component} matching constraint "> 9" \\(latest only\\)$`, 'm'),
      );
      // A version that is not there: the error says where it was looked for.
      for (const at of [ctf, registry]) {
        for (const command of [
          ['get', 'cv'],
          ['get', 'resources'],
          ['hash', 'cv'],
        ]) {
          assertOneLineError(
            await lading([...command, `${at}//${component}:9.9.9`]),
            new RegExp(`^Error: component version ${component}:9\\.9\\.9 not found in ${at}$`, 'm'),
          );
        }
      }

      // Only a manifest copied by digest, never tagged: docker-registry has no tag folder for it and
      // answers 404 NAME_UNKNOWN (so upstream's listing fails, and lading's with it); lading serve
      // lists `[]`, an empty answer.
      const stored = `${registry.slice('http://'.length)}/component-descriptors/${component}`;
      const digest = (await ladingOk(['resolve', '--plain-http', `${stored}:1.0.0`])).stdout.trim();
      const untagged = `http://${reg}/parity/untagged-${process.pid}-${++counter}`;
      const copy = `${untagged.slice('http://'.length)}/component-descriptors/${component}@${digest}`;
      await ladingOk(['cp', '--from-plain-http', '--to-plain-http', `${stored}:1.0.0`, copy]);
      const listed = await lading(['get', 'cv', `${untagged}//${component}`, '-o', 'json']);
      if (peers.plain.kind === 'docker-registry')
        assertOneLineError(listed, /: no versions of .*: the registry has no repository component-descriptors\//);
      else assert.equal(listed.stdout, '[]\n');

      // The repository is there, its tags are all gone (a manifest deleted by digest takes its tags
      // with it; docker-registry then lists `"tags": null`, lading serve `[]`): upstream's listing
      // is empty, and so is the answer.
      await ladingOk(['manifest', 'delete', '--plain-http', '--force', `${stored}@${digest}`]);
      const tags = await fetch(`http://${stored.replace('/', '/v2/')}/tags/list`);
      assert.equal(tags.status, 200);
      assert.deepEqual(((await tags.json()) as { tags: string[] | null }).tags ?? [], []);
      assert.equal((await ladingOk(['get', 'cv', `${registry}//${component}`, '-o', 'json'])).stdout, '[]\n');
      const gone = await ladingOk(['get', 'cv', `${registry}//${component}`]);
      assert.equal(gone.stdout.trim().split('\n').length, 2, gone.stdout);
      // transfer cv of it fails, as upstream's: there is no version to transfer.
      assertOneLineError(
        await lading(['transfer', 'cv', `${registry}//${component}`, join(dir, 'to')]),
        new RegExp(`^Error: ${registry}: no versions of ${component}$`, 'm'),
      );
      assertOneLineError(
        await lading(['get', 'cv', `${registry}//${component}:1.0.0`]),
        new RegExp(`^Error: component version ${component}:1\\.0\\.0 not found in ${registry}$`, 'm'),
      );
    }));
});

describe('OCM: get config, get/describe types, completion powershell', () => {
  test('get config prints the merged configuration (secrets masked) from --config before or after the command', () =>
    withDir(async (dir) => {
      const cfg = join(dir, 'ocmconfig.yaml');
      await writeFile(
        cfg,
        `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, hostname: ${peers.plain.host.split(':')[0]}}
    credentials:
    - type: Credentials/v1
      properties: {username: parity-user, password: parity-secret}
- type: resolvers.config.ocm.software/v1alpha1
  resolvers:
  - repository: {type: CommonTransportFormat/v1, filePath: ./ctf}
    componentNamePattern: acme.org/*
`,
      );
      const json = JSON.parse((await ladingOk(['get', 'config', '--config', cfg, '-o', 'json'])).stdout);
      assert.equal(json.type, 'generic.config.ocm.software/v1');
      const creds = json.configurations.find((c: { type: string }) => c.type === 'credentials.config.ocm.software');
      assert.equal(creds.consumers[0].credentials[0].properties.username, 'parity-user');
      assert.equal(creds.consumers[0].credentials[0].properties.password, '***');
      const resolvers = json.configurations.find((c: { type: string }) => c.type.startsWith('resolvers.'));
      assert.equal(resolvers.resolvers[0].componentNamePattern, 'acme.org/*');
      const yaml = await ladingOk(['--config', cfg, 'get', 'cfg']);
      assert.match(yaml.stdout, /^type: generic\.config\.ocm\.software\/v1$/m);
      assert.doesNotMatch(yaml.stdout + JSON.stringify(json), /parity-secret/);
      assertOneLineError(
        await lading(['get', 'config', '-o', 'table', '--config', cfg]),
        /-o\/--output must be one of yaml, json, ndjson/,
      );
    }));

  test('describe types / get types list subsystems, types and their fields', async () => {
    const all = await ladingOk(['describe', 'types']);
    for (const s of ['ocm-repository', 'access', 'input', 'credential-repository', 'signing'])
      assert.match(all.stdout, new RegExp(`^${s} `, 'm'));
    const access = await ladingOk(['get', 'types', 'access']);
    for (const t of ['LocalBlob/v1', 'OCIImage/v1', 'Helm/v1', 'File/v1alpha1'])
      assert.match(access.stdout, new RegExp(`^${t.replace('/', '\\/')} `, 'm'));
    const dir = await ladingOk(['describe', 'type', 'input', 'dir']);
    assert.match(dir.stdout, /^Type: {8}Dir\/v1$/m);
    assert.match(dir.stdout, /^path +string +yes /m);
    assert.match(dir.stdout, /^excludeFiles +string\[\] +no /m);
    const oci = JSON.parse((await ladingOk(['get', 'types', 'ocm-repository', 'oci', '-o', 'json'])).stdout);
    assert.equal(oci.name, 'OCIRepository/v1');
    assert.deepEqual(
      oci.fields.map((f: { name: string }) => f.name),
      ['baseUrl', 'subPath'],
    );
    assertOneLineError(await lading(['describe', 'types', 'nope']), /unknown subsystem "nope"/);
    assertOneLineError(await lading(['describe', 'types', 'input', 'nope/v9']), /unknown input type "nope\/v9"/);
  });

  test('completion powershell: a native argument completer over the command tree', async () => {
    const ps = await ladingOk(['completion', 'powershell']);
    assert.match(ps.stdout, /^Register-ArgumentCompleter -Native -CommandName 'lading' -ScriptBlock \{$/m);
    assert.match(ps.stdout, /^ {2}'get' = @\{ subs = @\(.*@\('types', /m);
    assert.match(ps.stdout, /^ {2}'describe types' = @\{ subs = @\(\); flags = @\(.*@\('--output', /m);
    assert.match(ps.stdout, /^ {2}'describe' = @\{ subs = @\(@\('types', .*@\('type', /m);
    // Balanced braces and parentheses (outside quoted strings), so the script parses.
    const code = ps.stdout.replace(/'(?:[^']|'')*'/g, "''").replace(/"[^"]*"/g, '""');
    for (const [open, close] of [
      ['{', '}'],
      ['(', ')'],
    ] as const)
      assert.equal(code.split(open).length, code.split(close).length, `${open}${close} balanced`);
  });
});

describe("OCM: seed 001's access resources without version; File/v1alpha1 download", () => {
  test('an access resource without version gets the component version with a warning; its File/v1alpha1 content downloads, checked', () =>
    withDir(async (dir) => {
      const { createHash } = await import('node:crypto');
      const { readFile } = await import('node:fs/promises');
      const { pathToFileURL } = await import('node:url');
      await writeFile(join(dir, 'readme.md'), '# readme of seed 001\n');
      const digest = `sha256:${createHash('sha256').update('# readme of seed 001\n').digest('hex')}`;
      const component = `acme.org/parity/seed001-${process.pid}`;
      const resource = (name: string, extra: string) =>
        `- name: ${name}\n  type: blob\n  relation: external\n  access:\n    type: File/v1alpha1\n    uri: ${extra}\n    mediaType: text/markdown\n`;
      const uri = pathToFileURL(join(dir, 'readme.md')).href;
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        `name: ${component}\nversion: 1.2.3\nprovider:\n  name: acme.org\nresources:\n${resource('readme', uri)}${resource('checked', `${uri}\n    digest: ${digest}`)}${resource('wrong', `${uri}\n    digest: sha256:${'0'.repeat(64)}`)}${resource('remote', 'https://example.com/readme.md')}${resource('folder', `${pathToFileURL(dir).href}\n    digest: ${digest}`)}${resource('fifo', `${pathToFileURL(join(dir, 'fifo')).href}\n    digest: ${digest}`)}`,
      );
      const target = `http://${reg}/parity/seed001-${process.pid}-${++counter}`;
      const add = await ladingOk(['add', 'cv', '-r', target], { cwd: dir });
      assert.match(
        add.stderr,
        /^warning: component-constructor\.yaml:6: resources\[0\]: resource "readme" given by access has no version; using the component's version 1\.2\.3/m,
      );
      const ref = `${target}//${component}:1.2.3`;
      const got = JSON.parse((await ladingOk(['get', 'cv', ref, '-o', 'json'])).stdout)[0];
      assert.equal(got.component.resources[0].version, '1.2.3');
      // The URI is the descriptor author's word: with no digest to pin it, no local file is read
      // (a hostile component could otherwise name ~/.ssh/id_rsa and have transfer or download hand it on).
      assertOneLineError(
        await lading(['download', 'resource', ref, '--identity', 'name=readme', '--output', join(dir, 'out.md')]),
        /resource "readme": File\/v1alpha1 access: no digest says what "file:.*readme\.md" must contain/,
      );
      await ladingOk(['download', 'resource', ref, '--identity', 'name=checked', '--output', join(dir, 'checked.md')]);
      assert.equal(await readFile(join(dir, 'checked.md'), 'utf8'), '# readme of seed 001\n');
      // The message names the expected digest only: the descriptor's author does not learn the
      // digest of a local file they named.
      const wrong = await lading([
        'download',
        'resource',
        ref,
        '--identity',
        'name=wrong',
        '--output',
        join(dir, 'wrong.md'),
      ]);
      assertOneLineError(
        wrong,
        /File\/v1alpha1 access: the file does not hold the content the access expects \(sha256:0{64}\)/,
      );
      assert.doesNotMatch(wrong.stderr, new RegExp(digest.slice('sha256:'.length)));
      assertOneLineError(
        await lading(['download', 'resource', ref, '--identity', 'name=remote', '--output', join(dir, 'r.md')]),
        /is not a local file:\/\/ URI/,
      );
      assertOneLineError(
        await lading(['download', 'resource', ref, '--identity', 'name=folder', '--output', join(dir, 'f.md')]),
        /is not a regular file/,
      );
      // A FIFO is refused without blocking on it (nobody ever writes to this one).
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      assertOneLineError(
        await lading(['download', 'resource', ref, '--identity', 'name=fifo', '--output', join(dir, 'p.md')]),
        /fifo is not a regular file/,
      );
      // Nothing was left behind by the refused downloads.
      for (const f of ['out.md', 'wrong.md', 'r.md', 'f.md', 'p.md'])
        await assert.rejects(readFile(join(dir, f)), { code: 'ENOENT' });
    }));
});

describe('OCM: the configuration resolvers find referenced components elsewhere (get cv -r)', () => {
  test('both resolver config types lead get cv -r from a CTF to a reference stored in the registry', () =>
    withDir(async (dir) => {
      const lib = `acme.org/parity/lib${process.pid}`;
      const app = `acme.org/parity/app${process.pid}`;
      const registry = `http://${reg}/parity/resolvers-${process.pid}-${++counter}`;
      await writeFile(
        join(dir, 'lib.yaml'),
        `name: ${lib}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input: {type: utf8/v1, text: lib}\n`,
      );
      await ladingOk(['add', 'cv', '-c', 'lib.yaml', '-r', registry], { cwd: dir });
      await writeFile(
        join(dir, 'app.yaml'),
        `name: ${app}\nversion: 1.0.0\nprovider:\n  name: acme.org\ncomponentReferences:\n  - name: lib\n    componentName: ${lib}\n    version: 1.0.0\n`,
      );
      // The app alone in a CTF (add cv wants its references beside it: made with both, then moved alone).
      await ladingOk(['add', 'cv', '-c', 'lib.yaml', '-r', 'both'], { cwd: dir });
      await ladingOk(['add', 'cv', '-c', 'app.yaml', '-r', 'both'], { cwd: dir });
      await ladingOk(['transfer', 'cv', `${join(dir, 'both')}//${app}:1.0.0`, join(dir, 'ctf')]);
      const ref = `${join(dir, 'ctf')}//${app}:1.0.0`;
      await writeFile(join(dir, 'none.yaml'), 'type: generic.config.ocm.software/v1\nconfigurations: []\n');
      const without = await lading([
        'get',
        'cv',
        '-o',
        'json',
        '--recursive',
        '-1',
        '--config',
        join(dir, 'none.yaml'),
        ref,
      ]);
      assert.notEqual(without.code, 0, 'the reference is not in the CTF');
      const configs = {
        current: `- type: resolvers.config.ocm.software/v1alpha1\n  resolvers:\n  - repository: {type: OCIRepository/v1, baseUrl: ${registry}}\n    componentNamePattern: acme.org/parity/lib*\n`,
        legacy: `- type: ocm.config.ocm.software\n  resolvers:\n  - repository: {type: CommonTransportFormat/v1, filePath: ${join(dir, 'nowhere')}}\n    prefix: acme.org/other\n    priority: 20\n  - repository: {type: OCIRepository/v1, baseUrl: ${registry}}\n    prefix: acme.org/parity\n    priority: 10\n`,
      };
      for (const [kind, body] of Object.entries(configs)) {
        const file = join(dir, `${kind}.yaml`);
        await writeFile(file, `type: generic.config.ocm.software/v1\nconfigurations:\n${body}`);
        const r = await ladingOk(['--config', file, 'get', 'cv', '-o', 'json', '--recursive', '-1', ref]);
        const names = JSON.parse(r.stdout).map((d: { component: { name: string } }) => d.component.name);
        assert.deepEqual(names.sort(), [app, lib].sort(), kind);
      }
    }));
});

describe('OCM output and flags as the upstream CLI prints and takes them', () => {
  /** root 0.0.1 → leaf-a, leaf-b; root 0.0.2 → leaf-a (leaf-b has another provider), as upstream's tests. */
  const graph = `components:
  - name: ocm.software/root
    version: 0.0.2
    provider: {name: ocm.software}
    componentReferences:
      - {name: ref-a, componentName: ocm.software/leaf-a, version: 0.0.1}
  - name: ocm.software/root
    version: 0.0.1
    provider: {name: ocm.software}
    componentReferences:
      - {name: ref-a, componentName: ocm.software/leaf-a, version: 0.0.1}
      - {name: ref-b, componentName: ocm.software/leaf-b, version: 0.0.1}
  - name: ocm.software/leaf-b
    version: 0.0.1
    provider: {name: other.org}
  - name: ocm.software/leaf-a
    version: 0.0.1
    provider: {name: ocm.software}
`;
  const table = (rows: string[]) => rows.map((r) => `${r}\n`).join('');

  test('add cv and get cv tables blank a component or provider repeated from the row above; -o tree nests as upstream', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'c.yaml'), graph);
      // add cv prints the construction graph: roots in identity order, each with its references.
      const add = await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], { cwd: dir });
      assert.equal(
        add.stdout,
        table([
          ' COMPONENT           │ VERSION │ PROVIDER     ',
          '─────────────────────┼─────────┼──────────────',
          ' ocm.software/root   │ 0.0.1   │ ocm.software ',
          ' ocm.software/leaf-a │ 0.0.1   │              ',
          ' ocm.software/leaf-b │ 0.0.1   │ other.org    ',
          ' ocm.software/root   │ 0.0.2   │ ocm.software ',
          ' ocm.software/leaf-a │ 0.0.1   │              ',
        ]),
      );
      const versions = await ladingOk(['get', 'cv', 'ctf//ocm.software/root'], { cwd: dir });
      assert.equal(
        versions.stdout,
        table([
          ' COMPONENT         │ VERSION │ PROVIDER     ',
          '───────────────────┼─────────┼──────────────',
          ' ocm.software/root │ 0.0.2   │ ocm.software ',
          '                   │ 0.0.1   │              ',
        ]),
      );
      const tree = await ladingOk(['get', 'cv', 'ctf//ocm.software/root', '-o', 'tree', '--recursive=-1'], {
        cwd: dir,
      });
      assert.equal(
        tree.stdout,
        table([
          ' NESTING  COMPONENT            VERSION  PROVIDER      IDENTITY                               ',
          ' ├─ ●     ocm.software/root    0.0.2    ocm.software  name=ocm.software/root,version=0.0.2   ',
          ' │  └─    ocm.software/leaf-a  0.0.1    ocm.software  name=ocm.software/leaf-a,version=0.0.1 ',
          ' └─ ●     ocm.software/root    0.0.1    ocm.software  name=ocm.software/root,version=0.0.1   ',
          '    ├─    ocm.software/leaf-a  0.0.1    ocm.software  name=ocm.software/leaf-a,version=0.0.1 ',
          '    └─    ocm.software/leaf-b  0.0.1    other.org     name=ocm.software/leaf-b,version=0.0.1 ',
        ]),
      );
    }));

  test('get cv of a repository without a component lists every component (--latest: the newest of each)', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'c.yaml'), graph);
      await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], { cwd: dir });
      const all = await ladingOk(['get', 'cv', 'ctf', '-o', 'json'], { cwd: dir });
      const ids = (r: { stdout: string }) =>
        JSON.parse(r.stdout).map((d: { component: { name: string; version: string } }) =>
          [d.component.name, d.component.version].join(':'),
        );
      assert.deepEqual(ids(all), [
        'ocm.software/root:0.0.2',
        'ocm.software/leaf-a:0.0.1',
        'ocm.software/leaf-b:0.0.1',
        'ocm.software/root:0.0.1',
      ]);
      const latest = await ladingOk(['get', 'cv', 'ctf', '--latest', '-o', 'json'], { cwd: dir });
      assert.deepEqual(ids(latest), [
        'ocm.software/root:0.0.2',
        'ocm.software/leaf-a:0.0.1',
        'ocm.software/leaf-b:0.0.1',
      ]);
      // A reference with a component part stays a component reference, refused as such.
      assertOneLineError(await lading(['get', 'cv', 'ctf//'], { cwd: dir }), /component/);
    }));

  test('transfer cv: every version by default (no constraint); a version given with --latest or --semver-constraint warns; --transfer-spec warnings are log records', () =>
    withDir(async (dir) => {
      for (const v of ['0.0.0-0', '1.0.0']) {
        await writeFile(join(dir, `c-${v}.yaml`), `name: acme.org/every\nversion: ${v}\nprovider:\n  name: acme.org\n`);
        await ladingOk(['add', 'cv', '-c', `c-${v}.yaml`, '-r', 'ctf'], { cwd: dir });
      }
      // "> 0.0.0-0" (get cv's default) leaves out 0.0.0-0; upstream's transfer filters nothing.
      await ladingOk(['transfer', 'cv', 'ctf//acme.org/every', 'mirror'], { cwd: dir });
      const tree = await ladingOk(['get', 'cv', 'mirror', '-o', 'json', '--semver-constraint', '>= 0.0.0-0'], {
        cwd: dir,
      });
      assert.deepEqual(
        JSON.parse(tree.stdout).map((d: { component: { version: string } }) => d.component.version),
        ['1.0.0', '0.0.0-0'],
      );
      const pinned = await ladingOk(
        [
          'transfer',
          'cv',
          '--logformat',
          'json',
          '--latest',
          '--semver-constraint',
          '< 1',
          'ctf//acme.org/every:1.0.0',
          'm2',
        ],
        { cwd: dir },
      );
      const records = pinned.stderr
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; msg: string });
      assert.deepEqual(
        records.map((r) => [r.level, r.msg]),
        [
          ['WARN', '--semver-constraint has no effect when a version is already specified in the reference'],
          ['WARN', '--latest has no effect when a version is already specified in the reference'],
        ],
      );
      const spec = await ladingOk(['transfer', 'cv', '--dry-run', 'ctf//acme.org/every:1.0.0', 'm3'], { cwd: dir });
      await writeFile(join(dir, 'spec.yaml'), spec.stdout);
      const replay = await ladingOk(
        ['transfer', 'cv', '--transfer-spec', 'spec.yaml', '--dry-run', '--copy-resources', '--logformat', 'json'],
        { cwd: dir },
      );
      const warned = JSON.parse(replay.stderr.split('\n').find((l) => l.startsWith('{')) as string);
      assert.equal(warned.level, 'WARN');
      assert.equal(warned.msg, '--copy-resources has no effect when --transfer-spec is set');
    }));

  test('--plugin-directory, --plugin-shutdown-timeout and add cv --blob-cache-directory are taken (lading has no plugins or cache); download resource --transformer fails as upstream', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'c.yaml'), graph);
      await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], { cwd: dir });
      await mkdir(join(dir, 'plugins'));
      const r = await ladingOk(
        [
          '--plugin-directory',
          join(dir, 'plugins'),
          'get',
          'cv',
          'ctf//ocm.software/leaf-a:0.0.1',
          '--plugin-shutdown-timeout',
          '1m30s',
          '-o',
          'ndjson',
        ],
        { cwd: dir },
      );
      assert.equal(JSON.parse(r.stdout).component.name, 'ocm.software/leaf-a');
      await writeFile(join(dir, 'plugins', 'ocm-plugin'), '');
      const warned = await ladingOk(
        ['get', 'cv', '--plugin-directory', 'plugins', 'ctf//ocm.software/leaf-a:0.0.1', '-o', 'ndjson'],
        { cwd: dir },
      );
      assert.match(warned.stderr, /^warning: --plugin-directory plugins: lading runs no plugins/m);
      assertOneLineError(
        await lading(['get', 'cv', '--plugin-shutdown-timeout', 'soon', 'ctf//ocm.software/leaf-a:0.0.1'], {
          cwd: dir,
        }),
        /invalid argument "soon" for "--plugin-shutdown-timeout"/,
      );
      await writeFile(
        join(dir, 'f.yaml'),
        'name: acme.org/dl\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input: {type: utf8/v1, text: hi}\n',
      );
      await ladingOk(['add', 'cv', '-c', 'f.yaml', '-r', 'ctf', '--blob-cache-directory', '.ocm/cache'], { cwd: dir });
      assertOneLineError(
        await lading(
          [
            'download',
            'resource',
            'ctf//acme.org/dl:1.0.0',
            '--identity',
            'name=note',
            '--transformer',
            'helm',
            '--output',
            'x',
          ],
          { cwd: dir },
        ),
        /transformer "helm" not found, available transformers: \[\]/,
      );
      await ladingOk(['download', 'resource', 'ctf//acme.org/dl:1.0.0', '--identity', 'name=note', '--output', 'x'], {
        cwd: dir,
      });
    }));
});
