/**
 * Benchmarks: lading beside skopeo on the same data, in the same run, against a fresh local
 * Debian docker-registry. Writes BENCHMARKS.md. Not a test: nothing here asserts a time.
 *
 *   npm run bench                 # every case, 3 runs each
 *   npm run bench -- --runs 5 push-big
 */
import { spawn } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { packManifest } from '../src/copy/index.js';
import { OciLayout } from '../src/layout/index.js';
import { createDigester, type Descriptor } from '../src/oci/index.js';
import { ensurePackages, startPeers, stopPeers } from '../test/support/peers.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'cli', 'main.js');
const MiB = 1024 * 1024;

/** Incompressible bytes, fast: AES-CTR keystream from a seed, in reused 1 MiB chunks. */
function pseudoRandom(size: number, seed: number): () => Readable {
  return () => {
    const key = Buffer.alloc(32);
    key.writeUInt32BE(seed);
    const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
    const zeros = Buffer.alloc(MiB);
    let left = size;
    return new Readable({
      read() {
        if (left <= 0) {
          this.push(null);
          return;
        }
        const n = Math.min(left, MiB);
        left -= n;
        this.push(cipher.update(n === MiB ? zeros : zeros.subarray(0, n)));
      },
    });
  };
}

async function blobFrom(open: () => Readable, mediaType: string): Promise<Descriptor> {
  const hash = createDigester('sha256');
  let size = 0;
  for await (const chunk of open()) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { mediaType, digest: `sha256:${hash.digest('hex')}`, size };
}

async function makeLayout(dir: string, blobs: { size: number; seed: number }[]): Promise<void> {
  const layout = await OciLayout.open(dir, { create: true });
  const layers: Descriptor[] = [];
  for (const b of blobs) {
    const open = pseudoRandom(b.size, b.seed);
    const desc = await blobFrom(open, 'application/vnd.lading.bench.layer');
    if (!(await layout.exists(desc))) await layout.push(desc, open());
    layers.push(desc);
  }
  const manifest = await packManifest(layout, layers, {
    artifactType: 'application/vnd.lading.bench.v1',
    created: new Date(0),
  });
  await layout.tag(manifest, 'v1');
}

interface Sample {
  seconds: number;
  rssMB: number;
  userS: number;
  sysS: number;
}

