/**
 * lading serve beside Debian's docker-registry, for the same clients on the same machine: curl
 * (monolithic upload, download) and skopeo (push and pull of layouts) with one 1 GiB blob and with
 * 200 blobs of 5 MiB, then the server's memory while 16 clients upload and download at once.
 * Writes the "lading serve" section of BENCHMARKS.md. Not a test: nothing here asserts a time.
 *
 *   npm run bench:serve                              # every case, 5 repetitions, writes BENCHMARKS.md
 *   npm run bench:serve -- --runs 3 --case "pull 200"  # one case (name substring; repeatable)
 *   npm run bench:serve -- --case memory              # the 16-client memory case
 *   npm run bench:serve -- --case "curl download 200" --node-flags "--cpu-prof --cpu-prof-dir=/tmp/prof"
 *
 * Build first (`npm run build`): lading serve runs from dist/. BENCHMARKS.md is written only when
 * every case ran (or with --write).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packManifest } from '../src/copy/index.js';
import { OciLayout } from '../src/layout/index.js';
import { createDigester, type Descriptor } from '../src/oci/index.js';
import { ensurePackages, startPeers, stopPeers } from '../test/support/peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'bin', 'main.js');
const MiB = 1024 * 1024;

/** Incompressible bytes from a seed (AES-CTR keystream is overkill here: a xorshift fill of 1 MiB chunks). */
function chunk(seed: number, index: number): Buffer {
  const b = Buffer.allocUnsafe(MiB);
  let x = (seed * 2654435761 + index * 40503 + 1) >>> 0;
  for (let i = 0; i < MiB; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, i);
  }
  return b;
}

async function makeLayout(dir: string, blobs: { mib: number; seed: number }[]): Promise<Descriptor[]> {
  const layout = await OciLayout.open(dir, { mode: 'create' });
  const layers: Descriptor[] = [];
  for (const b of blobs) {
    const hash = createDigester('sha256');
    for (let i = 0; i < b.mib; i++) hash.update(chunk(b.seed, i));
    const desc = {
      mediaType: 'application/vnd.lading.bench.layer',
      digest: `sha256:${hash.digest('hex')}`,
      size: b.mib * MiB,
    };
    async function* content() {
      for (let i = 0; i < b.mib; i++) yield chunk(b.seed, i);
    }
    if (!(await layout.exists(desc))) await layout.push(desc, content());
    layers.push(desc);
  }
  await layout.tag(
    await packManifest(layout, layers, { artifactType: 'application/vnd.lading.bench.v1', created: new Date(0) }),
    'v1',
  );
  return layers;
}

function time(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${err}`));
      resolve(Number(process.hrtime.bigint() - started) / 1e9);
    });
  });
}

/** Peak and current resident memory of a process, in MB (VmHWM and VmRSS). */
async function memory(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { peak: kb('VmHWM') / 1024, now: kb('VmRSS') / 1024 };
}

const curlUpload = (host: string, repo: string, file: string, digest: string) => [
  'bash',
  [
    '-c',
    `loc=$(curl -sf -X POST -D - -o /dev/null http://${host}/v2/${repo}/blobs/uploads/ | tr -d '\\r' | awk 'tolower($1)=="location:" {print $2}') && ` +
      `case "$loc" in http*) ;; *) loc="http://${host}$loc";; esac && ` +
      `curl -sf -H 'Expect:' -X PUT -H 'Content-Type: application/octet-stream' -T ${file} "$loc$(case "$loc" in *\\?*) echo '&';; *) echo '?';; esac)digest=${digest}" -o /dev/null`,
  ],
];

interface Server {
  name: string;
  host: string;
  pid: number;
}

async function startServe(dir: string, nodeFlags: string[]): Promise<{ server: Server; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [...nodeFlags, cli, 'serve', '--addr', '127.0.0.1:0', '--root', dir, '--log-level', 'error'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const host = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d) => {
      text += d;
      const m = /ready on http:\/\/(\S+)/.exec(text);
      if (m) resolve(m[1] as string);
    });
    child.once('exit', (code) => reject(new Error(`lading serve exited (${code})`)));
  });
  return { server: { name: 'lading serve', host, pid: child.pid as number }, child };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return (sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2) as number;
};

