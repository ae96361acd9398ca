import { LadingError } from '../../oci/index.js';
import { assertUniqueIdentities } from '../descriptor/identity.js';
import {
  type ComponentDescriptor,
  type ComponentReference,
  type DigestSpec,
  genericBlobDigest,
  type Resource,
  SchemaVersionV2,
  type Source,
  type TypedSpec,
} from '../descriptor/model.js';
import { absentList, writesNull } from '../descriptor/null-lists.js';
import { type ConstructorComponent, formatLocation } from './model.js';

/** What construction produced for an element built from an input: where its blob now lives. */
export interface InputResult {
  access: TypedSpec;
  /** The stored blob's digest (`sha256:…`); becomes the resource digest unless one was given. */
  blobDigest?: string;
}

export interface AssembleOptions {
  /** By resource index: the result for each resource that has an input, and the access a digest processor stores for one given by access. */
  resources?: ReadonlyMap<number, InputResult>;
  /** By source index: the result for each source that has an input. */
  sources?: ReadonlyMap<number, InputResult>;
  /** By resource index: digests computed for access resources (digest processors). */
  resourceDigests?: ReadonlyMap<number, DigestSpec>;
  /** By reference index: the referenced component's normalised digest. */
  referenceDigests?: ReadonlyMap<number, DigestSpec>;
}

/**
 * The descriptor upstream stores for a constructed component: constructor fields converted as its
 * runtime model converts them, input elements pointing at their stored blobs, and the identity
 * check upstream runs before storing.
 */
export function assembleDescriptor(
  component: ConstructorComponent,
  options: AssembleOptions = {},
): ComponentDescriptor {
  const resources: Resource[] = writesNull(component.resources)
    ? absentList()
    : component.resources.map((r, i) => {
        const out: Resource = {
          name: r.name,
          version: r.version,
          type: r.type,
          relation: r.relation,
          access: r.access as TypedSpec,
        };
        if (r.labels) out.labels = r.labels;
        if (r.extraIdentity) out.extraIdentity = r.extraIdentity;
        if (r.srcRefs) out.srcRefs = r.srcRefs;
        if (r.input) {
          const result = options.resources?.get(i);
          if (!result)
            throw new LadingError(
              'INVALID_ARGUMENT',
              `${formatLocation(r.location)}: no result for the input of this resource`,
            );
          out.access = result.access;
          const digest = r.digest ?? (result.blobDigest ? genericBlobDigest(result.blobDigest) : undefined);
          if (digest) out.digest = digest;
        } else {
          // A digest processor may store the access otherwise (an OCIImage reference pinned to its digest).
          const result = options.resources?.get(i);
          if (result) out.access = result.access;
          const digest = options.resourceDigests?.get(i) ?? r.digest;
          if (digest) out.digest = digest;
        }
        return out;
      });

  const sources: Source[] = writesNull(component.sources)
    ? absentList()
    : component.sources.map((s, i) => {
        let access = s.access as TypedSpec;
        if (s.input) {
          const result = options.sources?.get(i);
          if (!result)
            throw new LadingError(
              'INVALID_ARGUMENT',
              `${formatLocation(s.location)}: no result for the input of this source`,
            );
          access = result.access;
        }
        const out: Source = { name: s.name, version: s.version, type: s.type, access };
        if (s.labels) out.labels = s.labels;
        if (s.extraIdentity) out.extraIdentity = s.extraIdentity;
        return out;
      });

  const componentReferences: ComponentReference[] = writesNull(component.componentReferences)
    ? absentList()
    : component.componentReferences.map((r, i) => {
        const out: ComponentReference = { name: r.name, version: r.version, componentName: r.componentName };
        if (r.labels) out.labels = r.labels;
        if (r.extraIdentity) out.extraIdentity = r.extraIdentity;
        const computed = options.referenceDigests?.get(i);
        if (computed && r.digest && !sameDigest(computed, r.digest)) {
          throw new LadingError(
            'DIGEST_MISMATCH',
            `${formatLocation(r.location)}: digest mismatch: the constructor gives ${r.digest.value} (${r.digest.hashAlgorithm}, ${r.digest.normalisationAlgorithm}), the referenced component has ${computed.value} (${computed.hashAlgorithm}, ${computed.normalisationAlgorithm})`,
          );
        }
        const digest = computed ?? r.digest;
        if (digest) out.digest = digest;
        return out;
      });

  const desc: ComponentDescriptor = {
    meta: { schemaVersion: SchemaVersionV2 },
    component: {
      name: component.name,
      version: component.version,
      repositoryContexts: absentList(),
      provider: component.provider,
      resources,
      sources,
      componentReferences,
    },
  };
  if (component.labels) desc.component.labels = component.labels;
  if (component.creationTime) desc.component.creationTime = component.creationTime;
  assertUniqueIdentities(
    desc.component,
    `${formatLocation(component.location)} (component ${component.name}:${component.version})`,
  );
  return desc;
}

function sameDigest(a: DigestSpec, b: DigestSpec): boolean {
  return (
    a.hashAlgorithm === b.hashAlgorithm && a.normalisationAlgorithm === b.normalisationAlgorithm && a.value === b.value
  );
}
