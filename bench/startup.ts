/**
 * Start-up timer: runs short commands side by side, alternating, and prints medians (wall time,
 * and CPU time from GNU time, 10 ms resolution) and their distance from `node -e 0` (Node's own
 * start, measured in the same loop). A tiny hyperfine.
 * Not a test: nothing here asserts a time.
 *
 *   npm run bench:startup                  # every case, 21 runs each
 *   npm run bench:startup -- --runs 41 version layout
 *
 * Cases: node (node -e 0, always run), version (lading --version), help (lading --help),
 * layout (lading cp of a tiny artifact from one OCI layout into a fresh one), and, with
 * LADING_BENCH_REGISTRY=host:port, push/pull of the same artifact to/from that registry.
 * LADING_BENCH_CLI=path runs another build of the CLI (an older bundle, to compare).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = resolve(process.env.LADING_BENCH_CLI ?? join(root, 'dist', 'bin', 'main.js'));
const node = process.execPath;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Wall time and CPU time (user + sys, from GNU time: steadier than wall time on a busy machine). */
function time(cmd: string, args: string[]): { wall: number; cpu: number } {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const [user, sys] = (r.stderr.toString().trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  return { wall, cpu: ((user ?? 0) + (sys ?? 0)) * 1000 };
}

async function main() {
  const argv = process.argv.slice(2);
  let runs = 21;
  const filters: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else filters.push(argv[i] as string);
  }
  const work = await mkdtemp(join(os.tmpdir(), 'lading-startup-'));
  try {
    // A tiny artifact (one 1 KiB file) in an OCI layout, made by lading itself.
    await writeFile(join(work, 'hello.txt'), 'hello\n'.repeat(170));
    const src = join(work, 'src');
    const made = spawnSync(node, [cli, 'push', '--oci-layout', `${src}:v1`, 'hello.txt'], { cwd: work });
    if (made.status !== 0) throw new Error(`preparing the layout failed:\n${made.stderr}`);
    const registry = process.env.LADING_BENCH_REGISTRY;
    let n = 0;
    const cases: { name: string; cmd: () => [string, string[]] }[] = [
      { name: 'node -e 0', cmd: () => [node, ['-e', '0']] },
      { name: 'version', cmd: () => [node, [cli, '--version']] },
      { name: 'help', cmd: () => [node, [cli, '--help']] },
      {
        name: 'layout',
        cmd: () => [
          node,
          [cli, 'cp', '--from-oci-layout', `${src}:v1`, '--to-oci-layout', `${join(work, `out-${++n}`)}:v1`],
        ],
      },
      ...(registry
        ? [
            {
              name: 'push',
              cmd: (): [string, string[]] => [
                node,
                [cli, 'cp', '--to-plain-http', '--from-oci-layout', `${src}:v1`, `${registry}/startup/t${++n}:v1`],
              ],
            },
            {
              name: 'pull',
              cmd: (): [string, string[]] => [
                node,
                [
                  cli,
                  'cp',
                  '--from-plain-http',
                  `${registry}/startup/t1:v1`,
                  '--to-oci-layout',
                  `${join(work, `out-${++n}`)}:v1`,
                ],
              ],
            },
          ]
        : []),
    ];
    const chosen = cases.filter((c, i) => i === 0 || filters.length === 0 || filters.some((f) => c.name.includes(f)));
    // One warm-up of each, so the page cache holds node and the bundle.
    for (const c of chosen) time(...c.cmd());
    const samples = new Map(chosen.map((c) => [c.name, [] as { wall: number; cpu: number }[]]));
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? chosen : [...chosen].reverse();
      for (const c of order) samples.get(c.name)?.push(time(...c.cmd()));
    }
    const wall = (name: string) => median((samples.get(name) ?? []).map((x) => x.wall));
    const cpu = (name: string) => median((samples.get(name) ?? []).map((x) => x.cpu));
    const base = wall('node -e 0');
    const baseCpu = cpu('node -e 0');
    const load = os.loadavg()[0]?.toFixed(2);
    console.log(
      `${runs} runs each, alternating; ${os.cpus().length} cpus, load average ${load}; Node ${process.version}${process.env.NODE_EXTRA_CA_CERTS ? ', NODE_EXTRA_CA_CERTS set' : ''}`,
    );
    for (const c of chosen) {
      const m = wall(c.name);
      const extra = c.name === 'node -e 0' ? '' : ` (+${(m - base).toFixed(1)} ms)`;
      const extraCpu = c.name === 'node -e 0' ? '' : ` (+${(cpu(c.name) - baseCpu).toFixed(0)} ms)`;
      console.log(`${c.name.padEnd(10)} wall ${m.toFixed(1)} ms${extra}, CPU ${cpu(c.name).toFixed(0)} ms${extraCpu}`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
