/**
 * sprig's string functions that need more than a line, on Go strings (bytes: a count or an index
 * is in bytes, as in Go). A Go run-time panic inside one is a {@link GoPanic}, which the template
 * reports as Go's text/template does (`error calling substr: runtime error: …`).
 */
export class GoPanic extends Error {}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

function sliceBounds(a: number, b: number, length: number): GoPanic {
  return new GoPanic(
    a < 0 || b < 0
      ? `runtime error: slice bounds out of range [${a < 0 ? a : ''}:${b}]`
      : b > length
        ? `runtime error: slice bounds out of range [:${b}] with length ${length}`
        : `runtime error: slice bounds out of range [${a}:${b}]`,
  );
}

/** Go's s[a:b] on the bytes of `s`. */
function slice(s: string, a: number, b: number): string {
  const bytes = utf8(s);
  if (a < 0 || b < 0 || b > bytes.length || a > b) throw sliceBounds(a, b, bytes.length);
  return bytes.subarray(a, b).toString('utf8');
}

/** sprig's trunc: the first `c` bytes, or for a negative `c` the last `-c`. */
export function trunc(c: number, s: string): string {
  const length = utf8(s).length;
  if (c < 0 && length + c > 0) return slice(s, length + c, length);
  if (c >= 0 && length > c) return slice(s, 0, c);
  return s;
}

/** sprig's substr: bytes `start` to `end`; a negative start means from 0, a negative or too large end to the end. */
export function substr(start: number, end: number, s: string): string {
  const length = utf8(s).length;
  if (start < 0) return slice(s, 0, end);
  if (end < 0 || end > length) return slice(s, start, length);
  return slice(s, start, end);
}

/** strings.Repeat, refusing what no output could hold. */
export function repeat(count: number, s: string, limit: number): string {
  if (count < 0) throw new GoPanic('strings: negative Repeat count');
  if (count * utf8(s).length > limit) throw new GoPanic(`output larger than ${limit / 1024 / 1024} MiB`);
  return s.repeat(count);
}

/** sprig's indent: `spaces` spaces before every line. */
export function indent(spaces: number, s: string, limit: number): string {
  const pad = repeat(spaces, ' ', limit);
  return pad + s.split('\n').join(`\n${pad}`);
}

/** Go's strings.Title: the first letter of every word upper-cased, the rest left as it is. */
export function title(s: string): string {
  let out = '';
  let prev = ' ';
  for (const ch of s) {
    out += isSeparator(prev) ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function isSeparator(ch: string): boolean {
  if (ch.charCodeAt(0) < 0x80 && ch.length === 1) return !/[A-Za-z0-9_]/.test(ch);
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

export function b64enc(s: string): string {
  return utf8(s).toString('base64');
}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * sprig's b64dec: Go's base64.StdEncoding.DecodeString (padding required, CR and LF skipped); on
 * bad input, Go's error text (`illegal base64 data at input byte N`) is the result, as in sprig.
 */
export function b64dec(s: string): string {
  const src = utf8(s);
  const out: number[] = [];
  const illegal = (at: number) => `illegal base64 data at input byte ${at}`;
  const isNewline = (c: number | undefined) => c === 0x0a || c === 0x0d;
  let si = 0;
  for (;;) {
    const quantum: number[] = [];
    let done = false;
    while (quantum.length < 4) {
      if (si === src.length) {
        if (quantum.length === 0) return Buffer.from(out).toString('utf8');
        return illegal(si - quantum.length);
      }
      const c = src[si] as number;
      si++;
      const v = alphabet.indexOf(String.fromCharCode(c));
      if (c < 0x80 && v >= 0) {
        quantum.push(v);
        continue;
      }
      if (isNewline(c)) continue;
      if (c !== 0x3d) return illegal(si - 1);
      // Padding: only after two or three symbols, `==` after two.
      if (quantum.length < 2) return illegal(si - 1);
      if (quantum.length === 2) {
        while (si < src.length && isNewline(src[si])) si++;
        if (si === src.length) return illegal(src.length);
        if (src[si] !== 0x3d) return illegal(si - 1);
        si++;
      }
      while (si < src.length && isNewline(src[si])) si++;
      if (si < src.length) return illegal(si);
      done = true;
      break;
    }
    const [a = 0, b = 0, c = 0, d = 0] = quantum;
    const value = (a << 18) | (b << 12) | (c << 6) | d;
    const bytes = [(value >> 16) & 0xff, (value >> 8) & 0xff, value & 0xff];
    out.push(...bytes.slice(0, quantum.length - 1));
    if (done) return Buffer.from(out).toString('utf8');
  }
}
