import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Descriptor } from '../oci/index.js';
import type { Op } from './storage.js';

/** The mark of a {@link BlobFill}. */
export const BlobFillBrand: unique symbol = Symbol('lading.blobFill');

/**
 * A blob a source can write straight into a file the destination opened, instead of streaming
 * it (a registry blob fetched by another thread: see registry/blob-threads.ts).
 */
export interface BlobFill {
  /** Marks a fill apart from bytes and streams (a Uint8Array has a `fill` method too). */
  readonly [BlobFillBrand]: true;
  /**
   * Writes the blob into `file` (a new, empty file, open for reading and writing) from offset 0, every byte verified against the
   * descriptor, reporting bytes to `o.onProgress`. Settles only once nothing of it writes to `file`
   * any more: `filled`, or the blob as a verifying stream for the caller to write its usual way
   * (the file truncated first), with how many bytes were already reported to `onProgress`. With
   * `keepsPrefix`, the stream reads the bytes already in the file back first: the file is not
   * truncated, and they are written over with themselves.
   */
  fill(
    file: FileHandle,
    o: Op,
  ): Promise<{ filled: true } | { filled: false; content: Readable; reported: number; keepsPrefix?: boolean }>;
  /**
   * Lets go of what the fill started when it was made (a request sent early, while the
   * destination made its file ready) once `fill` will not be called; nothing after `fill`.
   */
  release?(): void;
}

/** A source that may hand a blob over as a {@link BlobFill}. @internal */
export interface BlobFiller {
  /**
   * A fill for `desc`, or undefined when it is to be fetched as a stream. It may start fetching
   * at once (with `o`'s signal): a caller that then does not call `fill` calls `release`.
   */
  blobFill(desc: Descriptor, o?: Op): BlobFill | undefined;
}

/** A destination that stores a blob from a {@link BlobFill}. @internal */
export interface FillPusher {
  /** Stores `desc` as `fill` writes it, verified; rejects with ALREADY_EXISTS as push does. */
  pushFill(desc: Descriptor, fill: BlobFill, o?: Op): Promise<void>;
}

/** Whether `t` may hand blobs over as fills. @internal */
export function hasBlobFill(t: object): t is BlobFiller {
  return typeof (t as Partial<BlobFiller>).blobFill === 'function';
}

/** Whether `t` stores blobs from fills. @internal */
export function hasFillPush(t: object): t is FillPusher {
  return typeof (t as Partial<FillPusher>).pushFill === 'function';
}

/** Whether `content` is a {@link BlobFill} rather than bytes or a stream. */
export function isBlobFill(content: unknown): content is BlobFill {
  return typeof content === 'object' && content !== null && (content as Partial<BlobFill>)[BlobFillBrand] === true;
}
