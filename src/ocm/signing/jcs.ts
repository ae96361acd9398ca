import { LadingError } from '../../oci/index.js';

/**
 * RFC 8785 JSON Canonicalization Scheme: object members sorted by their UTF-16 code units, no
 * whitespace, strings with the minimal escaping of ECMAScript's JSON.stringify, numbers in
 * ECMAScript's Number.prototype.toString form. Upstream pre-encodes with Go, which turns lone
 * surrogates into U+FFFD; that happens here too, so such strings canonicalise alike.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, '$');
  return out.join('');
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function write(value: unknown, out: string[], path: string): void {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value.replace(loneSurrogate, '\uFFFD')));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'bigint':
      // Upstream decodes every number into a float64; so do we.
      writeNumber(Number(value), out, path);
      return;
    case 'number':
      writeNumber(value, out, path);
      return;
    case 'object':
      if (value === null) {
        out.push('null');
      } else if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item, i) => {
          if (i > 0) out.push(',');
          write(item === undefined ? null : item, out, `${path}[${i}]`);
        });
        out.push(']');
      } else {
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record)
          .filter((k) => record[k] !== undefined)
          .sort();
        out.push('{');
        keys.forEach((key, i) => {
          if (i > 0) out.push(',');
          out.push(JSON.stringify(key.replace(loneSurrogate, '\uFFFD')), ':');
          write(record[key], out, `${path}.${key}`);
        });
        out.push('}');
      }
      return;
    default:
      throw new LadingError('INVALID_DESCRIPTOR', `${path}: a ${typeof value} cannot be canonicalised as JSON`);
  }
}

function writeNumber(n: number, out: string[], path: string): void {
  if (!Number.isFinite(n)) throw new LadingError('INVALID_DESCRIPTOR', `${path}: ${n} is not a JSON number`);
  // JSON.stringify formats finite numbers exactly as Number.prototype.toString, and -0 as 0.
  out.push(JSON.stringify(n));
}
