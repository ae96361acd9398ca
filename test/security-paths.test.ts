// Issue 14, paths: nothing from an artifact ever lands outside the output. Crafted directory
// layers (links through links, hard links, folders swapped for links), odd titles and long names
// are pulled from the real registry, from an OCI layout tar and with -k, and crafted CTF archives
// are opened; every test checks the file system OUTSIDE the output (a sentinel folder beside it,
// the test folder itself) and that no link left in the output leads out of it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { link, lstat, mkdir, readdir, readFile, readlink, realpath, utimes, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { Storage, Target } from '../src/content/index.js';
import { packManifest } from '../src/copy/index.js';
import { CtfArchive } from '../src/ctf/index.js';
import { pullFiles } from '../src/files/index.js';
import { OciLayout } from '../src/layout/index.js';
import { Annotation, type Descriptor, digestBytes, isLadingError, MediaType } from '../src/oci/index.js';
import { Registry } from '../src/registry/index.js';
import { assertOneLineError, type CliResult, lading } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();
const registry = new Registry(peers.plain.host, { plainHttp: true });
after(() => registry.close());

let unique = 0;
function repoName(what: string): string {
  unique += 1;
  return `security-paths/${what}-${process.pid}-${unique}`;
}

// ---------------------------------------------------------------------------------------------
// crafted content

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  linkname?: string;
  body?: string;
  mtime?: Date;
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const e of entries) {
    const type = e.type ?? 'file';
    p.entry(
      {
        name: e.name,
        type,
        mode: type === 'directory' ? 0o755 : 0o644,
        mtime: e.mtime ?? new Date('2020-01-01T00:00:00Z'),
        ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      },
      type === 'file' ? (e.body ?? '') : '',
    );
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A layer: a plain file, or a directory (ORAS unpack) given as tar entries. */
type Layer = { title: string; file: string } | { title: string; dir: Entry[] };

async function pushLayer(store: Storage, layer: Layer): Promise<Descriptor> {
  let bytes: Buffer;
  let desc: Descriptor;
  if ('file' in layer) {
    bytes = Buffer.from(layer.file);
    desc = { mediaType: MediaType.ImageLayer, digest: digestBytes(bytes), size: bytes.length };
    desc.annotations = { [Annotation.Title]: layer.title };
  } else {
    const tar = await tarOf(layer.dir);
    bytes = gzipSync(tar);
    desc = { mediaType: MediaType.ImageLayerGzip, digest: digestBytes(bytes), size: bytes.length };
    desc.annotations = {
      [Annotation.Title]: layer.title,
      [Annotation.OrasContentUnpack]: 'true',
      [Annotation.OrasContentDigest]: digestBytes(tar),
    };
  }
  if (!(await store.exists(desc))) await store.push(desc, bytes);
  return desc;
}

async function artifactIn(target: Target, layers: Layer[]): Promise<void> {
  const descs: Descriptor[] = [];
  for (const layer of layers) descs.push(await pushLayer(target, layer));
  await target.tag(await packManifest(target, descs), 'v1');
}

/** Pushes an ORAS-style artifact to the real registry; returns `host/repo:v1`. */
async function inRegistry(what: string, layers: Layer[]): Promise<string> {
  const name = repoName(what);
  await artifactIn(registry.repository(name), layers);
  return `${peers.plain.host}/${name}:v1`;
}

/** Writes the artifact as an OCI layout tar file (a layout folder, packed); returns the tar's path. */
async function inLayoutTar(folder: string, layers: Layer[]): Promise<string> {
  const dir = join(folder, 'layout');
  await artifactIn(await OciLayout.open(dir, { mode: 'create' }), layers);
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const info = await lstat(join(dir, name));
    if (info.isDirectory()) p.entry({ name: `${name}/`, type: 'directory' });
    else p.entry({ name, size: info.size }, await readFile(join(dir, name)));
  }
  p.finalize();
  await done;
  const file = join(folder, 'layout.tar');
  await writeFile(file, Buffer.concat(chunks));
  return file;
}

// ---------------------------------------------------------------------------------------------
// what the tests look at

/**
 * A test's folder: `input/` (crafted artifacts), `out/` (the output) and, beside them, the
 * sentinel folder `sentinel/` with a file and a subfolder, all dated 2001, that nothing may touch.
 */
