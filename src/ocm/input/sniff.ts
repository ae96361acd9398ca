/**
 * Content sniffing for File/v1 inputs without a media type. Upstream uses
 * github.com/gabriel-vasile/mimetype; this covers the formats a component is likely to carry,
 * with that library's names and its rules for text (WHATWG binary-byte test over the first
 * 3072 bytes, then the charset: utf-8, iso-8859-1 or windows-1252). Formats not covered here
 * (office documents, media containers, CSV, …) come out as their parent type, as they would from
 * an older mimetype release: `application/zip`, `application/octet-stream` or `text/plain`.
 */
export const SniffLength = 3072;

interface Signature {
  mediaType: string;
  test: (b: Buffer) => boolean;
}

const startsWith =
  (...bytes: number[]) =>
  (b: Buffer): boolean =>
    b.length >= bytes.length && bytes.every((v, i) => b[i] === v);

const ascii =
  (text: string, offset = 0) =>
  (b: Buffer): boolean =>
    b.subarray(offset, offset + text.length).toString('latin1') === text;

// Order as in mimetype's tree where it matters (zip and pdf before gzip; tar by checksum).
const signatures: Signature[] = [
  { mediaType: 'application/x-7z-compressed', test: startsWith(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c) },
  {
    mediaType: 'application/zip',
    test: (b) =>
      startsWith(0x50, 0x4b, 0x03, 0x04)(b) ||
      startsWith(0x50, 0x4b, 0x05, 0x06)(b) ||
      startsWith(0x50, 0x4b, 0x07, 0x08)(b),
  },
  { mediaType: 'application/pdf', test: ascii('%PDF-') },
  { mediaType: 'image/png', test: startsWith(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a) },
  { mediaType: 'image/jpeg', test: startsWith(0xff, 0xd8, 0xff) },
  { mediaType: 'image/gif', test: (b) => ascii('GIF87a')(b) || ascii('GIF89a')(b) },
  { mediaType: 'image/webp', test: (b) => ascii('RIFF')(b) && ascii('WEBP', 8)(b) },
  { mediaType: 'application/x-elf', test: startsWith(0x7f, 0x45, 0x4c, 0x46) },
  { mediaType: 'application/x-tar', test: isTar },
  { mediaType: 'application/x-bzip2', test: startsWith(0x42, 0x5a, 0x68) },
  { mediaType: 'application/gzip', test: startsWith(0x1f, 0x8b) },
  { mediaType: 'application/wasm', test: startsWith(0x00, 0x61, 0x73, 0x6d) },
  {
    mediaType: 'application/zstd',
    test: (b) =>
      b.length >= 4 &&
      (b[0] as number) >= 0x22 &&
      (b[0] as number) <= 0x28 &&
      startsWith(0xb5, 0x2f, 0xfd)(b.subarray(1)),
  },
  { mediaType: 'application/x-xz', test: startsWith(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00) },
];

/** A tar header: the stored checksum matches the header bytes (mimetype checks the same). */
function isTar(b: Buffer): boolean {
  if (b.length < 512) return false;
  const field = b
    .subarray(148, 156)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .trim();
  if (!/^[0-7]+$/.test(field)) return false;
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : (b[i] as number);
  return sum === Number.parseInt(field, 8);
}

const boms: [number[], string][] = [
  [[0xef, 0xbb, 0xbf], 'utf-8'],
  [[0x00, 0x00, 0xfe, 0xff], 'utf-32be'],
  [[0xff, 0xfe, 0x00, 0x00], 'utf-32le'],
  [[0xfe, 0xff], 'utf-16be'],
  [[0xff, 0xfe], 'utf-16le'],
];

function bomCharset(b: Buffer): string | undefined {
  return boms.find(([bom]) => startsWith(...bom)(b))?.[1];
}

function isText(b: Buffer): boolean {
  if (bomCharset(b)) return true;
  for (const c of b) {
    if (c <= 0x08 || c === 0x0b || (c >= 0x0e && c <= 0x1a) || (c >= 0x1c && c <= 0x1f)) return false;
  }
  return true;
}

/** file(1)'s text table as mimetype uses it: T = text, I = ISO-8859 high, X = C1 control. */
function charClass(c: number): 'T' | 'I' | 'X' | 'F' {
  if (c === 7 || c === 8 || c === 9 || c === 10 || c === 11 || c === 12 || c === 13 || c === 27) return 'T';
  if (c >= 0x20 && c <= 0x7e) return 'T';
  if (c === 0x85) return 'T';
  if (c >= 0x80 && c <= 0x9f) return 'X';
  if (c >= 0xa0) return 'I';
  return 'F';
}

function plainCharset(b: Buffer): string | undefined {
  if (b.length === 0) return undefined;
  const bom = bomCharset(b);
  if (bom) return bom;
  let content = b;
  for (let i = b.length - 1; i >= 0 && i > b.length - 4; i--) {
    const c = b[i] as number;
    if (c < 0x80) break;
    if ((c & 0xc0) !== 0x80) {
      content = b.subarray(0, i);
      break;
    }
  }
  const highBit = content.some((c) => c >= 0x80);
  if (highBit && isValidUtf8(content)) return 'utf-8';
  if (b.every((c) => charClass(c) === 'T')) return 'utf-8';
  let control = false;
  for (const c of b) {
    const t = charClass(c);
    if (t !== 'T' && t !== 'I') return undefined;
    if (c >= 0x80 && c <= 0x9f) control = true;
  }
  return control ? 'windows-1252' : 'iso-8859-1';
}

function isValidUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

const htmlTags = [
  '<!DOCTYPE HTML',
  '<HTML',
  '<HEAD',
  '<SCRIPT',
  '<IFRAME',
  '<H1',
  '<DIV',
  '<FONT',
  '<TABLE',
  '<A',
  '<STYLE',
  '<TITLE',
  '<B',
  '<BODY',
  '<BR',
  '<P',
  '<!--',
];

function trimmedStart(b: Buffer): string {
  return b.toString('latin1').replace(/^[\t\n\f\r ]+/, '');
}

function isHtml(b: Buffer): boolean {
  const text = trimmedStart(b).toUpperCase();
  return htmlTags.some((tag) => {
    if (!text.startsWith(tag)) return false;
    const next = text[tag.length];
    return next === ' ' || next === '>';
  });
}

function isJson(b: Buffer): boolean {
  const text = b.toString('utf8').trim();
  if (text.length < 2 || (text[0] !== '{' && text[0] !== '[')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The media type of content starting with `head` (at most the first 3072 bytes are looked at).
 * `truncated` says whether `head` is only the start of the content.
 */
export function sniffMediaType(head: Uint8Array, options: { truncated?: boolean } = {}): string {
  const b = Buffer.from(head.buffer, head.byteOffset, Math.min(head.byteLength, SniffLength));
  for (const sig of signatures) if (sig.test(b)) return sig.mediaType;
  if (!isText(b)) return 'application/octet-stream';
  const start = trimmedStart(b);
  if (isHtml(b)) return `text/html; charset=${plainCharset(b) ?? 'utf-8'}`;
  if (/^<svg\b/i.test(start)) return 'image/svg+xml';
  if (start.startsWith('<?xml')) return `text/xml; charset=${plainCharset(b) ?? 'utf-8'}`;
  if (!options.truncated && head.byteLength <= SniffLength && isJson(b)) return 'application/json';
  const charset = plainCharset(b);
  return charset ? `text/plain; charset=${charset}` : 'text/plain';
}
