import { Writable } from 'node:stream';
import { type Descriptor, LadingError } from '../oci/index.js';
import type { Content, Op, Storage } from './storage.js';
import { verifiedCopy } from './verify.js';

/**
 * A destination that keeps nothing: what is pushed is read to its end, verified against its
 * descriptor, and dropped. A graph copy into it checks a whole graph in the source (every
 * manifest and blob, once each, bounded like any copy) without writing anywhere.
 */
export class CheckingSink implements Storage {
  readonly #checked = new Set<string>();

  async exists(desc: Descriptor): Promise<boolean> {
    return this.#checked.has(desc.digest);
  }

  async push(expected: Descriptor, content: Content, o: Op = {}): Promise<void> {
    const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
    await verifiedCopy(content, expected, discard, { op: o });
    this.#checked.add(expected.digest);
  }

  async fetch(desc: Descriptor): Promise<never> {
    throw new LadingError('NOT_FOUND', `${desc.digest}: a checking sink keeps no content`);
  }
}