async function scene(): Promise<{
  path: string;
  out: string;
  input: string;
  sentinel: string;
  cleanup: () => Promise<void>;
}> {
  const t = await tempDir('lading-sec-paths-');
  const input = join(t.path, 'input');
  const sentinel = join(t.path, 'sentinel');
  await mkdir(input);
  await mkdir(join(sentinel, 'inner'), { recursive: true });
  await writeFile(join(sentinel, 'keep.txt'), 'sentinel');
  const old = new Date('2001-01-01T00:00:00Z');
  for (const p of [join(sentinel, 'keep.txt'), join(sentinel, 'inner'), sentinel, t.path]) await utimes(p, old, old);
  return { path: t.path, out: join(t.path, 'out'), input, sentinel, cleanup: t.cleanup };
}

/** Everything under `root` except the named top-level entries: type, mode, size, mtime, content or link text. */
async function fingerprint(root: string, except: string[] = []): Promise<Record<string, string>> {
  const print: Record<string, string> = {};
  const add = async (path: string) => {
    const info = await lstat(path);
    const rel = relative(root, path) || '.';
    // The root's own time changes with what is made and removed in it: its entries tell that.
    let what = rel === '.' ? `${info.mode.toString(8)}` : `${info.mode.toString(8)} ${info.size} ${info.mtimeMs}`;
    if (info.isSymbolicLink()) what += ` -> ${await readlink(path)}`;
    else if (info.isFile())
      what += ` ${createHash('sha256')
        .update(await readFile(path))
        .digest('hex')}`;
    print[rel] = what;
    if (info.isDirectory()) {
      for (const name of await readdir(path)) {
        if (path === root && except.includes(name)) continue;
        await add(join(path, name));
      }
    }
  };
  await add(root);
  return print;
}

/**
 * Where the link text `text`, read in the real folder `start`, leads on the real file system:
 * followed component by component like the kernel (a `..` climbs from where the walk really is),
 * also through names that do not exist yet.
 */
async function leadsTo(start: string, text: string, hops = { n: 0 }): Promise<string> {
  let cur = isAbsolute(text) ? '/' : start;
  for (const part of text.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = join(cur, part);
    const info = await lstat(next).catch(() => undefined);
    if (info?.isSymbolicLink() && ++hops.n <= 40) cur = await leadsTo(cur, await readlink(next), hops);
    else cur = next;
  }
  return cur;
}

/** Every path under `dir`, relative to it, never following a link (readdir's own recursion may). */
async function entriesUnder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(join(dir, rel))) {
    const path = rel ? join(rel, name) : name;
    out.push(path);
    if ((await lstat(join(dir, path))).isDirectory()) out.push(...(await entriesUnder(dir, path)));
  }
  return out;
}

/** No link anywhere in the output leads out of it. */
async function assertNoLinkLeaves(out: string): Promise<void> {
  const real = await realpath(out).catch(() => undefined);
  if (real === undefined) return;
  for (const name of await entriesUnder(out)) {
    const path = join(out, name);
    if (!(await lstat(path)).isSymbolicLink()) continue;
    const to = await leadsTo(await realpath(dirname(path)), await readlink(path));
    const rel = relative(real, to);
    assert.ok(
      rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)),
      `${name} -> ${await readlink(path)} leads out of the output, to ${to}`,
    );
  }
}

/** The folder outside the output (sentinel, the test folder itself) is exactly as it was. */
async function outsideChecker(
  s: Awaited<ReturnType<typeof scene>>,
  alsoInside: string[] = [],
): Promise<() => Promise<void>> {
  const inside = ['out', 'input', ...alsoInside];
  const before = await fingerprint(s.path, inside);
  return async () => {
    assert.deepEqual(await fingerprint(s.path, inside), before, 'something outside the output changed');
    await assertNoLinkLeaves(s.out);
  };
}

function pull(source: string[], out: string, extra: string[] = []): Promise<CliResult> {
  return lading(['pull', '--concurrency', '1', ...extra, ...source, '-o', out]);
}

// ---------------------------------------------------------------------------------------------
// hostile directory layers

/**
 * `s -> .`, then each link one `..` above the last: all lexically inside `d`, but physically each
 * one folder higher. Once `d` is in the output, `u` is the test folder and the last one `/`
 * whatever the depth of the temp folder; while `d` is unpacked in a pull's staging folder (two
 * levels deeper), `w` is the test folder.
 */
