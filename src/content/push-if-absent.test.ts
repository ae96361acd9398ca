import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { type Descriptor, digestBytes, isLadingError, LadingError } from '../oci/index.js';
import { MemoryStore } from './memory.js';
import { pushIfAbsent } from './push-if-absent.js';
import type { Content, Op } from './storage.js';

const bytes = Buffer.from('content');
const desc: Descriptor = { mediaType: 'application/octet-stream', digest: digestBytes(bytes), size: bytes.length };

test('stores what is absent; what is there is not opened, and given content is destroyed', async () => {
  const store = new MemoryStore();
  assert.equal(await pushIfAbsent(store, desc, bytes), true);
  assert.equal(await store.exists(desc), true);
  let opened = 0;
  assert.equal(
    await pushIfAbsent(store, desc, () => {
      opened++;
      return bytes;
    }),
    false,
  );
  assert.equal(opened, 0);
  const stream = Readable.from([bytes]);
  assert.equal(await pushIfAbsent(store, desc, stream), false);
  assert.equal(stream.destroyed, true, 'a stream left unread would keep its source open');
});

test('another writer storing it between the check and the push is success; other failures are not', async () => {
  /** A store another process fills between exists() and push(). */
  class Raced extends MemoryStore {
    override async push(expected: Descriptor, content: Content, o?: Op): Promise<void> {
      await super.push(expected, content, o);
      throw new LadingError('ALREADY_EXISTS', `${expected.digest} already exists`);
    }
  }
  assert.equal(await pushIfAbsent(new Raced(), desc, bytes), false);
  class Failing extends MemoryStore {
    override async push(): Promise<void> {
      throw new LadingError('ALREADY_EXISTS', 'said so, but it is not there');
    }
  }
  await assert.rejects(pushIfAbsent(new Failing(), desc, bytes), (e) => isLadingError(e, 'ALREADY_EXISTS'));
});
