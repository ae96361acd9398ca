import { defineSchema, problemsOf, readOcmSchema, type SchemaProblem } from '../descriptor/schema.js';
import { InputType } from '../types.js';

type Schema = Record<string, unknown>;

/**
 * Upstream's constructor schema has two `oneOf`s whose failures make poor messages: the top level
 * (one component or `components:`) and access-versus-input for resources and sources. Which
 * branch a document means is clear from the data (`components` present; `input` present, with
 * "both present" rejected earlier by a code rule), so the schema is compiled once per top-level
 * form and the element `oneOf`s become `if input then <input branch> else <access branch>`. For
 * a document that passes the code rule, this accepts exactly what the original schema accepts.
 */
function derived(form: 'single' | 'multi'): Schema {
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
  return form === 'single' ? { ...base, $ref: '#/$defs/component' } : { ...base, ...(multiBranch as Schema) };
}

const singleValidator = defineSchema('component-constructor-v1-single', () => derived('single'));
const multiValidator = defineSchema('component-constructor-v1-multi', () => derived('multi'));

/** Schema problems of a whole constructor document (after environment expansion and parsing). */
export function validateConstructorDocument(document: unknown): SchemaProblem[] {
  const isMulti = document !== null && typeof document === 'object' && 'components' in document;
  const validate = isMulti ? multiValidator() : singleValidator();
  return validate(document) ? [] : problemsOf(validate.errors, document);
}

const inputSchemaFiles: Record<string, string> = {
  [InputType.Dir]: 'Dir',
  [InputType.File]: 'File',
  [InputType.UTF8]: 'UTF8',
  [InputType.Helm]: 'Helm',
  [InputType.Wget]: 'Wget',
};

const inputValidators = new Map(
  Object.entries(inputSchemaFiles).map(([type, file]) => [
    type,
    defineSchema(`input-${file}`, () => readOcmSchema(`input/${file}.schema.json`)),
  ]),
);

/**
 * Problems of one input specification against its type's generated schema. Unknown fields come
 * back with keyword `additionalProperties`: upstream decodes inputs leniently (Go ignores unknown
 * JSON fields), so callers treat those as warnings.
 */
export function validateInputSpec(canonicalType: string, spec: unknown): SchemaProblem[] {
  const validate = inputValidators.get(canonicalType)?.();
  if (validate === undefined) return [];
  return validate(spec) ? [] : problemsOf(validate.errors, spec);
}
