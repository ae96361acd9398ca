/** `repository:<name>:<actions>` as the token spec spells it. */
export function repositoryScope(repository: string, actions: readonly string[]): string {
  return `repository:${repository}:${actions.join(',')}`;
}

export const catalogScope = 'registry:catalog:*';

/**
 * Merges scopes the way oras-go's CleanScopes does: one entry per `type:name` with the union of
 * actions, `*` swallowing the rest, everything sorted, so that equal needs give equal cache keys.
 * The resource name sits between the first and the last `:` (names may hold a `host:port`).
 */
export function cleanScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Set<string>>();
  const opaque = new Set<string>();
  for (const raw of scopes) {
    for (const scope of raw.split(' ')) {
      if (!scope) continue;
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || first === last) {
        opaque.add(scope);
        continue;
      }
      const resource = scope.slice(0, last);
      const actions = scope
        .slice(last + 1)
        .split(',')
        .filter(Boolean);
      let set = byResource.get(resource);
      if (!set) byResource.set(resource, (set = new Set()));
      for (const a of actions) set.add(a);
    }
  }
  const out = [...opaque];
  for (const [resource, actions] of byResource) {
    if (actions.size === 0) continue;
    const list = actions.has('*') ? ['*'] : [...actions].sort();
    out.push(`${resource}:${list.join(',')}`);
  }
  return out.sort();
}
