import { readTarBytes } from '../../archive/index.js';
import { LadingError } from '../../oci/index.js';
import { parseGoYaml } from './go-yaml-read.js';
import { assertUniqueIdentities } from './identity.js';
import { DescriptorTarEntryName, descriptorEncoding } from './media-types.js';
import type { ComponentDescriptor } from './model.js';
import { assertDescriptorNames } from './names.js';
import type { SchemaProblem } from './schema.js';
import { formatProblems, validateDescriptorDocument } from './validate.js';
import { fromWire } from './wire.js';

/** Options of {@link decodeDescriptor}. */
export interface DecodeDescriptorOptions {
  /**
   * Upstream only warns when a stored descriptor breaks the schema, and reads it anyway; so do
   * we, reporting each problem here. With `strict` a problem is an INVALID_DESCRIPTOR error.
   * The names that identify the component and its elements are always enforced (names.ts).
   */
  onProblem?: (problem: SchemaProblem) => void;
  /** Fail with INVALID_DESCRIPTOR on the first schema problem instead of reporting it. */
  strict?: boolean;
}

/**
 * Decodes a stored descriptor of any current or legacy media type: `+json`, `+yaml`, the V1 tar
 * forms (`+yaml+tar`, gardener media types). The provider may be a name or the JSON form.
 */
export function decodeDescriptor(
  bytes: Uint8Array,
  mediaType: string,
  where: string,
  options: DecodeDescriptorOptions = {},
): ComponentDescriptor {
  const encoding = descriptorEncoding(mediaType);
  if (encoding === undefined) {
    throw new LadingError('INVALID_MEDIA_TYPE', `${where}: "${mediaType}" is not a component descriptor media type`);
  }
  let text: string;
  if (encoding === 'yaml+tar') {
    const entry = readTarBytes(bytes, where).find((e) => e.name.replace(/^\/+/, '') === DescriptorTarEntryName);
    if (!entry)
      throw new LadingError('INVALID_DESCRIPTOR', `${where}: no ${DescriptorTarEntryName} in the descriptor tar`);
    text = entry.body.toString('utf8');
  } else {
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
  const document = parseDocumentText(text, encoding === 'json', where);
  checkDepth(document, where);
  const problems = validateDescriptorDocument(document);
  if (problems.length > 0) {
    if (options.strict) {
      throw new LadingError('INVALID_DESCRIPTOR', `${where}: ${formatProblems(problems).join('; ')}`);
    }
    for (const p of problems) options.onProblem?.(p);
  }
  const descriptor = fromWire(document, where);
  assertDescriptorNames(descriptor, where);
  // Two resources (sources, references) of one identity make every selection by identity
  // ambiguous: which one a download takes, a signature digests or a verification vouches for.
  assertUniqueIdentities(descriptor.component, where);
  return descriptor;
}

/**
 * Deepest nesting accepted. Real descriptors are a dozen levels deep; the encoders, normalisation
 * and output formats recurse, so a hostile document nested thousands deep would overflow the stack
 * later, far from the input that caused it.
 */
export const MaxDescriptorDepth = 1000;

function checkDepth(document: unknown, where: string): void {
  const pending: [unknown, number][] = [[document, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth] = next;
    // YAML's .nan and .inf: no JSON holds them, so the descriptor could be neither normalised
    // nor written back (upstream's YAML-to-JSON step refuses them).
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new LadingError('INVALID_DESCRIPTOR', `${where}: ${value} is not a number JSON can hold`);
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MaxDescriptorDepth) {
      throw new LadingError('INVALID_DESCRIPTOR', `${where}: nested deeper than ${MaxDescriptorDepth} levels`);
    }
    // Both parsers keep a `__proto__` key as data, but every object built from it by assignment
    // drops it: the model and the normalised form would not hold what the document says, and a
    // signature over the document without it would verify a document with it.
    if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) {
      throw new LadingError('INVALID_DESCRIPTOR', `${where}: a key named "__proto__" is not accepted`);
    }
    for (const child of Object.values(value)) pending.push([child, depth + 1]);
  }
}

function parseDocumentText(text: string, json: boolean, where: string): unknown {
  if (json) {
    try {
      return JSON.parse(text);
    } catch {
      // Upstream reads JSON descriptors with its YAML reader too, which accepts a little more.
    }
  }
  const { value, errors } = parseGoYaml(text);
  if (errors.length > 0)
    throw new LadingError('INVALID_DESCRIPTOR', `${where}: not valid ${json ? 'JSON' : 'YAML'}: ${errors[0]}`);
  return value;
}
