/**
 * Benchmarks: lading beside skopeo on the same data, in the same run, against a fresh local
 * Debian docker-registry. Writes BENCHMARKS.md. Not a test: nothing here asserts a time.
 *
 *   npm run bench                 # every case, 3 runs each
 *   npm run bench -- --runs 5 push-big
 *   npm run bench -- --before /tmp/old-dist/bin/main.js pull-1024MiB
 *                                 # also an earlier build's CLI, alternating, in the same run
 *   npm run bench -- --no-absorb pull-1024MiB
 *                                 # without the untimed write before every run (see absorb)
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
const cli = join(root, 'dist', 'bin', 'main.js');
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

async function makeLayout(dir: string, blobs: { size: number; seed: number }[]): Promise<Descriptor[]> {
  const layout = await OciLayout.open(dir, { mode: 'create' });
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
  return layers;
}

/**
 * A layout whose tag v1 is an index of `count` small images (a 1 KiB layer and a config each): a
 * mirror of many small images, signatures or SBOMs, where the cost is per manifest, not per byte.
 * Images, not artifacts: skopeo copies an index of artifacts only by converting it.
 */
async function makeIndexLayout(dir: string, count: number): Promise<void> {
  const layout = await OciLayout.open(dir, { mode: 'create' });
  const push = async (mediaType: string, bytes: Buffer): Promise<Descriptor> => {
    const desc = {
      mediaType,
      digest: `sha256:${createDigester('sha256').update(bytes).digest('hex')}`,
      size: bytes.length,
    };
    if (!(await layout.exists(desc))) await layout.push(desc, bytes);
    return desc;
  };
  const children: Descriptor[] = [];
  for (let i = 0; i < count; i++) {
    const open = pseudoRandom(1024, 50_000 + i);
    const layer = await blobFrom(open, 'application/vnd.oci.image.layer.v1.tar');
    await layout.push(layer, open());
    const config = await push(
      'application/vnd.oci.image.config.v1+json',
      Buffer.from(
        JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }),
      ),
    );
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers: [layer],
    };
    children.push(await push(manifest.mediaType, Buffer.from(JSON.stringify(manifest))));
  }
  const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: children };
  await layout.tag(await push(index.mediaType, Buffer.from(JSON.stringify(index))), 'v1');
  await layout.close();
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

/**
 * Writes `bytes` of zeros into a file under `dir` and removes it, untimed, before every run of
 * every tool. On the 2-core VM a skopeo pull leaves the page cache so that the next process to write
 * a GiB pays ~1.5 s more system time copying into it (`copy_folio_from_iter_atomic`): `dd` of 1 GiB
 * took 1.24–3.08 s of sys right after a skopeo pull and 0.34–0.37 s right after that. Whichever run
 * came next paid, so lading's pulls were bimodal by the run before them; with this write in between,
 * none of them do.
 */
async function absorb(dir: string, bytes: number): Promise<void> {
  const file = join(dir, 'absorb.bin');
  await measure('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', `count=${Math.ceil(bytes / MiB)}`, 'status=none']);
  await rm(file, { force: true });
}

/** Whether every run was preceded by {@link absorb}. */
let absorbed = false;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

interface Case {
  name: string;
  bytes: number;
  lading: (run: number) => [string, string[]];
  skopeo: (run: number) => [string, string[]];
  /**
   * The same bytes moved by the plainest client with no hashing (curl), run in the same rotation
   * as the tools, so that the page cache's and the disk's state is the same for all of them: the
   * registry's upload ceiling for a push, the registry-to-registry pipe for a transfer.
   */
  ceiling?: (run: number) => [string, string[]];
  /** Where the case sits on the throughput plot. */
  plot?: { panel: 'size' | 'count'; x: number; direction: 'push' | 'pull' };
}

type Tool = 'lading' | 'skopeo' | 'before' | 'ceiling';

interface Result {
  c: Case;
  samples: Record<Tool, Sample[]>;
}

