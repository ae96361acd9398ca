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

async function run(
  program: string,
  action: string,
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  // Loaded when a helper runs: a command that never asks one does not load child_process.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const stop = (error: LadingError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      // A program the helper started may still hold its output open ('close' would wait for it):
      // let go of the pipes and answer now.
      child.stdout.destroy();
      child.stderr.destroy();
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
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
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
