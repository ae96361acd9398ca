import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import type { Descriptor } from '../oci/index.js';
import { verifiedStream, verifiesItself } from './verify.js';

const MiB = 1024 * 1024;

function describeBytes(bytes: Buffer): Descriptor {
  return {
    mediaType: 'application/octet-stream',
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    size: bytes.length,
  };
}

/** A source that hands out `bytes` in 64 KiB chunks as fast as it is asked, counting what it gave. */
function counted(bytes: Buffer) {
  const state = { given: 0 };
  const stream = new Readable({
    read() {
      if (state.given >= bytes.length) {
        this.push(null);
        return;
      }
      const chunk = bytes.subarray(state.given, state.given + 64 * 1024);
      state.given += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, state };
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('verifiedStream', () => {
  const bytes = Buffer.alloc(4 * MiB);
  for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i, i);
  const desc = describeBytes(bytes);

  test('passes the exact bytes and marks itself as verifying that digest', async () => {
    const out = verifiedStream(counted(bytes).stream, desc);
    assert.ok(verifiesItself(out, desc));
    assert.ok((await collect(out)).equals(bytes));
  });

  test('fails before its end on other content, more bytes, or fewer bytes', async () => {
    const other = Buffer.from(bytes);
    other[100] = (other[100] ?? 0) ^ 1;
    await assert.rejects(collect(verifiedStream(counted(other).stream, desc)), /DIGEST_MISMATCH|does not match/);
    await assert.rejects(
      collect(verifiedStream(counted(Buffer.concat([bytes, Buffer.from('x')])).stream, desc)),
      /longer than the expected/,
    );
    await assert.rejects(collect(verifiedStream(counted(bytes.subarray(1)).stream, desc)), /got 4194303 bytes/);
  });

  test('reads the source no faster than a slow consumer takes it (memory stays bounded)', async () => {
    const big = Buffer.alloc(64 * MiB, 3);
    const source = counted(big);
    let taken = 0;
    let ahead = 0;
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _e, done) {
        taken += chunk.length;
        ahead = Math.max(ahead, source.state.given - taken);
        setImmediate(done);
      },
    });
    await pipeline(verifiedStream(source.stream, describeBytes(big)), slow);
    assert.equal(taken, big.length);
    assert.ok(ahead < 4 * MiB, `the source ran ${(ahead / MiB).toFixed(1)} MiB ahead of the consumer`);
  });

  test('a source that breaks off is resumed at the offset reached, and the whole is still verified', async () => {
    const first = new Readable({ read() {} });
    first.push(bytes.subarray(0, MiB));
    setImmediate(() => first.destroy(Object.assign(new Error('reset'), { code: 'ECONNRESET' })));
    const offsets: number[] = [];
    const out = verifiedStream(first, desc, {
      resume: async (offset) => {
        offsets.push(offset);
        return counted(bytes.subarray(offset)).stream;
      },
    });
    assert.ok((await collect(out)).equals(bytes));
    assert.deepEqual(offsets, [MiB]);

    const broken = new Readable({ read() {} });
    broken.push(bytes.subarray(0, 1000));
    setImmediate(() => broken.destroy(new Error('reset')));
    const refused = verifiedStream(broken, desc, {
      resume: async () => {
        throw new Error('cannot resume');
      },
    });
    await assert.rejects(collect(refused), /cannot resume/);
  });

  test('an error the source raises before anyone reads is reported on the first read', async () => {
    const source = new Readable({ read() {} });
    const out = verifiedStream(source, desc);
    source.destroy(new Error('early failure'));
    await new Promise((r) => setTimeout(r, 10));
    await assert.rejects(collect(out), /early failure/);
  });
});
