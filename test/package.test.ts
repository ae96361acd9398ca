// The package as npm ships it: `npm pack`, installed by hand into a fresh project (no network: the
// tarball is unpacked into node_modules and lading's production dependencies are linked from this
// checkout), then an ESM and a CommonJS consumer that each use every entry against a real
// registry, and the type declarations compiled with `skipLibCheck: false` by this TypeScript and,
// when the npm cache holds it, by TypeScript 5.0 (ES modules, and the classic node10 resolution).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const host = loadPeers().plain.host;
/** The oldest TypeScript the declarations must compile with (from the npm cache only). */
const OLDEST_TYPESCRIPT = '5.0.4';

let work: Awaited<ReturnType<typeof tempDir>>;
let project: string;
let packed: string[];

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

async function untar(tgz: string, into: string): Promise<void> {
  await mkdir(into, { recursive: true });
  await run('tar', ['xzf', tgz, '-C', into, '--strip-components=1']);
}

/** The same work in both module systems; `m` holds every entry of the package. */
const consumerBody = `
  const { root, registry, layout, ctf, files, ocm } = m;
  const { mkdtemp, readFile, writeFile } = fsp;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lading-consumer-'));
  const bytes = Buffer.from('hello from a consumer of the package');
  const layer = {
    mediaType: 'text/plain',
    digest: root.digestBytes(bytes),
    size: bytes.length,
    annotations: { 'org.opencontainers.image.title': 'hello.txt' },
  };
  const store = new root.MemoryStore();
  await store.push(layer, bytes);
  const manifest = await root.packManifest(store, [layer], { artifactType: 'application/vnd.example.consumer' });
  await store.tag(manifest, 'v1');

  const repository = new registry.Registry(process.env.REGISTRY, { plainHttp: true }).repository(process.env.REPO);
  await root.copy(store, 'v1', repository, 'v1');
  const oci = await layout.OciLayout.open(path.join(dir, 'layout'), { mode: 'create' });
  const copied = await root.copy(repository, 'v1', oci, 'v1');
  if (copied.digest !== manifest.digest) throw new Error('the layout holds another manifest');

  const archive = await ctf.CtfArchive.open(path.join(dir, 'ctf'), { mode: 'create' });
  await root.copy(oci, 'v1', archive.repository('consumer/hello'), 'v1');
  await archive.close();

  await writeFile(path.join(dir, 'note.txt'), 'a note');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    await files.pushFiles(oci, [{ path: 'note.txt', mediaType: 'text/plain' }], { tags: ['files'] });
  } finally {
    process.chdir(cwd);
  }
  const pulled = await files.pullFiles(oci, 'files', { output: path.join(dir, 'out') });
  if ((await readFile(path.join(dir, 'out', 'note.txt'), 'utf8')) !== 'a note') throw new Error('pull lost the note');

  const opened = await ocm.openComponentRepository(ocm.parseRepository(path.join(dir, 'ctf')));
  const versions = await opened.repository.listComponentVersions('example.com/none');
  await opened.close();

  let missing;
  try {
    await layout.OciLayout.open(path.join(dir, 'nothing-here'));
  } catch (error) {
    missing = error;
  }
  if (!(missing instanceof root.LadingError) || missing.code !== 'NOT_FOUND') throw new Error('not a LadingError: ' + missing);
  await fsp.rm(dir, { recursive: true, force: true });
  console.log(JSON.stringify({ digest: copied.digest, files: pulled.files.length, versions }));
`;

const esmConsumer = `import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as rootEntry from 'lading';
import * as registry from 'lading/registry';
import * as layout from 'lading/layout';
import * as ctf from 'lading/ctf';
import * as files from 'lading/files';
import * as ocm from 'lading/ocm';
const m = { root: rootEntry, registry, layout, ctf, files, ocm };
{
${consumerBody}
}
`;

const cjsConsumer = `const fsp = require('node:fs/promises');
const os = require('node:os');
const path = require('node:path');
const m = {
  root: require('lading'),
  registry: require('lading/registry'),
  layout: require('lading/layout'),
  ctf: require('lading/ctf'),
  files: require('lading/files'),
  ocm: require('lading/ocm'),
};
(async () => {
${consumerBody}
})().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
`;

