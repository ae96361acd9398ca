import { Command, CommanderError, type Command as CommandType } from 'commander';
import { isLadingError } from '../oci/index.js';
import { setTraceSink } from './debug.js';
import { interruptedBy, interruptSignal } from './interrupt.js';
import { type CliIO, ExitCode, processIO, reportError } from './io.js';
import { safeText } from './output/safe-text.js';
import { readVersion } from './version.js';

export interface RunOptions {
  io?: CliIO;
}

type Register = (program: Command, io: CliIO) => void;

/**
 * The top-level commands (aliases included) and the module that registers each group, in the
 * order `--help` lists them. A run loads and builds only the groups its arguments name: building
 * every command's options and loading every command module cost a lading command more than Node
 * itself takes to start. `completion`, help and unknown commands get the whole tree.
 */
export const commandGroups: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  { names: ['push'], load: async () => (await import('./commands/push.js')).registerPush },
  { names: ['pull'], load: async () => (await import('./commands/pull.js')).registerPull },
  { names: ['cp', 'copy'], load: async () => (await import('./commands/cp.js')).registerCp },
  { names: ['backup', 'restore'], load: async () => (await import('./commands/backup.js')).registerBackup },
  { names: ['attach'], load: async () => (await import('./commands/attach.js')).registerAttach },
  { names: ['discover'], load: async () => (await import('./commands/discover.js')).registerDiscover },
  { names: ['tag'], load: async () => (await import('./commands/tag-resolve.js')).registerTag },
  { names: ['resolve', 'digest'], load: async () => (await import('./commands/tag-resolve.js')).registerResolve },
  { names: ['login', 'logout'], load: async () => (await import('./commands/login.js')).registerLogin },
  {
    names: ['manifest', 'blob', 'repo', 'repository'],
    load: async () => (await import('./commands/oras-extras.js')).registerOrasExtras,
  },
  {
    names: ['add', 'get', 'download', 'transfer', 'sign', 'verify', 'hash', 'describe'],
    load: async () => (await import('./commands/ocm/index.js')).registerOcm,
  },
  { names: ['serve'], load: async () => (await import('./commands/serve.js')).registerServe },
  { names: ['ui'], load: async () => (await import('./commands/ui.js')).registerUi },
];

/**
 * The groups `args` may run: each group a token names (a superset: a value that happens to be a
 * command name adds a group, which is harmless), or every group when none is named.
 */
export function groupsFor(args: readonly string[]): typeof commandGroups {
  const tokens = new Set(args);
  const named = commandGroups.filter((g) => g.names.some((n) => tokens.has(n)));
  return named.length > 0 ? named : commandGroups;
}

/**
 * Builds the command tree: all of it, or with `args` the groups those arguments name (see
 * {@link groupsFor}). Heavy modules load only inside the action that needs them.
 */
export async function buildProgram(io: CliIO, args?: readonly string[]): Promise<Command> {
  const registers = await Promise.all((args ? groupsFor(args) : commandGroups).map((g) => g.load()));
  const program = new Command('lading')
    .description(
      'Ship software and data as OCI artifacts.\n\n' +
        'ORAS family: push, pull, cp, attach, discover, tag, resolve, login, logout,\n' +
        'manifest, blob, repo, backup, restore\n' +
        '(targets are <registry>/<repository>[:tag|@digest], or OCI layouts with --oci-layout).\n\n' +
        'OCM family: add cv, get cv, get resources, get config, download resource,\n' +
        'transfer cv, sign cv, verify cv, hash cv, describe types\n' +
        '(references are <repository>//<component>:<version>; the repository is a CTF\n' +
        'path or a registry).\n\n' +
        "Short flags keep each family's upstream meaning. ORAS family: -u is\n" +
        '--username, -o an output path (discover: the format). OCM family: -o is\n' +
        '--output (the format), -r is --recursive (transfer cv) or --repository\n' +
        '(add cv), -u is --upload-as (transfer cv).\n\n' +
        'serve: a local OCI registry (each repository an OCI layout under --root);\n' +
        'serve gc cleans it up.\n\n' +
        'Browser view: ui (a read-only view of a CTF archive, an OCI layout or a\n' +
        'registry, on 127.0.0.1).',
    )
    .version(readVersion(), '-V, --version', 'print the version')
    .option('-d, --debug', 'print the cause chain of errors')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // One line, as every error: commander's suggestion joins the line it follows.
      outputError: (s, write) =>
        write(
          (s.startsWith('error:') ? `Error: ${s.slice(7)}` : s).replace(
            /\n\(Did you mean (.*)\?\)\n?$/,
            ' (did you mean $1?)\n',
          ),
        ),
    })
    .showSuggestionAfterError()
    .enablePositionalOptions(false)
    .exitOverride();
  program.hook('preAction', (_cmd, action) => {
    io.debug = Boolean(action.optsWithGlobals().debug);
    setTraceSink(io.debug ? (line) => io.stderr.write(`[debug] ${safeText(line)}\n`) : undefined);
  });

  program
    .command('version')
    .description('print the version of lading and its runtime')
    .option('-f, --format <format>', 'text (default), json, or legacyjson (the shape of `ocm version`)', 'text')
    .action(async (opts: { format: string }) =>
      (await import('./commands/version.js')).versionCommand(io, opts.format),
    );
  for (const register of registers) register(program, io);
  for (const cmd of [program, ...allCommands(program)]) {
    // A group named without a subcommand (`lading`, `lading blob`, `lading get`) prints its help on
    // stdout and exits 0, as cobra does for `oras blob` and `ocm get`; commander would print it on
    // stderr as an error. `lading help <unknown>` stays on stderr, as cobra's usage does.
    if (cmd.commands.length > 0) {
      const help = cmd.help.bind(cmd) as (context?: { error: boolean }) => never;
      cmd.help = ((context?: { error: boolean }) =>
        help(cmd.args.length === 0 ? undefined : context)) as typeof cmd.help;
    }
  }
  for (const cmd of allCommands(program)) {
    (cmd as Command & { ladingIO?: CliIO }).ladingIO = io;
    cmd.exitOverride();
    cmd.option('-d, --debug', 'print the cause chain of errors');
  }
  return program;
}

