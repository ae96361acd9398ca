import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { orasVectors } from '../../test/support/vectors.js';
import { isLadingError } from '../oci/index.js';
import { writeDirectoryAsTar } from './dir-as-tar.js';
import { TarFiles } from './tar-files.js';
import { cleanArchivePath, indexTar } from './tar-index.js';
import {
  fileHeader,
  folderHeader,
  foldersToName,
  TarFileWriter,
  type TarWriteEntry,
  withFolders,
  writeTar,
} from './tar-writer.js';

const vectors = join(orasVectors, 'oras-project/oras-go');
const helloWorld = join(vectors, 'content/oci/testdata/hello-world.tar');
const helloWorldPrefixed = join(vectors, 'content/oci/testdata/hello-world-prefixed-path.tar');
const tarfsPrefixed = join(vectors, 'internal/fs/tarfs/testdata/prefixed_path.tar');
const tarfsCleaned = join(vectors, 'internal/fs/tarfs/testdata/cleaned_path.tar');

let work = '';
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lading-tar-test-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

let counter = 0;
async function scratch(): Promise<string> {
  const dir = join(work, `case-${++counter}`);
  await mkdir(dir);
  return dir;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isCode(code: string, text?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isLadingError(error), `expected a LadingError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (text) assert.match(error.message, text);
    return true;
  };
}

// ---- hand-built tar headers -------------------------------------------------------------------

interface RawHeader {
  name: string;
  size?: number;
  type?: string;
  linkname?: string;
  prefix?: string;
  /** Raw 12-byte size field, overriding `size` (for base-256). */
  sizeField?: Buffer;
  magic?: 'ustar' | 'gnu' | 'none';
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(h: RawHeader): Buffer {
  const buf = Buffer.alloc(512);
  buf.write(h.name, 0, 100, 'utf8');
  buf.write(octal(0o644, 8), 100, 'latin1');
  buf.write(octal(0, 8), 108, 'latin1');
  buf.write(octal(0, 8), 116, 'latin1');
  if (h.sizeField) h.sizeField.copy(buf, 124);
  else buf.write(octal(h.size ?? 0, 12), 124, 'latin1');
  buf.write(octal(0, 12), 136, 'latin1');
  buf.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) buf.write(h.linkname, 157, 100, 'utf8');
  const magic = h.magic ?? 'ustar';
  if (magic === 'ustar') buf.write('ustar\x0000', 257, 'latin1');
  if (magic === 'gnu') buf.write('ustar  \x00', 257, 'latin1');
  if (h.prefix) buf.write(h.prefix, 345, 155, 'utf8');
  buf.write('        ', 148, 'latin1');
  let sum = 0;
  for (const byte of buf) sum += byte;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return buf;
}

function body(data: Buffer | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const padding = (512 - (bytes.length % 512)) % 512;
  return Buffer.concat([bytes, Buffer.alloc(padding)]);
}

function file(name: string, data: string): Buffer {
  return Buffer.concat([header({ name, size: Buffer.byteLength(data) }), body(data)]);
}

function paxRecord(key: string, value: string): string {
  const text = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(text) + 1;
  while (String(length).length + Buffer.byteLength(text) !== length) length++;
  return `${length}${text}`;
}

const end = Buffer.alloc(1024);

async function writeArchive(dir: string, name: string, ...parts: Buffer[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, Buffer.concat(parts));
  return path;
}

// ---- reading upstream vectors -----------------------------------------------------------------

test('cleanArchivePath follows Go path.Clean and refuses escapes', () => {
  assert.deepEqual(cleanArchivePath('./a//b/./c/'), { path: 'a/b/c' });
  assert.deepEqual(cleanArchivePath('a/../b'), { path: 'b' });
  assert.deepEqual(cleanArchivePath('./'), { path: '.' });
  assert.ok('refused' in cleanArchivePath('../x'));
  assert.ok('refused' in cleanArchivePath('a/../../x'));
  assert.ok('refused' in cleanArchivePath('/etc/passwd'));
  assert.ok('refused' in cleanArchivePath('a\0b'));
});

test('hello-world tars: index.json and oci-layout found by clean path, same contents with and without ./', async () => {
  const plain = await TarFiles.open(helloWorld);
  const prefixed = await TarFiles.open(helloWorldPrefixed);
  for (const files of [plain, prefixed]) {
    const index = await files.readSmall('index.json', 4096);
    assert.ok(index);
    assert.equal(JSON.parse(index.toString()).schemaVersion, 2);
    const layout = await files.readSmall('oci-layout', 4096);
    assert.deepEqual(JSON.parse(String(layout)), { imageLayoutVersion: '1.0.0' });
    assert.deepEqual(await files.stat('oci-layout'), { path: 'oci-layout', size: 30 });
    assert.equal(await files.stat('blobs'), undefined, 'directories are not files');
  }
  const list = (files: TarFiles) =>
    [...files.entries()]
      .filter((e) => e.type === 'file')
      .map((e) => e.path)
      .sort();
  assert.deepEqual(list(plain), list(prefixed));
  assert.equal(list(plain).length, 7);
  for (const path of list(plain)) {
    const a = await readAll(await plain.open(path));
    const b = await readAll(await prefixed.open(path));
    assert.ok(a.equals(b), path);
    if (path.startsWith('blobs/sha256/')) assert.equal(sha256(a), path.slice('blobs/sha256/'.length));
  }
  // Caller paths are cleaned the same way as entry names.
  assert.deepEqual(await prefixed.readSmall('./index.json', 4096), await plain.readSmall('index.json', 4096));
  await assert.rejects(plain.readSmall('index.json', 10), isCode('SIZE_EXCEEDS_LIMIT'));
  assert.equal(await plain.readSmall('missing.json', 10), undefined);
  await assert.rejects(plain.stat('../index.json'), isCode('PATH_TRAVERSAL'));
});

for (const vector of [tarfsPrefixed, tarfsCleaned]) {
  test(`tarfs vector ${vector.split('/').pop()}: files readable, links refused`, async () => {
    const files = await TarFiles.open(vector);
    assert.equal((await readAll(await files.open('dir/hello'))).toString(), 'hello');
    assert.equal((await readAll(await files.open('dir/subdir/world'))).toString(), 'world');
    assert.equal((await readAll(await files.open('foobar'))).toString(), 'foobar');
    assert.equal(String(await files.readSmall('foobar', 100)), 'foobar');
    const types = Object.fromEntries([...files.entries()].map((e) => [e.path, e.type]));
    assert.deepEqual(types, {
      dir: 'directory',
      'dir/hello': 'file',
      'dir/subdir': 'directory',
      'dir/subdir/world': 'file',
      foobar: 'file',
      foobar_link: 'hardlink',
      foobar_symlink: 'symlink',
    });
    for (const link of ['foobar_link', 'foobar_symlink']) {
      assert.equal(await files.stat(link), undefined);
      await assert.rejects(files.open(link), isCode('UNSUPPORTED', /not followed/));
      await assert.rejects(files.readSmall(link, 100), isCode('UNSUPPORTED', /not followed/));
    }
    await assert.rejects(files.open('dir'), isCode('NOT_FOUND'));
    await assert.rejects(files.open('nope'), isCode('NOT_FOUND'));
  });
}

// ---- GNU tar interop --------------------------------------------------------------------------

const longDirs = `${'a'.repeat(60)}/${'b'.repeat(60)}`;
const longPath = `${longDirs}/${'c'.repeat(28)}`; // 150 chars, splits into ustar prefix + name
const longName = `d/${'n'.repeat(147)}`; // 149 chars whose last segment cannot fit a ustar name field

async function sourceTree(): Promise<{ dir: string; files: Record<string, Buffer> }> {
  const dir = await scratch();
  const src = join(dir, 'src');
  const files: Record<string, Buffer> = {
    'empty.txt': Buffer.alloc(0),
    'one.txt': Buffer.from('one\n'),
    'block.bin': Buffer.alloc(512, 7),
    'odd.bin': Buffer.from(Array.from({ length: 70001 }, (_, i) => (i * 31) & 0xff)),
    [longPath]: Buffer.from('long path\n'),
    'sub/ünïcödé.txt': Buffer.from('utf-8 name\n'),
  };
  for (const [path, data] of Object.entries(files)) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), data);
  }
  await symlink('one.txt', join(src, 'link'));
  return { dir, files };
}

for (const format of ['gnu', 'pax', 'ustar'] as const) {
  test(`reads GNU tar --format=${format} output`, async () => {
    const { dir, files } = await sourceTree();
    const src = join(dir, 'src');
    const expected = { ...files };
    if (format !== 'ustar') {
      // ustar cannot store a name segment over 100 bytes at all, so only the others get one.
      await mkdir(join(src, 'd'));
      await writeFile(join(src, longName), 'long name\n');
      expected[longName] = Buffer.from('long name\n');
      await symlink(`${'t'.repeat(120)}/target`, join(src, 'longlink'));
    }
    const archive = join(dir, `${format}.tar`);
    execFileSync('tar', [`--format=${format}`, '-cf', archive, '-C', src, '.']);
    const raw = await readFile(archive);
    // Make sure each format really exercised its own long-name mechanism.
    if (format === 'gnu') assert.ok(raw.includes('././@LongLink'));
    if (format === 'pax') assert.ok(raw.includes(` path=./${longName}\n`));
    if (format === 'ustar') assert.ok(raw.includes(longDirs));
    const tar = await TarFiles.open(archive);
    for (const [path, data] of Object.entries(expected)) {
      assert.deepEqual(await tar.stat(path), { path, size: data.length }, path);
      assert.ok((await readAll(await tar.open(path))).equals(data), path);
    }
    const regular = [...tar.entries()].filter((e) => e.type === 'file').map((e) => e.path);
    assert.deepEqual(regular.sort(), Object.keys(expected).sort());
    const entries = new Map([...tar.entries()].map((e) => [e.path, e]));
    assert.equal(entries.get('link')?.type, 'symlink');
    assert.equal(entries.get('link')?.linkname, 'one.txt');
    assert.equal(entries.get('sub')?.type, 'directory');
    if (format !== 'ustar') assert.equal(entries.get('longlink')?.linkname, `${'t'.repeat(120)}/target`);

    // Cross-check every offset against tar-stream's sequential reader.
    const extract = tarStream.extract();
    const source = Readable.from([raw]);
    source.pipe(extract as unknown as NodeJS.WritableStream);
    let seen = 0;
    for await (const entry of extract) {
      const data = await readAll(entry as unknown as Readable);
      const path = (cleanArchivePath(entry.header.name) as { path: string }).path;
      if (entry.header.type === 'file') {
        assert.ok((await readAll(await tar.open(path))).equals(data), path);
        seen++;
      }
    }
    assert.equal(seen, regular.length);
  });
}

test('base-256 sizes are decoded', async () => {
  const dir = await scratch();
  const small = Buffer.alloc(12);
  small[0] = 0x80;
  small[11] = 5;
  const ok = await writeArchive(dir, 'b256.tar', header({ name: 'five', sizeField: small }), body('hello'), end);
  const files = await TarFiles.open(ok);
  assert.deepEqual(await files.stat('five'), { path: 'five', size: 5 });
  assert.equal(String(await files.readSmall('five', 10)), 'hello');

  // 9 GiB, which octal cannot hold in 11 digits; the data is absent, so the archive is truncated.
  const big = Buffer.alloc(12);
  big[0] = 0x80;
  big.writeUIntBE(9 * 1024 ** 3, 6, 6);
  const huge = await writeArchive(dir, 'huge.tar', header({ name: 'huge', sizeField: big }), body('x'), end);
  await assert.rejects(indexTar(huge), isCode('INVALID_ARCHIVE', /"huge" is truncated: 9663676416 bytes/));

  const negative = Buffer.alloc(12, 0xff);
  const bad = await writeArchive(dir, 'neg.tar', header({ name: 'neg', sizeField: negative }), end);
  await assert.rejects(indexTar(bad), isCode('INVALID_ARCHIVE', /invalid size/));
});

test('PAX and GNU long-name records from hand-built headers', async () => {
  const dir = await scratch();
  const pax = paxRecord('path', 'pax/name.txt') + paxRecord('size', '3') + paxRecord('mtime', '1.5');
  const global = paxRecord('comment', 'ignored');
  const archive = await writeArchive(
    dir,
    'meta.tar',
    header({ name: 'pax_global_header', type: 'g', size: Buffer.byteLength(global) }),
    body(global),
    header({ name: 'PaxHeaders/x', type: 'x', size: Buffer.byteLength(pax) }),
    body(pax),
    header({ name: 'short', size: 999 }), // the PAX size wins over the header size
    body('abc'),
    header({ name: '././@LongLink', type: 'L', size: 13, magic: 'gnu' }),
    body('gnu/long.txt\0'),
    header({ name: 'trunc', size: 2, magic: 'gnu' }),
    body('hi'),
    header({ name: 'file', prefix: 'ustar/prefix', size: 1 }),
    body('p'),
    end,
    Buffer.from('trailing garbage is ignored'),
  );
  const files = await TarFiles.open(archive);
  assert.equal(String(await files.readSmall('pax/name.txt', 10)), 'abc');
  assert.equal(String(await files.readSmall('gnu/long.txt', 10)), 'hi');
  assert.equal(String(await files.readSmall('ustar/prefix/file', 10)), 'p');
  assert.deepEqual(
    [...files.entries()].map((e) => e.path),
    ['pax/name.txt', 'gnu/long.txt', 'ustar/prefix/file'],
  );
});

// ---- malicious and broken archives ------------------------------------------------------------

test('malicious and broken archives are refused with INVALID_ARCHIVE', async (t) => {
  const dir = await scratch();
  const valid = Buffer.concat([file('ok', 'ok'), end]);
  const cases: Array<[string, Buffer, RegExp]> = [
    ['escape', Buffer.concat([file('../escape', 'x'), end]), /"\.\.\/escape" escapes the archive root/],
    ['deep-escape', Buffer.concat([file('a/../../escape', 'x'), end]), /escapes the archive root/],
    ['absolute', Buffer.concat([file('/abs', 'x'), end]), /"\/abs" is an absolute path/],
    ['duplicate', Buffer.concat([file('same', 'a'), file('./same', 'b'), end]), /duplicate entry "\.\/same"/],
    ['file-over-dir', Buffer.concat([header({ name: 'd/', type: '5' }), file('d', 'x'), end]), /duplicate entry "d"/],
    ['truncated', Buffer.concat([header({ name: 'big', size: 4096 }), body('short')]), /"big" is truncated/],
    [
      'truncated-header',
      Buffer.concat([file('ok', 'ok'), header({ name: 'next' }).subarray(0, 300)]),
      /partial header/,
    ],
    [
      'bad-checksum',
      (() => {
        const bytes = Buffer.concat([file('first', 'a'), file('second', 'b'), end]);
        bytes[1024] = 0x58; // corrupt the name of the second header only
        return bytes;
      })(),
      /bad header checksum at offset 1024/,
    ],
    [
      'bad-first-checksum',
      (() => {
        const bytes = Buffer.from(valid);
        bytes[0] = 0x58;
        return bytes;
      })(),
      /does not look like a tar archive/,
    ],
    ['gzip', gzipSync(valid), /gzip-compressed; compressed layouts are not supported for random access/],
    ['not-a-tar', Buffer.from('{"hello": "this is json, not tar"}\n'.repeat(40)), /does not look like a tar archive/],
    ['empty-file', Buffer.alloc(0), /does not look like a tar archive/],
    [
      'gnu-long-name-nul',
      Buffer.concat([header({ name: '././@LongLink', type: 'L', size: 6, magic: 'gnu' }), body('a\0/../b'), end]),
      /GNU long name with a NUL byte/,
    ],
    [
      'pax-nul',
      (() => {
        const record = paxRecord('path', 'a\0b');
        return Buffer.concat([
          header({ name: 'p', type: 'x', size: record.length }),
          body(record),
          file('x', 'y'),
          end,
        ]);
      })(),
      /NUL byte in the path/,
    ],
    [
      'pax-too-big',
      Buffer.concat([header({ name: 'p', type: 'x', size: 2 * 1024 * 1024 }), end]),
      /PAX record of 2097152 bytes .* over the 1048576-byte limit/,
    ],
    [
      'pax-malformed',
      Buffer.concat([header({ name: 'p', type: 'x', size: 12 }), body('99 path=abc\n'), file('x', 'y'), end]),
      /malformed PAX record/,
    ],
    [
      'lone-zero-block',
      Buffer.concat([file('a', 'a'), Buffer.alloc(512), file('hidden', 'h'), end]),
      /lone zero block/,
    ],
    [
      'dangling-pax',
      Buffer.concat([header({ name: 'p', type: 'L', size: 2, magic: 'gnu' }), body('x\0')]),
      /without its entry/,
    ],
  ];
  for (const [name, bytes, message] of cases) {
    await t.test(name, async () => {
      const path = await writeArchive(dir, `${name}.tar`, bytes);
      await assert.rejects(indexTar(path), isCode('INVALID_ARCHIVE', message));
      await assert.rejects(TarFiles.open(path), isCode('INVALID_ARCHIVE'));
      // The message names the archive so the user knows which file is at fault.
      await assert.rejects(indexTar(path), (error: Error) => error.message.includes(path));
    });
  }
  await assert.rejects(indexTar(join(dir, 'does-not-exist.tar')), isCode('NOT_FOUND'));
});

test('harmless oddities are accepted: ./ root, repeated directories, inner .. , no end blocks', async () => {
  const dir = await scratch();
  const archive = await writeArchive(
    dir,
    'odd.tar',
    header({ name: './', type: '5' }),
    header({ name: 'd/', type: '5' }),
    header({ name: './d/', type: '5' }),
    file('d/x/../y', 'y'),
    header({ name: 'dev', type: '3' }),
    header({ name: 'fifo', type: '6' }),
  );
  const files = await TarFiles.open(archive);
  assert.deepEqual(
    [...files.entries()].map((e) => [e.path, e.type]),
    [
      ['d', 'directory'],
      ['d/y', 'file'],
      ['dev', 'char-device'],
      ['fifo', 'fifo'],
    ],
  );
  await assert.rejects(files.open('fifo'), isCode('UNSUPPORTED'));
  await assert.rejects(files.open('dev'), isCode('UNSUPPORTED'));
  assert.equal(String(await files.readSmall('d/y', 1)), 'y');

  const emptyArchive = await writeArchive(dir, 'empty.tar', end);
  assert.equal((await indexTar(emptyArchive)).entries.size, 0);
});

test('indexTar honours an aborted signal', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(indexTar(helloWorld, { signal: controller.signal }), { name: 'AbortError' });
});

// ---- writing ----------------------------------------------------------------------------------

function bytesEntry(path: string, data: Buffer, chunk = 7): TarWriteEntry {
  return {
    path,
    size: data.length,
    open: () => {
      const parts: Buffer[] = [];
      for (let i = 0; i < data.length; i += chunk) parts.push(data.subarray(i, i + chunk));
      return Readable.from(parts);
    },
  };
}

const sample = (): TarWriteEntry[] => [
  bytesEntry('blobs/sha256/aaaa', Buffer.from('first blob contents\n')),
  bytesEntry('empty', Buffer.alloc(0)),
  bytesEntry(`deep/${'x'.repeat(120)}/ünïcödé-${'y'.repeat(90)}`, Buffer.alloc(1000, 0x42)),
];

test('writeTar round trip through TarFiles, GNU tar and reproducible bytes', async () => {
  const dir = await scratch();
  const first = join(dir, 'first.tar');
  const second = join(dir, 'second.tar');
  await writeTar(first, sample());
  await writeTar(
    second,
    (async function* () {
      yield* sample();
    })(),
  );
  const a = await readFile(first);
  const b = await readFile(second);
  assert.equal(sha256(a), sha256(b), 'same entries give the same bytes');

  const files = await TarFiles.open(first);
  for (const entry of sample()) {
    const expected = await readAll(await entry.open());
    assert.deepEqual(await files.stat(entry.path), { path: entry.path, size: entry.size });
    assert.ok((await readAll(await files.open(entry.path))).equals(expected), entry.path);
  }
  const deep = sample()[2]?.path.split('/') ?? [];
  const folders = ['blobs', 'blobs/sha256', deep[0], `${deep[0]}/${deep[1]}`];
  assert.deepEqual(
    [...files.entries()].map((e) => [e.path, e.type]),
    [
      ['blobs', 'directory'],
      ['blobs/sha256', 'directory'],
      ['blobs/sha256/aaaa', 'file'],
      ['empty', 'file'],
      [folders[2], 'directory'],
      [folders[3], 'directory'],
      [sample()[2]?.path, 'file'],
    ],
    'caller order kept, each folder named once before the first file in it',
  );

  const listing = execFileSync('tar', ['--utc', '-tvf', first], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(listing.length, 7);
  for (const folder of folders) {
    const line = listing.find((l) => l.endsWith(` ${folder}/`)) ?? '';
    assert.match(line, /^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 /, folder);
  }
  for (const entry of sample()) {
    const line = listing.find((l) => l.endsWith(` ${entry.path}`)) ?? '';
    assert.match(line, /^-rw-r--r-- 0\/0 +\d+ 1970-01-01 00:00 /, entry.path);
    assert.ok(line.includes(` ${entry.size} `), line);
  }
  const extracted = join(dir, 'x');
  await mkdir(extracted);
  execFileSync('tar', ['-xf', first, '-C', extracted]);
  for (const entry of sample()) {
    assert.ok((await readFile(join(extracted, entry.path))).equals(await readAll(await entry.open())));
  }
  assert.deepEqual((await readdir(dir)).sort(), ['first.tar', 'second.tar', 'x']);
});

test('writeTar takes a small body whole from read, instead of a stream, with the same bytes', async () => {
  const dir = await scratch();
  const streamed = join(dir, 'streamed.tar');
  const whole = join(dir, 'whole.tar');
  await writeTar(streamed, sample(), { nameFolders: false });
  let reads = 0;
  await writeTar(
    whole,
    sample().map((entry) => ({
      ...entry,
      open: () => {
        throw new Error('a body given whole is not opened as a stream');
      },
      read: async () => {
        reads++;
        return readAll(await entry.open());
      },
    })),
    { nameFolders: false },
  );
  assert.equal(reads, sample().length);
  assert.equal(sha256(await readFile(whole)), sha256(await readFile(streamed)));
  // Many small entries are gathered into few writes; the bytes are those of one entry at a time.
  const many = Array.from({ length: 3000 }, (_, i) => bytesEntry(`f${i}`, Buffer.from(`entry ${i}`)));
  const wholes = many.map((entry) => ({ ...entry, read: async () => readAll(await entry.open()) }));
  await writeTar(streamed, many);
  await writeTar(whole, wholes);
  assert.equal(sha256(await readFile(whole)), sha256(await readFile(streamed)));
  assert.equal(String(await (await TarFiles.open(whole)).readSmall('f2999', 100)), 'entry 2999');
  // A body of another size than the entry says spoils the archive, as a stream's would.
  for (const body of [Buffer.from('abc'), Buffer.from('abcde')]) {
    await assert.rejects(
      writeTar(join(dir, 'bad.tar'), [{ ...bytesEntry('x', Buffer.from('abcd')), read: () => body }]),
      isCode('SIZE_MISMATCH'),
    );
  }
  assert.deepEqual((await readdir(dir)).sort(), ['streamed.tar', 'whole.tar']);
});

test('each folder is named once, outermost first, also when the caller names it after a file in it', async () => {
  const named = new Set<string>();
  assert.deepEqual(foldersToName('a/b/c', named), ['a', 'a/b']);
  assert.deepEqual(foldersToName('a/b/d', named), []);
  assert.deepEqual(foldersToName('e', named), []);
  assert.deepEqual(foldersToName('a/x/', named), [], 'a folder is not its own parent');
  assert.deepEqual(
    withFolders([
      { header: fileHeader('a/b/c', 0) },
      { header: folderHeader('a/b') },
      { header: folderHeader('f') },
      { header: fileHeader('f/g', 0) },
    ]).map((e) => e.header.name),
    ['a/', 'a/b/', 'a/b/c', 'f/', 'f/g'],
  );
  const out = join(await scratch(), 'named.tar');
  const writer = await TarFileWriter.create(out);
  await writer.append(fileHeader('a/b/c', 1), Readable.from([Buffer.from('x')]), { where: 'c' });
  await writer.append(folderHeader('a/b'), undefined, { where: 'a/b' });
  await writer.append(folderHeader('d'), undefined, { where: 'd' });
  await writer.append(fileHeader('d/e', 0), undefined, { where: 'e' });
  await writer.finish();
  assert.deepEqual(
    [...(await TarFiles.open(out)).entries()].map((e) => [e.path, e.type]),
    [
      ['a', 'directory'],
      ['a/b', 'directory'],
      ['a/b/c', 'file'],
      ['d', 'directory'],
      ['d/e', 'file'],
    ],
  );
});

test('writeTar is atomic: short, long or failing bodies and bad paths leave nothing behind', async (t) => {
  const dir = await scratch();
  const out = join(dir, 'out.tar');
  const failing: TarWriteEntry = {
    path: 'boom',
    size: 10,
    open: () =>
      new Readable({
        read() {
          this.destroy(new Error('disk on fire'));
        },
      }),
  };
  const cases: Array<[string, TarWriteEntry[], string]> = [
    [
      'short',
      [bytesEntry('ok', Buffer.from('ok')), { ...bytesEntry('short', Buffer.from('abc')), size: 4 }],
      'SIZE_MISMATCH',
    ],
    ['long', [{ ...bytesEntry('long', Buffer.alloc(2000)), size: 1999 }], 'SIZE_MISMATCH'],
    ['failing', [failing], 'IO_ERROR'],
    ['escape', [bytesEntry('../x', Buffer.from('x'))], 'PATH_TRAVERSAL'],
    ['absolute', [bytesEntry('/x', Buffer.from('x'))], 'PATH_TRAVERSAL'],
    ['unclean', [bytesEntry('./x', Buffer.from('x'))], 'INVALID_ARGUMENT'],
    ['duplicate', [bytesEntry('x', Buffer.from('x')), bytesEntry('x', Buffer.from('y'))], 'INVALID_ARGUMENT'],
  ];
  for (const [name, entries, code] of cases) {
    await t.test(name, async () => {
      await assert.rejects(writeTar(out, entries), isCode(code));
      assert.deepEqual(await readdir(dir), [], 'neither the archive nor a temp file remains');
    });
  }
  await t.test('an existing archive is left untouched', async () => {
    await writeFile(out, 'previous');
    await assert.rejects(
      writeTar(out, [{ ...bytesEntry('short', Buffer.from('abc')), size: 4 }]),
      isCode('SIZE_MISMATCH'),
    );
    assert.equal(await readFile(out, 'utf8'), 'previous');
    assert.deepEqual(await readdir(dir), ['out.tar']);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(writeTar(out, sample(), { signal: controller.signal }), { name: 'AbortError' });
    assert.equal(await readFile(out, 'utf8'), 'previous');
  });
});

test('writeDirectoryAsTar archives regular files in path order and refuses symlinks', async () => {
  const dir = await scratch();
  const layout = join(dir, 'layout');
  await mkdir(join(layout, 'blobs', 'sha256'), { recursive: true });
  const blob = Buffer.from('{}');
  await writeFile(join(layout, 'blobs', 'sha256', sha256(blob)), blob);
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(join(layout, 'index.json'), '{"schemaVersion":2,"manifests":[]}');
  await writeFile(join(layout, 'blobs-z'), 'sorts after blobs/');
  const out = join(dir, 'layout.tar');
  await writeDirectoryAsTar(layout, out);
  const files = await TarFiles.open(out);
  assert.deepEqual(
    [...files.entries()].map((e) => e.path),
    ['blobs-z', 'blobs', 'blobs/sha256', `blobs/sha256/${sha256(blob)}`, 'index.json', 'oci-layout'],
  );
  assert.equal(String(await files.readSmall('oci-layout', 100)), '{"imageLayoutVersion":"1.0.0"}');
  assert.equal(String(await files.readSmall(`blobs/sha256/${sha256(blob)}`, 100)), '{}');
  const again = join(dir, 'again.tar');
  await writeDirectoryAsTar(layout, again);
  assert.equal(sha256(await readFile(again)), sha256(await readFile(out)));

  await symlink('index.json', join(layout, 'sneaky'));
  const refused = join(dir, 'refused.tar');
  await assert.rejects(writeDirectoryAsTar(layout, refused), isCode('UNSUPPORTED', /symbolic link/));
  await assert.rejects(readFile(refused), { code: 'ENOENT' });
  await assert.rejects(writeDirectoryAsTar(layout, join(layout, 'self.tar')), isCode('INVALID_ARGUMENT'));
  assert.deepEqual((await readdir(dir)).sort(), ['again.tar', 'layout', 'layout.tar']);
});

test('a 300 MiB entry streams through writeTar and TarFiles with flat memory', async (t) => {
  const dir = await scratch();
  const mib = 1024 * 1024;
  const count = 300;
  const chunk = Buffer.alloc(mib);
  for (let i = 0; i < mib; i++) chunk[i] = (i * 7919) % 251;
  const expected = createHash('sha256');
  for (let i = 0; i < count; i++) expected.update(chunk);
  const expectedDigest = expected.digest('hex');

  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 5);
  try {
    const generated = (): Readable => {
      let produced = 0;
      return new Readable({
        read() {
          sample();
          this.push(produced++ < count ? chunk : null);
        },
      });
    };
    const out = join(dir, 'big.tar');
    await writeTar(out, [
      bytesEntry('small', Buffer.from('before')),
      { path: 'big', size: count * mib, open: generated },
      bytesEntry('tail', Buffer.from('after')),
    ]);
    const files = await TarFiles.open(out);
    assert.deepEqual(await files.stat('big'), { path: 'big', size: count * mib });
    const hash = createHash('sha256');
    for await (const part of await files.open('big')) {
      hash.update(part as Buffer);
      sample();
    }
    assert.equal(hash.digest('hex'), expectedDigest);
    assert.equal(String(await files.readSmall('tail', 10)), 'after');
  } finally {
    clearInterval(timer);
  }
  const growth = peak - baseline;
  t.diagnostic(`RSS growth ${(growth / mib).toFixed(1)} MiB`);
  assert.ok(growth < 100 * mib, `RSS grew by ${(growth / mib).toFixed(1)} MiB`);
});
