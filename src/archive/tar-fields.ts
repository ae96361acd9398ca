/**
 * Reading the fields of tar headers and of the records that extend them (PAX, GNU long names):
 * the one decoder behind the tar index of a file (tar-index.ts) and the reader of small tars held
 * in memory (tar-bytes.ts).
 */

export const TarBlock = 512;

/** Overrides carried from PAX `x` and GNU `L`/`K` records to the entry that follows them. */
export interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
  sparse?: boolean;
}

/** Why a record is refused: a reason, or undefined for a record that does not parse at all. */
export type RecordFailure = (why?: string) => never;

/** Applies a PAX extended header's records to `into`. */
export function parsePax(body: Buffer, into: PaxOverrides, fail: RecordFailure): void {
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) {
      // Some writers pad the record block with NULs; anything else after them is malformed.
      if (!isZeroBlock(body.subarray(pos))) break;
      return;
    }
    const space = body.indexOf(0x20, pos);
    const lengthText = space > pos ? body.toString('latin1', pos, space) : '';
    const length = /^[0-9]{1,7}$/.test(lengthText) ? Number(lengthText) : 0;
    const end = pos + length;
    if (length === 0 || end > body.length || end <= space + 1 || body[end - 1] !== 0x0a) break;
    const record = body.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) break;
    applyPax(record.toString('utf8', 0, equals), record.toString('utf8', equals + 1), into, fail);
    pos = end;
  }
  if (pos < body.length) fail();
}

function applyPax(key: string, value: string, into: PaxOverrides, fail: RecordFailure): void {
  // An empty value deletes the override, which falls back to the header field.
  switch (key) {
    case 'path':
      if (value.includes('\0')) fail('a NUL byte in the path');
      if (value === '') delete into.path;
      else into.path = value;
      return;
    case 'linkpath':
      if (value.includes('\0')) fail('a NUL byte in the link path');
      if (value === '') delete into.linkpath;
      else into.linkpath = value;
      return;
    case 'size':
      if (value === '') {
        delete into.size;
        return;
      }
      if (!/^[0-9]{1,16}$/.test(value) || !Number.isSafeInteger(Number(value))) fail(`an invalid size ${value}`);
      into.size = Number(value);
      return;
    default:
      // Sparse files store a map before the data: the bytes on disk are not the file.
      if (key.startsWith('GNU.sparse.')) into.sparse = true;
  }
}

/** The text of a GNU long name or long link record; `fail` when it holds a NUL. */
export function gnuLongText(body: Buffer, fail: RecordFailure): string {
  let end = body.length;
  while (end > 0 && body[end - 1] === 0) end--;
  if (body.subarray(0, end).includes(0)) fail();
  return body.toString('utf8', 0, end);
}

/** The entry name of a header: the name field, after the prefix field where the header is POSIX ustar. */
export function headerName(header: Buffer): string {
  const name = cString(header, 0, 100);
  // Only POSIX ustar has a prefix field; GNU keeps other data there.
  if (header[262] === 0) {
    const prefix = cString(header, 345, 155);
    if (prefix !== '') return `${prefix}/${name}`;
  }
  return name;
}

/** `size` rounded up to whole blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / TarBlock) * TarBlock;
}

export function isZeroBlock(buffer: Buffer): boolean {
  for (const byte of buffer) if (byte !== 0) return false;
  return true;
}

export function hasUstarMagic(header: Buffer): boolean {
  return header.toString('latin1', 257, 262) === 'ustar';
}

export function checksumOk(header: Buffer): boolean {
  const stored = parseOctal(header.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < TarBlock; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 0x100 : byte;
  }
  // Some historic writers summed signed chars; both are accepted by GNU tar and Go.
  return stored === unsigned || stored === signed;
}

export function cString(header: Buffer, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.toString('utf8', 0, nul === -1 ? field.length : nul);
}

/** Octal (NUL/space padded) or GNU base-256 for values over 8 GiB. */
export function parseNumber(field: Buffer): number | undefined {
  const first = field[0] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative
    let value = first & 0x7f;
    for (let i = 1; i < field.length; i++) {
      value = value * 256 + (field[i] ?? 0);
      if (value > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return value;
  }
  return parseOctal(field);
}

function parseOctal(field: Buffer): number | undefined {
  const text = field.toString('latin1').replace(/^[ \0]+|[ \0]+$/g, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = Number.parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}
