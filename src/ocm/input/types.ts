import type { Readable } from 'node:stream';

/**
 * The content an input method produced. It can be opened more than once (each call streams the
 * same bytes from the start), so a caller can measure it, upload it and retry without holding it
 * in memory. The built-in methods always fill in `size` and `digest`, unless the context's
 * `digestLater` lets them leave out what would cost a pass of its own.
 */
export interface InputBlob {
  /** The media type the resource's local blob gets. */
  mediaType: string;
  /** The size in bytes. */
  size?: number;
  /** `sha256:<hex>` of the bytes `open()` yields. */
  digest?: string;
  /** A new stream of the bytes from the start, each time it is called. */
  open(): Readable | Promise<Readable>;
  /**
   * The bytes themselves, when the input made them in memory (a small one, such as `utf8`):
   * stored as they are, without a stream. `digest` and `size` are given with them.
   */
  bytes?: Uint8Array;
  /**
   * The folder these bytes are a plain tar of, when they are exactly that: a consumer that can
   * use the files directly (an OCI image layout) reads them once instead of through the tar. It
   * holds regular files and folders only, as the tar would (no link leads out of it).
   */
  directory?: string;
  /** Removes temporary files behind the blob; safe to call more than once. */
  dispose?(): Promise<void>;
}

/** What an input method gets: the working folder, a temporary folder and cancellation. */
export interface InputContext {
  /** Relative input paths resolve against this directory and may not leave it. */
  workingDirectory: string;
  /** Cancels the input: the method rejects (construction turns it into ABORTED). */
  signal?: AbortSignal;
  /**
   * The caller hashes the blob as it stores it: a method may leave `digest` and `size` out where
   * measuring them would read every byte once more (a folder's tar).
   */
  digestLater?: boolean;
  /** Where blobs that must be spooled (compressed content) are written; the OS default if unset. */
  tempDir?: string;
}

/** An input method: turns an input specification into a blob. */
export type InputMethod = (spec: Record<string, unknown>, context: InputContext) => Promise<InputBlob>;
