import type { SchemaProblem } from './descriptor/schema.js';
import { AccessType, canonicalAccessType, isKnownAccessType } from './types.js';

type FieldKind = 'string' | 'integer' | 'boolean' | 'typed' | 'headers';

interface AccessFields {
  /** Fields without which the access leads nowhere: present, and not empty. */
  required: readonly string[];
  /** Fields that must be there but may be empty. */
  present?: readonly string[];
  /** Every field lading or upstream reads, with its JSON type; `null` counts as absent (Go's zero value). */
  fields: Readonly<Record<string, FieldKind>>;
}

/**
 * The fields of the access types lading knows, as upstream's Go types declare them (the
 * generated schemas in ocm-notes §1.3) and as lading reads them. Upstream's schemas list every
 * field without `omitempty` as required; only those a reader cannot do without are here, and a
 * local blob's media type, which the seed's table requires but which may be empty (what upstream
 * writes for a source of unknown type).
 * The OCIImageLayer schema types `digest` as an object, an artefact of its generator: the Go
 * field is a digest string. GitHub's commit or ref is upstream's own rule for the resources it
 * pins, and lading keeps a GitHub access as written, so neither is required. S3Bucket names its fields differently in V1 (bucket, key) and v2
 * (bucketName, objectKey) and nothing here reads it, so only the types of both are checked.
 */
const accessFields: Readonly<Record<string, AccessFields>> = {
  [AccessType.LocalBlob]: {
    required: ['localReference'],
    present: ['mediaType'],
    fields: { localReference: 'string', mediaType: 'string', referenceName: 'string', globalAccess: 'typed' },
  },
  [AccessType.OCIImage]: { required: ['imageReference'], fields: { imageReference: 'string' } },
  [AccessType.OCIImageLayer]: {
    required: ['ref', 'digest', 'size'],
    fields: { ref: 'string', digest: 'string', size: 'integer', mediaType: 'string' },
  },
  [AccessType.Helm]: {
    required: ['helmRepository', 'helmChart'],
    fields: { helmRepository: 'string', helmChart: 'string', version: 'string', caCert: 'string' },
  },
  [AccessType.GitHub]: {
    required: ['repoUrl'],
    fields: { repoUrl: 'string', commit: 'string', ref: 'string', apiHostname: 'string' },
  },
  [AccessType.Wget]: {
    required: ['url'],
    fields: {
      url: 'string',
      mediaType: 'string',
      header: 'headers',
      verb: 'string',
      body: 'string',
      noRedirect: 'boolean',
    },
  },
  [AccessType.S3Bucket]: {
    required: [],
    fields: {
      region: 'string',
      bucketName: 'string',
      objectKey: 'string',
      bucket: 'string',
      key: 'string',
      version: 'string',
      mediaType: 'string',
      endpoint: 'string',
      usePathStyle: 'boolean',
    },
  },
  [AccessType.File]: { required: ['uri'], fields: { uri: 'string', mediaType: 'string', digest: 'string' } },
};

function kindProblem(kind: FieldKind, value: unknown, path: (string | number)[], type: string): SchemaProblem[] {
  const wrong = (what: string): SchemaProblem[] => [
    { path, message: `must be ${what} for access type ${type}`, keyword: 'type' },
  ];
  switch (kind) {
    case 'string':
      return typeof value === 'string' ? [] : wrong('string');
    case 'boolean':
      return typeof value === 'boolean' ? [] : wrong('boolean');
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return wrong('integer');
      return value < 0 ? [{ path, message: 'must be >= 0', keyword: 'minimum' }] : [];
    case 'typed': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong('object');
      const inner = (value as Record<string, unknown>).type;
      return typeof inner === 'string' && inner !== ''
        ? []
        : [{ path: [...path, 'type'], message: 'must be a non-empty string', keyword: 'type' }];
    }
    case 'headers': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return wrong('object');
      return Object.entries(value as Record<string, unknown>).flatMap(([name, values]) =>
        Array.isArray(values) && values.every((v) => typeof v === 'string')
          ? []
          : [{ path: [...path, name], message: 'must be a list of strings', keyword: 'items' }],
      );
    }
  }
}

/**
 * What is wrong with the fields of an access specification of a type lading knows, by path
 * from the access object (empty for an access of a type it does not know: those are kept as
 * written). Fields beyond the known ones are left alone, as upstream's decoding ignores them.
 */
export function accessFieldProblems(access: Record<string, unknown>): SchemaProblem[] {
  if (!isKnownAccessType(access.type)) return [];
  const type = canonicalAccessType(access.type);
  const spec = accessFields[type];
  if (!spec) return [];
  const problems: SchemaProblem[] = [];
  const absent = (name: string): boolean => access[name] === undefined || access[name] === null;
  for (const name of spec.required) {
    if (absent(name))
      problems.push({ path: [name], message: `is required for access type ${type}`, keyword: 'required' });
    else if (access[name] === '') problems.push({ path: [name], message: 'must not be empty', keyword: 'minLength' });
  }
  for (const name of spec.present ?? []) {
    if (absent(name))
      problems.push({ path: [name], message: `is required for access type ${type}`, keyword: 'required' });
  }
  for (const [name, kind] of Object.entries(spec.fields)) {
    if (!absent(name)) problems.push(...kindProblem(kind, access[name], [name], type));
  }
  return problems;
}
