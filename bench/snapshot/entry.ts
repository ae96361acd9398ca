/**
 * Probe entry (bench/snapshot-probe.ts): src/cli/main.ts without top-level await, so that it
 * bundles as one CommonJS file and can seed a V8 startup snapshot. Not part of the product.
 */
import * as v8 from 'node:v8';
import { processIO, reportLostOutput } from '../../src/cli/io.js';
import { CliStream } from '../../src/cli/output/cli-stream.js';
import { commandGroups, run } from '../../src/cli/program.js';
import { ladingPackage } from '../../src/oci/package-root.js';

async function main(argv: string[]): Promise<void> {
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
      void import('../../src/cli/interrupt.js').then(({ interrupt }) => interrupt(signal));
    });
  }
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    new CliStream(process.stdout).write(`${ladingPackage().version}\n`);
    return;
  }
  const io = processIO();
  const code = await run(argv, { io });
  await new Promise((resolve) => setImmediate(resolve));
  process.exitCode = reportLostOutput(io, code);
}

function isSea(): boolean {
  try {
    return (require('node:sea') as { isSea(): boolean }).isSea();
  } catch {
    return false;
  }
}

const snapshot = (
  v8 as { startupSnapshot?: { isBuildingSnapshot(): boolean; setDeserializeMainFunction(f: () => void): void } }
).startupSnapshot;
if (snapshot?.isBuildingSnapshot()) {
  // Evaluate every command group's modules now, so that the snapshot holds them (LADING_SNAP_WARM=0: not).
  if (process.env.LADING_SNAP_WARM !== '0') for (const g of commandGroups) void g.load();
  snapshot.setDeserializeMainFunction(() => {
    // With --snapshot-blob, argv[1] is the first user argument: put a script path in its place.
    // A single executable application has its own path there already.
    const sea = isSea();
    void main(sea ? process.argv : [process.argv[0] as string, 'lading', ...process.argv.slice(1)]);
  });
} else {
  void main(process.argv);
}
