// Start-up work of the command line: a run builds only the commands its arguments name, a command
// on OCI layouts evaluates neither the HTTP stack nor the tar reader, and the CommonJS body is
// compiled with lading's own V8 code cache. Counts and files, not times: the modules a run evaluates
// come from V8's coverage of the body, named by esbuild's module wrappers
// (`"node_modules/tar-stream/index.js"(exports, module) {`) and the build's list of modules.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { bundleCli } from '../scripts/bundle.mjs';
import { bodyFor, fullBodyWords, orasBodyWords } from '../src/cli/body-choice.js';
import { cacheFolder } from '../src/cli/cache-folder.js';
import { cacheKey } from '../src/cli/code-cache.js';
import { processIO } from '../src/cli/io.js';
import { allCommands, buildProgram, commandGroups, groupsFor } from '../src/cli/program.js';
import { tempDir } from './support/fixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A command's shape: name, aliases, option flags and subcommands, recursively. */
function shape(cmd: Command): unknown {
  return {
    name: cmd.name(),
    aliases: cmd.aliases(),
    options: cmd.options.map((o) => o.flags),
    commands: cmd.commands.map(shape),
  };
}

describe('command groups', () => {
  test('each top-level command is built alike from its own group and from the whole tree', async () => {
    const io = processIO();
    const full = await buildProgram(io);
    const wholeTree = new Set(['version', 'completion']);
    for (const cmd of full.commands) {
      const names = [cmd.name(), ...cmd.aliases()];
      if (wholeTree.has(cmd.name())) {
        assert.equal(groupsFor([cmd.name()]), commandGroups, `${cmd.name()} gets the whole tree`);
        continue;
      }
      for (const name of names) {
        const groups = commandGroups.filter((g) => g.names.includes(name));
        assert.equal(groups.length, 1, `"${name}" is named by exactly one group`);
        const partial = await buildProgram(io, ['--debug', name, '--help']);
        const built = partial.commands.find((c) => c.name() === cmd.name());
        assert.ok(built, `"${name}" builds ${cmd.name()}`);
        assert.deepEqual(shape(built), shape(cmd));
        assert.ok(partial.commands.length < full.commands.length, `"${name}" builds fewer commands than the tree`);
      }
    }
    // And no group names a command that the tree lacks.
    const known = new Set(full.commands.flatMap((c) => [c.name(), ...c.aliases()]));
    for (const g of commandGroups) for (const n of g.names) assert.ok(known.has(n), `"${n}" is a command`);
    assert.ok(allCommands(full).length > 40);
  });

  test('no command named, or an unknown one: the whole tree (help, suggestions)', () => {
    assert.equal(groupsFor([]), commandGroups);
    assert.equal(groupsFor(['--help']), commandGroups);
    assert.equal(groupsFor(['cpp', 'a', 'b']), commandGroups);
    assert.deepEqual(
      groupsFor(['cp', 'x', 'push']).map((g) => g.names[0]),
      ['push', 'cp'],
    );
  });
});

/** The bundle the CLI tests run (`npm test` builds it), or one built here, removed afterwards. */
function bundleFixture(): { bin: () => string; before: () => Promise<void>; after: () => Promise<void> } {
  let bin = '';
  let own: string | undefined;
  return {
    bin: () => bin,
    before: async () => {
      const given = process.env.LADING_TEST_CLI;
      if (given && given !== 'source') bin = given;
      else {
        // Inside the package, as `npm test` puts its bundle: the bundle finds package.json above it.
        own = join(root, 'node_modules', '.cache', `lading-startup-test-${process.pid}`);
        await bundleCli(own);
        bin = join(own, 'main.js');
      }
    },
    after: async () => {
      if (own) await rm(own, { recursive: true, force: true });
    },
  };
}

