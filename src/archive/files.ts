import type { Readable } from 'node:stream';

/** A regular file of a store; only regular files can be read. */
export interface FileEntry {
  /** Clean, relative, `/`-separated path inside the store (no `./`, no `..`). */
  path: string;
  size: number;
}

/**
 * Read access to the files of a store (an OCI image layout, a CTF), whether they sit in a
 * directory or in a tar archive: the store's logic (its index, blobs, tags) is written once over this.
 */
export interface StoreFiles {
  /** Human-readable location for error messages (the directory or tar path). */
  readonly location: string;
  /** The entry at `path`, or undefined when there is no regular file there. */
  stat(path: string): Promise<FileEntry | undefined>;
  /**
   * A stream of the whole file; rejects with NOT_FOUND when absent. `size`, when the caller knows
   * it, sizes the reads (see `fileReadBytes`).
   */
  open(path: string, size?: number): Promise<Readable>;
  /** Reads a small file whole (index.json, oci-layout); refuses more than `limit` bytes. */
  readSmall(path: string, limit: number): Promise<Buffer | undefined>;
  /** The file's own path on disk, when it is a file of its own (not an entry in a tar). */
  localPath?(path: string): string;
  close?(): Promise<void>;
}
