import { type Command, Option } from 'commander';
import { LadingError } from '../oci/index.js';
import { setTraceSink } from './debug.js';
import type { CliIO } from './io.js';
import { safeText } from './output/safe-text.js';

/**
 * The OCM command line's logging flags (`--loglevel`, `--logformat`, `--logoutput`), its
 * `--temp-folder` (TMPDIR for this run) and `--working-directory` (checked; add cv reads its inputs
 * there). Without any logging flag, warnings print as lading
 * always printed them (`warning: …` on stderr); with one, every log line is a Go slog record in
 * text (`time=… level=WARN msg="…"`) or JSON, at or above the level, on the chosen stream. At
 * `debug` the HTTP trace (what `--debug` shows) is logged too.
 */

const levels = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof levels)[number];

interface LogSettings {
  io: CliIO;
  structured: boolean;
  level: Level;
  format: 'text' | 'json';
  output: 'stderr' | 'stdout';
}

let settings: LogSettings | undefined;

function choice<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value))
    throw new LadingError('INVALID_ARGUMENT', `--${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

export function addOcmGlobalOptions(cmd: Command): Command {
  cmd
    .option('--loglevel <level>', 'log level: info (default), warn, debug (also the HTTP trace) or error')
    .option('--logformat <format>', 'log format: text (Go slog text records) or json')
    .option('--logoutput <stream>', 'where log lines go: stderr (default) or stdout')
    .option('--temp-folder <dir>', 'folder for temporary files (instead of the system one)')
    // Upstream's plugin flags, so scripts that pass them run: lading's types are built in.
    .addOption(
      new Option('--plugin-directory <dir>', 'accepted for upstream scripts; lading runs no plugins').hideHelp(),
    )
    .addOption(
      new Option(
        '--plugin-shutdown-timeout <duration>',
        'accepted for upstream scripts; lading runs no plugins',
      ).hideHelp(),
    );
  // As upstream, the folder input paths are read from: only `add cv` reads inputs (it has its own).
  if (!cmd.options.some((o) => o.long === '--working-directory'))
    cmd.option('--working-directory <dir>', 'the folder inputs are loaded from (used by add cv)');
  return cmd;
}

/** Applies the logging flags, --temp-folder and --working-directory before the command runs. */
export async function applyOcmGlobalOptions(
  io: CliIO,
  opts: {
    loglevel?: string;
    logformat?: string;
    logoutput?: string;
    tempFolder?: string;
    workingDirectory?: string;
    pluginDirectory?: string;
    pluginShutdownTimeout?: string;
  },
): Promise<void> {
  const structured = opts.loglevel !== undefined || opts.logformat !== undefined || opts.logoutput !== undefined;
  settings = {
    io,
    structured,
    level: choice('loglevel', opts.loglevel ?? 'info', levels),
    format: choice('logformat', opts.logformat ?? 'text', ['text', 'json'] as const),
    output: choice('logoutput', opts.logoutput ?? 'stderr', ['stderr', 'stdout'] as const),
  };
  if (settings.level === 'debug' && !io.debug) setTraceSink((line) => log('debug', line));
  // A Go duration, as cobra's flag parses it (`10s`, `1m30s`, `500ms`, `0`).
  if (
    opts.pluginShutdownTimeout !== undefined &&
    !/^[-+]?(0|((\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h))+)$/.test(opts.pluginShutdownTimeout)
  ) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `invalid argument ${JSON.stringify(opts.pluginShutdownTimeout)} for "--plugin-shutdown-timeout" flag: not a duration (e.g. 10s)`,
    );
  }
  if (opts.pluginDirectory !== undefined) {
    const { readdir } = await import('node:fs/promises');
    const entries = await readdir(opts.pluginDirectory).catch(() => []);
    if (entries.length > 0)
      log(
        'warn',
        `--plugin-directory ${opts.pluginDirectory}: lading runs no plugins (its types are built in); ignored`,
      );
  }
  const { stat } = await import('node:fs/promises');
  const { resolve } = await import('node:path');
  const folder = async (flag: string, dir: string) => {
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory())
      throw new LadingError('INVALID_ARGUMENT', `--${flag} ${JSON.stringify(dir)}: not an existing folder`);
    return resolve(dir);
  };
  // The temp folder is resolved before a working directory changes what a relative path means.
  if (opts.tempFolder !== undefined) {
    const dir = await folder('temp-folder', opts.tempFolder);
    process.env.TMPDIR = dir;
    process.env.TMP = dir;
    process.env.TEMP = dir;
  }
  if (opts.workingDirectory !== undefined) await folder('working-directory', opts.workingDirectory);
}

/** Go's slog text quoting: a value with spaces, quotes, `=` or control characters is quoted. */
function slogValue(text: string): string {
  return text === '' || /[\s"=\\]|[^\x21-\x7e]/.test(text) ? JSON.stringify(text) : text;
}

/** One log line. Without a logging flag: `warning: …` for warnings and errors, nothing below. */
export function log(level: Level, message: string, io?: CliIO): void {
  const s = settings;
  const line = safeText(message.split('\n')[0] ?? '');
  if (!s?.structured) {
    if (level === 'warn' || level === 'error')
      (s?.io.stderr ?? io?.stderr ?? process.stderr).write(`${level === 'warn' ? 'warning' : 'error'}: ${line}\n`);
    return;
  }
  if (levels.indexOf(level) < levels.indexOf(s.level)) return;
  const time = new Date().toISOString();
  const upper = level.toUpperCase();
  const text =
    s.format === 'json'
      ? `${JSON.stringify({ time, level: upper, msg: line })}\n`
      : `time=${time} level=${upper} msg=${slogValue(line)}\n`;
  (s.output === 'stdout' ? s.io.stdout : s.io.stderr).write(text);
}
