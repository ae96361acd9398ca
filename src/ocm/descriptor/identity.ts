import { compareBytes, LadingError } from '../../oci/index.js';

/** An element identity: `name`, `version` (when not empty) and the extra identity attributes. */
export type Identity = Record<string, string>;

/** What an element's identity is made of: a resource, source or reference, or a constructor's. */
export interface IdentifiedElement {
  /** The element's name. */
  name: string;
  /** Its version (part of the identity when not empty). */
  version?: string;
  /** Its extra identity attributes. */
  extraIdentity?: Record<string, string>;
}

/** The identity of a resource, source or reference, as upstream's ElementMeta.ToIdentity builds it. */
export function identityOf(element: IdentifiedElement): Identity {
  const identity: Identity = { ...(element.extraIdentity ?? {}) };
  if (element.name !== '') identity.name = element.name;
  if (element.version) identity.version = element.version;
  return identity;
}

/**
 * One string per identity: keys sorted bytewise, JSON-encoded so that no two different identities
 * collide. (Upstream hashes `key+value` concatenations with FNV-64, where for example
 * {a: "bc"} and {ab: "c"} would collide; this form has no such collisions.)
 */
export function canonicalIdentity(identity: Identity): string {
  const keys = Object.keys(identity).sort(compareBytes);
  return JSON.stringify(keys.map((k) => [k, identity[k]]));
}

/** `key=value,...` with sorted keys, as upstream prints identities in messages. */
export function formatIdentity(identity: Identity): string {
  return Object.keys(identity)
    .sort(compareBytes)
    .map((k) => `${k}=${identity[k]}`)
    .join(',');
}

/**
 * Parses `--identity key=value,...` as upstream does: parts split on `,`, key and value split on
 * the first `=` and trimmed, neither may be empty.
 */
export function parseIdentity(text: string): Identity {
  const identity: Identity = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (key === '' || value === '') {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `invalid identity part ${JSON.stringify(part)} in ${JSON.stringify(text)}`,
      );
    }
    identity[key] = value;
  }
  return identity;
}

/** Whether every attribute of `requested` is present with the same value in `identity`. */
export function matchesIdentity(requested: Identity, identity: Identity): boolean {
  return Object.entries(requested).every(([k, v]) => identity[k] === v);
}

/** The first element whose identity contains `requested` (upstream's `download resource` rule). */
export function selectByIdentity<T extends IdentifiedElement>(
  elements: readonly T[],
  requested: Identity,
): T | undefined {
  return elements.find((element) => matchesIdentity(requested, identityOf(element)));
}

export interface DuplicateIdentity {
  kind: 'resource' | 'source' | 'reference';
  identity: Identity;
  indices: number[];
}

/** Elements of one kind that share an identity, in order of first appearance. */
export function findDuplicateIdentities(
  kind: DuplicateIdentity['kind'],
  elements: readonly IdentifiedElement[],
): DuplicateIdentity[] {
  const seen = new Map<string, DuplicateIdentity>();
  elements.forEach((element, index) => {
    const identity = identityOf(element);
    const key = canonicalIdentity(identity);
    const entry = seen.get(key);
    if (entry) entry.indices.push(index);
    else seen.set(key, { kind, identity, indices: [index] });
  });
  return [...seen.values()].filter((d) => d.indices.length > 1);
}

/** Throws DUPLICATE_IDENTITY naming every duplicate (`where` prefixes the message). */
export function assertUniqueIdentities(
  component: {
    resources?: readonly IdentifiedElement[] | null;
    sources?: readonly IdentifiedElement[] | null;
    componentReferences?: readonly IdentifiedElement[] | null;
  },
  where: string,
): void {
  const duplicates = [
    ...findDuplicateIdentities('resource', component.resources ?? []),
    ...findDuplicateIdentities('source', component.sources ?? []),
    ...findDuplicateIdentities('reference', component.componentReferences ?? []),
  ];
  if (duplicates.length === 0) return;
  const lines = duplicates.map(
    (d) =>
      `${d.kind} identity "${formatIdentity(d.identity)}" appears ${d.indices.length} times (${d.kind} indices ${d.indices.join(', ')})`,
  );
  throw new LadingError('DUPLICATE_IDENTITY', `${where}: duplicate identities: ${lines.join('; ')}`);
}
