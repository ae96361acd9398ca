// Shared by the reliability tests: the bad-input corpus (test/fixtures/bad), the builders of its
// binary cases (tars, gzip streams, bombs), directory snapshots, and a CLI runner that samples RSS.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CtfArchive, parseArtifactIndex } from '../src/ctf/index.js';
import { pullFiles } from '../src/files/index.js';
import { OciLayout } from '../src/layout/index.js';
import {
  Annotation,
  assertOciSchema,
  checkTagOrDigest,
  type Descriptor,
  digestBytes,
  EmptyJsonBytes,
  EmptyJsonDescriptor,
  encodeManifest,
  MediaType,
  parseLayoutReference,
  parseNode,
  parseReference,
} from '../src/oci/index.js';
import {
  decodeDescriptor,
  encodeDescriptorJson,
  openComponentRepository,
  parseComponentReference,
  parseConstructor,
} from '../src/ocm/index.js';
import { cliArgs } from './support/cli.js';

export const badRoot = fileURLToPath(new URL('./fixtures/bad/', import.meta.url));

export const kinds = [
  'references',
  'manifests',
  'indexes',
  'layouts',
  'ctf-index',
  'constructors',
  'descriptors',
  'tar',
] as const;
export type Kind = (typeof kinds)[number];

/** One entry of a kind's cases.json; the fields beyond code and via depend on the kind. */
export interface BadCase {
  code: string;
  via: string;
  input?: string;
  mediaType?: string;
  file?: string;
  generate?: { bytes?: number; sparse?: number; directory?: boolean; missing?: boolean };
  write?: boolean;
  rss?: boolean;
  config?: boolean;
  entries?: EntrySpec[];
  trailer?: boolean;
  append?: number;
  raw?: 'empty' | 'text';
  gzip?: boolean;
  cut?: number;
  corruptCrc?: boolean;
  wrongContentDigest?: boolean;
  title?: string;
  bomb?: { name: string; bytes: number };
}

export async function loadCases(kind: Kind): Promise<[string, BadCase][]> {
  const all = JSON.parse(await readFile(join(badRoot, kind, 'cases.json'), 'utf8')) as Record<string, BadCase>;
  return Object.entries(all);
}

// ---------------------------------------------------------------------------------------------
// tar and gzip builders

export interface EntrySpec {
  name?: string;
  /** The typeflag character; '0' by default. */
  type?: string;
  data?: string;
  /** The size written in the header when it differs from the data. */
  size?: number;
  linkname?: string;
  pax?: Record<string, string>;
  paxRaw?: string;
  gnuLongName?: string;
  checksum?: 'bad';
  magic?: string;
  sizeField?: string;
  sizeBase256?: 'negative' | 'huge';
  zeroBlock?: boolean;
  paxOnly?: Record<string, string>;
}

/** `{big:N}` stands for N bytes of `a`, `{abs}` for a folder outside the target. */
function expand(text: string, abs: string): string {
  return text.replace(/\{big:(\d+)\}/g, (_, n: string) => 'a'.repeat(Number(n))).replaceAll('{abs}', abs);
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  buf.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
}