export function allCommands(cmd: CommandType): CommandType[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

function findOption(cmd: CommandType, flag: string) {
  for (const c of [cmd, ...allCommands(cmd)]) {
    const found = c.options.find((o) => o.short === flag || o.long === flag);
    if (found) return found;
  }
  return undefined;
}

/**
 * Cobra lets flags stand before the subcommand (`oras blob -o - fetch ref`, `ocm --config x get
 * cv …`); commander does not. Flags met before the leaf command are moved after it, keeping their
 * values.
 */
export function hoistFlags(program: CommandType, args: string[]): string[] {
  let current = program;
  const path: string[] = [];
  const held: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const token = args[i] as string;
    if (token === '--') return args;
    if (token.startsWith('-') && token !== '-') {
      // The program's own flags (--help, --version, --debug) stay where they are; any other flag
      // before the command (`lading --config x get cv …`, as upstream's persistent flags) moves.
      if (current === program && program.options.some((o) => o.short === token || o.long === token)) return args;
      if (current === program && (token === '-h' || token === '--help')) return args;
      held.push(token);
      const option = token.includes('=') ? undefined : findOption(current, token);
      if (option && (option.required || option.optional) && i + 1 < args.length) held.push(args[++i] as string);
      continue;
    }
    const sub = current.commands.find((c) => c.name() === token || c.aliases().includes(token));
    if (!sub) return args;
    path.push(token);
    current = sub;
    if (sub.commands.length === 0) return held.length > 0 ? [...path, ...held, ...args.slice(i + 1)] : args;
  }
  return args;
}

const goTrue = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const goFalse = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

/**
 * Cobra's boolean flags take a value after `=` (`--plain-http=false`, `--insecure=true`), as Go's
 * strconv.ParseBool reads it; commander's do not. After the command path, `--flag=<true>` becomes
 * `--flag`, and `--flag=<false>` becomes `--no-flag` where the command has that negation (so
 * `--plain-http=false` asks for HTTPS even for localhost, as in ORAS), else nothing. Option values
 * and everything after `--` are left alone; a value that is neither is a usage error.
 */
export function goBoolFlags(program: CommandType, args: string[]): string[] {
  let current = program;
  let i = 0;
  for (; i < args.length; i++) {
    const sub = current.commands.find((c) => c.name() === args[i] || c.aliases().includes(args[i] as string));
    if (!sub) break;
    current = sub;
  }
  const chain: CommandType[] = [];
  for (let c: CommandType | null = current; c; c = c.parent) chain.push(c);
  const find = (flag: string) => {
    for (const c of chain) {
      const found = c.options.find((o) => o.long === flag || o.short === flag);
      if (found) return found;
    }
    return undefined;
  };
  const out = args.slice(0, i);
  for (; i < args.length; i++) {
    const token = args[i] as string;
    if (token === '--') return [...out, ...args.slice(i)];
    const m = /^(--[A-Za-z0-9][A-Za-z0-9-]*)=(.*)$/s.exec(token);
    const option = m ? find(m[1] as string) : /^(--.|-[^-]$)/.test(token) ? find(token) : undefined;
    if (!m || !option || option.required || option.optional || option.negate) {
      out.push(token);
      // The value of an option given as the next argument is never a flag of its own.
      if (!m && option && (option.required || option.optional) && i + 1 < args.length) out.push(args[++i] as string);
      continue;
    }
    const [, name, value] = m as unknown as [string, string, string];
    if (goTrue.has(value)) out.push(name);
    else if (goFalse.has(value)) {
      const negation = `--no-${name.slice(2)}`;
      if (find(negation)) out.push(negation);
    } else {
      throw new CommanderError(
        ExitCode.Failure,
        'lading.invalidBoolean',
        `invalid argument "${safeText(value)}" for "${name}" flag: expected true or false`,
      );
    }
  }
  return out;
}

/** An ABORTED error whose chain (the same code all the way) ends in the signal name SIGINT. */
function endedByTerminalInterrupt(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; depth < 8; depth++) {
    if (!isLadingError(e, 'ABORTED')) return false;
    if (e.cause === 'SIGINT') return true;
    e = e.cause;
  }
  return false;
}

export async function run(argv: string[], options: RunOptions = {}): Promise<number> {
  const io = options.io ?? processIO();
  const given = argv.slice(2);
  const program = await buildProgram(io, given);
  try {
    const args = goBoolFlags(program, hoistFlags(program, given));
    await program.parseAsync(args, { from: 'user' });
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
      if (error.code === 'lading.invalidBoolean') io.stderr.write(`Error: ${error.message}\n`);
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Failure;
    }
    const signal = interruptedBy();
    if (signal && interruptSignal().aborted) {
      // Whatever failed after the interrupt failed because of it.
      io.stderr.write('Error: interrupted\n');
      return 128 + (signal === 'SIGINT' ? 2 : 15);
    }
    if (isLadingError(error, 'ABORTED') && endedByTerminalInterrupt(error)) {
      // The terminal's Ctrl-C that only a credential helper's group received (lading had handed it
      // the terminal): the same interrupt, the same answer, as the Go tools give. Any other ABORTED
      // is reported as the error it is.
      io.stderr.write('Error: interrupted\n');
      return 128 + 2;
    }
    return reportError(io, error);
  }
}
