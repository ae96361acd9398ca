import { compareBytes, goQuote, LadingError } from '../../oci/index.js';

export interface SortedJsonOptions {
  /**
   * How object keys are ordered: `bytes` as Go sorts map keys (what upstream's YAML round trip
   * leaves in a stored descriptor), `utf16` as RFC 8785 (JCS) does (what upstream's raw typed
   * objects carry). The two differ only for keys with characters outside the BMP.
   */
  keyOrder?: 'bytes' | 'utf16';
  /** Indent per level; Go's json.MarshalIndent layout when set, compact otherwise. */
  indent?: string;
}

/**
 * JSON text of a JSON value with every object's keys sorted and Go's string escaping (`<`, `>`,
 * `&`, U+2028, U+2029 as \u escapes). Numbers are float64 and print as ECMAScript prints them,
 * which is also what Go's encoding/json prints for a float64 (same exponent thresholds).
 */
export function sortedJson(value: unknown, options: SortedJsonOptions = {}): string {
  const out: string[] = [];
  const compare = options.keyOrder === 'utf16' ? compareUtf16 : compareBytes;
  write(value, out, compare, options.indent, '');
  return out.join('');
}

function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function write(
  value: unknown,
  out: string[],
  compare: (a: string, b: string) => number,
  indent: string | undefined,
  prefix: string,
): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (typeof value === 'string') {
    out.push(goQuote(value));
  } else if (typeof value === 'number') {
    out.push(formatNumber(value));
  } else if (typeof value === 'boolean') {
    out.push(value ? 'true' : 'false');
  } else if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]');
      return;
    }
    const inner = indent === undefined ? '' : prefix + indent;
    out.push('[');
    value.forEach((item, i) => {
      if (i > 0) out.push(',');
      if (indent !== undefined) out.push('\n', inner);
      write(item, out, compare, indent, inner);
    });
    if (indent !== undefined) out.push('\n', prefix);
    out.push(']');
  } else if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) {
      out.push('{}');
      return;
    }
    entries.sort(([a], [b]) => compare(a, b));
    const inner = indent === undefined ? '' : prefix + indent;
    out.push('{');
    entries.forEach(([key, item], i) => {
      if (i > 0) out.push(',');
      if (indent !== undefined) out.push('\n', inner);
      out.push(goQuote(key), indent === undefined ? ':' : ': ');
      write(item, out, compare, indent, inner);
    });
    if (indent !== undefined) out.push('\n', prefix);
    out.push('}');
  } else {
    throw new LadingError('INVALID_DESCRIPTOR', `cannot encode a ${typeof value} as JSON`);
  }
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) throw new LadingError('INVALID_DESCRIPTOR', `cannot encode ${value} as JSON`);
  if (Object.is(value, -0)) return '-0';
  return String(value);
}