/** Runs the bundle; resolves with its exit code and output (it does not reject). */
function runBundle(
  bin: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; node?: string[] },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...(options.node ?? []), bin, ...args],
      { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('what a run of the bundle evaluates', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  /** A bundle of its own (the module list comes from the build), removed afterwards. */
  const outdir = join(root, 'node_modules', '.cache', `lading-startup-modules-${process.pid}`);
  const bin = join(outdir, 'main.js');
  /** The source modules of each body, by file name. */
  let bodies: Record<string, string[]>;

  /**
   * The source modules (src/… and node_modules/…) that `args` evaluated, from V8's coverage of the
   * run (NODE_V8_COVERAGE): esbuild wraps each lazily loaded module of the CommonJS body in a
   * function named by its path, and evaluates the others (the body's static imports) at start.
   * Undefined when the run did not load the body at all.
   */
  async function evaluated(args: string[], name: string): Promise<string[] | undefined> {
    return (await evaluatedIn(args, name))?.modules;
  }

  /** {@link evaluated}, and which body file ran them. */
  async function evaluatedIn(args: string[], name: string): Promise<{ file: string; modules: string[] } | undefined> {
    const coverage = join(work.path, `coverage-${name}`);
    const r = await runBundle(bin, args, {
      cwd: work.path,
      env: { ...process.env, NODE_V8_COVERAGE: coverage, XDG_CACHE_HOME: join(work.path, 'cache') },
    });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    const results: { url: string; functions: { functionName: string; ranges: { count: number }[] }[] }[] = [];
    for (const file of await readdir(coverage)) {
      results.push(...(JSON.parse(await readFile(join(coverage, file), 'utf8')) as { result: typeof results }).result);
    }
    let found: { file: string; modules: string[] } | undefined;
    for (const [file, all] of Object.entries(bodies)) {
      // As V8 names it: main.js finds the body beside its own real path (node_modules may be a link).
      const body = await realpath(join(outdir, file));
      const text = await readFile(body, 'utf8');
      const wrapped = new Set(all.filter((m) => text.includes(`${JSON.stringify(m)}(`)));
      assert.ok(wrapped.size > 50, `esbuild wraps the lazy modules (${wrapped.size})`);
      let ran: Set<string> | undefined;
      for (const script of results) {
        if (script.url !== pathToFileURL(body).href) continue;
        ran ??= new Set();
        for (const f of script.functions) if ((f.ranges[0]?.count ?? 0) > 0) ran.add(f.functionName);
      }
      if (!ran) continue;
      assert.equal(found, undefined, 'one body per run');
      const seen = ran;
      found = { file, modules: all.filter((m) => !wrapped.has(m) || seen.has(m)) };
    }
    return found;
  }

  before(async () => {
    work = await tempDir();
    ({ bodies } = await bundleCli(outdir));
    assert.deepEqual(Object.keys(bodies).sort(), ['lading-oras.cjs', 'lading.cjs']);
    for (const [file, modules] of Object.entries(bodies)) assert.ok(modules.length > 100, `${file}: ${modules.length}`);
    await writeFile(join(work.path, 'hello.txt'), 'hello\n');
  });
  after(async () => {
    await work.cleanup();
    await rm(outdir, { recursive: true, force: true });
  });

  test('--version does not load the body', async () => {
    assert.equal(await evaluated(['--version'], 'version'), undefined);
  });

  test('a copy between OCI layouts evaluates neither the registry client, the tar reader, nor other commands', async () => {
    await evaluated(['push', '--oci-layout', 'src:v1', 'hello.txt'], 'push');
    const ran = await evaluatedIn(['cp', '--from-oci-layout', 'src:v1', '--to-oci-layout', 'dst:v1'], 'cp');
    assert.equal(ran?.file, 'lading-oras.cjs', 'the small body runs cp');
    const modules = ran.modules;
    assert.ok(modules.includes('src/layout/layout.ts'));
    assert.ok(modules.includes('src/cli/commands/cp.ts'));
    assert.ok(modules.some((m) => m.includes('node_modules/commander/')));
    const unwanted = modules.filter((m) =>
      /^src\/(registry\/(?!redact\.ts)|server\/|ocm\/|ctf\/|files\/)|tar-stream|streamx|yaml|ajv|\/commands\/(?!cp\.ts|manifest-shared\.ts)/.test(
        m,
      ),
    );
    assert.deepEqual(unwanted, []);
  });
});

