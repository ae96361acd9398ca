import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
// Resolved here, so that a test may run the CLI from any working directory.
const tsx = import.meta.resolve('tsx');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The node arguments that run lading: the bundle `npm test` built (LADING_TEST_CLI, the command
 * line users get), or the sources through tsx (a test file run on its own, LADING_TEST_CLI=source).
 */
export function cliArgs(args: string[]): string[] {
  const bundle = process.env.LADING_TEST_CLI;
  return bundle && bundle !== 'source' ? [bundle, ...args] : ['--import', tsx, main, ...args];
}

/** Runs the lading CLI as a child process, as a user would. */
export function lading(
  args: string[],
  options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      cliArgs(args),
      { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

/** Runs lading and fails the test (with its stderr) unless it exits 0. */
export async function ladingOk(args: string[], options: Parameters<typeof lading>[1] = {}): Promise<CliResult> {
  const r = await lading(args, options);
  assert.equal(r.code, 0, `lading ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r;
}

/** OCM's transfer reports its progress on stderr, as upstream (without a terminal: one line per blob and version). */
export const transferProgressLine = /^(Copying|Copied|Exists|Mounted) +[0-9a-f]{12} |^(Transferred|Unchanged) /;

export function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, 'expected a non-zero exit');
  // ORAS's warning for a secret on the command line comes first, whatever follows; OCM's transfer
  // progress before it.
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((line) => !/^WARNING! Using --(password|identity-token) via the CLI is insecure\./.test(line))
    .filter((line) => !transferProgressLine.test(line));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0] as string, /^Error: /);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
}

/** {@link lading}, killed and reported so if it has not ended after `seconds` (a hang fails, not stalls, the test). */
export function ladingWithin(
  seconds: number,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<CliResult & { killed: boolean }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      cliArgs(args),
      {
        cwd: options.cwd,
        env: options.env ?? process.env,
        timeout: seconds * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const killed = Boolean(error?.killed);
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr), killed });
      },
    );
  });
}

/** The run ended by itself, in one error line that matches `pattern`. */
export function assertErrorWithin(r: CliResult & { killed: boolean }, pattern: RegExp, what: string): void {
  assert.equal(r.killed, false, `${what}: hung (killed after the time limit)`);
  assertOneLineError(r, pattern);
}
