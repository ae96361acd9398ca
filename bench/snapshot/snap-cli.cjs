// Probe (not the product): runs the CLI from a startup snapshot, for running the CLI tests through
// it: LADING_TEST_CLI=bench/snapshot/snap-cli.cjs LADING_PROBE_BLOB=<blob> npm test -- cli
// (LADING_PROBE_BLOB unset: the plain CommonJS bundle). One extra node start per command.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

const blob = process.env.LADING_PROBE_BLOB;
const bundle = path.join(__dirname, '..', '..', 'dist', 'snapshot-probe', 'lading.cjs');
const args = blob ? ['--snapshot-blob', blob, '--', ...process.argv.slice(2)] : [bundle, ...process.argv.slice(2)];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