/** Runs a command under GNU time for wall time, CPU and peak RSS. */
function measure(cmd: string, args: string[]): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} failed (${code}):\n${err}`));
      const last = err.trim().split('\n').at(-1) ?? '';
      const [kb, user, sys] = last.split(' ').map(Number);
      resolve({ seconds, rssMB: (kb ?? 0) / 1024, userS: user ?? 0, sysS: sys ?? 0 });
    });
  });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

interface Case {
  name: string;
  bytes: number;
  lading: (run: number) => [string, string[]];
  skopeo: (run: number) => [string, string[]];
  before?: () => Promise<void>;
}

async function main() {
  const args = process.argv.slice(2);
  let runs = 3;
  const filters: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else filters.push(args[i] as string);
  }
  await ensurePackages();
  const work = await mkdtemp(join(os.tmpdir(), 'lading-bench-'));
  const peers = await startPeers({ dir: join(work, 'peers') });
  const host = peers.plain.host;
  const skopeoCache = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';
  try {
    console.log('preparing data: 1 GiB blob, and 200 × 5 MiB blobs ...');
    const big = join(work, 'big');
    const many = join(work, 'many');
    await makeLayout(big, [{ size: 1024 * MiB, seed: 1 }]);
    await makeLayout(
      many,
      Array.from({ length: 200 }, (_, i) => ({ size: 5 * MiB, seed: 1000 + i })),
    );
    // Seed the registry with one copy of each, for the pull cases.
    await measure(process.execPath, [
      cli,
      'cp',
      '--to-plain-http',
      '--from-oci-layout',
      `${big}:v1`,
      `${host}/bench/big:v1`,
    ]);
    await measure(process.execPath, [
      cli,
      'cp',
      '--to-plain-http',
      '--from-oci-layout',
      `${many}:v1`,
      `${host}/bench/many:v1`,
    ]);
    const fresh = (name: string) => join(work, `out-${name}-${randomBytes(4).toString('hex')}`);
    const cases: Case[] = [
      {
        name: 'push-big',
        bytes: 1024 * MiB,
        lading: (r) => [
          process.execPath,
          [cli, 'cp', '--to-plain-http', '--from-oci-layout', `${big}:v1`, `${host}/bench/push-big-lading-${r}:v1`],
        ],
        skopeo: (r) => [
          'skopeo',
          [
            'copy',
            '-q',
            '--preserve-digests',
            '--dest-tls-verify=false',
            `oci:${big}:v1`,
            `docker://${host}/bench/push-big-skopeo-${r}:v1`,
          ],
        ],
      },
      {
        name: 'pull-big',
        bytes: 1024 * MiB,
        lading: () => [
          process.execPath,
          [cli, 'cp', '--from-plain-http', `${host}/bench/big:v1`, '--to-oci-layout', `${fresh('big')}:v1`],
        ],
        skopeo: () => [
          'skopeo',
          [
            'copy',
            '-q',
            '--preserve-digests',
            '--src-tls-verify=false',
            `docker://${host}/bench/big:v1`,
            `oci:${fresh('big')}:v1`,
          ],
        ],
      },
      {
        name: 'push-200x5MiB',
        bytes: 200 * 5 * MiB,
        lading: (r) => [
          process.execPath,
          [cli, 'cp', '--to-plain-http', '--from-oci-layout', `${many}:v1`, `${host}/bench/push-many-lading-${r}:v1`],
        ],
        skopeo: (r) => [
          'skopeo',
          [
            'copy',
            '-q',
            '--preserve-digests',
            '--dest-tls-verify=false',
            `oci:${many}:v1`,
            `docker://${host}/bench/push-many-skopeo-${r}:v1`,
          ],
        ],
      },
      {
        name: 'pull-200x5MiB',
        bytes: 200 * 5 * MiB,
        lading: () => [
          process.execPath,
          [cli, 'cp', '--from-plain-http', `${host}/bench/many:v1`, '--to-oci-layout', `${fresh('many')}:v1`],
        ],
        skopeo: () => [
          'skopeo',
          [
            'copy',
            '-q',
            '--preserve-digests',
            '--src-tls-verify=false',
            `docker://${host}/bench/many:v1`,
            `oci:${fresh('many')}:v1`,
          ],
        ],
      },
    ];
    const rows: string[] = [];
    let counter = 0;
    for (const c of cases) {
      if (filters.length > 0 && !filters.some((f) => c.name.includes(f))) continue;
      const samples: Record<'lading' | 'skopeo', Sample[]> = { lading: [], skopeo: [] };
      for (let r = 0; r < runs; r++) {
        // Alternate the order so neither tool always runs on a warmer cache.
        const order: ('lading' | 'skopeo')[] = r % 2 === 0 ? ['lading', 'skopeo'] : ['skopeo', 'lading'];
        for (const tool of order) {
          await rm(skopeoCache, { force: true });
          const [cmd, a] = c[tool](++counter);
          const s = await measure(cmd, a);
          samples[tool].push(s);
          console.log(
            `${c.name} ${tool} run ${r + 1}: ${s.seconds.toFixed(2)} s, ${(c.bytes / 1e6 / s.seconds).toFixed(0)} MB/s, peak RSS ${s.rssMB.toFixed(0)} MB`,
          );
        }
      }
      const l = median(samples.lading.map((s) => s.seconds));
      const k = median(samples.skopeo.map((s) => s.seconds));
      const fmt = (tool: 'lading' | 'skopeo', secs: number) => {
        const ss = samples[tool];
        return `${secs.toFixed(2)} s | ${(c.bytes / 1e6 / secs).toFixed(0)} MB/s | ${Math.max(...ss.map((s) => s.rssMB)).toFixed(0)} MB | ${median(ss.map((s) => s.userS + s.sysS)).toFixed(2)} s`;
      };
      rows.push(`| ${c.name} | ${fmt('lading', l)} | ${fmt('skopeo', k)} | ${(k / l).toFixed(2)}× |`);
      await rm(join(work, 'out-'), { force: true, recursive: true }).catch(() => {});
    }
    const skopeoVersion = await new Promise<string>((resolve) => {
      const p = spawn('skopeo', ['--version']);
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
      });
      p.on('exit', () => resolve(out.trim()));
    });
    const report = [
      `## ${new Date().toISOString().slice(0, 10)}: push and pull against a local docker-registry`,
      '',
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; ${skopeoVersion}; Debian docker-registry on 127.0.0.1 (plain HTTP).`,
      `Medians of ${runs} runs, tools alternating; lading = \`lading cp\` (default concurrency 3), skopeo = \`skopeo copy --preserve-digests\` with its blob-info cache removed before each run. Peak RSS is the largest of the runs; CPU = user + sys of the client.`,
      '',
      '| case | lading time | lading MB/s | lading peak RSS | lading CPU | skopeo time | skopeo MB/s | skopeo peak RSS | skopeo CPU | lading speed-up |',
      '|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n');
    const file = join(root, 'BENCHMARKS.md');
    const previous = await readFile(file, 'utf8').catch(
      () => '# Benchmarks\n\nProduced by `npm run bench` (bench/run.ts). Newest first.\n\n',
    );
    const [head, ...rest] = previous.split(/\n(?=## )/);
    await writeFile(file, [head?.trimEnd(), '', report, ...rest].join('\n'));
    console.log(report);
  } finally {
    await stopPeers(peers);
    await rm(work, { recursive: true, force: true });
  }
}

await mkdir(join(root, 'bench'), { recursive: true });
await main();
