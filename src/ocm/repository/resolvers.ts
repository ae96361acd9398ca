import type { Op, Target, TargetResolver } from '../../content/index.js';
import type { Registry } from '../../registry/index.js';

/** Repositories of a registry, below an optional sub path, as OCM sees them. */
export function registryResolver(
  registry: Registry,
  options: { subPath?: string; write?: boolean } = {},
): TargetResolver {
  const prefix = (options.subPath ?? '').replace(/^\/+|\/+$/g, '');
  return {
    async targetFor(repository: string): Promise<Target> {
      return registry.repository(prefix ? `${prefix}/${repository}` : repository, options.write ? { push: true } : {});
    },
    async *repositories(o?: Op): AsyncIterable<string[]> {
      for await (const page of registry.repositories(o)) {
        const names = prefix
          ? page.filter((n) => n.startsWith(`${prefix}/`)).map((n) => n.slice(prefix.length + 1))
          : page;
        if (names.length > 0) yield names;
      }
    },
  };
}
