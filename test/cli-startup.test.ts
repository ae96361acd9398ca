// Start-up work of the command line: a run builds only the commands its arguments name, and a
// command on OCI layouts loads neither the HTTP stack nor the tar reader. Counts, not times: the
// bundle's files a run loads are recorded by a module hook and named by esbuild's per-module
// comments (`// src/registry/http.ts`, `// node_modules/tar-stream/index.js`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { bundleCli } from '../scripts/bundle.mjs';
import { cacheFolder } from '../src/cli/cache-folder.js';
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

describe('what a run of the bundle loads', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let bin: string;
  let hook: string;
  /** A bundle this file built itself (run without `npm test`), removed afterwards. */
  let ownBundle: string | undefined;

  /** The source modules (src/… and node_modules/…) in the bundle files that `args` loads. */
  async function loaded(args: string[], name: string): Promise<string[]> {
    const log = join(work.path, `${name}.log`);
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', pathToFileURL(hook).href, bin, ...args],
        { cwd: work.path, env: { ...process.env, LADING_LOAD_LOG: log }, encoding: 'utf8' },
        (error, _stdout, stderr) => (error ? reject(new Error(`${args.join(' ')}: ${stderr}`)) : resolve()),
      );
    });
    const files = (await readFile(log, 'utf8')).trim().split('\n');
    const modules: string[] = [];
    for (const file of files) {
      const text = await readFile(fileURLToPath(file), 'utf8');
      for (const m of text.matchAll(/^\/\/ ((?:src|\S*node_modules)\/\S+)$/gm)) modules.push(m[1] as string);
    }
    assert.ok(modules.length > 0, `${args.join(' ')} loaded no bundled module (${files.length} files)`);
    return modules;
  }

  before(async () => {
    work = await tempDir();
    const given = process.env.LADING_TEST_CLI;
    if (given && given !== 'source') bin = given;
    else {
      // Inside the package, as `npm test` puts its bundle: the bundle finds package.json above it.
      const outdir = join(root, 'node_modules', '.cache', `lading-startup-test-${process.pid}`);
      ownBundle = outdir;
      await bundleCli(outdir);
      bin = join(outdir, 'main.js');
    }
    const hooks = join(work.path, 'hooks.mjs');
    await writeFile(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:') && process.env.LADING_LOAD_LOG) appendFileSync(process.env.LADING_LOAD_LOG, url + '\\n');
  return next(url, context);
}
`,
    );
    hook = join(work.path, 'register.mjs');
    await writeFile(
      hook,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    await writeFile(join(work.path, 'hello.txt'), 'hello\n');
  });
  after(async () => {
    await work.cleanup();
    if (ownBundle) await rm(ownBundle, { recursive: true, force: true });
  });

  test('--version loads no command and no dependency', async () => {
    const modules = await loaded(['--version'], 'version');
    assert.deepEqual(
      modules.filter((m) => m.includes('node_modules/') || m.includes('/commands/')),
      [],
    );
  });

  test('a copy between OCI layouts loads neither the registry client, the tar reader, nor other commands', async () => {
    await loaded(['push', '--oci-layout', 'src:v1', 'hello.txt'], 'push');
    const modules = await loaded(['cp', '--from-oci-layout', 'src:v1', '--to-oci-layout', 'dst:v1'], 'cp');
    assert.ok(modules.includes('src/layout/layout.ts'));
    assert.ok(modules.includes('src/cli/commands/cp.ts'));
    const unwanted = modules.filter((m) =>
      /^src\/(registry\/(?!redact\.ts)|server\/|ocm\/|ctf\/|files\/)|tar-stream|streamx|yaml|ajv|\/commands\/(?!cp\.ts|manifest-shared\.ts)/.test(
        m,
      ),
    );
    assert.deepEqual(unwanted, []);
  });
});

describe('the compile cache folder (Node 22.1 and later)', () => {
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
