import { readFileSync } from 'node:fs';
import { LadingError } from '../../oci/index.js';
import type { Credential } from '../auth/credential.js';

/** Docker's marker user name for an identity token stored in a helper. */
const TokenUser = '<token>';
const NotFound = 'credentials not found in native keychain';

/**
 * What a helper may print (a credential is a few KiB at most), and how long it may take: long
 * enough for a keychain to ask its user, not forever. Mutable for tests only.
 */
export const helperBounds = { maxOutputBytes: 1024 * 1024, timeoutMs: 120_000 };

/**
 * Process groups of helpers still running. A helper runs in a group of its own, so that what it
 * started (gpg and its pinentry, a `sleep` in a script) ends with it: at its timeout, when it has
 * answered (a leftover program would hold its output open), and when lading exits first (Ctrl-C).
 */
const running = new Set<number>();

function endGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: nothing left of it.
  }
}

function endAll(): void {
  for (const pgid of running) endGroup(pgid);
}

/**
 * Whether this process's group is the foreground of its controlling terminal (Linux, from
 * /proc/self/stat: its group and the terminal's foreground group). Only then can a helper be handed
 * the terminal; from a background job that would stop this process (SIGTTOU).
 */
function foregroundOfTerminal(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // After "pid (comm) ": state ppid pgrp session tty_nr tpgid …
    const [, , pgrp, , tty, tpgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return tty !== '0' && tpgid !== undefined && tpgid === pgrp;
  } catch {
    return false;
  }
}

/**
 * The helper on a terminal: a job-control shell (`sh -m`) starts it as a job of its own group and
 * hands it the terminal while it runs, as an interactive shell would, so that a prompt of its own on
 * /dev/tty reads and turns off echo as it does under docker (whose helpers share its group, and
 * whose Ctrl-C reaches them from the terminal; here too: the terminal's Ctrl-C goes to the helper's
 * group). The job's group is reported on fd 3 before it runs; the job does not inherit fd 3.
 *
 * Under docker or a Go tool the terminal's Ctrl-C reaches the tool as well, which dies of it. Here it
 * reaches only the helper's group, so the job is a subshell of that group that runs the helper and
 * says `int` on fd 3 when the group got SIGINT, however the helper took it (died of it, or caught
 * it and exited). The shell itself ignores SIGINT: one that reached it, in the moment between its
 * `set -m` (which gives its own group the terminal) and its `fg`, would otherwise end it and leave
 * the terminal with a group of nobody (dash hands the terminal back only on its way out), or, were
 * it a trap, wait for the helper's end to run. Such an early Ctrl-C (and one before the subshell's
 * trap) is lost; the next one reaches the helper.
 */
const OnTerminal = 'set -m; trap "" INT; (trap "echo int >&3" INT; "$0" "$@" 3>&-) & echo "$!" >&3; fg >/dev/null';