function header(o: {
  name: string;
  type?: string;
  size: number;
  linkname?: string;
  checksum?: 'bad';
  magic?: string;
  sizeField?: string;
  sizeBase256?: 'negative' | 'huge';
}): Buffer {
  const b = Buffer.alloc(512);
  b.write(o.name, 0, 100, 'utf8');
  octal(b, 100, 8, 0o644);
  octal(b, 108, 8, 0);
  octal(b, 116, 8, 0);
  if (o.sizeField !== undefined) b.write(o.sizeField.padEnd(12, '\0'), 124, 12, 'latin1');
  else if (o.sizeBase256 === 'negative') b.fill(0xff, 124, 136);
  else if (o.sizeBase256 === 'huge') {
    b[124] = 0x80;
    b.fill(0xff, 125, 136);
  } else octal(b, 124, 12, o.size);
  octal(b, 136, 12, 0);
  b[156] = (o.type ?? '0').charCodeAt(0);
  b.write(o.linkname ?? '', 157, 100, 'utf8');
  b.write(o.magic ?? 'ustar\0', 257, 6, 'latin1');
  b.write('00', 263, 2, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  if (o.checksum === 'bad') sum += 1;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return b;
}

function pad(length: number): Buffer {
  return Buffer.alloc((512 - (length % 512)) % 512);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const len = Buffer.byteLength(body);
  let n = len + String(len).length;
  while (n !== len + String(n).length) n = len + String(n).length;
  return `${n}${body}`;
}

function extended(type: string, body: Buffer): Buffer[] {
  return [
    header({ name: type === 'L' ? '././@LongLink' : 'PaxHeader', type, size: body.length }),
    body,
    pad(body.length),
  ];
}

export function tarBytes(entries: EntrySpec[], options: { trailer?: boolean; append?: number; abs: string }): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.zeroBlock) {
      parts.push(Buffer.alloc(512));
      continue;
    }
    if (e.paxOnly) {
      const body = Object.entries(e.paxOnly)
        .map(([k, v]) => paxRecord(k, v))
        .join('');
      parts.push(...extended('x', Buffer.from(body)));
      continue;
    }
    if (e.pax || e.paxRaw !== undefined) {
      const body =
        e.paxRaw ??
        Object.entries(e.pax ?? {})
          .map(([k, v]) => paxRecord(k, expand(v, options.abs)))
          .join('');
      parts.push(...extended('x', Buffer.from(body)));
    }
    if (e.gnuLongName !== undefined)
      parts.push(...extended('L', Buffer.from(`${expand(e.gnuLongName, options.abs)}\0`)));
    const data = Buffer.from(expand(e.data ?? '', options.abs));
    const declared = e.size ?? data.length;
    parts.push(
      header({
        name: expand(e.name ?? '', options.abs),
        size: declared,
        ...(e.type ? { type: e.type } : {}),
        ...(e.linkname !== undefined ? { linkname: expand(e.linkname, options.abs) } : {}),
        ...(e.checksum ? { checksum: e.checksum } : {}),
        ...(e.magic !== undefined ? { magic: e.magic } : {}),
        ...(e.sizeField !== undefined ? { sizeField: e.sizeField } : {}),
        ...(e.sizeBase256 ? { sizeBase256: e.sizeBase256 } : {}),
      }),
      data,
      declared === data.length ? pad(data.length) : Buffer.alloc(0),
    );
  }
  if (options.trailer !== false) parts.push(Buffer.alloc(1024));
  if (options.append) parts.push(Buffer.alloc(options.append, 0x41));
  return Buffer.concat(parts);
}

/**
 * A gzip bomb: a tar whose one entry of `bytes` zeros is sent as gzip members of 64 MiB of zeros
 * each (concatenated members are one valid gzip stream), so the file stays near 1/1000 of that.
 */
