/**
 * Upstream's Go types write a nil list as `null` and an empty one as `[]`, and both forms occur in
 * stored descriptors (OCM v2 writes `null` for a list a constructor did not have, OCM v1 `[]`).
 * The model holds plain arrays, so that strict users need no null checks; which empty arrays stand
 * for a `null` on the wire is remembered here, per array object, and read by the encoder.
 *
 * An empty array with no mark is written `[]`, a marked one `null`, and an array with entries as
 * it is. Assigning a new array (`component.sources = []`) therefore writes `[]`; spreading a
 * component (`{...component}`) keeps its arrays and so their marks; `structuredClone` copies
 * arrays without marks (empty lists are then written `[]`, which normalises and signs the same),
 * and {@link cloneDescriptor} is the deep copy that keeps them.
 */
import type { ComponentDescriptor } from './model.js';

const absent = new WeakSet<readonly unknown[]>();

/** An empty array that the encoder writes as `null`: a list that is absent on the wire. */
export function absentList<T>(): T[] {
  const list: T[] = [];
  absent.add(list);
  return list;
}

/** Whether the encoder writes `list` as `null`: it is empty and stands for an absent list. */
export function writesNull(list: readonly unknown[] | null | undefined): boolean {
  if (list === null || list === undefined) return true;
  return list.length === 0 && absent.has(list);
}

const lists = ['repositoryContexts', 'resources', 'sources', 'componentReferences'] as const;

/**
 * A deep copy of a descriptor that is written with the same bytes as the original: unlike
 * `structuredClone` alone, it keeps which of the component's empty lists are `null` on the wire.
 */
export function cloneDescriptor(descriptor: ComponentDescriptor): ComponentDescriptor {
  const copy = structuredClone(descriptor);
  for (const l of lists) if (writesNull(descriptor.component[l])) copy.component[l] = absentList<never>();
  return copy;
}
