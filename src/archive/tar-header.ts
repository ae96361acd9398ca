import { LadingError } from '../oci/index.js';

/**
 * Tar headers laid out byte for byte as Go's archive/tar Writer writes them when no format is
 * requested (oras-go and OCM build every tar that way, and tests hold lading's tars to upstream's
 * bytes): USTAR whenever the fields fit, PAX otherwise.
 * Go's USTAR bytes: numeric fields are octal, zero-padded and NUL-terminated (devmajor/devminor
 * included), the checksum is six octal digits, NUL, space; long ASCII names are split into
 * prefix/name; there is no GNU form and no padding of the archive to 10 KiB.
 */

/** What a tar entry's header says, in Go's terms. */
export interface TarWriteHeader {
  name: string;
  /** Permission and setuid/setgid/sticky bits; file-type bits are not part of Go's mode. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (Go rounds to whole seconds before writing). */
  mtime: number;
  /** Regular file, folder, symlink, hard link, FIFO. */
  typeflag: '0' | '5' | '2' | '1' | '6';
  linkname?: string;
  uname?: string;
  gname?: string;
}

const block = 512;

/**
 * A modification time in nanoseconds as Go's tar Writer stores it when no format is asked for:
 * rounded to the nearest second, halves towards the future (time.Round). Flooring instead puts a
 * file touched at x.5 s or later one second early, and the tar's bytes (so its digest) differ
 * from upstream's.
 */
export function goTarSeconds(ns: bigint): number {
  const second = 1_000_000_000n;
  const seconds = ns >= 0n ? (ns + second / 2n) / second : -((-ns + second / 2n - 1n) / second);
  return Number(seconds);
}
const nameSize = 100;
const prefixSize = 155;

/** The end of an archive: Go writes exactly two zero blocks. */
export const tarTrailer: Buffer = Buffer.alloc(2 * block);

/** Zero bytes that pad an entry body of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % block;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(block - rest);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

function toAscii(s: string): string {
  return [...s].filter((c) => (c.codePointAt(0) as number) <= 0x7f).join('');
}

function fitsOctal(width: number, value: number): boolean {
  const bits = (width - 1) * 3;
  return value >= 0 && (width >= 22 || value < 2 ** bits);
}

/** Go's splitUSTARPath: a split at a `/` with name ≤ 100 and prefix ≤ 155 bytes. */
function splitUstarPath(name: string): [string, string] | undefined {
  let length = name.length;
  if (length <= nameSize || !isAscii(name)) return undefined;
  if (length > prefixSize + 1) length = prefixSize + 1;
  else if (name[length - 1] === '/') length--;
  const i = name.lastIndexOf('/', length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > nameSize || nlen === 0 || i > prefixSize) return undefined;
  return [name.slice(0, i), name.slice(i + 1)];
}

function putString(buf: Buffer, offset: number, width: number, s: string): void {
  const bytes = Buffer.from(s, 'utf8');
  bytes.copy(buf, offset, 0, Math.min(bytes.length, width));
  // Go keeps readers from mistaking a truncated regular-file name ending in `/` for a directory.
  if (bytes.length > width && buf[offset + width - 1] === 0x2f) {
    let n = width;
    while (n > 0 && buf[offset + n - 1] === 0x2f) n--;
    buf[offset + n] = 0;
  }
}

function putOctal(buf: Buffer, offset: number, width: number, value: number): void {
  const v = fitsOctal(width, value) ? value : 0;
  putString(buf, offset, width, v.toString(8).padStart(width - 1, '0'));
}

function checksum(buf: Buffer): void {
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < block; i++) sum += buf[i] as number;
  putString(buf, 148, 7, sum.toString(8).padStart(6, '0'));
  buf[154] = 0;
  buf[155] = 0x20;
}

function setUstarMagic(buf: Buffer): void {
  buf.write('ustar\0', 257, 'latin1');
  buf.write('00', 263, 'latin1');
}

