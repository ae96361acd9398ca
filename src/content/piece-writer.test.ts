// PieceWriter: a blob's pieces hashed and written at their offsets, small ones gathered first.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type Descriptor, digestBytes, isLadingError, MediaType } from '../oci/index.js';
import { PieceWriter } from './piece-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'lading-pieces-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function blob(bytes: Buffer): Descriptor {
  return { mediaType: MediaType.ImageLayer, digest: digestBytes(bytes), size: bytes.length };
}

/** Feeds `data` in pieces of the given sizes (repeated) through one reused buffer, as a connection's reads come. */
function feed(writer: PieceWriter, data: Buffer, sizes: number[]): void {
  const shared = Buffer.alloc(Math.max(...sizes));
  for (let at = 0, i = 0; at < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length] as number, data.length - at);
    data.copy(shared, 0, at, at + n);
    writer.take(shared.subarray(0, n));
    shared.fill(0xee); // the reader reuses its buffer at once
    at += n;
  }
}

function file(name: string): { path: string; fd: number } {
  const path = join(dir, name);
  writeFileSync(path, '');
  return { path, fd: openSync(path, 'r+') };
}

test('pieces of every size land in order, whole, the small ones gathered, the buffer reused', () => {
  const data = randomBytes(3 * 1024 * 1024 + 12_345);
  for (const [name, sizes] of Object.entries({
    tiny: [1, 7, 4096],
    tls: [16 * 1024],
    mixed: [100, 70 * 1024, 16 * 1024, 1024 * 1024, 3],
    big: [1024 * 1024],
  })) {
    const { path, fd } = file(name);
    try {
      const writer = new PieceWriter(fd, blob(data));
      feed(writer, data, sizes);
      assert.equal(writer.taken, data.length);
      writer.finish();
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(readFileSync(path), data, name);
  }
});

test('more than the blob is SIZE_MISMATCH before a byte too many; fewer, or other bytes, fail at the end', () => {
  const data = randomBytes(200_000);
  const { fd } = file('bounds');
  try {
    const long = new PieceWriter(fd, blob(data));
    long.take(data);
    assert.throws(
      () => long.take(Buffer.from('x')),
      (e) => isLadingError(e, 'SIZE_MISMATCH') && /longer than the expected 200000/.test(String(e)),
    );
    const short = new PieceWriter(fd, blob(data));
    short.take(data.subarray(0, 1000));
    assert.throws(
      () => short.finish(),
      (e) => isLadingError(e, 'SIZE_MISMATCH') && /got 1000 bytes/.test(String(e)),
    );
    const other = new PieceWriter(fd, blob(data));
    other.take(randomBytes(data.length));
    assert.throws(
      () => other.finish(),
      (e) => isLadingError(e, 'DIGEST_MISMATCH'),
    );
  } finally {
    closeSync(fd);
  }
});

test('a file it cannot write is IO_ERROR, for a big piece at once and for gathered ones at the flush', () => {
  const data = randomBytes(100_000);
  const path = join(dir, 'read-only');
  writeFileSync(path, '');
  const fd = openSync(path, 'r');
  try {
    assert.throws(
      () => new PieceWriter(fd, blob(data)).take(data),
      (e) => isLadingError(e, 'IO_ERROR') && /cannot write the blob/.test(String(e)),
    );
    const gathering = new PieceWriter(fd, blob(data));
    gathering.take(data.subarray(0, 10));
    assert.throws(
      () => gathering.flush(),
      (e) => isLadingError(e, 'IO_ERROR'),
    );
  } finally {
    closeSync(fd);
  }
});
