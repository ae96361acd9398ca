import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { digestBytes, isLadingError } from '../oci/index.js';
import { CheckingSink } from './check-sink.js';

test('CheckingSink verifies what is pushed, keeps none of it, and knows what it checked', async () => {
  const sink = new CheckingSink();
  const bytes = Buffer.from('checked bytes');
  const desc = { mediaType: 'application/octet-stream', digest: digestBytes(bytes), size: bytes.length };
  assert.equal(await sink.exists(desc), false);
  await sink.push(desc, Readable.from([bytes.subarray(0, 4), bytes.subarray(4)]));
  assert.equal(await sink.exists(desc), true);
  await assert.rejects(sink.fetch(desc), (e) => isLadingError(e, 'NOT_FOUND'));

  const other = { ...desc, digest: digestBytes(Buffer.from('other')) };
  await assert.rejects(sink.push(other, bytes), (e) => isLadingError(e, 'DIGEST_MISMATCH'));
  await assert.rejects(sink.push({ ...desc, size: 3 }, bytes), (e) => isLadingError(e, 'SIZE_MISMATCH'));
  assert.equal(await sink.exists(other), false);
});