describe('the two bodies', () => {
  test('every top-level command word is in exactly one of the lists main.js chooses a body by', async () => {
    const groupWords = commandGroups.flatMap((g) => g.names);
    const wholeTree = ['help', 'completion', 'version'];
    assert.deepEqual([...orasBodyWords, ...fullBodyWords].sort(), [...groupWords, ...wholeTree].sort());
  });

  test('the small body for ORAS words only; the full one for anything else', () => {
    assert.equal(bodyFor(['cp', 'a', 'b']), 'oras');
    assert.equal(bodyFor(['--debug', 'pull', '--plain-http', 'r/x:v1']), 'oras');
    assert.equal(bodyFor(['manifest', 'fetch', 'r/x:v1']), 'oras');
    assert.equal(bodyFor(['add', 'cv']), 'full');
    // A token naming another group anywhere: a run builds that group too (groupsFor).
    assert.equal(bodyFor(['tag', 'r/x:v1', 'get']), 'full');
    assert.equal(bodyFor(['--config', 'push', 'get', 'cv', 'x']), 'full');
    for (const args of [[], ['--help'], ['help', 'cp'], ['completion', 'bash'], ['cpp'], ['version']]) {
      assert.equal(bodyFor(args), 'full', args.join(' '));
    }
  });
});