async function run(
  program: string,
  action: string,
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  // Loaded when a helper runs: a command that never asks one does not load child_process.
  const { spawn } = await import('node:child_process');
  // Otherwise (no terminal, or a background job) a session of its own: no terminal to prompt on, as
  // under any program that runs without one.
  const onTerminal = foregroundOfTerminal();
  return new Promise((resolve, reject) => {
    const child = onTerminal
      ? spawn('/bin/sh', ['-c', OnTerminal, program, action], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] })
      : spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let settled = false;
    let pgid = onTerminal ? undefined : child.pid;
    if (pgid !== undefined) running.add(pgid);
    if (!process.listeners('exit').includes(endAll)) process.on('exit', endAll);
    const ended = () => {
      if (pgid === undefined) return;
      endGroup(pgid);
      running.delete(pgid);
    };
    // The terminal's Ctrl-C reached the helper's group (or the shell's): as the Ctrl-C it is, the
    // call ends ABORTED with the signal's name as its cause, whatever the helper answered.
    const interrupted = () =>
      new LadingError('ABORTED', `credential helper ${program} ${action}: interrupted (Ctrl-C on the terminal)`, {
        cause: 'SIGINT',
      });
    if (onTerminal) {
      const report = child.stdio[3] as import('node:stream').Readable;
      let text = '';
      report.setEncoding('utf8').on('data', (d: string) => {
        text += d;
        let end = text.indexOf('\n');
        while (end >= 0) {
          const line = text.slice(0, end);
          text = text.slice(end + 1);
          end = text.indexOf('\n');
          const id = Number.parseInt(line, 10);
          if (line === 'int') {
            stop(interrupted());
          } else if (pgid === undefined && id > 1 && String(id) === line) {
            pgid = id;
            running.add(id);
            if (settled) ended();
          }
        }
      });
      report.on('error', () => {});
    }
    const stop = (error: LadingError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A program the helper started may still hold its output open ('close' would wait for it):
      // let go of the pipes and answer now (on a terminal, once the shell is done: it says on its
      // stderr that the job was killed, and a closed pipe would kill it there with SIGPIPE).
      const letGo = () => {
        child.stdout.destroy();
        child.stderr.destroy();
      };
      if (onTerminal && child.exitCode === null && child.signalCode === null) {
        // The job-control shell took the terminal (`set -m`) and gave it to the helper's group:
        // ending that group lets its `fg` return, and the shell hands the terminal back to lading's
        // group as it exits. Killed itself, it could not, and lading would be left a background job
        // (no Ctrl-C, and stopped by SIGTTIN/SIGTTOU at its next use of the terminal). A group not
        // reported yet is ended when it is (above), so the shell is not killed in that moment either.
        const backstop = setTimeout(() => child.kill('SIGKILL'), 1000);
        backstop.unref();
        child.once('exit', () => {
          clearTimeout(backstop);
          letGo();
          reject(error);
        });
        ended();
        return;
      }
      letGo();
      ended();
      child.kill('SIGKILL');
      reject(error);
    };
    const timer = setTimeout(
      () =>
        stop(
          new LadingError(
            'IO_ERROR',
            `credential helper ${program} ${action} did not answer within ${helperBounds.timeoutMs / 1000} s`,
          ),
        ),
      helperBounds.timeoutMs,
    );
    const collect = (add: (d: string) => void) => (d: string) => {
      if (stdout.length + stderr.length + d.length > helperBounds.maxOutputBytes) {
        stop(
          new LadingError(
            'IO_ERROR',
            `credential helper ${program} ${action}: more than ${helperBounds.maxOutputBytes} bytes of output`,
          ),
        );
        return;
      }
      add(d);
    };
    child.stdout.setEncoding('utf8').on(
      'data',
      collect((d) => {
        stdout += d;
      }),
    );
    child.stderr.setEncoding('utf8').on(
      'data',
      collect((d) => {
        stderr += d;
      }),
    );
    child.on('error', (error: NodeJS.ErrnoException) => {
      // EACCES from a PATH search: no folder this user may search holds a program it may run.
      const why =
        error.code === 'ENOENT'
          ? 'is not on PATH'
          : error.code === 'EACCES'
            ? 'is not on PATH, or this user may not run it (EACCES)'
            : `cannot run: ${error.message}`;
      stop(new LadingError('IO_ERROR', `credential helper ${program} ${why}`, { cause: error }));
    });
    // The helper has answered: what it left running of its group goes too (it would hold the
    // output open, and 'close' would wait for it).
    child.on('exit', () => ended());
    child.on('close', (code) => {
      ended();
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // The job-control shell says 127 and 126 for a program it cannot find or run.
      if (onTerminal && (code === 127 || code === 126)) {
        reject(
          new LadingError(
            'IO_ERROR',
            `credential helper ${program} ${code === 127 ? 'is not on PATH' : 'is not on PATH, or this user may not run it (EACCES)'}`,
          ),
        );
        return;
      }
      resolve({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.on('error', () => {
      // The helper may exit before reading; its exit status tells the story.
    });
    child.stdin.end(input);
  });
}

/** A `docker-credential-<name>` program speaking the get/store/erase protocol over stdin/stdout. */
export class CredentialHelper {
  /** The program run: `docker-credential-<name>`. */
  readonly program: string;

  /**
   * The helper `docker-credential-<name>` (found on PATH when run); INVALID_ARGUMENT for a name that is not a plain
   * word.
   */
  constructor(name: string) {
    if (!/^[A-Za-z0-9._-]+$/.test(name))
      throw new LadingError('INVALID_ARGUMENT', `invalid credential helper "${name}"`);
    this.program = `docker-credential-${name}`;
  }

  /** The credential the helper holds for `serverAddress`; undefined when it has none. */
  async get(serverAddress: string): Promise<Credential | undefined> {
    const r = await run(this.program, 'get', serverAddress);
    if (r.code !== 0) {
      if (r.stdout.includes(NotFound) || r.stderr.includes(NotFound)) return undefined;
      throw this.#failure('get', r);
    }
    let value: { Username?: unknown; Secret?: unknown };
    try {
      value = JSON.parse(r.stdout) as typeof value;
    } catch {
      throw new LadingError('IO_ERROR', `${this.program} get: output is not JSON`);
    }
    const username = typeof value.Username === 'string' ? value.Username : '';
    const secret = typeof value.Secret === 'string' ? value.Secret : '';
    if (username === TokenUser) return { identityToken: secret };
    return { ...(username ? { username } : {}), ...(secret ? { password: secret } : {}) };
  }

  /** Has the helper store a credential for `serverAddress`. */
  async store(serverAddress: string, cred: Credential): Promise<void> {
    const payload = cred.identityToken
      ? { ServerURL: serverAddress, Username: TokenUser, Secret: cred.identityToken }
      : { ServerURL: serverAddress, Username: cred.username ?? '', Secret: cred.password ?? '' };
    const r = await run(this.program, 'store', JSON.stringify(payload));
    if (r.code !== 0) throw this.#failure('store', r);
  }

  /** Has the helper forget the credential for `serverAddress`. */
  async erase(serverAddress: string): Promise<void> {
    const r = await run(this.program, 'erase', serverAddress);
    if (r.code !== 0 && !r.stdout.includes(NotFound)) throw this.#failure('erase', r);
  }

  #failure(action: string, r: { code: number; stdout: string; stderr: string }): LadingError {
    // Helpers print their reason on stdout; it never holds the secret we sent on stdin.
    const why = (r.stdout.trim() || r.stderr.trim() || `exit status ${r.code}`).slice(0, 300);
    return new LadingError('IO_ERROR', `${this.program} ${action} failed: ${why}`);
  }
}