const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
/** A wall time as the tables show it: milliseconds below a second (a 4 MiB copy is ~0.07 s, where 10 ms hides every change). */
const wall = (seconds: number) => (seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`);

/** A layout (tag v1) pushed to a fresh repository, by both tools. */
/** `skopeo copy`, quiet and digest-preserving, from `from` to `to`. */
function skopeoCopy(from: string, to: string, flags: string[]): [string, string[]] {
  return ['skopeo', ['copy', '-q', '--preserve-digests', ...flags, from, to]];
}

/** A skopeo copy of every manifest of an index (`--all`). */
function withAll([cmd, args]: [string, string[]]): [string, string[]] {
  return [cmd, [args[0] as string, '--all', ...args.slice(1)]];
}

function pushCase(name: string, host: string, layout: string, bytes: number, plot?: Case['plot']): Case {
  return {
    name,
    bytes,
    ...(plot ? { plot } : {}),
    lading: (r) => [
      process.execPath,
      [
        cli,
        'cp',
        '--to-plain-http',
        '--from-oci-layout',
        `${layout}:v1`,
        `${host}/bench/${name.toLowerCase()}-lading-${r}:v1`,
      ],
    ],
    skopeo: (r) =>
      skopeoCopy(`oci:${layout}:v1`, `docker://${host}/bench/${name.toLowerCase()}-skopeo-${r}:v1`, [
        '--dest-tls-verify=false',
      ]),
  };
}

/** The cases measured against the transfer ceiling between the two registries. */
const otherRegistryCases = ['transfer-registry-to-other-registry', 'copy-1024MiB-to-other-registry'];

/** `lading cp` and `skopeo copy` of `source` from its registry to another one. */
function otherRegistryCase(name: string, source: string, far: string, bytes: number): Case {
  const path = source.slice(source.indexOf('/') + 1).replace(/:[^:]*$/, '');
  return {
    name,
    bytes,
    lading: (r) => [
      process.execPath,
      [cli, 'cp', '--from-plain-http', '--to-plain-http', source, `${far}/${path}-lading-${r}:v1`],
    ],
    skopeo: (r) =>
      skopeoCopy(`docker://${source}`, `docker://${far}/${path}-skopeo-${r}:v1`, [
        '--src-tls-verify=false',
        '--dest-tls-verify=false',
      ]),
  };
}

/** A repository pulled into a fresh layout under `out`, by both tools. */
function pullCase(name: string, source: string, out: string, bytes: number, plot?: Case['plot']): Case {
  return {
    name,
    bytes,
    ...(plot ? { plot } : {}),
    lading: (r) => [
      process.execPath,
      [cli, 'cp', '--from-plain-http', source, '--to-oci-layout', `${join(out, `lading-${r}`)}:v1`],
    ],
    skopeo: (r) => skopeoCopy(`docker://${source}`, `oci:${join(out, `skopeo-${r}`)}:v1`, ['--src-tls-verify=false']),
  };
}

