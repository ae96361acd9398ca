import { readFileSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { LadingError } from './errors.js';
import { MediaType } from './media-type.js';
import { packagePath } from './package-root.js';

/** Schema files by the media type they validate (image-spec's own table). */
const schemaFiles: Record<string, string> = {
  'application/vnd.oci.descriptor.v1+json': 'content-descriptor.json',
  [MediaType.ImageLayout]: 'image-layout-schema.json',
  [MediaType.ImageManifest]: 'image-manifest-schema.json',
  [MediaType.ImageIndex]: 'image-index-schema.json',
  [MediaType.ImageConfig]: 'config-schema.json',
};

const allFiles = [
  'defs.json',
  'defs-descriptor.json',
  'content-descriptor.json',
  'config-schema.json',
  'image-index-schema.json',
  'image-layout-schema.json',
  'image-manifest-schema.json',
];

const base = 'https://opencontainers.org/schema/image/';
let validators: Map<string, ValidateFunction> | undefined;

/** Nested `id`s in the upstream draft-04 files rebase relative `$ref`s; drop them. */
function stripIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripIds);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'id' && typeof v === 'string') continue;
      out[k] = stripIds(v);
    }
    return out;
  }
  return value;
}

function load(): Map<string, ValidateFunction> {
  if (validators) return validators;
  // ajv-draft-04 is CommonJS; loading it lazily keeps CLI start-up fast.
  // node:module on first use: most commands never validate against a schema.
  const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);
  const Ajv04 = require('ajv-draft-04') as new (
    opts: object,
  ) => {
    addSchema(schema: object, key: string): void;
    getSchema(key: string): ValidateFunction | undefined;
  };
  const addFormats = require('ajv-formats') as (ajv: object, formats: string[]) => void;
  // The library never prints: ajv's console warnings (unknown formats) are switched off.
  const ajv = new Ajv04({ allErrors: false, strict: false, logger: false });
  addFormats(ajv, ['uri']);
  const dir = packagePath('schemas', 'oci', '/');
  for (const file of allFiles) {
    const schema = stripIds(JSON.parse(readFileSync(dir + file, 'utf8'))) as Record<string, unknown>;
    schema.id = base + file;
    ajv.addSchema(schema, base + file);
  }
  validators = new Map();
  for (const [mediaType, file] of Object.entries(schemaFiles)) {
    const fn = ajv.getSchema(base + file);
    if (fn) validators.set(mediaType, fn);
  }
  return validators;
}

export function hasSchema(mediaType: string): boolean {
  return mediaType in schemaFiles;
}

const knownHexLength: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Go's validator decodes into structs and checks digests; JSON Schema alone misses these. */
function extraChecks(value: unknown, path: string, problems: string[]): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) extraChecks(v, `${path}[${i}]`, problems);
    return;
  }
  if (!value || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  if (typeof record.digest === 'string') {
    const [alg, hex] = record.digest.split(':', 2);
    const want = alg ? knownHexLength[alg] : undefined;
    if (want !== undefined && (hex?.length !== want || !/^[a-f0-9]+$/.test(hex))) {
      problems.push(`${path}.digest: invalid ${alg} digest "${record.digest}"`);
    }
  }
  if (
    typeof record.data === 'string' &&
    !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(record.data)
  ) {
    problems.push(`${path}.data: not standard base64`);
  }
  const env = (record.config as Record<string, unknown> | undefined)?.Env;
  if (path === '$' && Array.isArray(env)) {
    for (const [i, e] of env.entries()) {
      if (typeof e !== 'string' || !/^[^=]+=.*$/.test(e)) problems.push(`$.config.Env[${i}]: expected NAME=value`);
    }
  }
  for (const [k, v] of Object.entries(record)) {
    if (v && typeof v === 'object') extraChecks(v, `${path}.${k}`, problems);
  }
}

/** Validates a parsed document against the image-spec schema for its media type. */
export function validateOciSchema(mediaType: string, value: unknown): string[] {
  const fn = load().get(mediaType);
  if (!fn) throw new LadingError('UNSUPPORTED', `no OCI schema for media type "${mediaType}"`);
  const problems: string[] = [];
  if (!fn(value)) {
    for (const e of fn.errors ?? [])
      problems.push(`$${e.instancePath.replaceAll('/', '.')}: ${e.message ?? 'invalid'}`);
  }
  if (problems.length === 0) extraChecks(value, '$', problems);
  return problems;
}

export function assertOciSchema(mediaType: string, value: unknown, where: string): void {
  const problems = validateOciSchema(mediaType, value);
  if (problems.length > 0) {
    throw new LadingError(
      'INVALID_MANIFEST',
      `${where}: does not match the OCI schema for ${mediaType}: ${problems[0]}`,
    );
  }
}
