import { writeSync } from 'node:fs';
import { createDigester, type Descriptor, LadingError, parseDigest } from '../oci/index.js';
import { checkExpectedSize, contentTooLong, digestMismatch, sizeMismatch } from './verify.js';

/** Pieces under this size are gathered before they are written. */
const SmallPiece = 64 * 1024;
/** What gathered pieces fill before one write. */
const GatherBytes = 1024 * 1024;

/**
 * A blob's bytes into a file descriptor as they arrive, in order from offset 0: each piece hashed
 * at once and written at its offset with a direct call (no trip through libuv's pool per write), a
 * piece of 64 KiB or more at once, smaller ones gathered into 1 MiB first (a TLS record is 16 KiB;
 * a slow or hostile server's reads can be a few bytes each: one system call per read would cost
 * more than the bytes). Never more than the blob's size is taken. A piece may be a connection's
 * shared read buffer: nothing of it is kept once `take` returns.
 */
export class PieceWriter {
  readonly #fd: number;
  readonly #expected: Descriptor;
  readonly #where: string;
  readonly #algorithm: ReturnType<typeof parseDigest>['algorithm'];
  readonly #hash: ReturnType<typeof createDigester>;
  #taken = 0;
  /** Bytes in the file: where the next write goes. */
  #written = 0;
  #gather: Buffer | undefined;
  #gathered = 0;

  constructor(fd: number, expected: Descriptor, where: string = expected.digest) {
    checkExpectedSize(expected, where);
    this.#fd = fd;
    this.#expected = expected;
    this.#where = where;
    this.#algorithm = parseDigest(expected.digest).algorithm;
    this.#hash = createDigester(this.#algorithm);
  }

  /** Bytes taken so far, hashed (in the file, or gathered for it). */
  get taken(): number {
    return this.#taken;
  }

  take(bytes: Uint8Array): void {
    if (this.#taken + bytes.length > this.#expected.size) {
      throw contentTooLong(this.#where, this.#expected);
    }
    this.#hash.update(bytes);
    if (bytes.length < SmallPiece) {
      if (this.#gathered + bytes.length > GatherBytes) this.flush();
      this.#gather ??= Buffer.allocUnsafe(GatherBytes);
      this.#gather.set(bytes, this.#gathered);
      this.#gathered += bytes.length;
    } else {
      this.flush();
      this.#write(bytes);
    }
    this.#taken += bytes.length;
  }

  /** Writes what is gathered. */
  flush(): void {
    if (this.#gathered === 0 || !this.#gather) return;
    const gathered = this.#gather.subarray(0, this.#gathered);
    this.#gathered = 0;
    this.#write(gathered);
  }

  /** Writes what is gathered, then checks the size and the digest of every byte taken. */
  finish(): void {
    this.flush();
    if (this.#taken !== this.#expected.size) {
      throw sizeMismatch(this.#where, this.#taken, this.#expected);
    }
    const got = `${this.#algorithm}:${this.#hash.digest('hex')}`;
    if (got !== this.#expected.digest) throw digestMismatch(this.#where, got, this.#expected);
  }

  #write(bytes: Uint8Array): void {
    try {
      for (let at = 0; at < bytes.length; ) {
        at += writeSync(this.#fd, bytes, at, bytes.length - at, this.#written + at);
      }
    } catch (error) {
      throw new LadingError('IO_ERROR', `${this.#where}: cannot write the blob: ${(error as Error).message}`, {
        cause: error,
      });
    }
    this.#written += bytes.length;
  }
}