async function main() {
  const args = process.argv.slice(2);
  let runs = 5;
  /** An earlier build's `dist/bin/main.js`, run beside this one (before/after in one run). */
  let before: string | undefined;
  /** Write and remove a file before every run (see absorb). */
  let absorbing = true;
  const filters: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--runs') runs = Number(args[++i]);
    else if (args[i] === '--before') before = args[++i];
    else if (args[i] === '--no-absorb') absorbing = false;
    else filters.push(args[i] as string);
  }
  await ensurePackages();
  const work = await mkdtemp(join(os.tmpdir(), 'lading-bench-'));
  // Outputs of one measured run go here and are removed before the next: every run (either tool)
  // writes into memory the kernel just freed, instead of some runs paying for fresh pages.
  const out = join(work, 'out');
  const peers = await startPeers({ dir: join(work, 'peers') });
  // A second registry, for a transfer that has to move every byte (no mount across registries).
  const farPeers = await startPeers({ dir: join(work, 'peers-far') });
  const host = peers.plain.host;
  const far = farPeers.plain.host;
  const skopeoCache = '/var/lib/containers/cache/blob-info-cache-v1.boltdb';
  try {
    const wants = (names: string[]) =>
      filters.length === 0 || filters.some((f) => names.some((n) => n.includes(f) || f.includes(n)));
    const cases: Case[] = [];
    let bigBlob: { file: string; digest: string } | undefined;
    const sizes = [4, 64, 256, 1024];
    const counts = [10, 50, 200];
    const blobCases = [
      ...sizes.flatMap((m) => [`push-${m}MiB`, `pull-${m}MiB`]),
      ...counts.flatMap((n) => [`push-${n}x5MiB`, `pull-${n}x5MiB`]),
      'copy-1024MiB-to-other-registry',
    ];
    if (wants(blobCases)) {
      console.log('preparing data: single blobs of 4 MiB to 1 GiB, and 10 to 200 blobs of 5 MiB ...');
      // One layout per point of the plot, seeded into the registry for the pull cases.
      const points = [
        ...sizes.map((m) => ({ label: `${m}MiB`, panel: 'size' as const, x: m, blobs: [{ size: m * MiB, seed: m }] })),
        ...counts.map((n) => ({
          label: `${n}x5MiB`,
          panel: 'count' as const,
          x: n,
          blobs: Array.from({ length: n }, (_, i) => ({ size: 5 * MiB, seed: 1000 + i })),
        })),
      ];
      for (const p of points) {
        const named = [`push-${p.label}`, `pull-${p.label}`];
        if (p.label === '1024MiB') named.push('copy-1024MiB-to-other-registry');
        if (!wants(named)) continue;
        const dir = join(work, `${p.panel}-${p.x}`);
        const layers = await makeLayout(dir, p.blobs);
        const [layer] = layers;
        if (p.label === '1024MiB' && layer) {
          bigBlob = { file: join(dir, 'blobs', 'sha256', layer.digest.slice(7)), digest: layer.digest };
        }
        const seeded = `${host}/bench/${p.panel}-${p.x}:v1`;
        await measure(process.execPath, [cli, 'cp', '--to-plain-http', '--from-oci-layout', `${dir}:v1`, seeded]);
        const bytes = p.blobs.reduce((sum, b) => sum + b.size, 0);
        const plot = (direction: 'push' | 'pull') => ({ panel: p.panel, x: p.x, direction });
        cases.push(pushCase(`push-${p.label}`, host, dir, bytes, plot('push')));
        cases.push(pullCase(`pull-${p.label}`, seeded, out, bytes, plot('pull')));
        // The 1 GiB image from one registry to another: every byte through the client, beside the
        // transfer ceiling (curl GET | curl PUT of the same layer).
        if (p.label === '1024MiB') cases.push(otherRegistryCase('copy-1024MiB-to-other-registry', seeded, far, bytes));
      }
    }
    const indexCount = 2000;
    const indexCases = [`layout-index-${indexCount}`, `push-index-${indexCount}`, `pull-index-${indexCount}`];
    if (wants(indexCases)) {
      console.log(`preparing data: an index of ${indexCount} small artifacts ...`);
      const dir = join(work, `index-${indexCount}`);
      await makeIndexLayout(dir, indexCount);
      const seeded = `${host}/bench/index-${indexCount}:v1`;
      await measure(process.execPath, [cli, 'cp', '--to-plain-http', '--from-oci-layout', `${dir}:v1`, seeded]);
      // Every manifest of the index, as both tools copy an index (skopeo: --all).
      const all = (c: Case): Case => ({ ...c, skopeo: (r) => withAll(c.skopeo(r)) });
      cases.push({
        name: indexCases[0] as string,
        bytes: indexCount * 1024,
        lading: (r) => [
          process.execPath,
          [cli, 'cp', '--from-oci-layout', `${dir}:v1`, '--to-oci-layout', `${join(out, `lading-${r}`)}:v1`],
        ],
        skopeo: (r) => skopeoCopy(`oci:${dir}:v1`, `oci:${join(out, `skopeo-${r}`)}:v1`, ['--all']),
      });
      cases.push(all(pushCase(indexCases[1] as string, host, dir, indexCount * 1024)));
      cases.push(all(pullCase(indexCases[2] as string, seeded, out, indexCount * 1024)));
    }
    const component = await prepareComponent(work, host, wants(['add-cv', 'transfer']));
    if (component) cases.push(...componentCases(component, host, far, out));
    const runsCase = (c: Case) => filters.length === 0 || filters.some((f) => c.name.includes(f));
    const curl = await measure('curl', ['--version']).then(
      () => true,
      () => false,
    );
    if (curl) {
      const big = bigBlob;
      const push = cases.find((c) => c.name === 'push-1024MiB');
      if (big && push) {
        push.ceiling = (r) => ['bash', ['-c', curlPut(host, `bench/ceiling-${r}`, big.file, big.digest)]];
      }
      // Both 1 GiB layers are the same size of random bytes: either measures the pipe.
      const pipeBlob = component?.bigBlob ?? bigBlob;
      const others = cases.filter((c) => otherRegistryCases.includes(c.name) && runsCase(c));
      if (pipeBlob && others.length > 0) {
        // The source blob, uploaded once, untimed.
        await measure('bash', ['-c', curlPut(host, 'bench/pipe-source', pipeBlob.file, pipeBlob.digest)]);
        const pipe = (r: number): [string, string[]] => [
          'bash',
          [
            '-c',
            `set -o pipefail; curl -sf http://${host}/v2/bench/pipe-source/blobs/${pipeBlob.digest} | { ${curlPut(far, `bench/pipe-${r}`, '-', pipeBlob.digest)}; }`,
          ],
        ];
        for (const c of others) c.ceiling = pipe;
        // A component transfer moves 100 resources and its own small blobs besides the 1 GiB layer, and on two cores
        // they cost the registries as much time as the client (~8 ms a blob with curl): its
        // ceiling moves the same blobs, the small ones by curl beside the pipe.
        const transfer = others.find((c) => c.name === 'transfer-registry-to-other-registry');
        if (transfer && component) {
          const script = join(work, 'small-blobs.sh');
          await writeFile(script, curlSmallBlobs(host, component.sourceRepository, far, component.smallBlobs));
          transfer.ceiling = (r) => {
            const [, [, big]] = pipe(r) as [string, [string, string]];
            const small = `bash ${script} bench/pipe-small-${r} ${join(out, `small-${r}`)}`;
            return ['bash', ['-c', `( ${big} ) & big=$!; ${small} || { kill $big; exit 1; }; wait $big`]];
          };
        }
      }
    }

    absorbed = absorbing;
    const results: Result[] = [];
    let counter = 0;
    for (const c of cases) {
      if (!runsCase(c)) continue;
      const samples: Record<Tool, Sample[]> = { lading: [], skopeo: [], before: [], ceiling: [] };
      for (let r = 0; r < runs; r++) {
        // Rotate the order so no tool always runs on a warmer cache.
        const tools: Tool[] = ['lading', 'skopeo'];
        if (before) tools.push('before');
        if (c.ceiling && curl) tools.push('ceiling');
        const order = r % 2 === 0 ? tools : [...tools].reverse();
        for (const tool of order) {
          await rm(skopeoCache, { force: true });
          await rm(out, { recursive: true, force: true });
          await mkdir(out, { recursive: true });
          // Every run starts with the disk settled: without this, a run paid for the writeback
          // of the one before it (a 1 GiB case's runs spread by ±30 %).
          if (absorbing) await absorb(work, Math.min(2048 * MiB, c.bytes + 256 * MiB));
          await measure('sync', []);
          const [cmd, a] =
            tool === 'before'
              ? ((([command, list]) => [command, list.map((x) => (x === cli ? (before as string) : x))])(
                  c.lading(++counter),
                ) as [string, string[]])
              : tool === 'ceiling'
                ? (c.ceiling as NonNullable<Case['ceiling']>)(++counter)
                : c[tool](++counter);
          const s = await measure(cmd, a);
          samples[tool].push(s);
          console.log(
            `${c.name} ${tool} run ${r + 1}: ${wall(s.seconds)}, ${mbps(c.bytes, s.seconds).toFixed(0)} MB/s, peak RSS ${s.rssMB.toFixed(0)} MB`,
          );
        }
      }
      await rm(out, { recursive: true, force: true });
      results.push({ c, samples });
    }
    // Only a full run redraws the plot: a subset would replace it with a few points.
    await report(results, runs, filters.length === 0, before, curl ? undefined : 'curl is not installed');
  } finally {
    await stopPeers(peers);
    await stopPeers(farPeers);
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * A bash script (arguments: destination repository, scratch folder) that moves `digests` from
 * `source` to `far` as the plainest client would with its connections kept: one curl fetches them
 * all into files while another opens an upload session for each, then a third PUTs each file into
 * its session; two at a time each.
 */
function curlSmallBlobs(source: string, sourceRepository: string, far: string, digests: string[]): string {
  return [
    'set -eo pipefail',
    'dst=$1; w=$2; mkdir -p "$w"',
    `printf '%s\\n' ${digests.join(' ')} > "$w/digests"`,
    '# One curl config per stage: a block per blob (i: its number, d: its digest), `next` between blocks.',
    'cfg() { local i=0 d; while read -r d; do [ $i -gt 0 ] && echo next; echo fail; "$1" $i $d; i=$((i + 1)); done < "$w/digests"; }',
    `get() { echo "url = http://${source}/v2/${sourceRepository}/blobs/$2"; echo "output = $w/b$1"; }`,
    `post() { echo "url = http://${far}/v2/$dst/blobs/uploads/"; echo 'request = POST'; echo "dump-header = $w/h$1"; echo 'output = /dev/null'; }`,
    `put() { loc=$(tr -d '\\r' < "$w/h$1" | awk 'tolower($1)=="location:" {print $2}'); echo "url = $loc&digest=$2"; echo "upload-file = $w/b$1"; echo 'header = "Content-Type: application/octet-stream"'; echo 'header = "Expect:"'; echo 'output = /dev/null'; }`,
    'cfg get > "$w/get.cfg"; cfg post > "$w/post.cfg"',
    'curl -s --no-progress-meter -Z --parallel-max 2 -K "$w/get.cfg" & fetch=$!',
    'curl -s --no-progress-meter -Z --parallel-max 2 -K "$w/post.cfg"',
    'wait $fetch',
    'cfg put > "$w/put.cfg"',
    'curl -s --no-progress-meter -Z --parallel-max 2 -K "$w/put.cfg"',
    '',
  ].join('\n');
}

/**
 * A shell command that uploads `body` (a file, or `-` for stdin) to `host` as the blob `digest` in
 * one monolithic PUT: POST for a session, then PUT with the body, as the plainest client does.
 */
function curlPut(host: string, repo: string, body: string, digest: string): string {
  return [
    `loc=$(curl -sf -X POST -D - -o /dev/null http://${host}/v2/${repo}/blobs/uploads/ | tr -d '\\r' | awk 'tolower($1)=="location:" {print $2}')`,
    `curl -sf -H 'Expect:' -X PUT -H 'Content-Type: application/octet-stream' -T ${body} "$loc&digest=${digest}" -o /dev/null`,
  ].join(' && ');
}

async function report(
  results: Result[],
  runs: number,
  drawPlot: boolean,
  before: string | undefined,
  ceilingMissing: string | undefined,
) {
  const rows = results.map(({ c, samples }) => {
    const fmt = (tool: Tool) => {
      const ss = samples[tool];
      const secs = median(ss.map((s) => s.seconds));
      return `${wall(secs)} | ${mbps(c.bytes, secs).toFixed(0)} MB/s | ${Math.max(...ss.map((s) => s.rssMB)).toFixed(0)} MB | ${median(ss.map((s) => s.userS + s.sysS)).toFixed(2)} s`;
    };
    const l = median(samples.lading.map((s) => s.seconds));
    const k = median(samples.skopeo.map((s) => s.seconds));
    return `| ${c.name} | ${fmt('lading')} | ${fmt('skopeo')} | ${(k / l).toFixed(2)}× |`;
  });
  const skopeoVersion = await new Promise<string>((resolve) => {
    const p = spawn('skopeo', ['--version']);
    let text = '';
    p.stdout.on('data', (d) => {
      text += d;
    });
    p.on('exit', () => resolve(text.trim()));
  });
  const lines: string[] = [];
  if (before) {
    const secs = (ss: Sample[]) => median(ss.map((s) => s.seconds));
    lines.push(
      `The same cases with an earlier build (\`${before}\`), run in the same loop, tools rotating:`,
      '',
      '| case | before time | before peak RSS | before CPU | now time | now peak RSS | now CPU | now vs before |',
      '|---|---|---|---|---|---|---|---|',
      ...results.map(({ c, samples }) => {
        const cell = (ss: Sample[]) =>
          `${wall(secs(ss))} | ${Math.max(...ss.map((s) => s.rssMB)).toFixed(0)} MB | ${median(ss.map((s) => s.userS + s.sysS)).toFixed(2)} s`;
        return `| ${c.name} | ${cell(samples.before)} | ${cell(samples.lading)} | ${(secs(samples.before) / secs(samples.lading)).toFixed(2)}× |`;
      }),
      '',
    );
  }
  if (ceilingMissing && results.some((r) => r.c.name === 'push-1024MiB' || otherRegistryCases.includes(r.c.name))) {
    lines.push(`Ceilings not measured: ${ceilingMissing}.`, '');
  }
  for (const { c, samples } of results) {
    if (samples.ceiling.length === 0) continue;
    const ceiling = median(samples.ceiling.map((x) => x.seconds));
    const share = ((ceiling / median(samples.lading.map((x) => x.seconds))) * 100).toFixed(0);
    const pipe = "curl GET of a 1 GiB layer piped into curl's monolithic PUT to the other registry, no client hashing";
    const what =
      c.name === 'push-1024MiB'
        ? 'Upload ceiling of the registry, as the plainest client sees it (curl, one monolithic PUT of the 1 GiB blob, no client hashing)'
        : c.name === 'transfer-registry-to-other-registry'
          ? `Transfer ceiling between the two registries for the same blobs (${pipe}; beside it, the component's other blobs moved by curl, two at a time on kept connections: fetched into files while upload sessions open, then PUT)`
          : `Transfer ceiling between the two registries (${pipe})`;
    const moves = c.name.startsWith('transfer') ? ' (1 GiB and 100 small blobs)' : '';
    lines.push(
      `${what}, run in ${c.name}'s rotation beside the tools (median of ${samples.ceiling.length}): ${wall(ceiling)}, ${mbps(1024 * MiB, ceiling).toFixed(0)} MB/s; lading's ${c.name}${moves} runs at ${share}% of that speed.`,
      '',
    );
  }
  const plotted = results.filter((r) => r.c.plot);
  const svg = drawPlot && plotted.length > 0 ? plotThroughput(plotted) : undefined;
  if (svg) {
    await writeFile(join(root, 'bench', 'throughput.svg'), svg);
    lines.push('![throughput of lading and skopeo against blob size and count](bench/throughput.svg)', '');
  }
  const section = [
    `## ${new Date().toISOString().slice(0, 10)}: lading beside skopeo against a local docker-registry`,
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}${process.env.NODE_EXTRA_CA_CERTS ? ' with NODE_EXTRA_CA_CERTS set (Node 20 pays ~50 ms CPU per start for it)' : ''}; ${skopeoVersion}; Debian docker-registry on 127.0.0.1 (plain HTTP).`,
    `Medians of ${runs} runs, tools alternating, each run's output removed and the disk synced (untimed) before the next. lading: \`lading cp\`, \`lading add cv\` or \`lading transfer cv\` with default settings. Reference: \`skopeo copy --preserve-digests\` (its blob-info cache removed before each run, so it never mounts; for the component transfers the component's two manifests, since skopeo 1.9 refuses to copy the OCM index unchanged), and for add-cv-* the floor that reads, writes and hashes the same bytes once (issue 18): \`tar -c <folder> | tee <out>/floor.tar | openssl sha256\` (add-cv-1GiB-dir: the folder is an OCI layout, stored unpacked as OCI blobs; add-cv-1GiB-tar: the same folder as a plain Dir/v1 tar blob). Peak RSS is the largest of the runs; CPU = user + sys of the client; speed-up = reference time / lading time.${absorbed ? ' Before every run of every tool, untimed, a file of zeros 256 MiB larger than the case (at most 2 GiB) is written and removed: on this VM the first process to write a GiB after a skopeo pull paid ~1.5 s more system time, whichever it was (`--no-absorb` leaves it out).' : ''}`,
    '',
    '| case | lading time | lading MB/s | lading peak RSS | lading CPU | reference time | reference MB/s | reference peak RSS | reference CPU | lading speed-up |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...lines,
  ].join('\n');
  const file = join(root, 'BENCHMARKS.md');
  const previous = await readFile(file, 'utf8').catch(
    () => '# Benchmarks\n\nProduced by `npm run bench` (bench/run.ts). Newest first.\n\n',
  );
  const [head, ...rest] = previous.split(/\n(?=## )/);
  await writeFile(file, [head?.trimEnd(), '', section, ...rest].join('\n'));
  console.log(section);
}

/** Two panels (one blob of growing size; a growing number of 5 MiB blobs), MB/s per tool and direction. */
function plotThroughput(results: Result[]): string {
  const W = 460;
  const H = 300;
  const pad = { l: 56, r: 16, t: 36, b: 44 };
  const series = [
    { tool: 'lading' as const, direction: 'push' as const, color: '#1f6feb', dash: '' },
    { tool: 'lading' as const, direction: 'pull' as const, color: '#2da44e', dash: '' },
    { tool: 'skopeo' as const, direction: 'push' as const, color: '#1f6feb', dash: '6 4' },
    { tool: 'skopeo' as const, direction: 'pull' as const, color: '#2da44e', dash: '6 4' },
  ];
  const value = (r: Result, tool: 'lading' | 'skopeo') =>
    mbps(r.c.bytes, median(r.samples[tool].map((s) => s.seconds)));
  const top = Math.max(100, ...results.flatMap((r) => [value(r, 'lading'), value(r, 'skopeo')]));
  const yMax = Math.ceil(top / 100) * 100;
  const panel = (kind: 'size' | 'count', title: string, xLabel: string, dx: number) => {
    const rs = results.filter((r) => r.c.plot?.panel === kind);
    const xs = [...new Set(rs.map((r) => r.c.plot?.x as number))].sort((a, b) => a - b);
    if (xs.length === 0) return '';
    const px = (x: number) =>
      dx + pad.l + (xs.length === 1 ? 0 : (xs.indexOf(x) / (xs.length - 1)) * (W - pad.l - pad.r));
    const py = (v: number) => pad.t + (1 - v / yMax) * (H - pad.t - pad.b);
    const parts: string[] = [
      `<text x="${dx + W / 2}" y="20" text-anchor="middle" font-weight="bold">${title}</text>`,
      `<text x="${dx + W / 2}" y="${H - 8}" text-anchor="middle">${xLabel}</text>`,
    ];
    for (let v = 0; v <= yMax; v += yMax / 5) {
      parts.push(
        `<line x1="${dx + pad.l}" x2="${dx + W - pad.r}" y1="${py(v)}" y2="${py(v)}" stroke="#ddd"/>`,
        `<text x="${dx + pad.l - 6}" y="${py(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`,
      );
    }
    for (const x of xs) {
      parts.push(`<text x="${px(x)}" y="${H - pad.b + 16}" text-anchor="middle">${x}</text>`);
    }
    for (const s of series) {
      const pts = rs
        .filter((r) => r.c.plot?.direction === s.direction)
        .sort((a, b) => (a.c.plot?.x as number) - (b.c.plot?.x as number))
        .map((r) => `${px(r.c.plot?.x as number).toFixed(1)},${py(value(r, s.tool)).toFixed(1)}`);
      if (pts.length === 0) continue;
      parts.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts.join(' ')}"/>`,
        ...pts.map((p) => {
          const [x, y] = p.split(',');
          return `<circle cx="${x}" cy="${y}" r="3" fill="${s.color}"/>`;
        }),
      );
    }
    return parts.join('\n');
  };
  const legend = series
    .map((s, i) => {
      const x = 70 + i * 200;
      return `<line x1="${x}" x2="${x + 30}" y1="${H + 18}" y2="${H + 18}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/><text x="${x + 36}" y="${H + 22}">${s.tool} ${s.direction}</text>`;
    })
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * W}" height="${H + 36}" font-family="sans-serif" font-size="12">`,
    '<title>Throughput of lading and skopeo against blob size and blob count</title>',
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">MB/s</text>`,
    panel('size', 'One blob', 'blob size (MiB)', 0),
    panel('count', 'Many 5 MiB blobs', 'number of blobs', W),
    legend,
    '</svg>',
    '',
  ].join('\n');
}

