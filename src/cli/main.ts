#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
import { ladingPackage } from '../oci/package-root.js';
import { type BodyId, loadBody } from './code-cache.js';
import { CliStream } from './output/cli-stream.js';

// The built command line is two files (scripts/bundle.mjs): this small ES module (the `bin`) and
// the rest of lading as one CommonJS file, which this module compiles with lading's own V8 code
// cache (code-cache.ts). The build defines LADING_BODY; run from the sources it is undefined.
declare const LADING_BODY: BodyId | undefined;

// `--version` answers before the body loads: start-up time is part of the interface.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  new CliStream(process.stdout).write(`${ladingPackage().version}\n`);
} else if (typeof LADING_BODY === 'undefined') {
  const { start } = await import('./body.js');
  await start(process.argv);
} else {
  const body = loadBody(fileURLToPath(new URL(LADING_BODY.file, import.meta.url)), LADING_BODY, args);
  await body.start(process.argv);
}
