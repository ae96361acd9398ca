import type { ValidateFunction } from 'ajv';
import { compileSchema, problemsOf, readOcmSchema, type SchemaProblem } from '../descriptor/schema.js';
import { InputType } from '../types.js';

type Schema = Record<string, unknown>;

let validators: { single: ValidateFunction; multi: ValidateFunction } | undefined;

/**
 * Upstream's constructor schema has two `oneOf`s whose failures make poor messages: the top level
 * (one component or `components:`) and access-versus-input for resources and sources. Which
 * branch a document means is clear from the data (`components` present; `input` present, with
 * "both present" rejected earlier by a code rule), so the schema is compiled once per top-level
 * form and the element `oneOf`s become `if input then <input branch> else <access branch>`. For
 * a document that passes the code rule, this accepts exactly what the original schema accepts.
 */
function load(): { single: ValidateFunction; multi: ValidateFunction } {
  if (validators) return validators;
  const original = readOcmSchema('component-constructor-v1.schema.json');
  const defs = structuredClone(original.$defs) as Record<string, Schema>;
  for (const name of ['resourceDefinition', 'sourceDefinition']) {
    const def = defs[name] as Schema;
    const [accessBranch, inputBranch] = def.oneOf as Schema[];
    delete def.oneOf;
    Object.assign(def, { if: { required: ['input'] }, else: accessBranch });
    // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword
    def.then = inputBranch;
  }
  const [multiBranch] = original.oneOf as Schema[];
  const base = { $schema: original.$schema, $defs: defs };
  validators = {
    single: compileSchema({ ...base, $ref: '#/$defs/component' }),
    multi: compileSchema({ ...base, ...(multiBranch as Schema) }),
  };
  return validators;
}

/** Schema problems of a whole constructor document (after environment expansion and parsing). */
export function validateConstructorDocument(document: unknown): SchemaProblem[] {
  const { single, multi } = load();
  const isMulti = document !== null && typeof document === 'object' && 'components' in document;
  const validate = isMulti ? multi : single;
  return validate(document) ? [] : problemsOf(validate.errors, document);
}

const inputSchemaFiles: Record<string, string> = {
  [InputType.Dir]: 'input/Dir.schema.json',
  [InputType.File]: 'input/File.schema.json',
  [InputType.UTF8]: 'input/UTF8.schema.json',
  [InputType.Helm]: 'input/Helm.schema.json',
  [InputType.Wget]: 'input/Wget.schema.json',
};

const inputValidators = new Map<string, ValidateFunction>();

/**
 * Problems of one input specification against its type's generated schema. Unknown fields come
 * back with keyword `additionalProperties`: upstream decodes inputs leniently (Go ignores unknown
 * JSON fields), so callers treat those as warnings.
 */
export function validateInputSpec(canonicalType: string, spec: unknown): SchemaProblem[] {
  const file = inputSchemaFiles[canonicalType];
  if (file === undefined) return [];
  let validate = inputValidators.get(canonicalType);
  if (!validate) {
    validate = compileSchema(readOcmSchema(file));
    inputValidators.set(canonicalType, validate);
  }
  return validate(spec) ? [] : problemsOf(validate.errors, spec);
}
