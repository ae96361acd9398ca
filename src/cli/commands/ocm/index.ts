import type { Command } from 'commander';
import type { CliIO } from '../../io.js';
import { registerAdd } from './add.js';
import { registerDescribe } from './describe.js';
import { registerDownload } from './download.js';
import { registerGet } from './get.js';
import { registerHash, registerSign, registerVerify } from './sign.js';
import { registerTransfer } from './transfer.js';

/** The OCM family: component versions in CTF archives and registries. */
export function registerOcm(program: Command, io: CliIO): void {
  registerAdd(program, io);
  registerGet(program, io);
  registerDownload(program, io);
  registerTransfer(program, io);
  registerSign(program, io);
  registerVerify(program, io);
  registerHash(program, io);
  const get = program.commands.find((c) => c.name() === 'get');
  if (get) registerDescribe(program, get, io);
}