interface ComponentBench {
  dir: string;
  ctf: string;
  name: string;
  /** The same component version as an OCI layout (index form), for skopeo. */
  layout: string;
  /** Digests of the index's manifests (descriptor manifest, image). */
  children: string[];
  /** The component's repository in the source registry (where the bench seeded it). */
  sourceRepository: string;
  /** Every blob of the component but the 1 GiB layer (configs, the descriptor, the 100 resources). */
  smallBlobs: string[];
  bytes: number;
  /** The image's 1 GiB layer as a file, for the transfer ceiling. */
  bigBlob: { file: string; digest: string };
}

/** A component with one 1 GiB image (an embedded OCI layout) and 100 small resources. */
async function prepareComponent(work: string, host: string, wanted: boolean): Promise<ComponentBench | undefined> {
  if (!wanted) return undefined;
  console.log('preparing data: a component with a 1 GiB image and 100 small resources ...');
  const dir = join(work, 'component');
  await mkdir(join(dir, 'small'), { recursive: true });
  const [big] = await makeLayout(join(dir, 'image-layout'), [{ size: 1024 * MiB, seed: 7 }]);
  if (!big) throw new Error('bench: the component image has no layer');
  const bigBlob = { file: join(dir, 'image-layout', 'blobs', 'sha256', big.digest.slice(7)), digest: big.digest };
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
  // The same 1 GiB folder as a plain Dir/v1 blob (application/x-tar): a tar lading writes itself.
  await writeFile(
    join(dir, 'component-constructor-tar.yaml'),
    `name: ${name}\nversion: 1.0.0\nprovider:\n  name: bench\nresources:\n  - name: folder\n    type: blob\n    input:\n      type: dir/v1\n      path: ./image-layout\n`,
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
  const smallBlobs: string[] = [];
  for (const child of index.manifests) {
    const m = JSON.parse((await fetchAll(exported, child)).toString()) as { config: Descriptor; layers: Descriptor[] };
    for (const d of [m.config, ...m.layers]) if (d.digest !== big.digest) smallBlobs.push(d.digest);
  }
  const tagged = await OciLayout.open(layout, { mode: 'create' });
  for (const [i, d] of children.entries()) await tagged.tag(await tagged.resolve(d), `part${i}`);
  const sourceRepository = `seed/component-descriptors/${name}`;
  return {
    dir,
    ctf,
    name,
    layout,
    children,
    sourceRepository,
    smallBlobs: [...new Set(smallBlobs)],
    bytes: 1024 * MiB + 100 * 16 * 1024,
    bigBlob,
  };
}

function componentCases(c: ComponentBench, host: string, far: string, out: string): Case[] {
  /** skopeo copying the component's two manifests (and so every blob) from `from` to `to`. */
  const skopeoParts = (from: (d: string, i: number) => string, to: string, flags: string) =>
    c.children
      .map(
        (d, i) =>
          `skopeo copy -q --preserve-digests ${flags} ${from(d, i)} docker://${to}/component-descriptors/${c.name}:part${i}`,
      )
      .join(' && ');
  const fromSeed = (d: string) => `docker://${host}/seed/component-descriptors/${c.name}@${d}`;
  const registryFlags = '--src-tls-verify=false --dest-tls-verify=false';
  return [
    {
      name: 'add-cv-1GiB-dir',
      bytes: 1024 * MiB,
      lading: (r) => [
        process.execPath,
        [cli, 'add', 'cv', '-c', join(c.dir, 'component-constructor.yaml'), '-r', join(out, `ctf-${r}`)],
      ],
      // The floor for the same work (issue 18): read the folder once as a tar, write that tar into
      // the run's output folder (as lading writes the CTF there) and hash it. Without the `tee` it
      // would be a floor for reading and hashing only, which skips the 1 GiB write lading must do.
      skopeo: (r) => [
        'bash',
        [
          '-c',
          `set -o pipefail; tar -C ${c.dir} -cf - image-layout small | tee ${join(out, `floor-${r}.tar`)} | openssl sha256 > /dev/null`,
        ],
      ],
    },
    {
      // The folder as a plain tar blob (Dir/v1 without a media type): lading writes the tar into
      // the CTF and hashes it on the way; the floor writes the same folder's tar and hashes it.
      name: 'add-cv-1GiB-tar',
      bytes: 1024 * MiB,
      lading: (r) => [
        process.execPath,
        [cli, 'add', 'cv', '-c', join(c.dir, 'component-constructor-tar.yaml'), '-r', join(out, `ctf-${r}`)],
      ],
      skopeo: (r) => [
        'bash',
        [
          '-c',
          `set -o pipefail; tar -C ${c.dir} -cf - image-layout | tee ${join(out, `floor-${r}.tar`)} | openssl sha256 > /dev/null`,
        ],
      ],
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
        ['-c', skopeoParts((_, i) => `oci:${c.layout}:part${i}`, `${host}/skopeo-${r}`, '--dest-tls-verify=false')],
      ],
    },
    {
      // Same registry: lading mounts every blob from the source repository; skopeo (cache removed)
      // downloads and uploads them.
      name: 'transfer-registry-to-registry-same-host',
      bytes: c.bytes,
      lading: (r) => [
        process.execPath,
        [cli, 'transfer', 'cv', `http://${host}/seed//${c.name}:1.0.0`, `http://${host}/lading-rr-${r}`],
      ],
      skopeo: (r) => ['bash', ['-c', skopeoParts(fromSeed, `${host}/skopeo-rr-${r}`, registryFlags)]],
    },
    {
      // Another registry: every byte travels, for both tools.
      name: 'transfer-registry-to-other-registry',
      bytes: c.bytes,
      lading: (r) => [
        process.execPath,
        [cli, 'transfer', 'cv', `http://${host}/seed//${c.name}:1.0.0`, `http://${far}/lading-far-${r}`],
      ],
      skopeo: (r) => ['bash', ['-c', skopeoParts(fromSeed, `${far}/skopeo-far-${r}`, registryFlags)]],
    },
  ];
}

await mkdir(join(root, 'bench'), { recursive: true });
await main();