describe("lading's own V8 code cache", () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  const bundle = bundleFixture();
  let n = 0;

  /** A cp between layouts with the code cache in `xdg` (debug lines on), into a fresh layout. */
  async function copy(xdg: string, extra: NodeJS.ProcessEnv = {}) {
    const out = `out-${++n}`;
    const r = await runBundle(bundle.bin(), ['cp', '--from-oci-layout', 'src:v1', '--to-oci-layout', `${out}:v1`], {
      cwd: work.path,
      env: { ...process.env, XDG_CACHE_HOME: xdg, LADING_DEBUG_CODE_CACHE: '1', ...extra },
    });
    const debug = r.stderr.split('\n').filter((l) => l.startsWith('code cache: '));
    const rest = r.stderr
      .split('\n')
      .filter((l) => !l.startsWith('code cache: '))
      .join('\n');
    // The output names the fresh layout, and blobs copy concurrently (their progress lines come in
    // either order): make it comparable between runs.
    const stdout = r.stdout.replaceAll(out, 'OUT').split('\n').sort().join('\n');
    return { code: r.code, stdout, stderr: rest, debug };
  }

  /** The cache files in `xdg`. */
  async function files(xdg: string): Promise<string[]> {
    try {
      return (await readdir(join(xdg, 'lading', 'compile-cache'))).sort();
    } catch {
      return [];
    }
  }

  let plain: Awaited<ReturnType<typeof copy>>;
  before(async () => {
    work = await tempDir();
    await bundle.before();
    await writeFile(join(work.path, 'hello.txt'), 'hello\n');
    const made = await runBundle(bundle.bin(), ['push', '--oci-layout', 'src:v1', 'hello.txt'], { cwd: work.path });
    assert.equal(made.code, 0, made.stderr);
    plain = await copy(join(work.path, 'unused'), { LADING_CODE_CACHE: '0' });
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(plain.debug, []);
    assert.deepEqual(await files(join(work.path, 'unused')), []);
  });
  after(async () => {
    await work.cleanup();
    await bundle.after();
  });

  test('is made by the first run of a command, in the cache folder, and used by the next', async () => {
    const xdg = join(work.path, 'first');
    const besideBefore = (await readdir(dirname(bundle.bin()))).sort();
    const one = await copy(xdg);
    assert.deepEqual({ ...one, debug: [] }, { ...plain, debug: [] });
    // A copy between layouts keeps a cache of its own, apart from one that involves a registry.
    assert.match(one.debug[0] ?? '', /^code cache: missing .*-cp-local\.v8cache$/);
    assert.match(one.debug[1] ?? '', /^code cache: written .*-cp-local\.v8cache$/);
    const made = await files(xdg);
    assert.equal(made.length, 1);
    assert.match(made[0] as string, /^lading-\d+\.\d+\.\d+[^/]*-[0-9a-f]{16}-nodev[\d.]+-\w+-cp-local\.v8cache$/);
    const file = join(xdg, 'lading', 'compile-cache', made[0] as string);
    const first = await stat(file);
    assert.ok(first.size > 10_000, `a real cache (${first.size} bytes)`);

    const two = await copy(xdg);
    assert.deepEqual({ ...two, debug: [] }, { ...plain, debug: [] });
    assert.deepEqual(two.debug, [`code cache: used ${file}`]);
    const second = await stat(file);
    assert.equal(second.ino, first.ino, 'not rewritten');
    assert.equal(second.mtimeMs, first.mtimeMs);
    // Another command gets its own file; nothing is ever written beside the package.
    const version = await runBundle(bundle.bin(), ['version'], {
      cwd: work.path,
      env: { ...process.env, XDG_CACHE_HOME: xdg },
    });
    assert.equal(version.code, 0, version.stderr);
    assert.equal((await files(xdg)).length, 2);
    assert.deepEqual((await readdir(dirname(bundle.bin()))).sort(), besideBefore);
  });

  test('runs with and without Node flags in turn each use their own file, neither rejecting the other', async () => {
    const xdg = join(work.path, 'flags');
    const flagged = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=1000`.trim() };
    await copy(xdg);
    await copy(xdg, flagged);
    assert.equal((await files(xdg)).length, 2, 'one file each');
    const again = await copy(xdg);
    const againFlagged = await copy(xdg, flagged);
    assert.deepEqual({ ...againFlagged, debug: [] }, { ...plain, debug: [] });
    assert.match(again.debug.join('\n'), /^code cache: used /);
    assert.match(againFlagged.debug.join('\n'), /^code cache: used .*-f[0-9a-f]{8}-cp-local\.v8cache$/);
    assert.equal((await files(xdg)).length, 2);
  });

  for (const [kind, damage, state] of [
    ['corrupt', (b: Buffer) => b.map((x, i) => (i > 200 && i % 97 === 0 ? x ^ 0x5a : x)), 'rejected'],
    ['truncated', (b: Buffer) => b.subarray(0, b.length >> 1), 'rejected'],
    ['cut inside its first line', (b: Buffer) => b.subarray(0, 10), 'foreign'],
    ['foreign', (b: Buffer) => Buffer.concat([Buffer.from('lading-0.0.0-0000000000000000-other\n'), b]), 'foreign'],
  ] as const) {
    test(`a ${kind} cache file is ignored and replaced; the command works alike`, async () => {
      const xdg = join(work.path, `damaged-${kind.replaceAll(' ', '-')}`);
      assert.equal((await copy(xdg)).code, 0);
      const [name] = await files(xdg);
      const file = join(xdg, 'lading', 'compile-cache', name as string);
      const good = await readFile(file);
      await writeFile(file, damage(good));
      const r = await copy(xdg);
      assert.deepEqual({ ...r, debug: [] }, { ...plain, debug: [] });
      assert.deepEqual(r.debug, [`code cache: ${state} ${file}`, `code cache: written ${file}`]);
      assert.deepEqual(await readFile(file).then((b) => b.length > 10_000), true);
      assert.deepEqual((await copy(xdg)).debug, [`code cache: used ${file}`]);
    });
  }

  test('a cache folder that cannot be made, or switched off: no cache, the same result', async () => {
    // A file where the folder would be (as a read-only home would, for root too).
    const blocked = join(work.path, 'blocked');
    await writeFile(blocked, 'not a folder');
    const r = await copy(blocked);
    assert.deepEqual({ ...r, debug: [] }, { ...plain, debug: [] });
    assert.match(r.debug.at(-1) ?? '', /^code cache: not written /);
    for (const off of [{ NODE_DISABLE_COMPILE_CACHE: '1' }, { LADING_CODE_CACHE: '0' }]) {
      const xdg = join(work.path, `off-${Object.keys(off)[0]}`);
      const o = await copy(xdg, off);
      assert.deepEqual(o, plain);
      assert.deepEqual(await files(xdg), []);
    }
  });

  test('a HOME that does not exist is not made: no cache, the same result', async () => {
    // A service's HOME=/nonexistent, a home not mounted yet. Before, the run made the whole path,
    // the home included (as root: /nonexistent/.cache/lading/…).
    const home = join(work.path, 'no-such-home');
    const r = await copy('', { HOME: home });
    assert.deepEqual({ ...r, debug: [] }, { ...plain, debug: [] });
    assert.match(r.debug.at(-1) ?? '', /^code cache: not written /);
    await assert.rejects(stat(home), { code: 'ENOENT' });
    // A home that is there gets its cache folder made inside it.
    await mkdir(home);
    assert.match((await copy('', { HOME: home })).debug.at(-1) ?? '', /^code cache: written /);
    assert.equal((await readdir(join(home, '.cache', 'lading', 'compile-cache'))).length, 1);
  });

  test('a read-only cache folder: the command works and the folder is unchanged', async (t) => {
    const xdg = join(work.path, 'read-only');
    await mkdir(join(xdg, 'lading', 'compile-cache'), { recursive: true });
    await chmod(join(xdg, 'lading', 'compile-cache'), 0o555);
    t.after(() => chmod(join(xdg, 'lading', 'compile-cache'), 0o755));
    const r = await copy(xdg);
    assert.deepEqual({ ...r, debug: [] }, { ...plain, debug: [] });
    // root writes anyway; anyone else cannot.
    if (process.getuid?.() !== 0) assert.deepEqual(await files(xdg), []);
  });

  test('an error still prints one line, cached or not', async () => {
    const xdg = join(work.path, 'errors');
    const args = ['cp', '--from-oci-layout', 'missing:v1', '--to-oci-layout', 'x:v1'];
    const env = { ...process.env, XDG_CACHE_HOME: xdg };
    const runs = [];
    for (let i = 0; i < 2; i++) runs.push(await runBundle(bundle.bin(), args, { cwd: work.path, env }));
    runs.push(await runBundle(bundle.bin(), args, { cwd: work.path, env: { ...env, LADING_CODE_CACHE: '0' } }));
    for (const r of runs) {
      assert.notEqual(r.code, 0);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^Error: /);
      assert.deepEqual(r, runs[0]);
    }
  });
});

describe('which code cache a run uses', () => {
  test('one file per command word; runs on OCI layouts only, into a layout and out of one keep their own', () => {
    const id = { file: './lading-oras.cjs', hash: 'a'.repeat(64), version: '1.2.3' };
    const key = (args: string[]) => cacheKey(id, args, '').key.replace(/^.*-node[^-]+-[^-]+-/, '');
    assert.equal(key(['cp', 'reg.io/a:v1', 'reg.io/b:v1']), 'cp');
    assert.equal(key(['cp', 'reg.io/a:v1', '--to-oci-layout', 'out:v1']), 'cp-to-local');
    assert.equal(key(['cp', '--from-oci-layout', 'in:v1', 'reg.io/a:v1']), 'cp-from-local');
    assert.equal(key(['cp', '--from-oci-layout', 'in:v1', '--to-oci-layout', 'out:v1']), 'cp-local');
    assert.equal(key(['copy', '--from-oci-layout-path=in', 'v1', '--to-oci-layout', 'out:v1']), 'copy-local');
    assert.equal(key(['pull', 'reg.io/a:v1']), 'pull');
    assert.equal(key(['pull', '--oci-layout', 'in:v1']), 'pull-local');
    assert.equal(key(['--debug', 'push', 'reg.io/a:v1', 'f.txt']), 'push');
    assert.equal(key(['--version']), 'none');
  });

  test('runs under other Node flags keep their own file (V8 refuses a cache made under other flags)', () => {
    const id = { file: './lading-oras.cjs', hash: 'a'.repeat(64), version: '1.2.3' };
    const plain = cacheKey(id, ['pull', 'reg.io/a:v1'], '').key;
    const heap = cacheKey(id, ['pull', 'reg.io/a:v1'], '\0--max-old-space-size=4096').key;
    const other = cacheKey(id, ['pull', 'reg.io/a:v1'], '--cpu-prof\0').key;
    assert.equal(cacheKey(id, ['pull', 'reg.io/a:v1'], '\0').key, plain, 'no flags: no flag part');
    assert.match(heap, /-node[^-]+-[^-]+-f[0-9a-f]{8}-pull$/);
    assert.notEqual(heap, plain);
    assert.notEqual(heap, other);
    assert.equal(cacheKey(id, ['pull', 'reg.io/a:v1'], '\0--max-old-space-size=4096').key, heap, 'stable');
  });
});

describe('the code cache folder', () => {
  test('in the user cache folder of each platform, never without a home', () => {
    assert.equal(cacheFolder({ HOME: '/home/u' }, 'linux'), '/home/u/.cache/lading/compile-cache');
    assert.equal(cacheFolder({ HOME: '/home/u', XDG_CACHE_HOME: '/c' }, 'linux'), '/c/lading/compile-cache');
    // A relative XDG_CACHE_HOME is invalid by the XDG spec and ignored.
    assert.equal(cacheFolder({ HOME: '/home/u', XDG_CACHE_HOME: 'c' }, 'linux'), '/home/u/.cache/lading/compile-cache');
    assert.equal(cacheFolder({ HOME: '/Users/u' }, 'darwin'), '/Users/u/Library/Caches/lading/compile-cache');
    assert.equal(cacheFolder({}, 'win32'), undefined);
    assert.ok(!cacheFolder({ HOME: '/home/u' }, 'linux')?.startsWith(root));
  });
});
