#!/usr/bin/env node
// node:url statically: a dynamic import() of a built-in in this CommonJS entry goes through Node's
// ES module loader, ~5 ms at every start.
import { fileURLToPath } from 'node:url';
import type { BodyId } from './code-cache.js';
import { CliStream } from './output/cli-stream.js';
import { readVersion } from './version.js';

// The built command line is CommonJS files (scripts/bundle.mjs): this small entry (the `bin`,
// dist/bin/main.js) and the rest of lading in a body, which this entry compiles with lading's own V8
// code cache (code-cache.ts): the small ORAS body or the full one, as the arguments need
// (body-choice.ts). The build defines LADING_BODIES; run from the sources (tsx) it is undefined and
// the body is imported as a module. No top-level await: the built entry is CommonJS, which Node 20
// starts ~5 ms sooner than an ES module.
declare const LADING_BODIES: { oras: BodyId; full: BodyId } | undefined;

async function main(args: string[]): Promise<void> {
  // `--version` answers before the body loads: start-up time is part of the interface.
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    const out = new CliStream(process.stdout);
    out.write(`${readVersion()}\n`);
    // A write that failed (a full disk under `> file`) reports on a later tick: a lost version is
    // a failure, as for every other command (body.ts).
    await new Promise((resolve) => setImmediate(resolve));
    if (out.failure) {
      new CliStream(process.stderr).write(`Error: writing the output failed: ${out.failure.message}\n`);
      process.exitCode = 1;
    }
    return;
  }
  if (typeof LADING_BODIES === 'undefined') {
    const { start } = await import('./body.js');
    return start(process.argv);
  }
  const [{ loadBody }, { bodyFor }] = await Promise.all([import('./code-cache.js'), import('./body-choice.js')]);
  const id = LADING_BODIES[bodyFor(args)];
  // main.js is CommonJS beside the body: its own require resolves from the body's folder.
  const body = loadBody(fileURLToPath(new URL(id.file, import.meta.url)), id, args, { require });
  return body.start(process.argv);
}

main(process.argv.slice(2)).catch((error: Error) => {
  // The body reports its own errors; this is one that kept it from loading at all.
  new CliStream(process.stderr).write(`Error: ${error.message}\n`);
  process.exitCode = 1;
});