function chain(prefix: string): { entries: Entry[]; top: string; up2: string; up4: string } {
  const names = ['s', 't', 'u', 'v', 'w', 'x', 'y', 'z', 'za', 'zb', 'zc', 'zd', 'ze', 'zf'];
  const entries: Entry[] = [{ name: `${prefix}/s`, type: 'symlink', linkname: '.' }];
  for (let i = 1; i < names.length; i++) {
    entries.push({ name: `${prefix}/${names[i]}`, type: 'symlink', linkname: `${names[i - 1]}/..` });
  }
  return { entries, top: names[names.length - 1] as string, up2: 'u', up4: 'w' };
}

describe('the checks themselves', () => {
  test('assertNoLinkLeaves sees a chain of links that is lexically inside but leads out', async () => {
    const s = await scene();
    try {
      const { symlink } = await import('node:fs/promises');
      await mkdir(join(s.out, 'd'), { recursive: true });
      await symlink('.', join(s.out, 'd', 's'));
      await symlink('s/..', join(s.out, 'd', 't'));
      await assertNoLinkLeaves(s.out); // t is the output itself: inside
      await symlink('t/..', join(s.out, 'd', 'u'));
      await assert.rejects(assertNoLinkLeaves(s.out), /u -> t\/\.\. leads out of the output/);
    } finally {
      await s.cleanup();
    }
  });
});

