import type { Readable } from 'node:stream';
import { Readable as NodeReadable, Writable } from 'node:stream';
import {
  checkRefName,
  type Descriptor,
  isDigestReference,
  isManifestMediaType,
  LadingError,
  plainDescriptor,
  throwIfAborted,
} from '../oci/index.js';
import { cancellablePush } from './cancel.js';
import { PredecessorIndex, successorsOf } from './graph.js';
import type { Content, Op, PredecessorFinder, TagLister, Target } from './storage.js';
import { verifiedCopy } from './verify.js';

/** A Target held in memory: for packing small graphs and for tests. */
export class MemoryStore implements Target, PredecessorFinder, TagLister {
  readonly #blobs = new Map<string, Buffer>();
  readonly #descs = new Map<string, Descriptor>();
  readonly #tags = new Map<string, Descriptor>();
  readonly #graph = new PredecessorIndex();

  async fetch(desc: Descriptor, o: Op = {}): Promise<Readable> {
    throwIfAborted(o.signal);
    const bytes = this.#blobs.get(desc.digest);
    if (!bytes) throw new LadingError('NOT_FOUND', `${desc.digest}: not found in memory store`);
    const onProgress = o.onProgress;
    if (!onProgress) return NodeReadable.from([bytes]);
    // Reported as the bytes are handed to the reader, as every other store does.
    return NodeReadable.from(
      (function* () {
        onProgress(bytes.length);
        yield bytes;
      })(),
    );
  }

  async exists(desc: Descriptor, o: Op = {}): Promise<boolean> {
    throwIfAborted(o.signal);
    return this.#blobs.has(desc.digest);
  }

  push(expected: Descriptor, content: Content, o?: Op): Promise<void> {
    return cancellablePush(content, o, () => this.#push(expected, content, o));
  }

  async #push(expected: Descriptor, content: Content, o?: Op): Promise<void> {
    if (this.#blobs.has(expected.digest)) {
      throw new LadingError('ALREADY_EXISTS', `${expected.digest}: already exists`);
    }
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    await verifiedCopy(content, expected, sink, o ? { op: o } : {});
    const bytes = Buffer.concat(chunks);
    if (isManifestMediaType(expected.mediaType)) this.#graph.add(expected, successorsOf(expected, bytes));
    this.#blobs.set(expected.digest, bytes);
    this.#descs.set(expected.digest, plainDescriptor(expected));
  }

  async resolve(reference: string, o: Op = {}): Promise<Descriptor> {
    throwIfAborted(o.signal);
    const tagged = this.#tags.get(reference);
    if (tagged) return tagged;
    if (isDigestReference(reference)) {
      const desc = this.#descs.get(reference);
      if (desc) return desc;
    }
    throw new LadingError('NOT_FOUND', `${reference}: not found`);
  }

  async tag(desc: Descriptor, reference: string, o: Op = {}): Promise<void> {
    throwIfAborted(o.signal);
    checkRefName(reference);
    if (!this.#blobs.has(desc.digest)) throw new LadingError('NOT_FOUND', `${desc.digest}: not found`);
    this.#tags.set(reference, desc);
  }

  async predecessors(node: Descriptor): Promise<Descriptor[]> {
    return this.#graph.get(node.digest);
  }

  async *tags(o: Op = {}): AsyncIterable<string[]> {
    throwIfAborted(o.signal);
    yield [...this.#tags.keys()].sort();
  }
}
