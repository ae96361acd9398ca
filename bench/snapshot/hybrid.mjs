// Probe (bench/snapshot-probe.ts): the design BENCHMARKS.md recommends, roughly. A small ES module
// answers --version itself (here from package.json directly, lighter than main.js's 7 files) and
// hands every other command to the one-file CommonJS bundle through code-cache.cjs.
// Usage: node hybrid.mjs BUNDLE.cjs args...
import { createRequire } from 'node:module';

const args = process.argv.slice(3);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  createRequire(import.meta.url)('./code-cache.cjs');
}
