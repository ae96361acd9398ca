// A newcomer reads `lading <command> --help` before anything else: every command that does
// something ends its help with an Examples block, as ORAS's commands do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { processIO } from '../src/cli/io.js';
import { allCommands, buildProgram } from '../src/cli/program.js';

function pathOf(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

test('every command that runs something shows Examples in its --help', async () => {
  const program = await buildProgram(processIO());
  const missing: string[] = [];
  for (const cmd of allCommands(program)) {
    // A group (`manifest`, `get`) lists its subcommands; `help` and `version` need none.
    if (cmd.commands.length > 0 && pathOf(cmd) !== 'serve') continue;
    if (['help', 'version'].includes(cmd.name())) continue;
    let text = '';
    cmd.configureOutput({ writeOut: (s) => void (text += s), writeErr: (s) => void (text += s) });
    cmd.outputHelp();
    if (!/\nExamples:\n {2}\S/.test(text)) missing.push(pathOf(cmd));
  }
  assert.deepEqual(missing, []);
});
