import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { addOrasOptions, collect } from '../options.js';

/** `manifest index create|update`: build an image index from manifests of one repository. */
export function registerManifestIndex(manifest: Command, io: CliIO): void {
  const group = manifest.command('index').description('create and update image indexes');

  const create = group
    .command('create')
    .alias('pack')
    .description('create an index from manifests of the same repository and push it')
    .argument('<target>', 'the index: <registry>/<repository>[:<tag>[,<tag>...]]')
    .argument('[sources...]', 'tags or digests of the manifests, in the same repository')
    .option('--artifact-type <type>', 'artifact type of the index')
    .option('-a, --annotation <key=value>', 'an index annotation (repeatable)', collect)
    .option('-o, --output <file>', 'write the index to this file (- for stdout) instead of pushing it')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(create);
  create.addHelpText(
    'after',
    `
Examples:
  lading manifest index create localhost:5000/hello:v1 linux-amd64 linux-arm64
  lading manifest index create localhost:5000/hello:v1,latest linux-amd64 sha256:<digest>
  lading manifest index create --oci-layout layout-dir:v1 linux-amd64 linux-arm64
  lading manifest index create localhost:5000/hello linux-amd64 --output - --pretty`,
  );
  create.action(async (target: string, sources: string[], opts) => {
    const { indexCreate } = await import('./manifest-index-run.js');
    await indexCreate(io, target, sources, opts);
  });

  const update = group
    .command('update')
    .description('add, merge or remove manifests of an index and push the new index')
    .argument('<index>', 'the index: <registry>/<repository>{:<tag>|@<digest>}')
    .option('--add <ref>', 'a manifest (tag or digest) to add (repeatable)', collect)
    .option('--merge <ref>', 'an index (tag or digest) whose manifests to add (repeatable)', collect)
    .option('--remove <digest>', 'the digest of a manifest to remove (repeatable)', collect)
    .option('--tag <tag>', 'an extra tag for the new index (repeatable)', collect)
    .option('--artifact-type <type>', 'new artifact type of the index ("" removes it)')
    .option('-o, --output <file>', 'write the index to this file (- for stdout) instead of pushing it')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(update);
  update.addHelpText(
    'after',
    `
Examples:
  lading manifest index update localhost:5000/hello:v1 --add linux-riscv64 --remove sha256:<digest>
  lading manifest index update localhost:5000/hello:v2 --merge v2-windows --tag v2.1.0`,
  );
  update.action(async (index: string, opts) => {
    const { indexUpdate } = await import('./manifest-index-run.js');
    await indexUpdate(io, index, opts);
  });
}
