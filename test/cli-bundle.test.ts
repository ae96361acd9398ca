// The command line as it ships: bundled by scripts/bundle.mjs (what `npm run build` puts in
// dist/bin/), run from a package folder of its own, through a workflow of each kind.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bundleCli, copyUiAssets } from '../scripts/bundle.mjs';
import { assertOneLineError, type CliResult } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const host = loadPeers().plain.host;
let work: Awaited<ReturnType<typeof tempDir>>;
let bin: string;

function bundled(args: string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function ok(args: string[], cwd: string): Promise<CliResult> {
  const r = await bundled(args, cwd);
  assert.equal(r.code, 0, `lading ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r;
}

describe('the bundled command line', () => {
  before(async () => {
    work = await tempDir();
    // A package folder like an installed one: package.json, schemas, dependencies, dist/bin.
    const pkg = join(work.path, 'package');
    await mkdir(pkg);
    for (const entry of ['package.json', 'schemas', 'node_modules']) await symlink(join(root, entry), join(pkg, entry));
    await bundleCli(join(pkg, 'dist', 'bin'));
    await copyUiAssets(join(pkg, 'dist', 'server', 'ui', 'assets'));
    bin = join(pkg, 'dist', 'bin', 'main.js');
  });
  after(async () => {
    await work.cleanup();
  });

  test('--version and --help', async () => {
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    assert.equal((await ok(['--version'], work.path)).stdout.trim(), version);
    assert.match((await ok(['--help'], work.path)).stdout, /Usage: lading/);
  });

  test('push and pull a file through the registry', async () => {
    const dir = join(work.path, 'oras');
    await mkdir(join(dir, 'out'), { recursive: true });
    await writeFile(join(dir, 'hello.txt'), 'hello from the bundle\n');
    const ref = `${host}/bundle/hello-${process.pid}:v1`;
    await ok(['push', '--plain-http', ref, 'hello.txt'], dir);
    await ok(['pull', '--plain-http', ref], join(dir, 'out'));
    assert.equal(await readFile(join(dir, 'out', 'hello.txt'), 'utf8'), 'hello from the bundle\n');
  });

  test('add cv (schemas checked), get cv, transfer cv; a bad constructor is one line', async () => {
    const dir = join(work.path, 'ocm');
    await mkdir(dir);
    await writeFile(
      join(dir, 'component-constructor.yaml'),
      'name: acme.org/bundle\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input:\n      type: utf8/v1\n      text: hi\n',
    );
    await ok(['add', 'cv', '-r', './ctf'], dir);
    const got = await ok(['get', 'cv', './ctf//acme.org/bundle:1.0.0', '-o', 'json'], dir);
    assert.equal(JSON.parse(got.stdout)[0].component.resources[0].name, 'note');
    const target = `http://${host}/bundle-ocm-${process.pid}`;
    await ok(['transfer', 'cv', './ctf//acme.org/bundle:1.0.0', target], dir);
    const remote = await ok(['get', 'cv', `${target}//acme.org/bundle:1.0.0`, '-o', 'json'], dir);
    assert.equal(JSON.parse(remote.stdout)[0].component.version, '1.0.0');

    await writeFile(join(dir, 'bad.yaml'), 'name: acme.org/bundle\nversion: 1.0.0\nprovider: 5\n');
    assertOneLineError(await bundled(['add', 'cv', '-c', 'bad.yaml', '-r', './ctf2'], dir), /bad\.yaml:3: provider/);
  });

  test('ui serves the browser view from the package (its static files found beside the bundle)', async () => {
    const dir = join(work.path, 'ui');
    await mkdir(dir);
    await writeFile(
      join(dir, 'component-constructor.yaml'),
      'name: acme.org/ui\nversion: 1.0.0\nprovider:\n  name: acme.org\n',
    );
    await ok(['add', 'cv', '-r', './ctf'], dir);
    const child = spawn(process.execPath, [bin, 'ui', './ctf', '--addr', '127.0.0.1:0'], { cwd: dir });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0] as string);
        });
        child.on('exit', () => reject(new Error(`lading ui exited before printing its URL: ${out}`)));
      });
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/ui\/$/);
      const page = await fetch(url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<script type="module" src="assets\/app\.js">/);
      const app = await fetch(`${url}assets/app.js`);
      assert.equal(app.headers.get('content-type'), 'text/javascript; charset=utf-8');
      const components = (await (await fetch(`${url}api/components`)).json()) as { items: string[] };
      assert.deepEqual(components.items, ['acme.org/ui']);
    } finally {
      child.kill('SIGINT');
    }
    // Ctrl-C is how a server ends: it closes and exits 0.
    assert.equal(await exited, 0);
  });
});
