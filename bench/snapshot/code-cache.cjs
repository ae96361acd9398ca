// Probe (bench/snapshot-probe.ts): runs the one-file CommonJS bundle through vm.Script with a V8
// code cache kept beside it in a cache folder (LADING_PROBE_CACHE), written at exit so that it
// holds every function the command compiled; one per command word. V8 rejects a cache made by another V8 version, other
// flags or other source (script.cachedDataRejected), and then the bundle compiles as usual.
// Usage: node code-cache.cjs BUNDLE.cjs args...
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const bundle = path.resolve(process.argv[2]);
process.argv.splice(1, 1); // the bundle sees itself as argv[1], as when run directly
const dir = process.env.LADING_PROBE_CACHE;
const source = fs.readFileSync(bundle, 'utf8');
// One cache per command (its first word): each holds the functions that command compiles.
const command = (process.argv[2] ?? '').replace(/[^a-z-]/gi, '').slice(0, 20);
const cacheFile = dir && path.join(dir, `${process.version}-${process.arch}-${command}.cache`);
let cachedData;
try {
  if (cacheFile) cachedData = fs.readFileSync(cacheFile);
} catch {}
const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
  process.once('exit', () => {
    try {
      fs.mkdirSync(dir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {}
  });
}
const mod = new Module(bundle, null);
mod.filename = bundle;
mod.paths = Module._nodeModulePaths(path.dirname(bundle));
script.runInThisContext()(mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
