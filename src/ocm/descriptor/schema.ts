import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { packagePath } from '../../oci/index.js';

/** One schema violation: where (segments of the JSON path) and what. */
export interface SchemaProblem {
  /** Path segments from the document root; numbers index arrays. */
  path: (string | number)[];
  /** What is wrong there. */
  message: string;
  /** The ajv keyword, for callers that want to treat some problems differently. */
  keyword: string;
}

interface AjvLike {
  compile(schema: object): ValidateFunction;
}

type Schema = Record<string, unknown>;

const require = createRequire(import.meta.url);
let ajv: AjvLike | undefined;

/** An ajv 2020-12 instance for OCM schemas (strict off: the vendored schemas are loose). */
function newInstance(): AjvLike {
  // ajv is CommonJS; loading it lazily keeps start-up fast for commands that never validate.
  const Ajv2020 = require('ajv/dist/2020') as new (opts: object) => AjvLike;
  const addFormats = require('ajv-formats') as (a: object) => void;
  const a = new Ajv2020({ strict: false, allErrors: true, logger: false, code: { source: true } });
  addFormats(a);
  return a;
}

/** The one instance shared by every schema compiled at run time. */
function instance(): AjvLike {
  ajv ??= newInstance();
  return ajv;
}

const schemaDir = packagePath('schemas', 'ocm', '/');
/** Validators generated ahead of time by `npm run compile-schemas` (scripts/compile-schemas.ts). */
export const compiledSchemaDir = packagePath('schemas', 'compiled', '/');

/** Reads a vendored schema from `schemas/ocm/` as a plain object. */
export function readOcmSchema(file: string): Schema {
  return JSON.parse(readFileSync(schemaDir + file, 'utf8')) as Schema;
}

/** The schema as compiled: the `$id` is dropped so that derived variants can coexist. */
function withoutId(schema: Schema): Schema {
  const { $id: _id, ...rest } = schema;
  return rest;
}

/**
 * What a precompiled validator must have been made from to be used: the exact schema and the
 * ajv release whose runtime its code calls. Anything else and the schema is compiled afresh.
 */
export function schemaKey(schema: Schema): string {
  const { version } = require('ajv/package.json') as { version: string };
  return createHash('sha256')
    .update(`ajv ${version}\n${JSON.stringify(withoutId(schema))}`)
    .digest('hex');
}

/** Compiles a schema object with the shared ajv instance. */
export function compileSchema(schema: Schema): ValidateFunction {
  return instance().compile(withoutId(schema));
}

/**
 * Standalone CommonJS source of a compiled validator (for scripts/compile-schemas.ts), from a
 * fresh ajv instance so that the same schema always gives the same text.
 */
export function standaloneSource(schema: Schema): string {
  const standalone = require('ajv/dist/standalone').default as (a: AjvLike, v: ValidateFunction) => string;
  const a = newInstance();
  return standalone(a, a.compile(withoutId(schema)));
}

const defined = new Map<string, () => Schema>();

/** Every named schema defined so far, with the function that builds it. */
export function definedSchemas(): ReadonlyMap<string, () => Schema> {
  return defined;
}

/**
 * Declares a named schema and returns a getter for its validator. Compiling the OCM schemas takes
 * ajv about 100 ms each, so the getter loads `schemas/compiled/<name>.cjs` when that file was
 * generated from this very schema (see `schemaKey`), and compiles only otherwise.
 */
export function defineSchema(name: string, build: () => Schema): () => ValidateFunction {
  defined.set(name, build);
  let validator: ValidateFunction | undefined;
  return () => {
    if (validator) return validator;
    const schema = build();
    try {
      const compiled = require(`${compiledSchemaDir}${name}.cjs`) as ValidateFunction & { key?: string };
      if (compiled.key === schemaKey(schema)) validator = compiled;
    } catch {
      // not generated: compile below
    }
    validator ??= compileSchema(schema);
    return validator;
  };
}