describe('hostile directory layers (real registry)', () => {
  test('a chain of links, lexically inside but physically outside, is refused: no link to /etc/passwd, nothing written', async () => {
    const s = await scene();
    try {
      const c = chain('d');
      const ref = await inRegistry('chain', [
        {
          title: 'd',
          dir: [
            { name: 'd/', type: 'directory' },
            ...c.entries,
            { name: 'd/passwd', type: 'symlink', linkname: `${c.top}/etc/passwd` },
            { name: 'd/keep', type: 'symlink', linkname: `${c.up2}/sentinel/keep.txt` },
          ],
        },
      ]);
      const unchanged = await outsideChecker(s);
      const r = await pull(['--plain-http', ref], s.out);
      await unchanged();
      await assert.rejects(lstat(s.out), 'the output folder made for the pull is gone');
      assertOneLineError(r, /tar entry "d\/t": symlink climbs with "\.\." after a named folder/);
      assert.doesNotMatch(r.stderr, /allow-path-traversal/, 'no hint at an option that would not permit it');
    } finally {
      await s.cleanup();
    }
  });

  test('a later layer is never written through a link an earlier layer planted (both orders)', async () => {
    const s = await scene();
    try {
      const c = chain('d');
      const planter: Layer = { title: 'd', dir: [{ name: 'd/', type: 'directory' }, ...c.entries] };
      const writer: Layer = { title: `d/${c.up2}/sentinel/evil.txt`, file: 'pwned' };
      const unchanged = await outsideChecker(s);
      for (const layers of [
        [planter, writer],
        [writer, planter],
      ]) {
        const r = await pull(['--plain-http', await inRegistry('later-layer', layers)], s.out);
        await unchanged();
        assertOneLineError(r, /symlink climbs with "\.\."/);
      }
      // The same with a link that stays inside: still never merged through.
      const inner: Layer = {
        title: 'd',
        dir: [
          { name: 'd/sub/', type: 'directory' },
          { name: 'd/x', type: 'symlink', linkname: 'sub' },
        ],
      };
      const through: Layer = { title: 'd/x/evil.txt', file: 'through the link' };
      for (const layers of [
        [inner, through],
        [through, inner],
      ]) {
        const r = await pull(['--plain-http', await inRegistry('later-layer-inside', layers)], s.out);
        assertOneLineError(
          r,
          /d\/x\/evil\.txt: would be written through .*d\/x, a link that the artifact itself makes; nothing was written/,
        );
        await assert.rejects(lstat(s.out));
        await unchanged();
      }
    } finally {
      await s.cleanup();
    }
  });

  test('a folder entry or a hard link never touches what a link points to (mtime of an outside folder, a link to a link)', async () => {
    const s = await scene();
    try {
      const c = chain('d');
      const unchanged = await outsideChecker(s);
      const touchFolder = await inRegistry('dir-over-link', [
        {
          title: 'd',
          dir: [
            ...c.entries,
            { name: 'd/m', type: 'symlink', linkname: `${c.up4}/sentinel` },
            { name: 'd/m', type: 'directory', mtime: new Date('2010-01-01T00:00:00Z') },
          ],
        },
      ]);
      const touched = await pull(['--plain-http', touchFolder], s.out);
      await unchanged();
      assertOneLineError(touched, /symlink climbs/);
      const hardToLink = await inRegistry('hardlink-to-link', [
        {
          title: 'd',
          dir: [
            { name: 'd/f', body: 'inside' },
            { name: 'd/q', type: 'symlink', linkname: 'f' },
            { name: 'd/h', type: 'link', linkname: 'd/q', mtime: new Date('2010-01-01T00:00:00Z') },
          ],
        },
      ]);
      assertOneLineError(
        await pull(['--plain-http', hardToLink], s.out),
        /tar entry "d\/h": hard link to "q", which is not a file unpacked before it/,
      );
      const hardOut = await inRegistry('hardlink-out', [
        { title: 'd', dir: [{ name: 'd/h', type: 'link', linkname: 'sentinel/keep.txt' }] },
      ]);
      assertOneLineError(
        await pull(['--plain-http', hardOut], s.out),
        /hard link to "sentinel\/keep\.txt" would be written outside/,
      );
      await assert.rejects(lstat(s.out));
      await unchanged();
    } finally {
      await s.cleanup();
    }
  });

  test('hard links: a later entry replaces the name, never writes through the link; a file hard-linked outside is replaced, not written', async () => {
    const s = await scene();
    try {
      // The output already holds d/a as a hard link to the sentinel file (the user's own link).
      await mkdir(join(s.out, 'd'), { recursive: true });
      await link(join(s.sentinel, 'keep.txt'), join(s.out, 'd', 'a'));
      const unchanged = await outsideChecker(s);
      const ref = await inRegistry('hardlink-write-through', [
        {
          title: 'd',
          dir: [
            { name: 'd/a', body: 'first' },
            { name: 'd/h', type: 'link', linkname: 'd/a' },
            { name: 'd/sub/h2', type: 'link', linkname: 'd/h' },
            // The link target's name again, then the link's: each a new file at that name.
            { name: 'd/a', body: 'second' },
            { name: 'd/h', body: 'third' },
          ],
        },
      ]);
      const r = await pull(['--plain-http', ref], s.out);
      assert.equal(r.code, 0, r.stderr);
      await unchanged();
      assert.equal(await readFile(join(s.out, 'd', 'a'), 'utf8'), 'second');
      assert.equal(await readFile(join(s.out, 'd', 'h'), 'utf8'), 'third');
      assert.equal(
        await readFile(join(s.out, 'd', 'sub', 'h2'), 'utf8'),
        'first',
        'the first file, through its other name',
      );
      assert.equal((await lstat(join(s.out, 'd', 'sub', 'h2'))).nlink, 1);
      assert.equal(await readFile(join(s.sentinel, 'keep.txt'), 'utf8'), 'sentinel');
    } finally {
      await s.cleanup();
    }
  });

  test('hard links only to a regular file this layer made before them: not through a symlink, not to a folder, another layer, a later entry or outside', async () => {
    const s = await scene();
    try {
      const unchanged = await outsideChecker(s);
      const cases: [string, Layer[], RegExp][] = [
        [
          'through-symlink',
          [
            {
              title: 'd',
              dir: [
                { name: 'd/f', body: 'f' },
                { name: 'd/s', type: 'symlink', linkname: '.' },
                { name: 'd/h', type: 'link', linkname: 'd/s/f' },
              ],
            },
          ],
          /tar entry "d\/h": hard link to "s\/f", which is not a file unpacked before it/,
        ],
        [
          'to-folder',
          [
            {
              title: 'd',
              dir: [
                { name: 'd/sub/', type: 'directory' },
                { name: 'd/h', type: 'link', linkname: 'd/sub' },
              ],
            },
          ],
          /tar entry "d\/h": hard link to "sub", which is not a file unpacked before it/,
        ],
        [
          'to-later-entry',
          [
            {
              title: 'd',
              dir: [
                { name: 'd/h', type: 'link', linkname: 'd/f' },
                { name: 'd/f', body: 'f' },
              ],
            },
          ],
          /tar entry "d\/h": hard link to "f", which is not a file unpacked before it/,
        ],
        [
          'to-other-layer',
          [
            { title: 'e', dir: [{ name: 'e/f', body: 'f' }] },
            { title: 'd', dir: [{ name: 'd/h', type: 'link', linkname: 'e/f' }] },
          ],
          /hard link to "e\/f" would be written outside/,
        ],
        [
          'absolute',
          [{ title: 'd', dir: [{ name: 'd/h', type: 'link', linkname: join(s.sentinel, 'keep.txt') }] }],
          /would be written outside/,
        ],
        [
          'dotdot',
          [
            {
              title: 'd',
              dir: [
                { name: 'd/f', body: 'f' },
                { name: 'd/h', type: 'link', linkname: 'd/../sentinel/keep.txt' },
              ],
            },
          ],
          /would be written outside/,
        ],
      ];
      for (const [what, layers, why] of cases) {
        const r = await pull(['--plain-http', await inRegistry(`hardlink-${what}`, layers)], s.out);
        assertOneLineError(r, why);
        await assert.rejects(lstat(s.out), { code: 'ENOENT' }, `${what}: nothing written`);
        await unchanged();
      }
    } finally {
      await s.cleanup();
    }
  });

  test('a tar entry that replaces a folder with a link is refused, and the existing output is left as it was', async () => {
    const s = await scene();
    try {
      await mkdir(join(s.out, 'd'), { recursive: true });
      await writeFile(join(s.out, 'd', 'mine.txt'), 'MINE');
      const ref = await inRegistry('dir-to-link', [
        {
          title: 'd',
          dir: [
            { name: 'd/m/', type: 'directory' },
            { name: 'd/m/f', body: 'f' },
            { name: 'd/m', type: 'symlink', linkname: '.' },
          ],
        },
      ]);
      const unchanged = await outsideChecker(s);
      const output = await fingerprint(s.out);
      const r = await pull(['--plain-http', ref], s.out);
      assert.deepEqual(await fingerprint(s.out), output, 'the output is as it was');
      await unchanged();
      assertOneLineError(r, /tar entry "d\/m": would replace the folder "m" with a symlink/);
    } finally {
      await s.cleanup();
    }
  });

  test('titles that name the output folder itself (".", "./", "sub/..") are refused before anything is written', async () => {
    const s = await scene();
    try {
      await mkdir(s.out);
      await writeFile(join(s.out, 'mine.txt'), 'MINE');
      const unchanged = await outsideChecker(s);
      const output = await fingerprint(s.out);
      for (const title of ['.', './', 'sub/..']) {
        // The odd title first, then a layer that fails the pull: the first must not have written anything.
        const ref = await inRegistry('dot-title', [
          { title, dir: [{ name: 'mine.txt', body: 'overwritten' }] },
          { title: 'bad', dir: [{ name: 'bad/l', type: 'symlink', linkname: '/etc/passwd' }] },
        ]);
        const r = await pull(['--plain-http', ref], s.out);
        assert.deepEqual(await fingerprint(s.out), output, `${title}: the output is as it was`);
        assertOneLineError(r, /layer title ".*" names the output folder itself/);
      }
      // A "." or ".." inside the output is refused too, before anything is written; -T permits it.
      const dotted = await inRegistry('dot-component', [{ title: 'a/./mine.txt', file: 'x' }]);
      const r = await pull(['--plain-http', dotted], s.out);
      assert.deepEqual(await fingerprint(s.out), output);
      assertOneLineError(
        r,
        /layer title "a\/\.\/mine\.txt" has a "\." or "\.\." component.*\(use --allow-path-traversal/,
      );
      assert.equal((await pull(['--plain-http', dotted], s.out, ['-T'])).code, 0);
      assert.equal(await readFile(join(s.out, 'a', 'mine.txt'), 'utf8'), 'x');
      await unchanged();
    } finally {
      await s.cleanup();
    }
  });

  test('two titles that name one file ("a/b" and "a//b", lone surrogates) are refused, not one layer lost', async () => {
    const s = await scene();
    try {
      const unchanged = await outsideChecker(s);
      const refs: string[] = [];
      for (const [first, second] of [
        ['a/b', 'a//b'],
        ['c/', 'c'],
      ] as const) {
        refs.push(
          await inRegistry('one-file', [
            { title: first, file: 'FIRST' },
            { title: second, file: 'SECOND' },
          ]),
        );
      }
      // Not well-formed Unicode, escaped in the JSON text as a registry may hold it: both titles
      // would be written as "x\ufffd" (Go reads both so), and one layer silently lost.
      const name = repoName('surrogates');
      const repo = registry.repository(name);
      const layers = [];
      for (const [title, body] of [
        ['x\ud800', 'FIRST'],
        ['x\udc00', 'SECOND'],
      ] as const) {
        const bytes = Buffer.from(body);
        const desc = { mediaType: 'text/plain', digest: digestBytes(bytes), size: bytes.length };
        await repo.push(desc, bytes);
        layers.push({ ...desc, annotations: { [Annotation.Title]: title } });
      }
      const empty = Buffer.from('{}');
      const config = { mediaType: MediaType.Empty, digest: digestBytes(empty), size: 2 };
      await repo.push(config, empty);
      // JSON.stringify writes a lone surrogate as its \uXXXX escape.
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ImageManifest,
          artifactType: 'application/vnd.x',
          config,
          layers,
        }),
      );
      assert.match(manifest.toString(), /x\\ud800/);
      const manifestDesc = { mediaType: MediaType.ImageManifest, digest: digestBytes(manifest), size: manifest.length };
      await repo.push(manifestDesc, manifest);
      await repo.tag(manifestDesc, 'v1');
      refs.push(`${peers.plain.host}/${name}:v1`);
      for (const ref of refs) {
        const r = await pull(['--plain-http', ref], s.out);
        assertOneLineError(r, /layer title|duplicate name|named twice/);
        await assert.rejects(lstat(s.out), { code: 'ENOENT' }, `${ref}: nothing was written`);
      }
      await unchanged();
    } finally {
      await s.cleanup();
    }
  });

  test('names of 226 to 255 bytes pull, as files and inside unpacked folders', async () => {
    const s = await scene();
    try {
      const long = 'n'.repeat(255);
      const mid = 'm'.repeat(226);
      const wide = 'é'.repeat(127); // 254 bytes
      const ref = await inRegistry('long-names', [
        { title: long, file: 'long' },
        { title: mid, file: 'mid' },
        { title: wide, file: 'wide' },
        { title: 'd', dir: [{ name: `d/${long}`, body: 'inner' }] },
      ]);
      const unchanged = await outsideChecker(s);
      const r = await pull(['--plain-http', ref], s.out);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await readFile(join(s.out, long), 'utf8'), 'long');
      assert.equal((await lstat(join(s.out, long))).mode & 0o777, 0o666 & ~process.umask(), 'the usual mode');
      assert.equal(await readFile(join(s.out, mid), 'utf8'), 'mid');
      assert.equal(await readFile(join(s.out, wide), 'utf8'), 'wide');
      assert.equal(await readFile(join(s.out, 'd', long), 'utf8'), 'inner');
      assert.deepEqual((await readdir(s.out)).sort(), ['d', long, mid, wide].sort(), 'no temp or staging left');
      await unchanged();
    } finally {
      await s.cleanup();
    }
  });
});

