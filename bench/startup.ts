/**
 * Start-up timer: runs short commands side by side, alternating, and prints medians of wall time
 * and CPU time (user + sys of the child from wait4, µs: a python3 helper forks and waits, since
 * Node's spawn returns no rusage) and their distance from `node -e 0` (Node's own start, measured
 * in the same loop). A tiny hyperfine. Not a test: nothing here asserts a time.
 *
 *   npm run bench:startup                        # every case, 21 runs each
 *   npm run bench:startup -- --runs 41 version layout
 *   npm run bench:startup -- --cli before=/path/to/old/bin/main.js --cli after=dist/bin/main.js
 *   npm run bench:startup -- --node "$(npx -y -p node@24 which node)" --registry
 *
 * Cases: node (node -e 0, always run), version (lading --version), help (lading --help),
 * layout (lading cp of a tiny artifact from one OCI layout into a fresh one), and, with --registry
 * (a fresh Debian docker-registry) or LADING_BENCH_REGISTRY=host:port, push / pull of the same
 * artifact to / from that registry (plain HTTP).
 * --cli NAME=PATH (repeatable; default: dist/bin/main.js, or LADING_BENCH_CLI) times several
 * builds of the CLI in the same loop. --node PATH runs every child with that node. Each CLI gets
 * its own XDG_CACHE_HOME under the run's folder (its code cache is made by the warm-up run, as a
 * user's first run makes it); --cold sets LADING_CODE_CACHE=0 for every run.
 * NODE_EXTRA_CA_CERTS is passed on as set: Node 20 pays ~50 ms CPU per start for it, so say
 * whether it was set (the header line does).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPeers, stopPeers } from '../test/support/peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Forks, execs, wait4s: prints wall µs, user+sys µs and the exit status. */
const helper = `
import os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_RDWR)
    os.dup2(fd, 0); os.dup2(fd, 1); os.dup2(fd, 2)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
w = time.perf_counter() - t
print(int(w * 1e6), int((ru.ru_utime + ru.ru_stime) * 1e6), os.waitstatus_to_exitcode(status))
`;

interface Sample {
  wall: number;
  cpu: number;
}

function time(argv: string[], env: NodeJS.ProcessEnv): Sample {
  const r = spawnSync('python3', ['-c', helper, ...argv], { env, encoding: 'utf8' });
  const [wall, cpu, code] = r.stdout.trim().split(' ').map(Number);
  if (code !== 0) {
    const again = spawnSync(argv[0] as string, argv.slice(1), { env, encoding: 'utf8' });
    throw new Error(`${argv.join(' ')} failed (${code}):\n${r.stderr}${again.stderr}`);
  }
  return { wall: (wall ?? 0) / 1000, cpu: (cpu ?? 0) / 1000 };
}

