import type { Op } from '../content/index.js';
import type { ComponentDescriptor } from './descriptor/model.js';
import type { ComponentVersionRepository } from './repository/repository.js';
import type { ComponentVersionReader } from './resolving-reader.js';
import { matchesConstraint, sortVersionsDescending } from './semver.js';
import { verifyReferenceDigest } from './signing/reference-digest.js';

/** A component version and the versions it references. */
export interface ComponentTree {
  /** The component version's descriptor. */
  descriptor: ComponentDescriptor;
  /** The trees of the versions it references, in reference order. */
  children: ComponentTree[];
}

/**
 * A component version with the versions it references, `depth` levels down (-1: every level).
 * Each version appears once (a cycle of references ends), and a reference that pins a digest is
 * followed only to the version with that digest.
 */
export async function componentVersionTree(
  repository: ComponentVersionReader,
  name: string,
  version: string,
  o: Op & { depth: number },
): Promise<ComponentTree> {
  const { depth, ...op } = o;
  return walk(repository, name, version, depth, new Set(), op);
}

async function walk(
  repository: ComponentVersionReader,
  name: string,
  version: string,
  depth: number,
  seen: Set<string>,
  o: Op,
): Promise<ComponentTree> {
  const { descriptor } = await repository.getComponentVersion(name, version, o);
  const key = `${name}:${version}`;
  seen.add(key);
  const children: ComponentTree[] = [];
  if (depth !== 0) {
    for (const ref of descriptor.component.componentReferences) {
      if (seen.has(`${ref.componentName}:${ref.version}`)) continue;
      const child = await walk(repository, ref.componentName, ref.version, depth - 1, seen, o);
      verifyReferenceDigest(ref, child.descriptor, key);
      children.push(child);
    }
  }
  return { descriptor, children };
}

/**
 * The versions of a component that match a semver constraint, newest first; with `latest` only the
 * newest. `missingRepository` as {@link ComponentVersionRepository.listComponentVersions}.
 */
export async function findComponentVersions(
  repository: ComponentVersionRepository,
  name: string,
  o: Op & { constraint?: string; latest?: boolean; missingRepository?: 'empty' | 'error' } = {},
): Promise<string[]> {
  const { constraint, latest, ...op } = o;
  const all = await repository.listComponentVersions(name, op);
  const versions = sortVersionsDescending(constraint ? all.filter((v) => matchesConstraint(v, constraint)) : all);
  return latest ? versions.slice(0, 1) : versions;
}
