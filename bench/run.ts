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
    const big = join(work, 'big');
    const many = join(work, 'many');
    const wants = (prefixes: string[]) =>
      filters.length === 0 || filters.some((f) => prefixes.some((p) => p.includes(f) || f.includes(p)));
    if (wants(['push-big', 'pull-big', 'push-200x5MiB', 'pull-200x5MiB'])) {
      console.log('preparing data: 1 GiB blob, and 200 × 5 MiB blobs ...');
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
    }
    const component = await prepareComponent(work, host, wants(['add-cv', 'transfer']));
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
      ...(component ? componentCases(component, host) : []),
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
      `Medians of ${runs} runs, tools alternating. lading: \`lading cp\`, \`lading add cv\` or \`lading transfer cv\` with default settings. Reference: \`skopeo copy --preserve-digests\` (its blob-info cache removed before each run; for the component transfers the component's two manifests, since skopeo 1.9 refuses to copy the OCM index unchanged), and for add-cv the floor \`tar -c <folder> | openssl sha256\`. Peak RSS is the largest of the runs; CPU = user + sys of the client; speed-up = reference time / lading time.`,
      '',
      '| case | lading time | lading MB/s | lading peak RSS | lading CPU | reference time | reference MB/s | reference peak RSS | reference CPU | lading speed-up |',
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

interface ComponentBench {
  dir: string;
  ctf: string;
  name: string;
  /** The same component version as an OCI layout (index form), for skopeo. */
  layout: string;
  /** Digests of the index's manifests (descriptor manifest, image). */
  children: string[];
  bytes: number;
}

/** A component with one 1 GiB image (an embedded OCI layout) and 100 small resources. */
async function prepareComponent(work: string, host: string, wanted: boolean): Promise<ComponentBench | undefined> {
  if (!wanted) return undefined;
  console.log('preparing data: a component with a 1 GiB image and 100 small resources ...');
  const dir = join(work, 'component');
  await mkdir(join(dir, 'small'), { recursive: true });
  await makeLayout(join(dir, 'image-layout'), [{ size: 1024 * MiB, seed: 7 }]);
  const resources: string[] = [
    '  - name: image\n    type: ociImage\n    input:\n      type: dir/v1\n      path: ./image-layout\n      mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n',
  ];
  for (let i = 0; i < 100; i++) {
    await writeFile(join(dir, 'small', `r${i}.bin`), randomBytes(16 * 1024));
    resources.push(
      `  - name: small-${i}\n    type: blob\n    input:\n      type: file/v1\n      path: ./small/r${i}.bin\n`,
    );
  }
  const name = 'bench.example.com/component';
  await writeFile(
    join(dir, 'component-constructor.yaml'),
    `name: ${name}\nversion: 1.0.0\nprovider:\n  name: bench\nresources:\n${resources.join('')}`,
  );
  const ctf = join(dir, 'ctf');
  await measure(process.execPath, [cli, 'add', 'cv', '-c', join(dir, 'component-constructor.yaml'), '-r', ctf]);
  await measure(process.execPath, [cli, 'transfer', 'cv', `${ctf}//${name}:1.0.0`, `http://${host}/seed`]);
  const layout = join(dir, 'skopeo-layout');
  await measure(process.execPath, [
    cli,
    'cp',
    '--from-plain-http',
    `${host}/seed/component-descriptors/${name}:1.0.0`,
    '--to-oci-layout',
    `${layout}:1.0.0`,
  ]);
  // skopeo 1.9 will not copy this index with --preserve-digests (it wants to convert it), so it
  // copies the same two manifests (the descriptor manifest with the 100 small blobs, and the image).
  const exported = await OciLayout.open(layout);
  const { fetchAll } = await import('../src/content/index.js');
  const index = JSON.parse((await fetchAll(exported, await exported.resolve('1.0.0'))).toString()) as {
    manifests: Descriptor[];
  };
  const children = index.manifests.map((m) => m.digest);
  const tagged = await OciLayout.open(layout, { create: true });
  for (const [i, d] of children.entries()) await tagged.tag(await tagged.resolve(d), `part${i}`);
  return { dir, ctf, name, layout, children, bytes: 1024 * MiB + 100 * 16 * 1024 };
}

function componentCases(c: ComponentBench, host: string): Case[] {
  return [
    {
      name: 'add-cv-1GiB-dir',
      bytes: 1024 * MiB,
      lading: (r) => [
        process.execPath,
        [cli, 'add', 'cv', '-c', join(c.dir, 'component-constructor.yaml'), '-r', join(c.dir, `ctf-${r}`)],
      ],
      // The floor for the same work: read the folder once as a tar and hash it.
      skopeo: () => ['bash', ['-c', `tar -C ${c.dir} -cf - image-layout small | openssl sha256 > /dev/null`]],
    },
    {
      name: 'transfer-ctf-to-registry',
      bytes: c.bytes,
      lading: (r) => [
        process.execPath,
        [cli, 'transfer', 'cv', `${c.ctf}//${c.name}:1.0.0`, `http://${host}/lading-${r}`],
      ],
      skopeo: (r) => [
        'bash',
        [
          '-c',
          c.children
            .map(
              (_, i) =>
                `skopeo copy -q --preserve-digests --dest-tls-verify=false oci:${c.layout}:part${i} docker://${host}/skopeo-${r}/component-descriptors/${c.name}:part${i}`,
            )
            .join(' && '),
        ],
      ],
    },
    {
      name: 'transfer-registry-to-registry',
      bytes: c.bytes,
      lading: (r) => [
        process.execPath,
        [cli, 'transfer', 'cv', `http://${host}/seed//${c.name}:1.0.0`, `http://${host}/lading-rr-${r}`],
      ],
      skopeo: (r) => [
        'bash',
        [
          '-c',
          c.children
            .map(
              (d, i) =>
                `skopeo copy -q --preserve-digests --src-tls-verify=false --dest-tls-verify=false docker://${host}/seed/component-descriptors/${c.name}@${d} docker://${host}/skopeo-rr-${r}/component-descriptors/${c.name}:part${i}`,
            )
            .join(' && '),
        ],
      ],
    },
  ];
}

await mkdir(join(root, 'bench'), { recursive: true });
await main();
