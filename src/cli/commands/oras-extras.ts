import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { registerBlob } from './blob.js';
import { registerCompletion } from './completion.js';
import { registerManifest } from './manifest.js';
import { registerRepo } from './repo.js';

/** `manifest`, `blob`, `repo` and `completion` command groups. */
export function registerOrasExtras(program: Command, io: CliIO): void {
  registerManifest(program, io);
  registerBlob(program, io);
  registerRepo(program, io);
  registerCompletion(program, io);
}