/** The machine's load: `uptime`'s 1-minute average and how busy the CPUs were over the last second. */
async function machineLoad(): Promise<string> {
  const ticks = async () => {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] as string;
    const n = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    return { idle, total: n.reduce((a, b) => a + b, 0) };
  };
  const a = await ticks();
  await new Promise((r) => setTimeout(r, 1000));
  const b = await ticks();
  const busy = 100 * (1 - (b.idle - a.idle) / Math.max(1, b.total - a.total));
  return `load average ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ')}, CPUs ${busy.toFixed(0)} % busy`;
}

interface Options {
  runs: number;
  /** Case names to run (substring match, case-insensitive); empty: all. `memory` selects the 16-client case. */
  only: string[];
  /** Extra node flags for the lading serve process (`--cpu-prof --cpu-prof-dir=...`). */
  nodeFlags: string[];
  /** Write BENCHMARKS.md (default only when every case ran). */
  write: boolean | undefined;
}

function parseOptions(args: string[]): Options {
  const o: Options = { runs: 5, only: [], nodeFlags: [], write: undefined };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--runs') o.runs = Math.max(1, Number(value()));
    else if (a === '--case') o.only.push(value().toLowerCase());
    else if (a === '--node-flags') o.nodeFlags.push(...value().split(/\s+/).filter(Boolean));
    else if (a === '--write') o.write = true;
    else if (a === '--no-write') o.write = false;
    else throw new Error(`unknown option ${a} (--runs N, --case NAME, --node-flags "...", --write, --no-write)`);
  }
  return o;
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const { runs } = opts;
  const wanted = (name: string) => opts.only.length === 0 || opts.only.some((w) => name.toLowerCase().includes(w));
  await ensurePackages();
  const work = await mkdtemp(join(os.tmpdir(), 'lading-bench-serve-'));
  const peers = await startPeers({ dir: join(work, 'peers') });
  const serve = await startServe(join(work, 'serve-root'), opts.nodeFlags);
  const servers: Server[] = [
    { name: 'docker-registry', host: peers.plain.host, pid: peers.plain.pid as number },
    serve.server,
  ];
  const out = join(work, 'out');
  const loads: string[] = [];
  try {
    loads.push(await machineLoad());
    console.log(`machine before: ${loads[0]}`);
    const needBig = [
      'curl upload 1 GiB',
      'curl download 1 GiB',
      'skopeo push 1 GiB',
      'skopeo pull 1 GiB',
      'memory',
    ].some(wanted);
    const needMany = ['skopeo push 200 × 5 MiB', 'skopeo pull 200 × 5 MiB', 'curl download 200 × 5 MiB'].some(wanted);
    console.log('preparing data ...');
    const big = join(work, 'big');
    const many = join(work, 'many');
    let bigDigest = '';
    let bigFile = '';
    let manyLayers: Descriptor[] = [];
    if (needBig) {
      const [bigLayer] = await makeLayout(big, [{ mib: 1024, seed: 1 }]);
      bigFile = join(big, 'blobs', 'sha256', (bigLayer as Descriptor).digest.slice(7));
      bigDigest = (bigLayer as Descriptor).digest;
    }
    if (needMany) {
      manyLayers = await makeLayout(
        many,
        Array.from({ length: 200 }, (_, i) => ({ mib: 5, seed: 100 + i })),
      );
    }
    type Row = { name: string; bytes: number; seconds: Record<string, number>; ratio: number; all: string };
    const rows: Row[] = [];
    let n = 0;
    const measureCase = async (name: string, bytes: number, cmd: (s: Server, r: number) => [string, string[]]) => {
      if (!wanted(name)) return;
      const times: Record<string, number[]> = {};
      const ratios: number[] = [];
      // Servers alternate within each repetition, so each ratio compares runs made under the same load.
      for (let r = 0; r < runs; r++) {
        const order = r % 2 === 0 ? servers : [...servers].reverse();
        const got: Record<string, number> = {};
        for (const s of order) {
          await rm(out, { recursive: true, force: true });
          await mkdir(out, { recursive: true });
          await rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true });
          const [c, a] = cmd(s, ++n);
          got[s.name] = await time(c, a);
          (times[s.name] ??= []).push(got[s.name] as number);
        }
        const ratio = (got['docker-registry'] as number) / (got['lading serve'] as number);
        ratios.push(ratio);
        console.log(
          `${name} run ${r + 1}: docker-registry ${(got['docker-registry'] as number).toFixed(2)} s, ` +
            `lading serve ${(got['lading serve'] as number).toFixed(2)} s, ratio ${ratio.toFixed(2)}`,
        );
      }
      const seconds = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
      const sorted = [...ratios].sort((a, b) => a - b);
      rows.push({
        name,
        bytes,
        seconds,
        ratio: median(ratios),
        all: `${(sorted[0] as number).toFixed(2)}–${(sorted.at(-1) as number).toFixed(2)}`,
      });
    };
    // Seed what the pull cases read.
    for (const s of servers) {
      if (needBig) {
        await time('skopeo', [
          'copy',
          '-q',
          '--dest-tls-verify=false',
          `oci:${big}:v1`,
          `docker://${s.host}/bench/big:v1`,
        ]);
      }
      if (needMany) {
        await time('skopeo', [
          'copy',
          '-q',
          '--dest-tls-verify=false',
          `oci:${many}:v1`,
          `docker://${s.host}/bench/many:v1`,
        ]);
      }
    }
    await measureCase(
      'curl upload 1 GiB',
      1024 * MiB,
      (s, r) => curlUpload(s.host, `bench/curl-${r}`, bigFile, bigDigest) as [string, string[]],
    );
    await measureCase('curl download 1 GiB', 1024 * MiB, (s) => [
      'curl',
      ['-sf', '-o', '/dev/null', `http://${s.host}/v2/bench/big/blobs/${bigDigest}`],
    ]);
    await measureCase('skopeo push 1 GiB', 1024 * MiB, (s, r) => [
      'skopeo',
      ['copy', '-q', '--dest-tls-verify=false', `oci:${big}:v1`, `docker://${s.host}/bench/big-${r}:v1`],
    ]);
    await measureCase('skopeo pull 1 GiB', 1024 * MiB, (s) => [
      'skopeo',
      ['copy', '-q', '--src-tls-verify=false', `docker://${s.host}/bench/big:v1`, `oci:${join(out, 'l')}:v1`],
    ]);
    await measureCase('skopeo push 200 × 5 MiB', 1000 * MiB, (s, r) => [
      'skopeo',
      ['copy', '-q', '--dest-tls-verify=false', `oci:${many}:v1`, `docker://${s.host}/bench/many-${r}:v1`],
    ]);
    await measureCase('skopeo pull 200 × 5 MiB', 1000 * MiB, (s) => [
      'skopeo',
      ['copy', '-q', '--src-tls-verify=false', `docker://${s.host}/bench/many:v1`, `oci:${join(out, 'l')}:v1`],
    ]);
    // The server's share of the many-small-GETs path alone: one keep-alive curl fetching the 200 blobs in turn.
    await measureCase('curl download 200 × 5 MiB', 1000 * MiB, (s) => [
      'curl',
      ['-sf', ...manyLayers.flatMap((l) => ['-o', '/dev/null', `http://${s.host}/v2/bench/many/blobs/${l.digest}`])],
    ]);
    // Memory under concurrent clients, half uploading the 1 GiB blob, half downloading it: 2 and
    // 16 of them, so that what grows with the number of clients shows.
    const memoryRows: string[] = [];
    if (wanted('memory')) {
      for (const clients of [2, 16]) {
        for (const s of servers) {
          // Settle first: what a server still holds from the cases before is not charged to this one.
          await new Promise((r) => setTimeout(r, 2000));
          const before = await memory(s.pid);
          let peak = before.now;
          const sampler = setInterval(() => {
            void memory(s.pid).then((m) => {
              peak = Math.max(peak, m.now);
            });
          }, 50);
          const started = Date.now();
          await Promise.all([
            ...Array.from({ length: clients / 2 }, (_, i) =>
              time(...(curlUpload(s.host, `bench/conc-${i}-${++n}`, bigFile, bigDigest) as [string, string[]])),
            ),
            ...Array.from({ length: clients / 2 }, () =>
              time('curl', ['-sf', '-o', '/dev/null', `http://${s.host}/v2/bench/big/blobs/${bigDigest}`]),
            ),
          ]);
          clearInterval(sampler);
          const seconds = (Date.now() - started) / 1000;
          memoryRows.push(
            `| ${s.name} | ${clients} | ${before.now.toFixed(0)} MB | ${peak.toFixed(0)} MB | ${(peak - before.now).toFixed(0)} MB | ${seconds.toFixed(1)} s | ${((clients * 1024 * MiB) / 1e6 / seconds).toFixed(0)} MB/s |`,
          );
          console.log(memoryRows.at(-1));
        }
      }
    }
    loads.push(await machineLoad());
    console.log(`machine after: ${loads[1]}`);
    const table = rows.map((r) => {
      const d = r.seconds['docker-registry'] as number;
      const l = r.seconds['lading serve'] as number;
      const mbps = (s: number) => (r.bytes / 1e6 / s).toFixed(0);
      return `| ${r.name} | ${d.toFixed(2)} s (${mbps(d)} MB/s) | ${l.toFixed(2)} s (${mbps(l)} MB/s) | ${r.ratio.toFixed(2)}× (${r.all}) |`;
    });
    const section = [
      '<!-- serve-bench:start -->',
      '## lading serve beside docker-registry',
      '',
      `\`npm run bench:serve -- --runs ${runs}\`, ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs,`,
      `Node ${process.version}: the same clients against Debian's docker-registry 2.8 (filesystem storage) and`,
      '`lading serve` (the bundled CLI), both on 127.0.0.1 with a fresh root. Each repetition runs both',
      'servers back to back (in alternating order); the times are medians, the speed-up column is the',
      "median of each repetition's own ratio (docker-registry's time / lading serve's; above 1: lading",
      'serve is faster), with the lowest and highest ratio in brackets. The machine is shared: it was at',
      `${loads[0]} before and ${loads[1]} after.`,
      '',
      '| case | docker-registry | lading serve | serve speed-up |',
      '|---|---|---|---|',
      ...table,
      '',
      'Cases of about a second (curl downloads) swing most from run to run; docker-registry sends a file',
      'with sendfile(2), lading serve reads it through 256 KiB chunks, so at over 1 GB/s the two are close.',
      '',
      'Server memory (resident, sampled every 50 ms) while 2 and then 16 clients work at once (half of',
      'them curl uploads of the 1 GiB blob into fresh repositories, half curl downloads of it):',
      '',
      '| server | clients | before | peak under load | growth | wall time | aggregate |',
      '|---|---|---|---|---|---|---|',
      ...memoryRows,
      '',
      "Where lading serve's memory goes (measured in the process with `process.memoryUsage()` under the",
      'same load): Node with the bundle starts at about 60 MB resident, and what "before" holds above that',
      'is malloc memory kept from the cases before. Downloads add next to nothing: each response reads',
      'through two 256 KiB chunks from a shared pool (8 clients pulling 1 GiB each raised external memory',
      'by 3 MB). Uploads make the growth: node:http hands each body chunk (up to 64 KiB) to JavaScript as',
      'a new Buffer, garbage once hashed and written, which V8 collects when that external memory reaches',
      'its trigger of about 64 MB (external memory peaked at 39 MB with one upload, 67 MB with eight). The',
      'growth is therefore bounded by the collector, not by the number of clients or the size of the blobs.',
      '<!-- serve-bench:end -->',
    ].join('\n');
    console.log(`\n${section}`);
    const everything = opts.only.length === 0;
    if (opts.write ?? everything) {
      const file = join(root, 'BENCHMARKS.md');
      const text = await readFile(file, 'utf8');
      const marked = /<!-- serve-bench:start -->[\s\S]*<!-- serve-bench:end -->/;
      await writeFile(file, marked.test(text) ? text.replace(marked, section) : `${text.trimEnd()}\n\n${section}\n`);
    }
  } finally {
    serve.child.kill('SIGTERM');
    await new Promise((r) => serve.child.once('exit', r));
    await stopPeers(peers);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
