// README's command-line examples (the ORAS and the OCM family) run as written, in order, in one
// fresh folder, as a newcomer runs them: against two `lading serve` registries started with the
// README's own command lines (only the ports differ), with skopeo and jq where the README uses them.
// The commands a reader cannot run without files the README does not make (a configuration of
// their own, a component `app` with references) are left out, by name, below.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cliArgs } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { type Served, startServe } from './support/serve.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = await readFile(join(root, 'README.md'), 'utf8');

/** The README between two of its headings. */
function section(from: string, to: string): string {
  const start = readme.indexOf(`\n## ${from}\n`);
  const end = readme.indexOf(`\n## ${to}\n`, start + 1);
  assert.ok(start >= 0 && end > start, `README has the sections "${from}" and "${to}"`);
  return readme.slice(start, end);
}

interface Block {
  lang: string;
  text: string;
}
function blocks(text: string): Block[] {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? '', text: m[2] ?? '' }));
}

/** A sh block's commands, one per line, continuation lines joined, comments-only lines dropped. */
function commands(sh: string): string[] {
  return sh
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

// What a reader cannot run from the README alone: their own configuration file, and a component
// `github.com/acme.org/app` with references that the README describes but never builds.
const needsOwnFiles = /my-ocm-config\.yaml|\.ocmconfig|acme\.org\/app\b/;

const run = (cmd: string, cwd: string, env: NodeJS.ProcessEnv) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      'bash',
      ['-o', 'pipefail', '-c', cmd],
      { cwd, env, encoding: 'utf8', maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });

describe('README examples, as written', () => {
  const work = tempDir('lading-readme-');
  const registries: Served[] = [];
  let env: NodeJS.ProcessEnv = {};
  let ports: string[] = [];

  before(async () => {
    const dir = (await work).path;
    // The README's own `lading serve` command lines, root and address aside.
    const serveLines = [...section('The ORAS family', 'The OCM family').matchAll(/`lading serve (--root [^`]+)`/g)];
    assert.equal(serveLines.length, 2, 'the ORAS section says how to start two registries');
    for (const [i, m] of serveLines.entries()) {
      const args = (m[1] ?? '').split(/\s+/);
      const kept: string[] = [];
      for (let j = 0; j < args.length; j++) {
        if (args[j] === '--addr') j++;
        else if (args[j] === '--root') {
          kept.push('--root', join(dir, `registry-${i}`));
          j++;
        } else kept.push(args[j] as string);
      }
      registries.push(await startServe(['--log-level', 'error', ...kept]));
    }
    ports = registries.map((r) => r.host.split(':')[1] as string);
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    await writeFile(
      join(bin, 'lading'),
      `#!/bin/sh\nexec ${quote(process.execPath)} ${cliArgs([]).map(quote).join(' ')} "$@"\n`,
    );
    await chmod(join(bin, 'lading'), 0o755);
    env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
  });

  after(async () => {
    for (const r of registries) await r.stop();
    await (await work).cleanup();
  });

  /** The README's ports (5000 and 5001) are these registries'. */
  const ported = (cmd: string) => cmd.replace(/:5000\b/g, `:${ports[0]}`).replace(/:5001\b/g, `:${ports[1]}`);

  async function runAll(text: string, { constructors }: { constructors: boolean }) {
    const dir = join((await work).path, 'work');
    await mkdir(dir, { recursive: true });
    let ran = 0;
    for (const block of blocks(text)) {
      // A constructor the README shows is the component-constructor.yaml of the commands after it.
      if (
        constructors &&
        block.lang === 'yaml' &&
        /^\s*(name|components):/m.test(block.text) &&
        /input:/.test(block.text)
      ) {
        await writeFile(join(dir, 'component-constructor.yaml'), block.text);
        continue;
      }
      if (block.lang !== 'sh') continue;
      // One shell per block, as a reader pastes it: a variable one line sets is there for the next.
      // -x: the trace on stderr shows which command failed.
      const lines = commands(block.text).filter((l) => !needsOwnFiles.test(l));
      const r = await run(`set -ex\n${lines.map(ported).join('\n')}`, dir, env);
      assert.equal(r.code, 0, `README block failed (exit ${r.code}):\n${lines.join('\n')}\n--- stderr:\n${r.stderr}`);
      ran += lines.length;
    }
    return { dir, ran };
  }

  test('the ORAS family', async () => {
    const { dir, ran } = await runAll(section('The ORAS family', 'The OCM family'), { constructors: false });
    assert.ok(ran >= 30, `ran ${ran} commands`);
    assert.equal(await readFile(join(dir, 'out', 'artifact.txt'), 'utf8'), 'hello world\n');
    assert.equal(await readFile(join(dir, 'retrieved', 'data', 'imagery.tif'), 'utf8'), 'pixels\n');
    // restore put the backup's tags into the second registry: skopeo, not lading, reads them back.
    const r = await run(
      `skopeo inspect --raw --tls-verify=false docker://localhost:${ports[1]}/hello-artifact:v4`,
      dir,
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).layers[0].annotations['org.opencontainers.image.title'], 'artifact.txt');
  });

  test('the OCM family', async () => {
    const { dir, ran } = await runAll(section('The OCM family', 'Browse artifacts'), { constructors: true });
    assert.ok(ran >= 20, `ran ${ran} commands`);
    assert.equal(await readFile(join(dir, 'my-file'), 'utf8'), 'foobar');
    // The embedded image skopeo copied out of the registry by its localReference holds hello.txt.
    const index = JSON.parse(await readFile(join(dir, 'image', 'index.json'), 'utf8'));
    assert.equal(index.manifests.length, 1);
  });
});
