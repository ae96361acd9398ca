/**
 * Start-up probe for issue 18 (not a test, not part of the product): how a lading command starts
 * as the shipped ESM bundle (dist/bin/main.js), as one CommonJS file, and from a V8 startup
 * snapshot of that file, on each Node binary given, beside `node -e 0` and skopeo.
 *
 *   npm run build
 *   node --import tsx bench/snapshot-probe.ts [--runs 15] [--node /path/to/node]... [--variant word]...
 *     [--no-sea] [--keep] [case...]
 *
 * Variants, per Node binary (--variant keeps those whose name contains the word): esm (the shipped
 * bundle; esm+cc with Node's compile cache on Node ≥ 22), cjs (one CommonJS file; cjs+cc),
 * cjs+flags (start-up flags), cjs+vcache (bench/snapshot/code-cache.cjs: its own V8 code cache),
 * hybrid (bench/snapshot/hybrid.mjs: an ES module entry for --version, code-cache.cjs for the rest),
 * snap / snap-cold (node --snapshot-blob, with / without the command groups evaluated into it), and
 * sea (a single executable application: a copy of the node binary with the snapshot injected by
 * postject, fetched by npx; ~100–140 MB each; --no-sea leaves it out).
 * Cases: version, layout (tiny artifact, layout → layout), push4 / pull4 (a 4 MiB artifact to /
 * from a fresh local docker-registry; skopeo copies the same for reference).
 * Times: wall and CPU (user + sys) of the child from wait4 (µs), medians of alternating runs;
 * a python3 helper forks and waits, since Node's spawn does not return rusage.
 * The CommonJS bundle and the snapshots are built into dist/snapshot-probe/ (inside the package,
 * where lading finds its package.json and schemas) and removed at the end unless --keep is given
 * (then bench/snapshot/snap-cli.cjs runs the CLI tests through a kept snapshot).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPeers, stopPeers } from '../test/support/peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const esm = join(root, 'dist', 'bin', 'main.js');
const probeDir = join(root, 'dist', 'snapshot-probe');
const cjs = join(probeDir, 'lading.cjs');

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** Forks, execs, wait4s: prints wall µs, user+sys µs, max RSS KB and the exit status. */
const helper = `
import os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_RDWR)
    os.dup2(fd, 0); os.dup2(fd, 1)
    if sys.argv[1] != '-': os.dup2(fd, 2)
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
w = time.perf_counter() - t
print(int(w * 1e6), int((ru.ru_utime + ru.ru_stime) * 1e6), ru.ru_maxrss, os.waitstatus_to_exitcode(status))
`;

interface Sample {
  wall: number;
  cpu: number;
  rss: number;
}

