import { LadingError } from '../oci/index.js';
import {
  checksumOk,
  gnuLongText,
  headerName,
  isZeroBlock,
  type PaxOverrides,
  paddedSize,
  parseNumber,
  parsePax,
  TarBlock,
} from './tar-fields.js';

export interface TarMemoryEntry {
  /** The name as the archive gives it (not cleaned: the caller matches the one it looks for). */
  name: string;
  typeflag: string;
  body: Buffer;
}

/**
 * The entries of a small tar held in memory (a descriptor, a chart), names as written. Unlike
 * the index of a tar file, nothing is refused for where it points: the caller only looks up
 * the entry it knows by name. A header or record that does not decode is INVALID_ARCHIVE.
 */
export function readTarBytes(bytes: Uint8Array, where: string): TarMemoryEntry[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string): never => {
    throw new LadingError('INVALID_ARCHIVE', `${where}: ${what}`);
  };
  const entries: TarMemoryEntry[] = [];
  let offset = 0;
  let pending: PaxOverrides = {};
  while (offset + TarBlock <= buf.length) {
    const header = buf.subarray(offset, offset + TarBlock);
    if (isZeroBlock(header)) break;
    if (!checksumOk(header)) fail(`tar header checksum mismatch at offset ${offset}`);
    const typeflag = String.fromCharCode(header[156] as number);
    const meta = typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K';
    const rawSize = parseNumber(header.subarray(124, 136)) ?? fail(`invalid tar size at offset ${offset}`);
    const size = meta ? rawSize : (pending.size ?? rawSize);
    const start = offset + TarBlock;
    if (start + size > buf.length) fail(`tar entry at offset ${offset} is truncated`);
    const body = buf.subarray(start, start + size);
    const record = (why?: string): never => fail(`tar record at offset ${offset} ${why ?? 'is malformed'}`);
    offset = start + paddedSize(size);
    if (typeflag === 'x') {
      parsePax(body, pending, record);
    } else if (typeflag === 'L') {
      pending.path = gnuLongText(body, record);
    } else if (typeflag === 'K') {
      pending.linkpath = gnuLongText(body, record);
    } else if (typeflag !== 'g') {
      entries.push({ name: pending.path ?? headerName(header), typeflag: typeflag === '\0' ? '0' : typeflag, body });
      pending = {};
    }
  }
  return entries;
}
