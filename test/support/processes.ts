// Peers a single test file starts for itself (a docker-registry with a config of its own, a proxy,
// a static file server): a free port to give them, a wait until they listen, and their output kept
// in a log file that a failure can show.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** A TCP port nothing listens on at `host` now. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Processes started by one test file, each writing stdout and stderr into its own log file. */
export class Children {
  readonly #children: { child: ChildProcess; log: string }[] = [];

  /** Starts `command`; its output goes to `log` (a path). */
  start(command: string, args: string[], log: string): ChildProcess {
    writeFileSync(log, '');
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => writeFileSync(log, b, { flag: 'a' }));
    child.stderr?.on('data', (b: Buffer) => writeFileSync(log, b, { flag: 'a' }));
    this.#children.push({ child, log });
    return child;
  }

  /** Waits until something listens on `host:port` (10 s at most); the error shows `what`'s log. */
  async waitForPort(host: string, port: number, what: string, log?: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host, port }, () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const text = log ? `:\n${readFileSync(log, 'utf8')}` : '';
    throw new Error(`${what} did not listen on ${host}:${port}${text}`);
  }

  /** Kills every process started here. */
  killAll(): void {
    for (const { child } of this.#children) child.kill('SIGKILL');
  }
}
