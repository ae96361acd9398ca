// Probe: bundles bench/snapshot/entry.ts as one CommonJS file (no splitting). Usage: node build.mjs OUT.cjs
import { readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const [out] = process.argv.slice(2);
await build({
  entryPoints: [new URL('./entry.ts', import.meta.url).pathname],
  outfile: out,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  define: { 'import.meta.url': '__ladingMetaUrl' },
  banner: { js: "var __ladingMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  logLevel: 'warning',
});
// esbuild keeps import() of Node's built-ins in CommonJS output, and a snapshot has no dynamic
// import callback ("A dynamic import callback was not specified"): require them instead.
const helper =
  'var __ladingImport = (id) => Promise.resolve().then(() => { const m = require(id); return Object.assign(Object.create(m), { default: m }); });\n';
const code = readFileSync(out, 'utf8').replace(/\bimport\(("node:[^"]+")\)/g, '__ladingImport($1)');
if (/[^\w.$]import\(/.test(code)) throw new Error('an import() is left in the bundle');
writeFileSync(out, helper + code);
