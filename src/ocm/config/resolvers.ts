import { LadingError } from '../../oci/index.js';
import { parseRepository, type RepositorySpec } from '../reference.js';
import { canonicalRepositoryType, RepositoryType } from '../types.js';
import type { OcmConfig } from './model.js';

/**
 * Where references to other components are looked up, from the OCM configuration's resolvers in
 * both upstream forms:
 * - `resolvers.config.ocm.software/v1alpha1`: `resolvers: [{repository, componentNamePattern}]`,
 *   in order, a pattern with `*` wildcards (the whole name when absent);
 * - `ocm.config.ocm.software` (OCM v1): `resolvers: [{repository, prefix, priority}]`, a name
 *   prefix, higher priority first.
 */
export interface ComponentResolver {
  /** The repository to look in. */
  repository: RepositorySpec;
  /** Whether this resolver is asked for a component of this name. */
  matches(component: string): boolean;
  /** Higher is asked first (OCM v1 `priority`; 0 for the current form, which keeps file order). */
  priority: number;
  /** Where the resolver was configured (`configurations[i].resolvers[j]`), for messages. */
  source: string;
}

type Obj = Record<string, unknown>;

/** The fields upstream's repository schemas allow (`additionalProperties: false`) and the strings among them. */
const RepositoryFields: Record<RepositorySpec['kind'], string[]> = {
  CommonTransportFormat: ['type', 'filePath', 'accessMode'],
  OCIRepository: ['type', 'baseUrl', 'subPath'],
};

/**
 * Refuses what upstream's repository schemas refuse: a field they do not define (a misspelt
 * `filepath` would otherwise be read as no path at all) and a value of a defined field that is not a string.
 */
export function checkRepositoryFields(raw: Obj, kind: RepositorySpec['kind'], where: string): void {
  const allowed = RepositoryFields[kind];
  for (const [key, value] of Object.entries(raw)) {
    if (!allowed.includes(key)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `${where}.${key}: unknown field for a ${kind} repository (allowed: ${allowed.join(', ')})`,
      );
    }
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new LadingError('INVALID_ARGUMENT', `${where}.${key}: must be a string`);
    }
  }
}

/**
 * A repository spec object (`{type, baseUrl, subPath}` or `{type, filePath}`) as a RepositorySpec.
 * With `strict` (a transfer spec), fields upstream's schemas do not define are refused, as they are upstream.
 */
export function repositorySpecFrom(raw: unknown, where: string, o: { strict?: boolean } = {}): RepositorySpec {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new LadingError('INVALID_ARGUMENT', `${where}: repository must be an object`);
  const r = raw as Obj;
  const type = canonicalRepositoryType(r.type, { path: `${where}.type` });
  if (o.strict) {
    checkRepositoryFields(
      r,
      type === RepositoryType.CommonTransportFormat ? 'CommonTransportFormat' : 'OCIRepository',
      where,
    );
  }
  if (type === RepositoryType.CommonTransportFormat) {
    if (typeof r.filePath !== 'string' || r.filePath === '')
      throw new LadingError('INVALID_ARGUMENT', `${where}: filePath is required for ${type}`);
    return { kind: 'CommonTransportFormat', type, filePath: r.filePath };
  }
  if (typeof r.baseUrl !== 'string' || r.baseUrl === '')
    throw new LadingError('INVALID_ARGUMENT', `${where}: baseUrl is required for ${type}`);
  // A baseUrl with a path (`http://host/sub`) is read as the command line reads it: host and sub path.
  const parsed = parseRepository(`${type}::${r.baseUrl}`);
  if (parsed.kind !== 'OCIRepository')
    throw new LadingError('INVALID_ARGUMENT', `${where}: baseUrl ${JSON.stringify(r.baseUrl)} is not a registry`);
  const subPath = typeof r.subPath === 'string' && r.subPath ? r.subPath : parsed.subPath;
  return { kind: 'OCIRepository', type, baseUrl: parsed.baseUrl, ...(subPath ? { subPath } : {}) };
}

function globMatcher(pattern: string): (name: string) => boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
  return (name) => re.test(name);
}

/** The resolvers of an OCM configuration, in the order they are asked (see {@link ComponentResolver}). */
export function resolversFromConfig(config: OcmConfig): ComponentResolver[] {
  const out: ComponentResolver[] = [];
  config.configurations.forEach((entry, i) => {
    const type = entry.type;
    const list = Array.isArray(entry.resolvers) ? (entry.resolvers as unknown[]) : [];
    const current = /^resolvers\.config\.ocm\.software(\/v1alpha1)?$/.test(type);
    const legacy = /^ocm\.config\.ocm\.software(\/v1)?$/.test(type);
    if (!current && !legacy) return;
    list.forEach((raw, j) => {
      const where = `configurations[${i}].resolvers[${j}]`;
      if (raw === null || typeof raw !== 'object')
        throw new LadingError('INVALID_ARGUMENT', `${where}: must be an object`);
      const r = raw as Obj;
      const repository = repositorySpecFrom(r.repository, `${where}.repository`);
      if (current) {
        const pattern = typeof r.componentNamePattern === 'string' ? r.componentNamePattern : '*';
        out.push({ repository, matches: globMatcher(pattern), priority: 0, source: where });
      } else {
        const prefix = typeof r.prefix === 'string' ? r.prefix : '';
        const priority = typeof r.priority === 'number' ? r.priority : 10;
        out.push({ repository, matches: (name) => name.startsWith(prefix), priority, source: where });
      }
    });
  });
  // Stable: equal priorities keep their order in the configuration.
  return out
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.priority - a.r.priority || a.i - b.i)
    .map((x) => x.r);
}