export function gzipBomb(prefix: EntrySpec[], name: string, bytes: number, abs: string): Buffer {
  const chunk = 64 * 1024 * 1024;
  if (bytes % chunk !== 0) throw new Error('bomb size must be a multiple of 64 MiB');
  const head = tarBytes(prefix, { trailer: false, abs });
  const zeros = gzipSync(Buffer.alloc(chunk), { level: 9 });
  return Buffer.concat([
    gzipSync(Buffer.concat([head, header({ name, size: bytes })])),
    ...Array.from({ length: bytes / chunk }, () => zeros),
    gzipSync(Buffer.alloc(1024)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Snapshots: what a folder holds, to show a failed command changed nothing.

export type Snapshot = Record<string, string>;

export async function snapshot(root: string, exclude: readonly string[] = []): Promise<Snapshot> {
  const out: Snapshot = {};
  async function walk(dir: string, rel: string): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (exclude.includes(r)) continue;
      const s = await lstat(path);
      if (s.isDirectory()) {
        out[`${r}/`] = `dir ${(s.mode & 0o777).toString(8)}`;
        await walk(path, r);
      } else if (s.isSymbolicLink()) {
        out[r] = `link ${await readlink(path)}`;
      } else if (s.isFile() && s.size <= 8 * 1024 * 1024) {
        out[r] = `file ${s.size} ${createHash('sha256')
          .update(await readFile(path))
          .digest('hex')}`;
      } else {
        out[r] = `other ${s.size} ${s.mtimeMs} ${s.ino}`;
      }
    }
  }
  await walk(root, '');
  return out;
}

// ---------------------------------------------------------------------------------------------
// The CLI as a child process, with its peak RSS sampled from /proc.

export interface CliRun {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Highest resident set size seen, in bytes (0 where /proc is missing). */
  maxRss: number;
  ms: number;
}

async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): { pid: number; done: Promise<CliRun>; stdout: () => string; stderr: () => string } {
  const started = Date.now();
  const child = spawn(process.execPath, cliArgs(args), {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let maxRss = 0;
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(options.input ?? '');
  const sampler = setInterval(() => {
    if (child.pid) void rssOf(child.pid).then((r) => (maxRss = Math.max(maxRss, r)));
  }, 20);
  const done = new Promise<CliRun>((resolve) => {
    child.on('close', (code, signal) => {
      clearInterval(sampler);
      resolve({ code: code ?? -1, signal, stdout, stderr, maxRss, ms: Date.now() - started });
    });
  });
  return { pid: child.pid ?? -1, done, stdout: () => stdout, stderr: () => stderr };
}

export function runCli(args: string[], options: Parameters<typeof startCli>[1] = {}): Promise<CliRun> {
  return startCli(args, options).done;
}

// ---------------------------------------------------------------------------------------------
// Preparing one case: its files in a fresh folder, the library call and the CLI command.

export interface PreparedCase {
  /** The library function a program would call on this input; must reject with the case's code. */
  lib: () => Promise<unknown>;
  /** The lading command a user would run on it (cwd: the case folder). */
  cli: string[];
  /** Folders (relative to the case folder) that the command may write: left out of the snapshot. */
  writable: string[];
}

const okLayoutIndex = '{"schemaVersion":2,"manifests":[]}';
const okLayoutFile = '{"imageLayoutVersion":"1.0.0"}';
const okCtfIndex = '{"schemaVersion":1,"artifacts":null}';
const okConstructor =
  'name: acme.org/ok\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: r\n    type: blob\n    input:\n      type: utf8/v1\n      text: hi\n';

async function caseBytes(kind: Kind, name: string, c: BadCase): Promise<Buffer> {
  if (c.generate?.bytes) {
    const head = '{"schemaVersion":2,"annotations":{"x":"';
    const tail = '"}}';
    return Buffer.concat([
      Buffer.from(head),
      Buffer.alloc(c.generate.bytes - head.length - tail.length, 0x61),
      Buffer.from(tail),
    ]);
  }
  return readFile(join(badRoot, kind, name));
}

async function pushBlob(target: OciLayout, bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>) {
  const desc: Descriptor = {
    mediaType,
    digest: digestBytes(bytes),
    size: bytes.byteLength,
    ...(annotations ? { annotations } : {}),
  };
  if (!(await target.exists(desc))) await target.push(desc, bytes);
  return desc;
}

/** A layout whose `v1` is an artifact with one layer. */
async function layoutWithLayer(path: string, layer: Buffer, mediaType: string, annotations: Record<string, string>) {
  const layout = await OciLayout.open(path, { mode: 'create' });
  await pushBlob(layout, EmptyJsonBytes, MediaType.Empty);
  const layerDesc = await pushBlob(layout, layer, mediaType, annotations);
  const manifest = Buffer.from(
    encodeManifest({
      schemaVersion: 2,
      mediaType: MediaType.ImageManifest,
      artifactType: 'application/vnd.test',
      config: EmptyJsonDescriptor,
      layers: [layerDesc],
    }),
  );
  const desc = await pushBlob(layout, manifest, MediaType.ImageManifest);
  await layout.tag(desc, 'v1');
}

/** A CTF folder holding `acme.org/bad:1.0.0` with the given descriptor layer and config. */
async function ctfWithDescriptor(path: string, layer: Buffer, layerType: string, config?: Buffer) {
  const archive = await CtfArchive.open(path, { mode: 'create' });
  const repo = archive.repository('component-descriptors/acme.org/bad');
  const push = async (bytes: Buffer, mediaType: string) => {
    const desc: Descriptor = { mediaType, digest: digestBytes(bytes), size: bytes.length };
    if (!(await repo.exists(desc))) await repo.push(desc, bytes);
    return desc;
  };
  const layerDesc = await push(layer, layerType);
  const configDesc = await push(
    config ?? Buffer.from(JSON.stringify({ componentDescriptorLayer: layerDesc })),
    'application/vnd.ocm.software.component.config.v1+json',
  );
  const manifest = await push(
    Buffer.from(
      encodeManifest({
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        config: configDesc,
        layers: [layerDesc],
      }),
    ),
    MediaType.ImageManifest,
  );
  await repo.tag(manifest, '1.0.0');
  await archive.close();
}

const goodDescriptor = Buffer.from(
  encodeDescriptorJson({
    meta: { schemaVersion: 'v2' },
    component: {
      name: 'acme.org/bad',
      version: '1.0.0',
      provider: { name: 'acme.org' },
      repositoryContexts: [],
      resources: [],
      sources: [],
      componentReferences: [],
    },
  }),
);

/** The archive bytes of a tar case. */
function tarCaseBytes(c: BadCase, abs: string, base: EntrySpec[]): Buffer {
  if (c.raw === 'empty') return Buffer.alloc(0);
  if (c.raw === 'text') return Buffer.from('this is plain text, not an archive\n'.repeat(4));
  const given = c.entries ?? [];
  const names = new Set(given.map((e) => e.name));
  const entries = [...base.filter((e) => !names.has(e.name)), ...given];
  if (c.bomb) return gzipBomb(entries, c.bomb.name, c.bomb.bytes, abs);
  let bytes = tarBytes(entries, {
    ...(c.trailer === false ? { trailer: false } : {}),
    ...(c.append ? { append: c.append } : {}),
    abs,
  });
  if (c.gzip || c.via === 'ctf-tgz' || c.via === 'pull') {
    if (c.gzip !== false) bytes = gzipSync(bytes);
    if (c.cut) bytes = bytes.subarray(0, bytes.length - c.cut);
    if (c.corruptCrc) {
      bytes = Buffer.from(bytes);
      const at = bytes.length - 8;
      bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    }
  }
  return bytes;
}

async function sparseFile(path: string, size: number): Promise<void> {
  const handle = await open(path, 'w');
  await handle.truncate(size);
  await handle.close();
}

export async function prepareCase(kind: Kind, name: string, c: BadCase, dir: string): Promise<PreparedCase> {
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await mkdir(join(dir, 'home'), { recursive: true });
  // The CLI runs with TMPDIR in the case folder; tsx keeps its compile cache there, shared.
  const cache = tsxCache();
  await mkdir(join(tmpdir(), cache), { recursive: true });
  await symlink(join(tmpdir(), cache), join(dir, 'tmp', cache));
  const abs = join(dir, 'outside');
  const prepared = await prepare(kind, name, c, dir, abs);
  return { ...prepared, writable: [...prepared.writable, `tmp/${cache}`] };
}

/** tsx's compile cache folder under the temp folder. */
export function tsxCache(): string {
  return `tsx-${process.getuid?.() ?? 0}`;
}

async function prepare(kind: Kind, name: string, c: BadCase, dir: string, abs: string): Promise<PreparedCase> {
  switch (kind) {
    case 'references': {
      const layout = join(dir, 'layout');
      if (c.via === 'layout') await OciLayout.open(layout, { mode: 'create' });
      const input = (c.input ?? '').replaceAll('{layout}', layout);
      if (c.via === 'oci') return { lib: async () => parseReference(input), cli: ['resolve', input], writable: [] };
      if (c.via === 'layout') {
        return {
          lib: async () => {
            const ref = parseLayoutReference(input);
            for (const tag of ref.reference ? ref.reference.split(',') : []) checkTagOrDigest(tag, input);
          },
          cli: ['resolve', '--oci-layout', input],
          writable: [],
        };
      }
      return { lib: async () => parseComponentReference(input), cli: ['get', 'cv', input], writable: [] };
    }
    case 'manifests':
    case 'indexes': {
      const bytes = await caseBytes(kind, name, c);
      const file = join(dir, 'manifest.json');
      await writeFile(file, bytes);
      await OciLayout.open(join(dir, 'layout'), { mode: 'create' });
      const mediaType = c.mediaType ?? MediaType.ImageManifest;
      return {
        lib: async () =>
          c.via === 'schema'
            ? assertOciSchema(mediaType, JSON.parse(bytes.toString('utf8')), name)
            : parseNode(bytes, mediaType, name),
        cli: ['manifest', 'push', '--oci-layout', `${join(dir, 'layout')}:v1`, file, '--media-type', mediaType],
        writable: [],
      };
    }
    case 'layouts': {
      const layout = join(dir, 'layout');
      await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
      const files: Record<string, string> = { 'oci-layout': okLayoutFile, 'index.json': okLayoutIndex };
      for (const [f, text] of Object.entries(files)) if (f !== c.file) await writeFile(join(layout, f), text);
      const target = join(layout, c.file ?? 'index.json');
      if (c.generate?.sparse) await sparseFile(target, c.generate.sparse);
      else if (c.generate?.directory) await mkdir(target);
      else if (!c.generate?.missing) await writeFile(target, await readFile(join(badRoot, kind, name)));
      return {
        lib: async () => (await OciLayout.open(layout)).resolve('v1'),
        cli: ['cp', '--from-oci-layout', `${layout}:v1`, '--to-oci-layout', `${join(dir, 'dst')}:v1`],
        writable: [],
      };
    }
    case 'ctf-index': {
      const ctf = join(dir, 'ctf');
      await mkdir(join(ctf, 'blobs'), { recursive: true });
      const index = join(ctf, 'artifact-index.json');
      if (c.generate?.sparse) await sparseFile(index, c.generate.sparse);
      else await writeFile(index, await readFile(join(badRoot, kind, name)));
      await writeFile(join(dir, 'ok.yaml'), okConstructor);
      return {
        lib: async () => {
          if (c.via === 'parseArtifactIndex') return parseArtifactIndex(await readFile(index), index);
          const archive = await CtfArchive.open(ctf);
          await archive.close();
          return undefined;
        },
        cli: c.write ? ['add', 'cv', '-c', 'ok.yaml', '-r', ctf] : ['get', 'cv', `${ctf}//acme.org/x:1.0.0`],
        writable: [],
      };
    }
    case 'constructors': {
      const file = join(dir, 'component-constructor.yaml');
      const bytes = await readFile(join(badRoot, kind, name));
      await writeFile(file, bytes);
      return {
        lib: async () => parseConstructor(bytes, { file, env: false }),
        cli: ['add', 'cv', '-c', file, '-r', join(dir, 'ctf')],
        writable: [],
      };
    }
    case 'descriptors': {
      const bytes = await readFile(join(badRoot, kind, name));
      const ctf = join(dir, 'ctf');
      const mediaType = c.mediaType ?? 'application/vnd.ocm.software.component-descriptor.v2+json';
      if (c.config)
        await ctfWithDescriptor(
          ctf,
          goodDescriptor,
          'application/vnd.ocm.software.component-descriptor.v2+json',
          bytes,
        );
      else await ctfWithDescriptor(ctf, bytes, mediaType);
      return {
        lib: async () => {
          if (!c.config) return decodeDescriptor(bytes, mediaType, name);
          const opened = await openComponentRepository({
            kind: 'CommonTransportFormat',
            type: 'CommonTransportFormat/v1',
            filePath: ctf,
          });
          try {
            return await opened.repository.getComponentVersion('acme.org/bad', '1.0.0');
          } finally {
            await opened.close();
          }
        },
        cli: ['get', 'cv', `${ctf}//acme.org/bad:1.0.0`],
        writable: [],
      };
    }
    case 'tar': {
      if (c.via === 'layout-tar') {
        const file = join(dir, 'layout.tar');
        await writeFile(
          file,
          tarCaseBytes(c, abs, [
            { name: 'oci-layout', data: okLayoutFile },
            { name: 'index.json', data: okLayoutIndex },
          ]),
        );
        return {
          lib: async () => (await OciLayout.open(file)).resolve('v1'),
          cli: ['cp', '--from-oci-layout', `${file}:v1`, '--to-oci-layout', `${join(dir, 'dst')}:v1`],
          writable: [],
        };
      }
      if (c.via === 'ctf-tar' || c.via === 'ctf-tgz') {
        const file = join(dir, c.via === 'ctf-tar' ? 'ctf.tar' : 'ctf.tgz');
        await writeFile(file, tarCaseBytes(c, abs, [{ name: 'artifact-index.json', data: okCtfIndex }]));
        return {
          lib: async () => {
            // The library gets a small bound on bombs (fast); the command keeps the default one.
            const archive = await CtfArchive.open(file, {
              tempDir: join(dir, 'tmp'),
              ...(c.bomb ? { maxExtractedBytes: 64 * 1024 * 1024 } : {}),
            });
            await archive.close();
          },
          cli: ['get', 'cv', `${file}//acme.org/x:1.0.0`],
          writable: [],
        };
      }
      // pull and pull-title: an artifact in a layout whose layer is the archive (or a titled file).
      const layout = join(dir, 'layout');
      if (c.via === 'pull-title') {
        await layoutWithLayer(layout, Buffer.from('x'), MediaType.ImageLayer, {
          [Annotation.Title]: expand(c.title ?? '', abs),
        });
      } else {
        const tar = tarBytes(
          (c.entries ?? []).map((e) => e),
          { ...(c.trailer === false ? { trailer: false } : {}), abs },
        );
        const layer = tarCaseBytes(c, abs, []);
        await layoutWithLayer(layout, layer, MediaType.ImageLayerGzip, {
          [Annotation.Title]: 'dir',
          [Annotation.OrasContentUnpack]: 'true',
          [Annotation.OrasContentDigest]: c.wrongContentDigest ? digestBytes(Buffer.from('other')) : digestBytes(tar),
        });
      }
      return {
        lib: async () => {
          const source = await OciLayout.open(layout);
          return pullFiles(source, 'v1', { output: join(dir, 'out-lib') });
        },
        cli: ['pull', '--oci-layout', `${layout}:v1`, '-o', join(dir, 'out')],
        writable: ['out', 'out-lib'],
      };
    }
  }
}