function time(argv: string[], env?: NodeJS.ProcessEnv): Sample {
  const r = spawnSync('python3', ['-c', helper, '-', ...argv], { env: env ?? process.env, encoding: 'utf8' });
  const [wall, cpu, rss, code] = r.stdout.trim().split(' ').map(Number);
  if (code !== 0) {
    const again = spawnSync(argv[0] as string, argv.slice(1), { env: env ?? process.env, encoding: 'utf8' });
    throw new Error(`${argv.join(' ')} failed (${code}):\n${r.stderr}${again.stderr}`);
  }
  return { wall: (wall ?? 0) / 1000, cpu: (cpu ?? 0) / 1000, rss: (rss ?? 0) / 1024 };
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): string {
  const r = spawnSync(cmd, args, { env: env ?? process.env, cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
}

/** Flags that might shave Node's own start: fewer lazy globals, no warning machinery. */
const flags = (major: number) => [
  '--disable-warning=ExperimentalWarning',
  '--stack-trace-limit=10',
  ...(major >= 22
    ? ['--no-experimental-websocket', '--no-experimental-global-navigator']
    : ['--no-experimental-fetch', '--no-experimental-global-webcrypto']),
];

interface Variant {
  name: string;
  /** The command line before lading's arguments. */
  prefix: string[];
  env?: NodeJS.ProcessEnv | undefined;
}

async function main() {
  const argv = process.argv.slice(2);
  let runs = 15;
  const nodes: string[] = [];
  const filters: string[] = [];
  const only: string[] = [];
  let noSea = false;
  let keep = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else if (argv[i] === '--node') nodes.push(argv[++i] as string);
    else if (argv[i] === '--no-sea') noSea = true;
    else if (argv[i] === '--keep') keep = true;
    else if (argv[i] === '--variant') only.push(argv[++i] as string);
    else filters.push(argv[i] as string);
  }
  if (nodes.length === 0) nodes.push(process.execPath);

  await mkdir(probeDir, { recursive: true });
  run(process.execPath, [join(root, 'bench', 'snapshot', 'build.mjs'), cjs]);
  const work = await mkdtemp(join(os.tmpdir(), 'lading-snapprobe-'));
  const variants: Variant[] = [];
  const notes: string[] = [];
  for (const given of nodes) {
    const node = run(given, ['-p', 'process.execPath']).trim();
    const v = run(node, ['--version']).trim();
    const major = Number(v.slice(1).split('.')[0]);
    const blob = join(probeDir, `${v}-${process.arch}.blob`);
    const started = process.hrtime.bigint();
    const warnings = run(node, ['--snapshot-blob', blob, '--build-snapshot', cjs])
      .split('\n')
      .filter((l) => l.includes('Warning'));
    notes.push(
      `${v}: snapshot built in ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)} ms; ${warnings.length} warnings: ${warnings.map((w) => w.replace(/^\(node:\d+\) /, '')).join(' | ')}`,
    );
    const coldBlob = join(probeDir, `${v}-${process.arch}-cold.blob`);
    run(node, ['--snapshot-blob', coldBlob, '--build-snapshot', cjs], { ...process.env, LADING_SNAP_WARM: '0' });
    const cache = join(work, `compile-cache-${v}`);
    const noCache = { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' };
    // A single executable application: a copy of this node with the snapshot injected (postject,
    // from npm through npx). --no-sea leaves it out.
    const sea = join(probeDir, `lading-${v}`);
    if (!noSea) {
      const config = join(work, `sea-${v}.json`);
      const prep = join(work, `sea-${v}.blob`);
      await writeFile(
        config,
        JSON.stringify({ main: cjs, output: prep, disableExperimentalSEAWarning: true, useSnapshot: true }),
      );
      run(node, ['--experimental-sea-config', config]);
      await copyFile(node, sea);
      run('npx', [
        '-y',
        'postject',
        sea,
        'NODE_SEA_BLOB',
        prep,
        '--sentinel-fuse',
        'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
      ]);
    }
    variants.push(
      ...(noSea ? [] : [{ name: `${v} sea`, prefix: [sea] }]),
      { name: `${v} esm`, prefix: [node, esm], env: major >= 22 ? noCache : undefined },
      ...(major >= 22
        ? [{ name: `${v} esm+cc`, prefix: [node, esm], env: { ...process.env, NODE_COMPILE_CACHE: cache } }]
        : []),
      { name: `${v} cjs`, prefix: [node, cjs], env: major >= 22 ? noCache : undefined },
      ...(major >= 22
        ? [{ name: `${v} cjs+cc`, prefix: [node, cjs], env: { ...process.env, NODE_COMPILE_CACHE: cache } }]
        : []),
      { name: `${v} cjs+flags`, prefix: [node, ...flags(major), cjs], env: major >= 22 ? noCache : undefined },
      {
        name: `${v} cjs+vcache`,
        prefix: [node, join(root, 'bench', 'snapshot', 'code-cache.cjs'), cjs],
        env: { ...(major >= 22 ? noCache : process.env), LADING_PROBE_CACHE: join(work, `code-cache-${v}`) },
      },
      {
        name: `${v} hybrid`,
        prefix: [node, join(root, 'bench', 'snapshot', 'hybrid.mjs'), cjs],
        env: { ...(major >= 22 ? noCache : process.env), LADING_PROBE_CACHE: join(work, `code-cache-${v}`) },
      },
      { name: `${v} snap`, prefix: [node, '--snapshot-blob', blob, '--'] },
      { name: `${v} snap-cold`, prefix: [node, '--snapshot-blob', coldBlob, '--'] },
    );
  }
  const chosenVariants = variants.filter((v) => only.length === 0 || only.some((o) => v.name.includes(o)));

  const peers =
    filters.length === 0 || filters.some((f) => f.includes('4'))
      ? await startPeers({ dir: join(work, 'peers') })
      : undefined;
  const host = peers?.plain.host;
  try {
    await writeFile(join(work, 'hello.txt'), 'hello\n'.repeat(170));
    await writeFile(join(work, 'big.bin'), randomBytes(4 * 1024 * 1024));
    const tiny = join(work, 'tiny');
    const big = join(work, 'big');
    run(process.execPath, [esm, 'push', '--oci-layout', `${tiny}:v1`, 'hello.txt'], undefined, work);
    run(process.execPath, [esm, 'push', '--oci-layout', `${big}:v1`, 'big.bin'], undefined, work);
    if (host)
      run(process.execPath, [esm, 'cp', '--to-plain-http', '--from-oci-layout', `${big}:v1`, `${host}/probe/seed:v1`]);
    // Every check that a variant works at all: the same output as the shipped bundle.
    const want = run(process.execPath, [esm, '--version']);
    for (const v of chosenVariants) {
      const got = run(v.prefix[0] as string, [...v.prefix.slice(1), '--version'], v.env);
      if (got !== want)
        throw new Error(`${v.name} --version printed ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
    }
    let n = 0;
    const out = () => join(work, 'out', `o${++n}`);
    const skopeoCache = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';
    type Cmd = { name: string; argv: () => string[]; env?: NodeJS.ProcessEnv | undefined; skopeo?: boolean };
    const cases: { name: string; args: () => string[] }[] = [
      { name: 'version', args: () => ['--version'] },
      { name: 'layout', args: () => ['cp', '--from-oci-layout', `${tiny}:v1`, '--to-oci-layout', `${out()}:v1`] },
      ...(host
        ? [
            {
              name: 'push4',
              args: () => ['cp', '--to-plain-http', '--from-oci-layout', `${big}:v1`, `${host}/probe/p${++n}:v1`],
            },
            {
              name: 'pull4',
              args: () => ['cp', '--from-plain-http', `${host}/probe/seed:v1`, '--to-oci-layout', `${out()}:v1`],
            },
          ]
        : []),
    ];
    const chosenCases = cases.filter((c) => filters.length === 0 || filters.some((f) => c.name.includes(f)));
    const cmds: Cmd[] = [];
    for (const node of nodes)
      cmds.push({ name: `${run(node, ['--version']).trim()} node -e 0`, argv: () => [node, '-e', '0'] });
    for (const c of chosenCases) {
      for (const v of chosenVariants)
        cmds.push({ name: `${v.name} ${c.name}`, argv: () => [...v.prefix, ...c.args()], env: v.env });
    }
    if (host && chosenCases.some((c) => c.name === 'push4'))
      cmds.push({
        name: 'skopeo push4',
        skopeo: true,
        argv: () => [
          'skopeo',
          'copy',
          '--preserve-digests',
          '--dest-tls-verify=false',
          `oci:${big}:v1`,
          `docker://${host}/probe/s${++n}:v1`,
        ],
      });
    if (host && chosenCases.some((c) => c.name === 'pull4'))
      cmds.push({
        name: 'skopeo pull4',
        skopeo: true,
        argv: () => [
          'skopeo',
          'copy',
          '--preserve-digests',
          '--src-tls-verify=false',
          `docker://${host}/probe/seed:v1`,
          `oci:${out()}:v1`,
        ],
      });
    const samples = new Map(cmds.map((c) => [c.name, [] as Sample[]]));
    const once = async (c: Cmd) => {
      if (c.skopeo) await rm(skopeoCache, { force: true });
      await mkdir(join(work, 'out'), { recursive: true });
      const s = time(c.argv(), c.env);
      await rm(join(work, 'out'), { recursive: true, force: true });
      return s;
    };
    for (const c of cmds) await once(c); // warm-up: page cache, compile caches
    for (let r = 0; r < runs; r++) {
      const order = r % 2 === 0 ? cmds : [...cmds].reverse();
      for (const c of order) samples.get(c.name)?.push(await once(c));
    }
    const load = os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
    console.log(`${runs} runs each, alternating; ${os.cpus().length} cpus, load average ${load} at the end`);
    for (const note of notes) console.log(note);
    console.log('| command | wall | CPU | peak RSS |\n|---|---|---|---|');
    for (const c of cmds) {
      const s = samples.get(c.name) ?? [];
      const base = cmds.find((b) => b.name.endsWith('node -e 0') && c.name.startsWith(b.name.split(' ')[0] as string));
      const b = base ? (samples.get(base.name) ?? []) : [];
      const rel = (f: (x: Sample) => number) =>
        base && base !== c ? ` (+${(median(s.map(f)) - median(b.map(f))).toFixed(1)})` : '';
      console.log(
        `| ${c.name} | ${median(s.map((x) => x.wall)).toFixed(1)} ms${rel((x) => x.wall)} | ${median(s.map((x) => x.cpu)).toFixed(1)} ms${rel((x) => x.cpu)} | ${median(s.map((x) => x.rss)).toFixed(0)} MB |`,
      );
    }
  } finally {
    if (peers) await stopPeers(peers);
    await rm(work, { recursive: true, force: true });
    if (!keep) await rm(probeDir, { recursive: true, force: true });
  }
}

await main();
