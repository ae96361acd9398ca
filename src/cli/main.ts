#!/usr/bin/env node
import * as nodeModule from 'node:module';

// Node 22.1 and later keep V8's compiled code of the bundle between runs when asked: a command
// then skips most of the parsing and compiling of the modules it loads. The cache lives in the
// user's cache folder (never in the package, which may be read-only); Node keys it by each file's
// content and ignores a stale or broken entry. NODE_COMPILE_CACHE (a folder of one's choice) and
// NODE_DISABLE_COMPILE_CACHE=1 are Node's own switches and win. Node 20 has no such cache.
const { enableCompileCache } = nodeModule as { enableCompileCache?: (dir?: string) => unknown };
if (enableCompileCache && !process.env.NODE_COMPILE_CACHE && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  try {
    const { cacheFolder } = await import('./cache-folder.js');
    const folder = cacheFolder();
    if (folder) enableCompileCache(folder);
  } catch {
    // A cache is an optimisation: a command runs the same without one.
  }
}

// The first Ctrl-C (or SIGTERM) asks the command to stop and clean up; a second one, or a command
// that has not finished cleaning up 10 s later, ends the process at once. A repeat within half a
// second is the same request: `timeout -s INT` and some process managers deliver a signal both to
// the process and to its group, and that must not skip the clean-up.
let firstSignalAt: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    const code = 128 + (signal === 'SIGINT' ? 2 : 15);
    const now = Date.now();
    if (firstSignalAt !== undefined) {
      if (now - firstSignalAt < 500) return;
      process.exit(code);
    }
    firstSignalAt = now;
    process.exitCode = code;
    setTimeout(() => process.exit(code), 10_000).unref();
    void import('./interrupt.js').then(({ interrupt }) => interrupt(signal));
  });
}

// `--version` answers before any command module loads: start-up time is part of the interface.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { ladingPackage } = await import('../oci/package-root.js');
  const { CliStream } = await import('./output/cli-stream.js');
  new CliStream(process.stdout).write(`${ladingPackage().version}\n`);
} else {
  // A reader that stops early (`lading push … | head -1`) silences the output, not the work: the
  // command finishes and exits by its result (see CliStream).
  const { run } = await import('./program.js');
  const { processIO, reportLostOutput } = await import('./io.js');
  const io = processIO();
  const code = await run(process.argv, { io });
  // A failed write to stdout reports its error on a later tick: let it arrive before deciding.
  await new Promise((resolve) => setImmediate(resolve));
  process.exitCode = reportLostOutput(io, code);
}
