/**
 * lading serve beside Debian's docker-registry, for the same clients on the same machine: curl
 * (monolithic upload, download) and skopeo (push and pull of layouts) with one 1 GiB blob and with
 * 200 blobs of 5 MiB, then the server's memory while 16 clients upload and download at once.
 * Writes the "lading serve" section of BENCHMARKS.md. Not a test: nothing here asserts a time.
 *
 *   npm run bench:serve                 # 3 runs each
 *   npm run bench:serve -- --runs 1
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

async function startServe(dir: string): Promise<{ server: Server; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [cli, 'serve', '--addr', '127.0.0.1:0', '--root', dir, '--log-level', 'error'],
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main() {
  const args = process.argv.slice(2);
  const runs = args[0] === '--runs' ? Number(args[1]) : 3;
  await ensurePackages();
  const work = await mkdtemp(join(os.tmpdir(), 'lading-bench-serve-'));
  const peers = await startPeers({ dir: join(work, 'peers') });
  const serve = await startServe(join(work, 'serve-root'));
  const servers: Server[] = [
    { name: 'docker-registry', host: peers.plain.host, pid: peers.plain.pid as number },
    serve.server,
  ];
  const out = join(work, 'out');
  try {
    console.log('preparing data: one 1 GiB blob, 200 blobs of 5 MiB ...');
    const big = join(work, 'big');
    const [bigLayer] = await makeLayout(big, [{ mib: 1024, seed: 1 }]);
    const many = join(work, 'many');
    await makeLayout(
      many,
      Array.from({ length: 200 }, (_, i) => ({ mib: 5, seed: 100 + i })),
    );
    const bigFile = join(big, 'blobs', 'sha256', (bigLayer as Descriptor).digest.slice(7));
    const bigDigest = (bigLayer as Descriptor).digest;
    type Row = { name: string; bytes: number; seconds: Record<string, number> };
    const rows: Row[] = [];
    let n = 0;
    const measureCase = async (name: string, bytes: number, cmd: (s: Server, r: number) => [string, string[]]) => {
      const row: Row = { name, bytes, seconds: {} };
      for (const s of servers) {
        const times: number[] = [];
        for (let r = 0; r < runs; r++) {
          await rm(out, { recursive: true, force: true });
          await mkdir(out, { recursive: true });
          await rm('/var/lib/containers/cache/blob-info-cache-v1.boltdb', { force: true });
          const [c, a] = cmd(s, ++n);
          times.push(await time(c, a));
          console.log(`${name} ${s.name} run ${r + 1}: ${(times.at(-1) as number).toFixed(2)} s`);
        }
        row.seconds[s.name] = median(times);
      }
      rows.push(row);
    };
    // Seed what the pull cases read.
    for (const s of servers) {
      await time('skopeo', [
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${big}:v1`,
        `docker://${s.host}/bench/big:v1`,
      ]);
      await time('skopeo', [
        'copy',
        '-q',
        '--dest-tls-verify=false',
        `oci:${many}:v1`,
        `docker://${s.host}/bench/many:v1`,
      ]);
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
    // Memory under 16 concurrent clients: 8 upload the 1 GiB blob, 8 download it, all at once.
    const memoryRows: string[] = [];
    for (const s of servers) {
      const before = await memory(s.pid);
      let peak = before.now;
      const sampler = setInterval(() => {
        void memory(s.pid).then((m) => {
          peak = Math.max(peak, m.now);
        });
      }, 50);
      const started = Date.now();
      await Promise.all([
        ...Array.from({ length: 8 }, (_, i) =>
          time(...(curlUpload(s.host, `bench/conc-${i}`, bigFile, bigDigest) as [string, string[]])),
        ),
        ...Array.from({ length: 8 }, () =>
          time('curl', ['-sf', '-o', '/dev/null', `http://${s.host}/v2/bench/big/blobs/${bigDigest}`]),
        ),
      ]);
      clearInterval(sampler);
      const seconds = (Date.now() - started) / 1000;
      memoryRows.push(
        `| ${s.name} | ${before.now.toFixed(0)} MB | ${peak.toFixed(0)} MB | ${seconds.toFixed(1)} s | ${((16 * 1024 * MiB) / 1e6 / seconds).toFixed(0)} MB/s |`,
      );
      console.log(memoryRows.at(-1));
    }
    const table = rows.map((r) => {
      const d = r.seconds['docker-registry'] as number;
      const l = r.seconds['lading serve'] as number;
      const mbps = (s: number) => (r.bytes / 1e6 / s).toFixed(0);
      return `| ${r.name} | ${d.toFixed(2)} s (${mbps(d)} MB/s) | ${l.toFixed(2)} s (${mbps(l)} MB/s) | ${(d / l).toFixed(2)}× |`;
    });
    const section = [
      '<!-- serve-bench:start -->',
      '## lading serve beside docker-registry',
      '',
      `\`npm run bench:serve\` (${runs} run(s) each, median), ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs,`,
      `Node ${process.version}: the same clients against Debian's docker-registry 2.8 (filesystem storage) and`,
      '`lading serve` (the bundled CLI), both on 127.0.0.1 with a fresh root. The last column is how much',
      'faster lading serve is (above 1) or slower (below 1).',
      ...(runs === 1
        ? [
            'One run per case: on a small machine shared with other work, treat differences under about 30 %',
            'as noise (`--runs 3` or more for a median).',
          ]
        : []),
      '',
      '| case | docker-registry | lading serve | serve speed-up |',
      '|---|---|---|---|',
      ...table,
      '',
      'Server memory (resident) while 16 clients work at once (8 curl uploads of the 1 GiB blob into',
      'fresh repositories, 8 curl downloads of it):',
      '',
      '| server | idle | peak under load | wall time | aggregate |',
      '|---|---|---|---|---|',
      ...memoryRows,
      '<!-- serve-bench:end -->',
    ].join('\n');
    const file = join(root, 'BENCHMARKS.md');
    const text = await readFile(file, 'utf8');
    const marked = /<!-- serve-bench:start -->[\s\S]*<!-- serve-bench:end -->/;
    await writeFile(file, marked.test(text) ? text.replace(marked, section) : `${text.trimEnd()}\n\n${section}\n`);
    console.log(`\n${section}`);
  } finally {
    serve.child.kill('SIGTERM');
    await stopPeers(peers);
    await rm(work, { recursive: true, force: true });
  }
}

await main();