describe('the same attacks from an OCI layout tar, and with -k', () => {
  test('pull --oci-layout x.tar: a link chain and a layer through a planted link are refused', async () => {
    const s = await scene();
    try {
      const c = chain('d');
      const file = await inLayoutTar(s.input, [
        { title: 'd', dir: [...c.entries, { name: 'd/passwd', type: 'symlink', linkname: `${c.top}/etc/passwd` }] },
        { title: `d/${c.up2}/sentinel/evil.txt`, file: 'pwned' },
      ]);
      const unchanged = await outsideChecker(s);
      const r = await pull(['--oci-layout', `${file}:v1`], s.out);
      await unchanged();
      await assert.rejects(lstat(s.out));
      assertOneLineError(r, /symlink climbs with "\.\."/);
    } finally {
      await s.cleanup();
    }
  });

  test('-k: a link chain into an existing output is refused and the output is left as it was', async () => {
    const s = await scene();
    try {
      await mkdir(s.out);
      await writeFile(join(s.out, 'mine.txt'), 'MINE');
      const c = chain('d');
      const ref = await inRegistry('keep-old', [
        {
          title: 'd',
          dir: [...c.entries, { name: 'd/keep', type: 'symlink', linkname: `${c.up2}/sentinel/keep.txt` }],
        },
      ]);
      const unchanged = await outsideChecker(s);
      const output = await fingerprint(s.out);
      const r = await pull(['--plain-http', ref], s.out, ['-k']);
      await unchanged();
      assert.deepEqual(await fingerprint(s.out), output);
      assertOneLineError(r, /symlink climbs with "\.\."/);
    } finally {
      await s.cleanup();
    }
  });
});

