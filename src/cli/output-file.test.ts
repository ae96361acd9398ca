import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { isLadingError } from '../oci/index.js';
import { checkOutputFile, writeOutputStream, writeOutputVia } from './output-file.js';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lading-output-file-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A writer like the library's tar writer: its own temp file beside the path, then a rename. */
const renamingWriter = (bytes: string) => async (path: string) => {
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
};

test('writeOutputVia hands a link to a file over as the real path: the link stays', async () => {
  await withDir(async (dir) => {
    await mkdir(join(dir, 'real'));
    await symlink('real/target.tar', join(dir, 'out.tar'));
    await writeOutputVia(join(dir, 'out.tar'), '--output', renamingWriter('tar bytes'));
    assert.equal(await readlink(join(dir, 'out.tar')), 'real/target.tar');
    assert.equal(await readFile(join(dir, 'real', 'target.tar'), 'utf8'), 'tar bytes');
    assert.deepEqual(await readdir(join(dir, 'real')), ['target.tar']);
  });
});

test('writeOutputVia copies into a fifo instead of renaming over it', async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, 'fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    reader.stdout.on('data', (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    try {
      await writeOutputVia(fifo, '--output', renamingWriter('through the fifo'));
      await closed;
      assert.equal(Buffer.concat(chunks).toString(), 'through the fifo');
      assert.ok((await lstat(fifo)).isFIFO());
      assert.deepEqual(await readdir(dir), ['fifo']);
    } finally {
      reader.kill();
    }
  });
});

test('a missing folder or a folder as output is one error naming the option', async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      writeOutputStream(Readable.from([Buffer.from('x')]), join(dir, 'nope', 'f'), '--output'),
      (e) => isLadingError(e, 'IO_ERROR') && /^--output .*nope\/f: the folder .* does not exist/.test(e.message),
    );
    await assert.rejects(
      checkOutputFile(dir, '--export-manifest'),
      (e) => isLadingError(e, 'INVALID_ARGUMENT') && /^--export-manifest .*: is a folder$/.test(e.message),
    );
    await checkOutputFile(join(dir, 'new.json'), '--export-manifest');
  });
});

test('a fifo is written without blocking a thread: a full pipe waits for its reader, all bytes arrive', async () => {
  await withDir(async (dir) => {
    const fifo = join(dir, 'fifo');
    await promisify(execFile)('mkfifo', [fifo]);
    const reader = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'ignore'] });
    let got = 0;
    reader.stdout.on('data', (c: Buffer) => {
      got += c.length;
    });
    const closed = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    try {
      // Many times a pipe's 64 KiB: the non-blocking end answers EAGAIN until cat catches up.
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      await checkOutputFile(fifo, '--output');
      await writeOutputStream(Readable.from(Array.from({ length: 8 }, () => chunk)), fifo, '--output');
      await closed;
      assert.equal(got, 8 * 1024 * 1024);
    } finally {
      reader.kill();
    }
  });
});
