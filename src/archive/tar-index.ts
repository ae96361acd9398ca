import { type FileHandle, open } from 'node:fs/promises';
import { LadingError } from '../oci/index.js';
import {
  checksumOk,
  cString,
  gnuLongText,
  hasUstarMagic,
  headerName,
  isZeroBlock,
  type PaxOverrides,
  paddedSize,
  parseNumber,
  parsePax,
  TarBlock,
} from './tar-fields.js';

/** What a tar entry is. Only `file` entries can be read; the rest are recorded for completeness. */
export type TarEntryType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'hardlink'
  | 'char-device'
  | 'block-device'
  | 'fifo'
  | 'sparse'
  | 'other';

export interface TarEntry {
  /** Clean, relative, `/`-separated path (no `./`, no `..`, no trailing `/`). */
  path: string;
  type: TarEntryType;
  /** Bytes of data stored in the archive for this entry (0 for links, directories and devices). */
  size: number;
  /** Byte offset of the entry's data in the tar file. */
  offset: number;
  /** The link target as written in the archive (links only); never followed. */
  linkname?: string;
}

export interface TarIndex {
  file: string;
  /** Size of the tar file when it was indexed. */
  fileSize: number;
  /** Every entry by clean path, in archive order. The archive root (`./`) is not listed. */
  entries: ReadonlyMap<string, TarEntry>;
}

export const MaxTarEntries = 1_000_000;
/** Cap on one PAX or GNU long-name record: they are read whole, and real ones are tiny. */
export const MaxTarMetaBytes = 1024 * 1024;

// Header reads go through a window so that archives of many small files do not cost a syscall per header.
const windowBytes = 64 * 1024;

/**
 * Cleans an archive path the way Go's path.Clean does, and refuses names that could leave the
 * archive root. Returns the clean path or the reason it was refused.
 */
export function cleanArchivePath(name: string): { path: string } | { refused: string } {
  if (name.includes('\0')) return { refused: 'contains a NUL byte' };
  if (name.startsWith('/')) return { refused: 'is an absolute path' };
  const parts: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return { refused: 'escapes the archive root with ".."' };
      parts.pop();
      continue;
    }
    parts.push(segment);
  }
  return { path: parts.length === 0 ? '.' : parts.join('/') };
}

/**
 * Scans a tar file's headers once and records where each entry's data lives, without reading
 * any entry data. Memory grows with the number of entries, never with their size.
 */