describe('staged commit (library)', () => {
  test("the user's own link to a folder of the output is still followed; a planted one never", async () => {
    const s = await scene();
    try {
      await mkdir(join(s.out, 'real'), { recursive: true });
      const { symlink } = await import('node:fs/promises');
      await symlink('real', join(s.out, 'mine'));
      const layout = await OciLayout.open(join(s.input, 'ok'), { mode: 'create' });
      await artifactIn(layout, [
        { title: 'mine/a.txt', file: 'through the user link' },
        {
          title: 'd',
          dir: [
            { name: 'd/sub/b.txt', body: 'b' },
            { name: 'd/l', type: 'symlink', linkname: 'sub' },
          ],
        },
      ]);
      const unchanged = await outsideChecker(s);
      await pullFiles(layout, 'v1', { output: s.out, concurrency: 1 });
      assert.equal(await readFile(join(s.out, 'real', 'a.txt'), 'utf8'), 'through the user link');
      assert.equal(await readFile(join(s.out, 'd', 'l', 'b.txt'), 'utf8'), 'b');
      await unchanged();

      const planted = await OciLayout.open(join(s.input, 'planted'), { mode: 'create' });
      await artifactIn(planted, [
        {
          title: 'e',
          dir: [
            { name: 'e/sub/', type: 'directory' },
            { name: 'e/x', type: 'symlink', linkname: 'sub' },
          ],
        },
        { title: 'e/x', dir: [{ name: 'e/x/y.txt', body: 'y' }] },
      ]);
      const output = await fingerprint(s.out);
      await assert.rejects(
        pullFiles(planted, 'v1', { output: s.out, concurrency: 1 }),
        (e) => isLadingError(e, 'PATH_TRAVERSAL') && /a link that the artifact itself makes/.test((e as Error).message),
      );
      assert.deepEqual(await fingerprint(s.out), output);
      await unchanged();
    } finally {
      await s.cleanup();
    }
  });

  test('a link that leads out only through a link already in the output is refused', async () => {
    const s = await scene();
    try {
      // The user's own link to a folder outside (the pull never writes through it)...
      await mkdir(join(s.out, 'd'), { recursive: true });
      const { symlink } = await import('node:fs/promises');
      await symlink(s.sentinel, join(s.out, 'd', 'outside'));
      // ...and an artifact link that is harmless on its own but leads through it once merged.
      const layout = await OciLayout.open(join(s.input, 'l'), { mode: 'create' });
      await artifactIn(layout, [{ title: 'd', dir: [{ name: 'd/p', type: 'symlink', linkname: 'outside/keep.txt' }] }]);
      const output = await fingerprint(s.out);
      const outside = await fingerprint(s.path, ['out', 'input']);
      await assert.rejects(
        pullFiles(layout, 'v1', { output: s.out }),
        (e) =>
          isLadingError(e, 'PATH_TRAVERSAL') &&
          /d\/p: a symlink of the artifact that would lead out/.test((e as Error).message),
      );
      assert.deepEqual(await fingerprint(s.out), output, 'the output is as it was');
      assert.deepEqual(await fingerprint(s.path, ['out', 'input']), outside, 'nothing outside changed');
    } finally {
      await s.cleanup();
    }
  });
});

