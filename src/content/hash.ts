import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../oci/index.js';
import type { Fetcher, Op } from './storage.js';

/**
 * The hex digest of `desc`'s content under another hash than its own (`sha512` of a `sha256:`
 * blob, say): the content is streamed once through the hash, never held whole. What the store
 * returns is itself verified against `desc` as it streams.
 */
export async function hashContent(source: Fetcher, desc: Descriptor, algorithm: string, o: Op = {}): Promise<string> {
  const hash = createHash(algorithm);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done();
    },
  });
  // The signal ends the read too, also of a stream whose store does not watch it.
  await pipeline(await source.fetch(desc, o), sink, o.signal ? { signal: o.signal } : {});
  return hash.digest('hex');
}