export async function indexTar(file: string, options: { signal?: AbortSignal } = {}): Promise<TarIndex> {
  const signal = options.signal;
  signal?.throwIfAborted();
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR';
    throw new LadingError(code, `${file}: cannot open tar archive: ${(error as Error).message}`, { cause: error });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new LadingError('INVALID_ARCHIVE', `${file}: not a regular file`);
    const scanner = new Scanner(file, handle, info.size, signal);
    return { file, fileSize: info.size, entries: await scanner.scan() };
  } catch (error) {
    if (error instanceof LadingError || (error as Error).name === 'AbortError') throw error;
    throw new LadingError('IO_ERROR', `${file}: cannot read tar archive: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    await handle.close();
  }
}

class Scanner {
  readonly #file: string;
  readonly #handle: FileHandle;
  readonly #size: number;
  readonly #signal: AbortSignal | undefined;
  readonly #window = Buffer.allocUnsafe(windowBytes);
  #windowStart = 0;
  #windowLength = 0;

  constructor(file: string, handle: FileHandle, size: number, signal: AbortSignal | undefined) {
    this.#file = file;
    this.#handle = handle;
    this.#size = size;
    this.#signal = signal;
  }

  async scan(): Promise<Map<string, TarEntry>> {
    await this.#checkStart();
    const entries = new Map<string, TarEntry>();
    let pending: PaxOverrides = {};
    let hasPending = false;
    let count = 0;
    let offset = 0;
    for (;;) {
      this.#signal?.throwIfAborted();
      if (offset >= this.#size) {
        if (hasPending) this.#fail(`ends after an extended header at offset ${offset} without its entry`);
        break; // no end-of-archive blocks: tolerated, like GNU tar and Go
      }
      if (this.#size - offset < TarBlock) this.#fail(`is truncated: partial header at offset ${offset}`);
      const header = await this.#readBlock(offset);
      if (isZeroBlock(header)) {
        if (hasPending) this.#fail(`has an extended header at offset ${offset} without its entry`);
        const next = offset + TarBlock;
        // A lone zero block followed by more headers would hide entries that other readers see.
        if (this.#size - next >= TarBlock && !isZeroBlock(await this.#readBlock(next))) {
          this.#fail(`has a lone zero block at offset ${offset} followed by more data`);
        }
        break;
      }
      this.#checkHeader(header, offset);
      const typeflag = header[156] ?? 0;
      const rawSize = this.#number(header, 124, 12, offset, 'size');
      const dataOffset = offset + TarBlock;

      if (
        typeflag === 0x78 /* x */ ||
        typeflag === 0x67 /* g */ ||
        typeflag === 0x4c /* L */ ||
        typeflag === 0x4b /* K */
      ) {
        const body = await this.#readMeta(dataOffset, rawSize, offset, typeflag);
        if (typeflag === 0x78) {
          this.#parsePax(body, pending, offset);
          hasPending = true;
        } else if (typeflag === 0x67) {
          this.#parsePax(body, {}, offset); // global records only need to be well-formed
        } else {
          const text = gnuLongText(body, () => this.#fail(`has a GNU long name with a NUL byte at offset ${offset}`));
          if (typeflag === 0x4c) pending.path = text;
          else pending.linkpath = text;
          hasPending = true;
        }
        offset = dataOffset + paddedSize(rawSize);
        continue;
      }
      if (typeflag === 0x56 /* V: volume label, not an entry */) {
        offset = dataOffset + paddedSize(rawSize);
        continue;
      }

      count++;
      if (count > MaxTarEntries) this.#fail(`has more than ${MaxTarEntries} entries`);

      const name = pending.path ?? headerName(header);
      const linkname = pending.linkpath ?? cString(header, 157, 100);
      const size = pending.size ?? rawSize;
      let type = entryType(typeflag, pending.sparse === true);
      if (typeflag === 0 && name.endsWith('/')) type = 'directory'; // pre-POSIX directory convention
      const dataSize = headerOnly.has(type) ? 0 : size;
      if (dataOffset + dataSize > this.#size) {
        this.#fail(
          `entry ${JSON.stringify(name)} is truncated: ${dataSize} bytes of data run past the end of the file`,
        );
      }

      const cleaned = cleanArchivePath(name);
      if ('refused' in cleaned) {
        this.#fail(`entry ${JSON.stringify(name)} ${cleaned.refused}`);
      }
      const path = cleaned.path;
      if (path === '.') {
        if (type !== 'directory') this.#fail(`entry ${JSON.stringify(name)} has an empty path`);
      } else {
        const existing = entries.get(path);
        if (existing) {
          if (existing.type !== 'directory' || type !== 'directory') {
            this.#fail(`has a duplicate entry ${JSON.stringify(name)} (${path})`);
          }
        } else {
          const entry: TarEntry = { path, type, size: dataSize, offset: dataOffset };
          if ((type === 'symlink' || type === 'hardlink') && linkname !== '') entry.linkname = linkname;
          entries.set(path, entry);
        }
      }
      pending = {};
      hasPending = false;
      offset = dataOffset + paddedSize(dataSize);
    }
    return entries;
  }

  async #checkStart(): Promise<void> {
    if (this.#size === 0) this.#fail('is empty; it does not look like a tar archive');
    const head = await this.#read(0, Math.min(this.#size, 6));
    const compression = sniffCompression(head);
    if (compression) {
      this.#fail(
        `is ${compression}-compressed; compressed layouts are not supported for random access (decompress it first)`,
      );
    }
    if (this.#size < TarBlock) this.#fail('does not look like a tar archive (shorter than one header)');
    const first = await this.#readBlock(0);
    if (!isZeroBlock(first) && (!hasUstarMagic(first) || !checksumOk(first))) {
      this.#fail('does not look like a tar archive (no ustar header at the start)');
    }
  }

  #checkHeader(header: Buffer, offset: number): void {
    if (!hasUstarMagic(header)) this.#fail(`has no ustar header at offset ${offset}`);
    if (!checksumOk(header)) {
      const name = cString(header, 0, 100);
      this.#fail(`has a bad header checksum at offset ${offset} (entry ${JSON.stringify(name)})`);
    }
  }

  #number(header: Buffer, start: number, length: number, offset: number, field: string): number {
    const value = parseNumber(header.subarray(start, start + length));
    if (value === undefined) this.#fail(`has an invalid ${field} field in the header at offset ${offset}`);
    return value;
  }

  async #readMeta(dataOffset: number, size: number, offset: number, typeflag: number): Promise<Buffer> {
    const kind = typeflag === 0x4c || typeflag === 0x4b ? 'GNU long name' : 'PAX';
    if (size > MaxTarMetaBytes) {
      this.#fail(`has a ${kind} record of ${size} bytes at offset ${offset}, over the ${MaxTarMetaBytes}-byte limit`);
    }
    if (dataOffset + size > this.#size)
      this.#fail(`is truncated: ${kind} record at offset ${offset} runs past the end`);
    return this.#read(dataOffset, size);
  }

  #parsePax(body: Buffer, into: PaxOverrides, offset: number): void {
    parsePax(body, into, (why) =>
      this.#fail(
        why ? `has a PAX record at offset ${offset} with ${why}` : `has a malformed PAX record at offset ${offset}`,
      ),
    );
  }

  async #readBlock(offset: number): Promise<Buffer> {
    const inWindow = offset >= this.#windowStart && offset + TarBlock <= this.#windowStart + this.#windowLength;
    if (!inWindow) {
      const { bytesRead } = await this.#handle.read(this.#window, 0, windowBytes, offset);
      this.#windowStart = offset;
      this.#windowLength = bytesRead;
      if (bytesRead < TarBlock) this.#fail(`is truncated: changed while being read (offset ${offset})`);
    }
    const start = offset - this.#windowStart;
    return this.#window.subarray(start, start + TarBlock);
  }

  async #read(offset: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.#handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) this.#fail(`is truncated: changed while being read (offset ${offset + done})`);
      done += bytesRead;
    }
    return buffer;
  }

  #fail(what: string): never {
    throw new LadingError('INVALID_ARCHIVE', `${this.#file}: tar archive ${what}`);
  }
}

const headerOnly = new Set<TarEntryType>(['directory', 'symlink', 'hardlink', 'char-device', 'block-device', 'fifo']);

function entryType(typeflag: number, sparse: boolean): TarEntryType {
  switch (typeflag) {
    case 0:
    case 0x30:
    case 0x37: // contiguous file: a regular file everywhere that matters
      return sparse ? 'sparse' : 'file';
    case 0x31:
      return 'hardlink';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char-device';
    case 0x34:
      return 'block-device';
    case 0x35:
      return 'directory';
    case 0x36:
      return 'fifo';
    case 0x53:
      return 'sparse';
    default:
      return 'other';
  }
}

function sniffCompression(head: Buffer): string | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.toString('latin1', 0, 3) === 'BZh') return 'bzip2';
  if (head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  return undefined;
}