describe('CTF archives', () => {
  test('a CTF archive with a 240-byte name opens (its temp folder name stays under NAME_MAX)', async () => {
    const s = await scene();
    try {
      const path = join(s.input, `${'c'.repeat(236)}.tgz`);
      const created = await CtfArchive.open(path, { mode: 'create' });
      await created.close();
      const unchanged = await outsideChecker(s);
      const archive = await CtfArchive.open(path, { mode: 'readwrite' });
      assert.deepEqual(await archive.repositories(), []);
      await archive.close();
      await unchanged();
    } finally {
      await s.cleanup();
    }
  });

  test('a crafted CTF tgz (links, "..", a device) is refused and writes nothing outside', async () => {
    const s = await scene();
    try {
      const tar = await tarOf([
        { name: 'artifact-index.json', body: '{"schemaVersion":1,"artifacts":[]}' },
        { name: 'blobs/x', type: 'symlink', linkname: '../../sentinel' },
        { name: 'blobs/x/sha256.0000000000000000000000000000000000000000000000000000000000000000', body: 'x' },
      ]);
      const path = join(s.input, 'evil.tgz');
      await writeFile(path, gzipSync(tar));
      const unchanged = await outsideChecker(s);
      await assert.rejects(CtfArchive.open(path), (e) => isLadingError(e, 'INVALID_ARCHIVE'));
      const r = await lading(['get', 'cv', `${path}//acme.org/x:1.0.0`]);
      assertOneLineError(r, /links are not allowed in a CTF archive/);
      await unchanged();
    } finally {
      await s.cleanup();
    }
  });
});