async function main() {
  const argv = process.argv.slice(2);
  let runs = 21;
  let node = process.execPath;
  let startRegistry = false;
  let cold = false;
  const clis: { name: string; path: string }[] = [];
  const filters: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--node') node = resolve(argv[++i] as string);
    else if (a === '--registry') startRegistry = true;
    else if (a === '--cold') cold = true;
    else if (a === '--cli') {
      const v = argv[++i] as string;
      const at = v.indexOf('=');
      clis.push(at > 0 ? { name: v.slice(0, at), path: resolve(v.slice(at + 1)) } : { name: v, path: resolve(v) });
    } else filters.push(a);
  }
  if (clis.length === 0)
    clis.push({ name: 'lading', path: resolve(process.env.LADING_BENCH_CLI ?? join(root, 'dist', 'bin', 'main.js')) });
  const nodeVersion = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const work = await mkdtemp(join(os.tmpdir(), 'lading-startup-'));
  const peers = startRegistry ? await startPeers({ dir: join(work, 'peers') }) : undefined;
  try {
    const envOf = async (name: string): Promise<NodeJS.ProcessEnv> => {
      const cache = join(work, `cache-${name}`);
      await mkdir(cache, { recursive: true });
      return { ...process.env, XDG_CACHE_HOME: cache, ...(cold ? { LADING_CODE_CACHE: '0' } : {}) };
    };
    // A tiny artifact (one 1 KiB file) in an OCI layout, made by lading itself.
    await writeFile(join(work, 'hello.txt'), 'hello\n'.repeat(170));
    const src = join(work, 'src');
    const first = clis[0] as { path: string };
    const made = spawnSync(node, [first.path, 'push', '--oci-layout', `${src}:v1`, 'hello.txt'], { cwd: work });
    if (made.status !== 0) throw new Error(`preparing the layout failed:\n${made.stderr}`);
    const registry = peers ? peers.plain.host : process.env.LADING_BENCH_REGISTRY;
    let n = 0;
    const commands: { name: string; args: () => string[] }[] = [
      { name: 'version', args: () => ['--version'] },
      { name: 'help', args: () => ['--help'] },
      {
        name: 'layout',
        args: () => ['cp', '--from-oci-layout', `${src}:v1`, '--to-oci-layout', `${join(work, `out-${++n}`)}:v1`],
      },
      ...(registry
        ? [
            {
              name: 'push',
              args: () => ['cp', '--to-plain-http', '--from-oci-layout', `${src}:v1`, `${registry}/startup/t${++n}:v1`],
            },
            {
              name: 'pull',
              args: () => [
                'cp',
                '--from-plain-http',
                `${registry}/startup/seed:v1`,
                '--to-oci-layout',
                `${join(work, `out-${++n}`)}:v1`,
              ],
            },
          ]
        : []),
    ];
    if (registry) {
      const seeded = spawnSync(node, [
        first.path,
        'cp',
        '--to-plain-http',
        '--from-oci-layout',
        `${src}:v1`,
        `${registry}/startup/seed:v1`,
      ]);
      if (seeded.status !== 0) throw new Error(`seeding the registry failed:\n${seeded.stderr}`);
    }
    const chosen = commands.filter((c) => filters.length === 0 || filters.some((f) => c.name.includes(f)));
    const cases: { name: string; cli?: string; run: () => Sample }[] = [
      { name: 'node -e 0', run: () => time([node, '-e', '0'], process.env) },
    ];
    for (const c of chosen)
      for (const cli of clis) {
        const env = await envOf(cli.name);
        cases.push({
          name: clis.length > 1 ? `${c.name} ${cli.name}` : c.name,
          cli: cli.name,
          run: () => time([node, cli.path, ...c.args()], { ...env }),
        });
      }
    // One warm-up of each, so the page cache holds node and the bundle, and each command's code
    // cache exists (as after a user's first run).
    for (const c of cases) c.run();
    const samples = new Map(cases.map((c) => [c.name, [] as Sample[]]));
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? cases : [...cases].reverse();
      for (const c of order) samples.get(c.name)?.push(c.run());
    }
    const wall = (name: string) => median((samples.get(name) ?? []).map((x) => x.wall));
    const cpu = (name: string) => median((samples.get(name) ?? []).map((x) => x.cpu));
    const base = wall('node -e 0');
    const baseCpu = cpu('node -e 0');
    const load = os.loadavg()[0]?.toFixed(2);
    console.log(
      `${runs} runs each, alternating; ${os.cpus().length} cpus, load average ${load}; Node ${nodeVersion}; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'}${cold ? '; code cache off' : ''}`,
    );
    const width = Math.max(...cases.map((c) => c.name.length)) + 1;
    for (const c of cases) {
      const m = wall(c.name);
      const extra = c.cli ? ` (+${(m - base).toFixed(1)} ms)` : '';
      const extraCpu = c.cli ? ` (+${(cpu(c.name) - baseCpu).toFixed(1)} ms)` : '';
      console.log(
        `${c.name.padEnd(width)} CPU ${cpu(c.name).toFixed(1)} ms${extraCpu}, wall ${m.toFixed(1)} ms${extra}`,
      );
    }
  } finally {
    if (peers) await stopPeers(peers);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
