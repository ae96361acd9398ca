import { LadingError } from '../../oci/index.js';
import { assertUniqueIdentities } from './identity.js';
import type { ComponentDescriptor } from './model.js';
import { defineSchema, formatPath, problemsOf, readOcmSchema, type SchemaProblem } from './schema.js';
import { toWire } from './wire.js';

const descriptorValidator = defineSchema('component-descriptor-v2', () =>
  readOcmSchema('component-descriptor-v2.schema.json'),
);

/**
 * Checks a parsed descriptor document (the wire form: provider a string, `null` arrays) against
 * upstream's component descriptor v2 schema (draft 2020-12).
 */
export function validateDescriptorDocument(document: unknown): SchemaProblem[] {
  const validator = descriptorValidator();
  return validator(document) ? [] : problemsOf(validator.errors, document);
}

/** Schema problems of a model, checked in the form it would be stored in. */
export function validateDescriptor(desc: ComponentDescriptor): SchemaProblem[] {
  return validateDescriptorDocument(toWire(desc));
}

/** `path: message` lines, one per problem. */
export function formatProblems(problems: readonly SchemaProblem[]): string[] {
  return problems.map((p) => `${formatPath(p.path) || '(root)'}: ${p.message}`);
}

/**
 * What upstream checks before it stores a descriptor it built: no two resources, sources or
 * references share an identity. With `schema: true` the schema is enforced too.
 */
export function assertValidDescriptor(
  desc: ComponentDescriptor,
  options: { schema?: boolean; where?: string } = {},
): void {
  const where = options.where ?? `component ${desc.component.name}:${desc.component.version}`;
  if (options.schema) {
    const problems = validateDescriptor(desc);
    if (problems.length > 0) {
      throw new LadingError('INVALID_DESCRIPTOR', `${where}: ${formatProblems(problems).join('; ')}`);
    }
  }
  assertUniqueIdentities(desc.component, where);
}
