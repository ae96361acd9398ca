import type { CliIO } from '../io.js';
import { readVersion } from '../version.js';

export function versionCommand(io: CliIO): void {
  const rows = [
    ['Version', readVersion()],
    ['Node version', process.version],
    ['OS/Arch', `${process.platform}/${process.arch}`],
  ];
  for (const [k, v] of rows) io.stdout.write(`${`${k}:`.padEnd(14)}${v}\n`);
}