/** Parses an ajv instance path (`/a/0/b~1c`) into segments. */
export function pathSegments(instancePath: string, data: unknown): (string | number)[] {
  if (instancePath === '') return [];
  const out: (string | number)[] = [];
  let node = data;
  for (const raw of instancePath.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      out.push(Number(key));
      node = node[Number(key)];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

/** `components[0].resources[2].input.path`; keys that are not identifiers are bracket-quoted. */
export function formatPath(path: readonly (string | number)[]): string {
  // Joined once: a `+=` chain makes a tree of pieces (some 150 bytes more for each of the
  // thousands of locations a large constructor's model keeps).
  const parts: string[] = [];
  for (const seg of path) {
    if (typeof seg === 'number') parts.push(`[${seg}]`);
    else if (/^[A-Za-z_$][\w$-]*$/.test(seg)) parts.push(parts.length === 0 ? seg : `.${seg}`);
    else parts.push(`[${JSON.stringify(seg)}]`);
  }
  return parts.join('');
}

const combinators = new Set(['oneOf', 'anyOf', 'if']);

/**
 * Turns ajv's raw errors into the problems a person needs. Failing `oneOf`/`anyOf` branches
 * report every branch's errors; when some branch got past the type check (it has errors deeper
 * in the data) only those deeper errors are kept, otherwise the type errors merge into one
 * "must be string or object". Duplicates (the same `$ref` checked from two branches) go.
 */
export function problemsOf(errors: readonly ErrorObject[] | null | undefined, data: unknown): SchemaProblem[] {
  if (!errors) return [];
  const dropped = new Set<ErrorObject>();
  const merged: SchemaProblem[] = [];
  for (const error of errors) {
    if (!combinators.has(error.keyword)) continue;
    dropped.add(error);
    if (error.keyword === 'if') continue;
    const at = error.instancePath;
    const branch = errors.filter(
      (e) =>
        e !== error && !combinators.has(e.keyword) && (e.instancePath === at || e.instancePath.startsWith(`${at}/`)),
    );
    const deeper = branch.filter((e) => e.instancePath !== at);
    const typeAtRoot = branch.filter((e) => e.instancePath === at && e.keyword === 'type');
    if (deeper.length > 0) {
      for (const e of typeAtRoot) dropped.add(e);
    } else if (typeAtRoot.length > 0 && typeAtRoot.length === branch.length) {
      for (const e of typeAtRoot) dropped.add(e);
      const types = [...new Set(typeAtRoot.map((e) => String((e.params as { type?: unknown }).type)))];
      types.sort((a, b) => (a === 'null' ? 1 : b === 'null' ? -1 : 0));
      merged.push({ path: pathSegments(at, data), message: `must be ${types.join(' or ')}`, keyword: 'type' });
    }
  }
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  const add = (p: SchemaProblem): void => {
    const key = `${formatPath(p.path)}\0${p.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push(p);
  };
  for (const error of errors) {
    if (dropped.has(error)) continue;
    add({ path: pathSegments(error.instancePath, data), message: messageOf(error), keyword: error.keyword });
  }
  for (const p of merged) add(p);
  return problems;
}

/** What the schemas' long patterns ask for, in words; the pattern itself for any other. */
function patternMessage(pattern: string): string {
  if (pattern.startsWith('^[v]?(0|[1-9]\\d*)')) {
    return 'must be a semantic version such as 1.0.0 or v1.2.3-rc.1';
  }
  if (pattern.startsWith('^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(/')) {
    return 'must be a lower-case component name: a DNS domain and a path, such as acme.org/my-component';
  }
  return `must match pattern ${pattern}`;
}

function messageOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `missing required field "${String(params.missingProperty)}"`;
    case 'additionalProperties':
      return `unknown field "${String(params.additionalProperty)}"`;
    case 'pattern':
      return patternMessage(String(params.pattern));
    case 'const':
      return `must be ${JSON.stringify(params.allowedValue)}`;
    case 'enum':
      return `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return error.message ?? error.keyword;
  }
}
