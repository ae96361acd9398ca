import { Command, CommanderError } from 'commander';
import { type CliIO, ExitCode, processIO, reportError } from './io.js';
import { readVersion } from './version.js';

export interface RunOptions {
  io?: CliIO;
}

/** Builds the command tree. Command modules load only when their command runs. */
export function buildProgram(io: CliIO): Command {
  const program = new Command('lading')
    .description(
      'Ship software and data as OCI artifacts: ORAS-style copy of OCI artifacts between registries and OCI layouts, and Open Component Model (OCM v2) component versions.',
    )
    .version(readVersion(), '-V, --version', 'print the version')
    .option('-d, --debug', 'print the cause chain of errors')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .showSuggestionAfterError()
    .exitOverride();
  program.hook('preAction', (cmd) => {
    io.debug = Boolean(cmd.optsWithGlobals().debug);
  });

  program
    .command('version')
    .description('print the version of lading and its runtime')
    .action(async () => (await import('./commands/version.js')).versionCommand(io));

  program
    .command('cp')
    .alias('copy')
    .description('copy an artifact, with everything it references, from one OCI layout to another')
    .argument('<from>', 'source: <path>[:<tag>|@<digest>] with --from-oci-layout')
    .argument('<to>', 'destination: <path>[:<tag>[,<tag>...]] with --to-oci-layout')
    .option('--from-oci-layout', 'the source is an OCI image layout (directory or tar file)')
    .option('--to-oci-layout', 'the destination is an OCI image layout directory')
    .option('-r, --recursive', 'also copy the artifacts that refer to the source (referrers)')
    .option('--concurrency <n>', 'blobs copied in parallel', '3')
    .option('--no-tty', 'print one line per event instead of progress bars')
    .addHelpText(
      'after',
      `
Examples:
  # Copy the tag v1 of a layout tar file into a layout directory, as v1 and latest
  lading cp --from-oci-layout image.tar:v1 --to-oci-layout ./out:v1,latest`,
    )
    .action(async (from: string, to: string, opts) => (await import('./commands/cp.js')).cpCommand(io, from, to, opts));

  return program;
}

export async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are "errors" to commander; usage mistakes are already printed by it.
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return ExitCode.Ok;
      }
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    return reportError(io, error);
  }
}