function mainHeader(h: TarWriteHeader, name: string, prefix: string, ascii: (s: string) => string): Buffer {
  const buf = Buffer.alloc(block);
  putString(buf, 0, 100, ascii(name));
  putOctal(buf, 100, 8, h.mode);
  putOctal(buf, 108, 8, h.uid);
  putOctal(buf, 116, 8, h.gid);
  putOctal(buf, 124, 12, h.size);
  putOctal(buf, 136, 12, h.mtime);
  buf.write(h.typeflag, 156, 'latin1');
  putString(buf, 157, 100, ascii(h.linkname ?? ''));
  putString(buf, 265, 32, ascii(h.uname ?? ''));
  putString(buf, 297, 32, ascii(h.gname ?? ''));
  putOctal(buf, 329, 8, 0);
  putOctal(buf, 337, 8, 0);
  putString(buf, 345, 155, prefix);
  setUstarMagic(buf);
  checksum(buf);
  return buf;
}

/** Go's formatPAXRecord: `<len> <key>=<value>\n` where len counts itself. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let size = Buffer.byteLength(body);
  size += String(size).length;
  let record = `${size}${body}`;
  if (Buffer.byteLength(record) !== size) record = `${Buffer.byteLength(record)}${body}`;
  return record;
}

/**
 * The header block(s) Go writes for `h`. With a PAX extension the result is the `x` header, its
 * records padded to a block, and the main header.
 */
export function encodeTarHeader(h: TarWriteHeader): Buffer {
  if (h.name.includes('\0'))
    throw new LadingError('INVALID_ARGUMENT', `tar entry name contains NUL: ${JSON.stringify(h.name)}`);
  const pax = new Map<string, string>();
  let ustar = true;
  const checkString = (s: string, width: number, key: string | undefined, splittable: boolean): void => {
    if (!isAscii(s) || Buffer.byteLength(s) > width) {
      if (!splittable || !splitUstarPath(s)) ustar = false;
      if (key === undefined)
        throw new LadingError('INVALID_ARGUMENT', `tar header field too long: ${JSON.stringify(s)}`);
      pax.set(key, s);
    }
  };
  const checkNumber = (n: number, width: number, key: string | undefined): void => {
    if (!fitsOctal(width, n)) {
      ustar = false;
      if (key === undefined) throw new LadingError('INVALID_ARGUMENT', `tar header value ${n} does not fit`);
      pax.set(key, String(n));
    }
  };
  checkString(h.name, nameSize, 'path', true);
  checkString(h.linkname ?? '', nameSize, 'linkpath', false);
  checkString(h.uname ?? '', 32, 'uname', false);
  checkString(h.gname ?? '', 32, 'gname', false);
  checkNumber(h.mode, 8, undefined);
  checkNumber(h.uid, 8, 'uid');
  checkNumber(h.gid, 8, 'gid');
  checkNumber(h.size, 12, 'size');
  checkNumber(h.mtime, 12, 'mtime');

  if (ustar) {
    const split = splitUstarPath(h.name);
    return mainHeader(h, split ? split[1] : h.name, split ? split[0] : '', (s) => s);
  }

  const records = [...pax.keys()]
    .sort()
    .map((k) => paxRecord(k, pax.get(k) as string))
    .join('');
  const data = Buffer.from(records, 'utf8');
  // Go's path.Split: everything up to and including the last `/` is the directory.
  const slash = h.name.lastIndexOf('/');
  const dir = slash < 0 ? '' : h.name.slice(0, slash + 1);
  const file = h.name.slice(slash + 1);
  let xname = toAscii(pathJoin(dir, 'PaxHeaders.0', file));
  if (xname.length > nameSize) xname = xname.slice(0, nameSize);
  xname = xname.replace(/\/+$/, '');
  const x = Buffer.alloc(block);
  putString(x, 0, 100, xname);
  putOctal(x, 100, 8, 0);
  putOctal(x, 108, 8, 0);
  putOctal(x, 116, 8, 0);
  putOctal(x, 124, 12, data.length);
  putOctal(x, 136, 12, 0);
  x.write('x', 156, 'latin1');
  setUstarMagic(x);
  checksum(x);
  return Buffer.concat([x, data, tarPadding(data.length), mainHeader(h, h.name, '', toAscii)]);
}

/** Go's path.Join for the three parts used above (clean, no empty elements). */
function pathJoin(...parts: string[]): string {
  const segments: string[] = [];
  for (const seg of parts.join('/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && segments.length > 0 && segments[segments.length - 1] !== '..') segments.pop();
    else segments.push(seg);
  }
  return segments.join('/');
}
