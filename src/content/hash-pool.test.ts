import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isLadingError } from '../oci/index.js';
import { asyncDigester } from './hash-pool.js';
import { readAll, verifiedStream } from './verify.js';

// The pool reads its thread count when a digester is made: these tests force one hashing thread,
// whatever this machine's core count.
process.env.LADING_HASH_THREADS = '1';

const MiB = 1024 * 1024;
const sha256Hex = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const big = randomBytes(40 * MiB);
const bigDigest = `sha256:${createHash('sha256').update(big).digest('hex')}`;

/** The bytes in chunks of uneven sizes, as a socket gives them. */
function chunked(bytes: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = [65536, 1, 700_000, 13, 2 * MiB][i % 5] as number;
    parts.push(bytes.subarray(at, at + n));
    at += n;
  }
  return Readable.from(parts, { objectMode: false });
}

describe('hashing on another thread', () => {
  test('the digest of every byte, with the caller held back while the thread catches up', async () => {
    const d = asyncDigester('sha256', big.length, () => createHash('sha256'));
    let waited = 0;
    for (let at = 0; at < big.length; at += 300_000) {
      if (!d.update(big.subarray(at, at + 300_000))) {
        waited++;
        await new Promise<void>((resolve) => d.onDrain(resolve));
      }
    }
    assert.equal(`sha256:${await d.digest()}`, bigDigest);
    assert.ok(waited > 0, 'a caller that outruns the hashing thread is told to wait');
  });

  test('a verified stream of a big blob checks it through the thread', async () => {
    const bytes = await readAll(
      verifiedStream(chunked(big), { mediaType: 'x', digest: bigDigest, size: big.length }),
      big.length,
    );
    assert.ok(bytes.equals(big));
  });

  test('a wrong byte still fails the stream with DIGEST_MISMATCH', async () => {
    const bad = Buffer.from(big);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    await assert.rejects(
      readAll(verifiedStream(chunked(bad), { mediaType: 'x', digest: bigDigest, size: big.length }), big.length),
      (error: unknown) => isLadingError(error) && error.code === 'DIGEST_MISMATCH',
    );
  });

  test('blobs hashed side by side share batch buffers without mixing bytes', { timeout: 60_000 }, async () => {
    // Batch buffers go back to one list when a job ends: a buffer handed to two jobs would mix
    // their bytes and give a wrong digest here.
    const blobs = Array.from({ length: 24 }, (_, i) => randomBytes(MiB + i * 4099));
    const results = await Promise.all(
      blobs.map(async (blob, i) => {
        const d = asyncDigester('sha256', blob.length, () => createHash('sha256'));
        for (let at = 0; at < blob.length; at += 65536 + i) {
          if (!d.update(blob.subarray(at, at + 65536 + i))) await new Promise<void>((resolve) => d.onDrain(resolve));
          if (i % 5 === 0 && at > blob.length / 2) {
            d.abandon();
            d.abandon();
            return 'abandoned';
          }
        }
        return d.digest();
      }),
    );
    results.forEach((hex, i) => {
      if (i % 5 === 0) assert.equal(hex, 'abandoned');
      else assert.equal(hex, sha256Hex(blobs[i] as Buffer), `blob ${i}`);
    });
  });

  test('a stream destroyed half-way drops its job and leaves the thread to the next', async () => {
    const stream = verifiedStream(chunked(big), { mediaType: 'x', digest: bigDigest, size: big.length });
    let seen = 0;
    for await (const chunk of stream) {
      seen += (chunk as Buffer).length;
      if (seen > 10 * MiB) break;
    }
    assert.ok(stream.destroyed);
    const d = asyncDigester('sha256', big.length, () => createHash('sha256'));
    d.update(big);
    await new Promise<void>((resolve) => d.onDrain(resolve));
    assert.equal(`sha256:${await d.digest()}`, bigDigest);
  });

  test('a stream let go of half-way (not destroyed) does not keep the process alive', async () => {
    const verify = fileURLToPath(new URL('./verify.ts', import.meta.url));
    const script = `
      import { randomBytes } from 'node:crypto';
      import { Readable } from 'node:stream';
      const { verifiedStream } = await import(${JSON.stringify(verify)});
      const parts = Array.from({ length: 64 }, () => randomBytes(1024 * 1024));
      const stream = verifiedStream(Readable.from(parts), { mediaType: 'x', digest: 'sha256:' + '0'.repeat(64), size: 64 * 1024 * 1024 });
      let n = 0;
      stream.on('data', () => { if (++n === 40) { stream.pause(); console.log('let go'); } });
    `;
    const out = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        // A process the worker kept alive would be killed here and fail the test.
        { env: { ...process.env, LADING_HASH_THREADS: '1' }, timeout: 60_000, encoding: 'utf8' },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
    assert.equal(out.trim(), 'let go');
  });
});