/** A strict TypeScript consumer of every entry (types and values). */
const typedConsumer = `import { copy, type Descriptor, digestBytes, isLadingError, LadingError, MemoryStore, type Target } from 'lading';
import { CtfArchive, type OpenCtfOptions } from 'lading/ctf';
import { type PushFilesOptions, pullFiles, pushFiles } from 'lading/files';
import { OciLayout } from 'lading/layout';
import { type ComponentDescriptor, openComponentRepository, parseRepository, type Resource } from 'lading/ocm';
import { Registry, type RegistryOptions } from 'lading/registry';

const target: Target = new MemoryStore();
const options: RegistryOptions = { plainHttp: true };
const ctfOptions: OpenCtfOptions = { mode: 'readonly' };
const pushOptions: PushFilesOptions = { tags: ['v1'] };
export async function names(d: ComponentDescriptor): Promise<string[]> {
  const resources: Resource[] = d.component.resources;
  return resources.map((r) => r.name);
}
export const used = [target, options, ctfOptions, pushOptions, copy, digestBytes, isLadingError, LadingError, CtfArchive,
  pullFiles, pushFiles, OciLayout, openComponentRepository, parseRepository, Registry];
export type D = Descriptor;
`;

async function tsc(typescript: string, cwd: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(typescript, 'bin', 'tsc'), '-p', '.'], {
      cwd,
      encoding: 'utf8',
    });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('the npm package', { timeout: 600_000 }, () => {
  before(async () => {
    work = await tempDir('lading-pack-');
    // `npm pack` runs prepack (the build) as a release does.
    const json = JSON.parse(await npm(['pack', '--json', '--pack-destination', work.path], root)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const info = json[0];
    assert.ok(info);
    packed = info.files.map((f) => f.path);
    project = join(work.path, 'consumer');
    await mkdir(project);
    await writeFile(join(project, 'package.json'), '{ "name": "consumer", "version": "1.0.0", "private": true }\n');
    await untar(join(work.path, info.filename), join(project, 'node_modules', 'lading'));
    // lading's production dependencies (the closure `npm ls` names), as an install would add them.
    // Read from the lockfile: a worktree whose node_modules is a link to another checkout's makes
    // `npm ls` of the installed tree report every package as extraneous.
    const deps = (await npm(['ls', '--omit=dev', '--all', '--parseable', '--package-lock-only'], root))
      .split('\n')
      .filter((line) => line.startsWith(join(root, 'node_modules')));
    for (const dep of deps) {
      const name = dep.slice(join(root, 'node_modules').length + 1);
      if (name.includes('node_modules')) continue; // nested: reached through its parent's link
      await mkdir(dirname(join(project, 'node_modules', name)), { recursive: true });
      await symlink(dep, join(project, 'node_modules', name));
    }
    await mkdir(join(project, 'node_modules', '@types'));
    await symlink(join(root, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'));
  });
  after(async () => {
    await work?.cleanup();
  });

  test('ships the library, the bundled command line, schemas and LICENSE; no dist/cli, maps or sources', async () => {
    assert.ok(packed.includes('LICENSE'));
    assert.ok(packed.includes('dist/index.js') && packed.includes('dist/index.d.ts'));
    assert.ok(
      packed.includes('dist/bin/main.js') &&
        packed.includes('dist/bin/lading.cjs') &&
        packed.includes('dist/bin/lading-oras.cjs'),
    );
    assert.ok(packed.some((p) => p.startsWith('schemas/compiled/')));
    assert.deepEqual(
      packed.filter(
        (p) => p.startsWith('dist/cli/') || p.endsWith('.map') || p.startsWith('src/') || p.includes('.test.'),
      ),
      [],
    );
    const pkg = JSON.parse(await readFile(join(project, 'node_modules', 'lading', 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
      repository?: unknown;
      homepage?: string;
      bugs?: unknown;
    };
    // Installing the tarball runs no build: no install-time script.
    for (const script of ['prepare', 'preinstall', 'install', 'postinstall'])
      assert.equal(pkg.scripts[script], undefined);
    assert.ok(pkg.repository && pkg.homepage && pkg.bugs);
    for (const [entry, { types, default: js }] of Object.entries(
      (
        JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
          exports: Record<string, { types: string; default: string }>;
        }
      ).exports,
    )) {
      if (entry === './package.json') continue;
      assert.ok(packed.includes(types.slice(2)) && packed.includes(js.slice(2)), entry);
    }
  });

  for (const [kind, file, source] of [
    ['an ESM', 'consumer.mjs', esmConsumer],
    ['a CommonJS (require of ESM)', 'consumer.cjs', cjsConsumer],
  ] as const) {
    test(`${kind} consumer uses every entry`, async () => {
      await writeFile(join(project, file), source);
      const { stdout, stderr } = await run(process.execPath, [file], {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, REGISTRY: host, REPO: `package/${file.replace('.', '-')}-${process.pid}` },
      });
      const result = JSON.parse(stdout) as { digest: string; files: number; versions: string[] };
      assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
      assert.equal(result.files, 1);
      assert.deepEqual(result.versions, []);
      assert.doesNotMatch(stderr, /Warning/);
    });
  }

  test('the installed bin runs; its code cache goes to the user cache folder, never into the package', async () => {
    const bin = join(project, 'node_modules', 'lading', 'dist', 'bin', 'main.js');
    const cache = join(work.path, 'xdg-cache');
    const env = { ...process.env, XDG_CACHE_HOME: cache, LADING_DEBUG_CODE_CACHE: '1' };
    const listing = async (dir: string) => (await readdir(dir, { recursive: true })).sort();
    const before = await listing(join(project, 'node_modules', 'lading'));
    const want = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    const version = await run(process.execPath, [bin, 'version'], { cwd: project, env, encoding: 'utf8' });
    assert.match(version.stdout, new RegExp(`^Version: +${want.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(version.stderr, /^code cache: written .*-version\.v8cache$/m);
    const again = await run(process.execPath, [bin, 'version'], { cwd: project, env, encoding: 'utf8' });
    assert.equal(again.stdout, version.stdout);
    assert.match(again.stderr, /^code cache: used .*-version\.v8cache$/m);
    assert.equal((await readdir(join(cache, 'lading', 'compile-cache'))).length, 1);
    assert.deepEqual(await listing(join(project, 'node_modules', 'lading')), before);
  });

  test('on a Node.js older than engines.node the installed bin says which one it needs, in one line', async () => {
    const bin = join(project, 'node_modules', 'lading', 'dist', 'bin', 'main.js');
    const engines = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { engines: { node: string } })
      .engines.node;
    const needed = engines.replace(/^>=\s*/, '');
    // What Node 18 (or 20.0) would report; npm only warns when installing there. Before, the command
    // got part way and failed on a missing API: `Error: process.getBuiltinModule is not a function`.
    const older = join(work.path, 'older-node.cjs');
    await writeFile(
      older,
      "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.20.8' } });\n" +
        "Object.defineProperty(process, 'version', { value: 'v18.20.8' });\n",
    );
    for (const args of [['--version'], ['push', '--oci-layout', 'l:v1', 'f.txt'], ['get', 'cv', 'x//a.b/c:1']]) {
      const r = await run(process.execPath, ['--require', older, bin, ...args], {
        cwd: project,
        encoding: 'utf8',
      }).then(
        (ok) => ({ code: 0, ...ok }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `Error: lading needs Node.js ${needed} or later; this is Node.js v18.20.8\n`);
    }
    // The current Node passes the check.
    const ok = await run(process.execPath, [bin, '--version'], { cwd: project, encoding: 'utf8' });
    assert.match(ok.stdout, /^\d+\.\d+\.\d+/);
  });

  test('the declarations compile with skipLibCheck false (this TypeScript, ESM and CommonJS)', async () => {
    const dir = join(project, 'typed-current');
    await mkdir(dir);
    await writeFile(join(dir, 'consumer.mts'), typedConsumer);
    await writeFile(
      join(dir, 'consumer.cts'),
      typedConsumer.replace(/^export type D.*$/m, '').replace(/\bexport async function/, 'export async function'),
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        include: ['*.mts', '*.cts'],
      }),
    );
    const r = await tsc(join(root, 'node_modules', 'typescript'), dir);
    assert.equal(r.code, 0, r.out);
  });

  test('the declarations resolve under the classic node10 resolution too (package.json types and typesVersions)', async () => {
    const dir = join(project, 'typed-node10');
    await mkdir(dir);
    await writeFile(join(dir, 'consumer.ts'), typedConsumer);
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(node10Config('6.0')));
    const r = await tsc(join(root, 'node_modules', 'typescript'), dir);
    assert.equal(r.code, 0, r.out);
  });

  test('the bundled command line loads no package at run time beyond the dependencies; commander and bcryptjs are bundled', async () => {
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const bin = join(project, 'node_modules', 'lading', 'dist', 'bin');
    const loaded = new Set<string>();
    for (const file of await readdir(bin)) {
      if (!/\.(c?js)$/.test(file)) continue;
      const text = await readFile(join(bin, file), 'utf8');
      // require("x"), a createRequire'd require3("x"), and the body's __ladingImport("x").
      for (const m of text.matchAll(/\b(?:require\d*|__ladingImport)\((["'`])([^"'`]+)\1\)/g)) {
        const id = m[2] as string;
        if (id.startsWith('.') || id.startsWith('node:') || builtinModules.includes(id)) continue;
        if (id.includes('${')) continue; // a path made at run time (the compiled schemas beside it)
        loaded.add(id.startsWith('@') ? id.split('/').slice(0, 2).join('/') : (id.split('/')[0] as string));
      }
    }
    for (const name of loaded) assert.ok(name in manifest.dependencies, `dist/bin loads ${name} at run time`);
    for (const name of ['commander', 'bcryptjs']) {
      assert.ok(!loaded.has(name), `${name} is bundled, not loaded`);
      assert.ok(name in manifest.devDependencies, `${name} is needed to build only`);
    }
  });

  test(`the declarations compile with skipLibCheck false under TypeScript ${OLDEST_TYPESCRIPT}`, async (t) => {
    // Only from the npm cache (CI fills it: .ci/run); no network here.
    let tgz: string;
    try {
      const out = await npm(
        ['pack', '--offline', '--json', '--pack-destination', work.path, `typescript@${OLDEST_TYPESCRIPT}`],
        work.path,
      );
      tgz = join(work.path, (JSON.parse(out) as { filename: string }[])[0]?.filename ?? '');
    } catch {
      if (process.env.LADING_REQUIRE_OLDEST_TYPESCRIPT)
        throw new Error(`typescript@${OLDEST_TYPESCRIPT} is not in the npm cache`);
      t.skip(`typescript@${OLDEST_TYPESCRIPT} is not in the npm cache (npm cache add typescript@${OLDEST_TYPESCRIPT})`);
      return;
    }
    const typescript = join(work.path, 'typescript-oldest');
    await untar(tgz, typescript);
    const dir = join(project, 'typed-oldest');
    await mkdir(dir);
    await writeFile(join(dir, 'consumer.mts'), typedConsumer);
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
        },
        include: ['*.mts'],
      }),
    );
    const r = await tsc(typescript, dir);
    assert.equal(r.code, 0, r.out);
    // The classic resolution, as older projects set it. (A CommonJS file under nodenext needs
    // TypeScript 5.8, the first to type require() of an ES module: docs/library.md says so.)
    const node10 = join(project, 'typed-oldest-node10');
    await mkdir(node10);
    await writeFile(join(node10, 'consumer.ts'), typedConsumer);
    await writeFile(join(node10, 'tsconfig.json'), JSON.stringify(node10Config()));
    const r10 = await tsc(typescript, node10);
    assert.equal(r10.code, 0, r10.out);
  });
});

/** A CommonJS project with the classic `node10` module resolution (deprecated in TypeScript 6: `ignoreDeprecations`). */
function node10Config(ignoreDeprecations?: string) {
  return {
    compilerOptions: {
      target: 'es2022',
      module: 'commonjs',
      moduleResolution: 'node10',
      ...(ignoreDeprecations ? { ignoreDeprecations } : {}),
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ['node'],
    },
    include: ['*.ts'],
  };
}
