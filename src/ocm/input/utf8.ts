import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { LadingError } from '../../oci/index.js';
import { goYaml } from '../descriptor/go-yaml.js';
import { sortedJson } from '../descriptor/sorted-json.js';
import { optionalBoolean } from './spec-fields.js';
import type { InputBlob } from './types.js';

/**
 * `UTF8/v1` {text | json | formattedJson | yaml, compress?}, byte-compatible with upstream:
 * - text: the string as UTF-8, `text/plain`;
 * - json: compact JSON, `application/json`. Upstream holds the value as canonical JSON (RFC 8785:
 *   keys in UTF-16 order, numbers as ECMAScript prints them) and re-marshals it with Go's
 *   escaping of `<`, `>`, `&`;
 * - formattedJson: the same, indented by two spaces;
 * - yaml: go-yaml v2 text of the value (sorted keys), `application/x-yaml`.
 * Exactly one must be set (`text: ""` counts as not set, `json: null` as set).
 */
export async function utf8Input(spec: Record<string, unknown>): Promise<InputBlob> {
  const has = (field: string): boolean => Object.hasOwn(spec, field) && spec[field] !== undefined;
  const text = typeof spec.text === 'string' ? spec.text : undefined;
  if (has('text') && typeof spec.text !== 'string') throw new LadingError('INVALID_ARGUMENT', 'text must be a string');
  const set = [text ? 'text' : undefined, ...['json', 'formattedJson', 'yaml'].filter(has)].filter(
    (f) => f !== undefined,
  );
  if (set.length === 0)
    throw new LadingError('INVALID_ARGUMENT', "one of 'text', 'json', 'formattedJson', or 'yaml' must be set");
  if (set.length > 1)
    throw new LadingError('INVALID_ARGUMENT', "only one of 'text', 'json', 'formattedJson', or 'yaml' can be set");

  let bytes: Buffer;
  let mediaType: string;
  switch (set[0]) {
    case 'text':
      bytes = Buffer.from(text as string, 'utf8');
      mediaType = 'text/plain';
      break;
    case 'json':
      bytes = Buffer.from(sortedJson(spec.json, { keyOrder: 'utf16' }), 'utf8');
      mediaType = 'application/json';
      break;
    case 'formattedJson':
      bytes = Buffer.from(sortedJson(spec.formattedJson, { keyOrder: 'utf16', indent: '  ' }), 'utf8');
      mediaType = 'application/json';
      break;
    default:
      bytes = Buffer.from(goYaml(spec.yaml), 'utf8');
      mediaType = 'application/x-yaml';
  }
  if (optionalBoolean(spec, 'compress')) {
    bytes = gzipSync(bytes);
    mediaType += '+gzip';
  }
  return bytesBlob(bytes, mediaType);
}

/** A blob over bytes already in memory (small, spec-sized content only). */
export function bytesBlob(bytes: Buffer, mediaType: string): InputBlob {
  return {
    mediaType,
    size: bytes.length,
    digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
    open: () => Readable.from([bytes]),
    bytes,
  };
}
