// `npm run conformance -- /path/to/conformance.test`: the OCI distribution-spec conformance suite
// (v1.1.1, all four workflows) against `lading serve`, started on a free port with a fresh root.
// Three runs: OCI_AUTOMATIC_CROSSMOUNT unset, =1 (serve's default mounts without `from`), and =0
// against `lading serve --no-automatic-mount`. Not part of `npm test`: the suite lives outside
// the repository (../shared/tools/oci-conformance/ builds it).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const binary = process.argv[2];
if (!binary || !fs.existsSync(binary)) {
  process.stderr.write('usage: npm run conformance -- /path/to/conformance.test\n');
  process.exit(2);
}

/** Starts `lading serve` (from source) on a free port; resolves with its URL once the readiness line is out. */
async function startServe(args) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(root, 'src/cli/main.ts'),
      'serve',
      '--addr',
      '127.0.0.1:0',
      '--log-level',
      'warn',
      ...args,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk) => {
    log += chunk;
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /ready on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`lading serve exited (${code}) before it was ready:\n${log}`)));
  });
  return { url, child, log: () => log };
}

async function stop(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function runSuite(url, crossmount, reportDir) {
  const env = {
    ...process.env,
    OCI_ROOT_URL: url,
    OCI_NAMESPACE: 'myorg/myrepo',
    OCI_CROSSMOUNT_NAMESPACE: 'myorg/other',
    OCI_TEST_PULL: '1',
    OCI_TEST_PUSH: '1',
    OCI_TEST_CONTENT_DISCOVERY: '1',
    OCI_TEST_CONTENT_MANAGEMENT: '1',
    OCI_HIDE_SKIPPED_WORKFLOWS: '0',
    OCI_DEBUG: '0',
    OCI_REPORT_DIR: reportDir,
  };
  if (crossmount === undefined) delete env.OCI_AUTOMATIC_CROSSMOUNT;
  else env.OCI_AUTOMATIC_CROSSMOUNT = crossmount;
  return new Promise((resolve) => {
    const child = spawn(path.resolve(binary), ['-ginkgo.no-color'], { cwd: reportDir, env });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      out += c;
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

const runs = [
  { name: 'OCI_AUTOMATIC_CROSSMOUNT unset', crossmount: undefined, args: [] },
  { name: 'OCI_AUTOMATIC_CROSSMOUNT=1', crossmount: '1', args: [] },
  { name: 'OCI_AUTOMATIC_CROSSMOUNT=0 (serve --no-automatic-mount)', crossmount: '0', args: ['--no-automatic-mount'] },
];
let failed = false;
const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), 'lading-conformance-'));
try {
  for (const run of runs) {
    const dir = path.join(scratch, String(runs.indexOf(run)));
    await fsp.mkdir(path.join(dir, 'report'), { recursive: true });
    const serve = await startServe(['--root', path.join(dir, 'root'), ...run.args]);
    try {
      const { code, out } = await runSuite(serve.url, run.crossmount, path.join(dir, 'report'));
      const ran = /Ran \d+ of \d+ Specs in [\d.]+ seconds/.exec(out)?.[0];
      const counts = /(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped/.exec(out);
      const summary = counts
        ? `passed=${counts[1]} failed=${counts[2]} pending=${counts[3]} skipped=${counts[4]} (${ran})`
        : '(no summary from the suite)';
      process.stdout.write(`${run.name}: ${summary}\n`);
      if (code !== 0 || !counts || counts[2] !== '0') {
        failed = true;
        for (const line of out.split('\n'))
          if (/\[(FAIL|PANICKED!)\]/.test(line)) process.stdout.write(`  ${line.trim()}\n`);
      }
    } finally {
      await stop(serve.child);
    }
  }
} finally {
  await fsp.rm(scratch, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
