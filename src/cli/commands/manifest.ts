import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { addConcurrencyOption, addOrasOptions, collect } from '../options.js';
import { registerManifestIndex } from './manifest-index.js';

/** `manifest fetch|fetch-config|push|delete|index`, flag for flag as `oras manifest`. */
export function registerManifest(program: Command, io: CliIO): void {
  const group = program
    .command('manifest')
    .description('fetch, push and delete manifests; create and update image indexes')
    .addHelpText(
      'after',
      `
Examples:
  lading manifest fetch localhost:5000/hello:v1
  lading manifest fetch-config localhost:5000/hello:v1
  lading manifest push localhost:5000/hello:v1 manifest.json
  lading manifest delete --force localhost:5000/hello:v1
  lading manifest index create localhost:5000/hello:v1 linux-amd64 linux-arm64`,
    );

  const fetch = group
    .command('fetch')
    .aliases(['get', 'show'])
    .description('print the manifest of an artifact (its exact bytes unless told otherwise)')
    .argument('<name>', 'the manifest: <registry>/<repository>{:<tag>|@<digest>}')
    .option('-o, --output <file>', 'write the manifest to this file; - for stdout')
    .option('--media-type <type>', 'accepted media types (repeatable or comma-separated); registries only', collect)
    .option('--platform <platform>', 'the manifest for this platform inside an index: os[/arch[/variant]][:os_version]')
    .option('--descriptor', 'print the descriptor of the manifest instead')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(fetch, { format: ['text', 'json', 'go-template'] });
  fetch.addHelpText(
    'after',
    `
Examples:
  lading manifest fetch localhost:5000/hello:v1
  lading manifest fetch --descriptor localhost:5000/hello:v1
  lading manifest fetch --format json localhost:5000/hello:v1
  lading manifest fetch --platform linux/arm64 --pretty localhost:5000/hello:v1
  lading manifest fetch --oci-layout layout.tar:v1`,
  );
  fetch.action(async (name: string, opts, cmd: Command) => {
    const { manifestFetch } = await import('./manifest-fetch.js');
    await manifestFetch(io, name, opts, { formatGiven: cmd.getOptionValueSource('format') === 'cli' });
  });

  const config = group
    .command('fetch-config')
    .alias('get-config')
    .description('print the config blob of an image manifest')
    .argument('<name>', 'the manifest: <registry>/<repository>{:<tag>|@<digest>}')
    .option('-o, --output <file>', 'write the config to this file; - for stdout')
    .option('--platform <platform>', 'the manifest for this platform inside an index: os[/arch[/variant]][:os_version]')
    .option('--descriptor', 'print the descriptor of the config instead')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(config);
  config.addHelpText(
    'after',
    `
Examples:
  lading manifest fetch-config localhost:5000/hello:v1
  lading manifest fetch-config --platform linux/arm64 --pretty localhost:5000/app:v1
  lading manifest fetch-config --descriptor localhost:5000/hello:v1
  lading manifest fetch-config --oci-layout layout.tar:v1 -o config.json`,
  );
  config.action(async (name: string, opts) => {
    const { manifestFetchConfig } = await import('./manifest-fetch.js');
    await manifestFetchConfig(io, name, opts);
  });

  const push = group
    .command('push')
    .description('push a manifest from a file (or stdin) as it is')
    .argument('<name>', 'destination: <registry>/<repository>[:<tag>[,<tag>...]|@<digest>]')
    .argument('<file>', 'the manifest JSON; - for stdin')
    .option('--media-type <type>', 'media type of the manifest (default: its "mediaType" field)');
  addConcurrencyOption(push, 'tags applied', 5)
    .option('--descriptor', 'print the descriptor of the manifest instead of the status')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(push, { distributionSpec: true });
  push.addHelpText(
    'after',
    `
Examples:
  lading manifest push localhost:5000/hello:v1 manifest.json
  lading manifest push localhost:5000/hello:v1,latest - < manifest.json
  lading manifest push --oci-layout layout-dir:v1 manifest.json`,
  );
  push.action(async (name: string, file: string, opts) => {
    const { manifestPush } = await import('./manifest-push.js');
    await manifestPush(io, name, file, opts);
  });

  const del = group
    .command('delete')
    .aliases(['remove', 'rm'])
    .description('delete a manifest and every tag that points at it')
    .argument('<name>', 'the manifest: <registry>/<repository>{:<tag>|@<digest>}')
    .option('-f, --force', 'do not ask for confirmation; a missing manifest is not an error')
    .option('--descriptor', 'print the descriptor of the deleted manifest (needs --force)')
    .option('--pretty', 'indent JSON printed to stdout');
  addOrasOptions(del, { distributionSpec: true });
  del.addHelpText(
    'after',
    `
Examples:
  lading manifest delete localhost:5000/hello:v1
  lading manifest delete --force localhost:5000/hello@sha256:<digest>
  lading manifest delete --oci-layout ./layout:v1`,
  );
  del.action(async (name: string, opts) => {
    const { manifestDelete } = await import('./manifest-push.js');
    await manifestDelete(io, name, opts);
  });

  registerManifestIndex(group, io);
}