describe('races', () => {
  test('a folder of the output swapped for a link to outside while the pull merges into it never receives a file', async () => {
    const s = await scene();
    try {
      // The folder exists, so the pull merges into it file by file. As soon as the first pulled
      // file appears in it (the checks are done, the renames have begun), an attacker with write
      // access to the output moves the folder aside and puts a link to the sentinel folder in
      // its place. The check runs at every turn of the event loop: between any two file system
      // calls of the commit.
      const d = join(s.out, 'd');
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'old.txt'), 'old');
      const files: Entry[] = [];
      for (let i = 0; i < 200; i++) files.push({ name: `d/f${i}.txt`, body: `f${i}` });
      const layout = await OciLayout.open(join(s.input, 'race'), { mode: 'create' });
      await artifactIn(layout, [{ title: 'd', dir: files }]);
      const unchanged = await outsideChecker(s);
      let swapped = false;
      let watching = true;
      const watch = () => {
        if (!watching) return;
        if (readdirSync(d).length > 1) {
          renameSync(d, `${d}.real`);
          symlinkSync(s.sentinel, d);
          swapped = true;
          return;
        }
        setImmediate(watch);
      };
      setImmediate(watch);
      const result = await pullFiles(layout, 'v1', { output: s.out }).then(
        () => 'ok',
        (e: Error) => e.message,
      );
      watching = false;
      assert.ok(swapped, `the swap happened (the pull ended with: ${result})`);
      assert.deepEqual((await readdir(s.sentinel)).sort(), ['inner', 'keep.txt'], 'a pulled file landed outside');
      unlinkSync(d);
      await unchanged();
      // Whatever was merged went into the folder itself, wherever it was moved to inside the output.
      const merged = (await readdir(`${d}.real`)).filter((n) => n !== 'old.txt');
      for (const name of merged) assert.match(await readFile(join(`${d}.real`, name), 'utf8'), /^f\d+$/);
    } finally {
      await s.cleanup();
    }
  });

  test('an output folder swapped for a link to outside before the commit receives nothing there', async () => {
    const s = await scene();
    try {
      const layout = await OciLayout.open(join(s.input, 'swap-output'), { mode: 'create' });
      await artifactIn(layout, [{ title: 'sub/f.txt', file: 'f' }]);
      await mkdir(s.out);
      const unchanged = await outsideChecker(s, ['out.real']);
      // Once the file is staged, the output is moved aside and a link to the sentinel takes its name.
      const swap = () => {
        renameSync(s.out, `${s.out}.real`);
        symlinkSync(s.sentinel, s.out);
      };
      const error = await pullFiles(layout, 'v1', { output: s.out, onFile: swap }).then(
        () => undefined,
        (e: unknown) => e,
      );
      unlinkSync(s.out);
      await unchanged();
      assert.ok(
        isLadingError(error, 'PATH_TRAVERSAL') && /no longer .*out, where the pull began/.test(error.message),
        String(error),
      );
    } finally {
      await s.cleanup();
    }
  });
});
