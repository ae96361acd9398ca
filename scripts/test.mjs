// `npm test`: starts the real OCI peers, runs every test file under node:test + tsx, and stops
// the peers again, whatever way the run ends.
//
//   npm test                      all of src/**/*.test.ts and test/**/*.test.ts
//   npm test -- layout oci/       only files whose path contains one of the words
//   npm test -- --test-only       arguments starting with `-` go to node before the files
//   LADING_PEERS=<peers.json>     reuse running peers (see `node test/support/peers.mjs`)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePackages, startPeers, stopPeers } from '../test/support/peers.mjs';
import { bundleCli, copyUiAssets } from './bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TEST_ROOTS = ['src', 'test'];
const SKIP_DIRS = new Set(['node_modules', 'dist', 'coverage']);

/** Relative paths of all `*.test.ts` files under `dir`, recursively. */
function findTests(dir) {
  const found = [];
  let entries;
  try {
    entries = fs.readdirSync(path.join(root, dir), { withFileTypes: true });
  } catch (error) {
    if (error.code === 'ENOENT') return found;
    throw error;
  }
  for (const entry of entries) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name) && !entry.name.startsWith('.')) found.push(...findTests(rel));
    } else if (entry.isFile() && entry.name.endsWith('.test.ts')) {
      found.push(rel);
    }
  }
  return found;
}

const args = process.argv.slice(2);
const nodeFlags = args.filter((arg) => arg.startsWith('-'));
const filters = args.filter((arg) => !arg.startsWith('-'));
// Code-unit order, so the run order does not depend on the locale.
const allFiles = TEST_ROOTS.flatMap(findTests).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const files = filters.length === 0 ? allFiles : allFiles.filter((f) => filters.some((w) => f.includes(w)));
if (files.length === 0) {
  const scope = filters.length > 0 ? ` matching ${filters.map((w) => JSON.stringify(w)).join(', ')}` : '';
  process.stderr.write(`error: no test files${scope} under ${TEST_ROOTS.join('/, ')}/ (*.test.ts)\n`);
  process.exit(1);
}

let peers;
let scratch;
let child;
let interrupted;
let cleaning;
let cliDir;

function cleanup() {
  cleaning ??= (async () => {
    if (peers) await stopPeers(peers);
    if (scratch) await fsp.rm(scratch, { recursive: true, force: true });
    if (cliDir) await fsp.rm(cliDir, { recursive: true, force: true });
  })();
  return cleaning;
}

async function finish(code) {
  try {
    await cleanup();
  } catch (error) {
    process.stderr.write(`error: cleanup failed: ${error.message}\n`);
    code ||= 1;
  }
  process.exit(code);
}

function signalCode(sig) {
  return 128 + (os.constants.signals[sig] ?? 0);
}

function onSignal(sig) {
  if (interrupted) {
    // A second signal: stop waiting for anybody, but still leave no registry behind.
    for (const pid of peers?.pids ?? []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    process.exit(signalCode(sig));
  }
  interrupted = sig;
  // The test process finishes through its 'exit' handler; before it exists, main() checks the flag.
  if (child && child.exitCode === null && child.signalCode === null) child.kill(sig);
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

async function main() {
  let peersFile = process.env.LADING_PEERS;
  if (peersFile && fs.existsSync(peersFile)) {
    process.stderr.write(`reusing peers from LADING_PEERS=${peersFile}\n`);
  } else {
    if (peersFile) process.stderr.write(`LADING_PEERS=${peersFile} does not exist; starting new peers\n`);
    await ensurePackages();
    scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'lading-test-'));
    peers = await startPeers({ dir: scratch });
    peersFile = path.join(scratch, 'peers.json');
  }
  if (interrupted) return finish(signalCode(interrupted));

  // The command line the tests run is the bundle users get (built fresh here, a second or two):
  // it starts in a fifth of the time tsx needs to compile the sources for every one of the
  // suite's ~800 runs. LADING_TEST_CLI=source runs the sources through tsx instead.
  let cli = process.env.LADING_TEST_CLI;
  // Inside the package (the bundle finds the browser view's files from its package root), one
  // per run, so that two runs never rebuild each other's.
  cliDir = path.join(root, 'node_modules', '.cache', `lading-test-cli-${process.pid}`);
  // The CLI's V8 compile cache (Node 22.1 and later) goes here, not under $HOME: tests that give
  // the CLI a HOME of their own and check that nothing in it changed would otherwise see the cache,
  // and the user's cache stays untouched by test runs.
  const cacheHome = path.join(cliDir, 'xdg-cache');
  if (cli !== 'source') {
    const outdir = cliDir;
    await bundleCli(outdir);
    await copyUiAssets(path.join(root, 'dist', 'server', 'ui', 'assets'));
    cli = path.join(outdir, 'main.js');
  }
  await fsp.mkdir(cacheHome, { recursive: true });
  if (interrupted) return finish(signalCode(interrupted));

  const reporter = process.stdout.isTTY ? ['--test-reporter=spec'] : [];
  child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', ...reporter, ...nodeFlags, ...files],
    {
      cwd: root,
      stdio: 'inherit',
      env: { ...process.env, LADING_PEERS: peersFile, LADING_TEST_CLI: cli, XDG_CACHE_HOME: cacheHome },
    },
  );
  child.on('error', (error) => {
    process.stderr.write(`error: cannot start node --test: ${error.message}\n`);
    void finish(1);
  });
  child.on('exit', (code, sig) => {
    void finish(interrupted ? signalCode(interrupted) : (code ?? signalCode(sig)));
  });
}

main().catch((error) => {
  process.stderr.write(`error: ${error.stack ?? error.message}\n`);
  void finish(1);
});
