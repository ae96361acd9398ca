import type { Command } from 'commander';
import type { CliIO } from '../io.js';

/** `manifest`, `blob`, `repo` and `completion` command groups. */
export function registerOrasExtras(_program: Command, _io: CliIO): void {}
