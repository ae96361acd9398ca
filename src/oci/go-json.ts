/**
 * JSON text exactly as Go's encoding/json writes it, so that manifests we build have the same
 * digest oras-go would give the same content. Plain objects are written in insertion order (they
 * stand for Go structs, whose field order the caller sets); `Map`s stand for Go maps and are
 * written with keys sorted bytewise. Strings get Go's escaping: `<`, `>`, `&`, U+2028 and U+2029
 * as \u escapes, and lone surrogates (invalid UTF-8 in Go) as U+FFFD.
 */
export function goStringify(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join('');
}

function write(value: unknown, out: string[]): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (typeof value === 'string') {
    out.push(goQuote(value));
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`);
    out.push(formatNumber(value));
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (Array.isArray(value)) {
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      write(item, out);
    });
    out.push(']');
  } else if (value instanceof Map) {
    const keys = [...value.keys()].map(String).sort(compareBytes);
    out.push('{');
    keys.forEach((key, i) => {
      if (i > 0) out.push(',');
      out.push(goQuote(key), ':');
      write(value.get(key), out);
    });
    out.push('}');
  } else if (typeof value === 'object') {
    out.push('{');
    let first = true;
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      if (!first) out.push(',');
      first = false;
      out.push(goQuote(key), ':');
      write(item, out);
    }
    out.push('}');
  } else {
    throw new TypeError(`cannot encode ${typeof value} as JSON`);
  }
}

/** Go formats float64 like ES for the integer range we use; large exponents differ (1e+21). */
function formatNumber(value: number): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    // Go: strconv 'e' format with at least two exponent digits.
    return value.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(value);
}

export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const shortEscapes: Record<number, string> = {
  8: '\\b',
  9: '\\t',
  10: '\\n',
  12: '\\f',
  13: '\\r',
  34: '\\"',
  92: '\\\\',
};

/** Go's escape of each character it escapes, made once (every escape is then the same string). */
function goEscape(c: number): string | undefined {
  if (c < 0x20 || c === 0x22 || c === 0x5c) return shortEscapes[c] ?? `\\u00${c.toString(16).padStart(2, '0')}`;
  if (c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029)
    return `\\u${c.toString(16).padStart(4, '0')}`;
  return undefined;
}
const asciiEscapes = Array.from({ length: 0x80 }, (_, c) => goEscape(c));
const lineSeparatorEscapes = [goEscape(0x2028), goEscape(0x2029)];

export function goQuote(text: string): string {
  // Pieces are joined a few thousand at a time: one `+=` per escape built a rope of nodes that
  // took 680 MB for a 10 MB string of "<" (Go escapes it as \u003c), and one array of every piece
  // still took 16 bytes a character; flat chunks hold about what the result does.
  const chunks: string[] = [];
  let parts: string[] = ['"'];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let escaped: string | undefined;
    if (c < 0x80) escaped = asciiEscapes[c];
    else if (c === 0x2028 || c === 0x2029) escaped = lineSeparatorEscapes[c - 0x2028];
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      escaped = '\ufffd';
    }
    if (escaped !== undefined) {
      if (i > start) parts.push(text.slice(start, i));
      parts.push(escaped);
      start = i + 1;
      if (parts.length >= 4096) {
        chunks.push(parts.join(''));
        parts = [];
      }
    }
  }
  parts.push(text.slice(start), '"');
  if (chunks.length === 0) return parts.join('');
  chunks.push(parts.join(''));
  return chunks.join('');
}
