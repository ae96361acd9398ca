// Starts `lading serve` (this checkout's source) as a child process, as a user runs it, and waits
// for its readiness line.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

export interface Served {
  url: string;
  host: string;
  child: ChildProcess;
  /** The first stdout line (the readiness line). */
  ready: string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function startServe(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, ['--import', tsx, main, 'serve', '--addr', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lading serve not ready after 20 s:\n${err}`)), 20_000);
    const check = () => {
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`lading serve exited (${code}) before it was ready:\n${err}`));
    });
  });
  const url = /(https?:\/\/[0-9.]+:\d+)/.exec(ready)?.[1] ?? '';
  return {
    url,
    host: url.replace(/^https?:\/\//, ''),
    child,
    ready,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
