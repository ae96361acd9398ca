import pLimit from 'p-limit';
import { cancellable, isLadingError, LadingError } from '../oci/index.js';
import { assembleDescriptor, type InputResult } from './constructor/assemble.js';
import {
  type ComponentConstructor,
  type ConstructorComponent,
  type ConstructorResource,
  type ConstructorSource,
  formatLocation,
} from './constructor/model.js';
import { runElementInput } from './constructor/run-input.js';
import type { ComponentDescriptor, DigestSpec, TypedSpec } from './descriptor/model.js';
import { tagTakenError } from './descriptor/version-tag.js';
import type { InputMethod } from './input/types.js';
import { locateError } from './located-error.js';
import type { ComponentVersionRepository, ConflictPolicy } from './repository/repository.js';
import { isAccessType } from './types.js';

/** Progress of {@link constructComponentVersions}: what happened to a component version or one of its elements. */
export interface ConstructEvent {
  /** The component the event is about (empty for a warning about the file). */
  component: string;
  /** Its version. */
  version: string;
  /** What the event is about: an element, the component version, or a warning. */
  kind: 'resource' | 'source' | 'component' | 'warning';
  /** The element's name, for a resource or source. */
  name?: string;
  /**
   * What happened: a version `added`, `skipped`, `replaced` or `unchanged`, an input's blob `uploaded`, a `warning`.
   */
  status: 'added' | 'skipped' | 'replaced' | 'unchanged' | 'uploaded' | 'warning';
  /** The warning's text. */
  message?: string;
}

/**
 * Options of {@link constructComponentVersions}: where inputs are read, the conflict policy, input methods,
 * cancellation.
 */
export interface ConstructOptions {
  /** Relative input paths resolve against this folder (the constructor file's by default). */
  workingDirectory: string;
  /** What to do when a version exists already (default `abort-and-fail`). */
  conflictPolicy?: ConflictPolicy;
  /** Inputs built and uploaded at once (upstream's `--concurrency-limit`, default 4). */
  concurrency?: number;
  /** Do not resolve and pin digests of resources given by access (OCIImage). */
  skipReferenceDigestProcessing?: boolean;
  /** Resolves an OCIImage reference to its manifest digest (the digest processor); none skips pinning. */
  resolveImage?: (imageReference: string) => Promise<{
    /** The manifest digest the reference resolves to. */
    digest: string;
    /** The reference pinned to that digest, as it is stored. */
    pinned: string;
  }>;
  /** Computes a referenced component's normalised digest; none leaves reference digests out. */
  referenceDigest?: (component: string, version: string) => Promise<DigestSpec | undefined>;
  /** Where inputs spool what they must (compressed content); the OS default when not given. */
  tempDir?: string;
  /** Input methods by canonical type, replacing the built-in ones (e.g. Helm with credentials). */
  inputMethods?: ReadonlyMap<string, InputMethod>;
  /** Cancels construction: it rejects with ABORTED, the signal's reason as cause, and stores no version. */
  signal?: AbortSignal;
  /** Called as versions are built and their inputs uploaded (warnings too, as `kind: 'warning'`). */
  onEvent?: (event: ConstructEvent) => void;
  /** Called with each warning's text, as signing reports its warnings ({@link SignComponentVersionOptions}). */
  onWarning?: (message: string) => void;
}

/** Components referenced inside the constructor come first, so their digests exist when needed. */
function buildOrder(components: ConstructorComponent[]): ConstructorComponent[] {
  const byKey = new Map<string, ConstructorComponent>();
  for (const c of components) {
    const key = `${c.name}:${c.version}`;
    const first = byKey.get(key);
    // parseConstructor refuses this; a constructor built in code is held to the same rule.
    if (first) {
      throw new LadingError(
        'DUPLICATE_IDENTITY',
        `${formatLocation(c.location)}: duplicate component version ${key}: ${formatLocation(first.location)} has the same name and version`,
      );
    }
    byKey.set(key, c);
  }
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: ConstructorComponent[] = [];
  const visit = (c: ConstructorComponent) => {
    const key = `${c.name}:${c.version}`;
    if (done.has(key)) return;
    if (visiting.has(key)) {
      throw new LadingError(
        'INVALID_CONSTRUCTOR',
        `${c.location.file}: component references form a cycle through ${key}`,
      );
    }
    visiting.add(key);
    for (const r of c.componentReferences ?? []) {
      const dep = byKey.get(`${r.componentName}:${r.version}`);
      if (dep) visit(dep);
    }
    visiting.delete(key);
    done.add(key);
    out.push(c);
  };
  for (const c of components) visit(c);
  return out;
}

/**
 * Builds every component of a constructor into `repository`: inputs run and land as local blobs
 * (in parallel, bounded), accesses keep their specification (OCIImage references resolved and
 * pinned), then the descriptor and the manifest that ties it together are stored and tagged.
 */
export function constructComponentVersions(
  ctor: ComponentConstructor,
  repository: ComponentVersionRepository,
  options: ConstructOptions,
): Promise<ComponentDescriptor[]> {
  return cancellable(options.signal, () => constructComponentVersionsNow(ctor, repository, options));
}

async function constructComponentVersionsNow(
  ctor: ComponentConstructor,
  repository: ComponentVersionRepository,
  options: ConstructOptions,
): Promise<ComponentDescriptor[]> {
  const results: ComponentDescriptor[] = [];
  const emit = options.onEvent ?? (() => {});
  for (const warning of ctor.warnings) {
    emit({ component: '', version: '', kind: 'warning', status: 'warning', message: warning });
    options.onWarning?.(warning);
  }
  const limit = pLimit(options.concurrency ?? 4);
  for (const component of buildOrder(ctor.components)) {
    const { name, version } = component;
    const policy = options.conflictPolicy ?? 'abort-and-fail';
    const stored = await repository.storedVersionAtTag(name, version);
    // Checked before any input runs: no policy lets another version under the same tag go.
    if (stored !== undefined && stored !== version) {
      const error = tagTakenError(name, version, stored);
      throw new LadingError(error.code, `${formatLocation(component.location)}: ${error.message}`, { cause: error });
    }
    if (stored !== undefined) {
      if (policy === 'abort-and-fail') {
        throw new LadingError(
          'ALREADY_EXISTS',
          `${component.location.file}: component version ${name}:${version} already exists in the repository`,
          { hint: { key: 'conflictPolicy', text: "conflictPolicy 'skip' or 'replace' allows it" } },
        );
      }
      if (policy === 'skip') {
        emit({ component: name, version, kind: 'component', status: 'skipped' });
        results.push((await repository.getComponentVersion(name, version)).descriptor);
        continue;
      }
    }
    const assemble = {
      resources: new Map<number, InputResult>(),
      sources: new Map<number, InputResult>(),
      resourceDigests: new Map<number, DigestSpec>(),
      referenceDigests: new Map<number, DigestSpec>(),
    };
    const methods = options.inputMethods ? { methods: options.inputMethods } : {};
    const context = {
      workingDirectory: options.workingDirectory,
      // A store that hashes what it writes (a CTF) takes a folder's tar in one pass.
      ...((await repository.storesUnmeasuredBlobs(name)) ? { digestLater: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.tempDir ? { tempDir: options.tempDir } : {}),
    };
    const upload = async (
      element: ConstructorResource | ConstructorSource,
      kind: 'resource' | 'source',
    ): Promise<InputResult> => {
      const blob = await runElementInput(element, context, methods);
      try {
        const stored = await repository.addLocalBlob(name, blob, options.signal ? { signal: options.signal } : {});
        emit({ component: name, version, kind, name: element.name, status: 'uploaded' });
        return { access: stored.access, blobDigest: stored.access.localReference };
      } catch (error) {
        // The input is read as it is stored (a folder's tar, an OCI layout): what fails here is
        // the input's as much as what fails while it runs, and is told the same way.
        throw locateError(error, `${formatLocation(element.location)}.input`);
      } finally {
        await blob.dispose?.();
      }
    };
    const tasks: Promise<void>[] = [];
    component.resources.forEach((r, i) => {
      if (r.input) {
        tasks.push(limit(async () => void assemble.resources.set(i, await upload(r, 'resource'))));
      } else if (
        r.access &&
        !options.skipReferenceDigestProcessing &&
        isAccessType(r.access.type, 'OCIImage/v1') &&
        options.resolveImage
      ) {
        const access = r.access as TypedSpec & { imageReference?: string };
        tasks.push(
          limit(async () => {
            if (typeof access.imageReference !== 'string') return;
            const resolveImage = options.resolveImage as NonNullable<ConstructOptions['resolveImage']>;
            const { digest, pinned } = await resolveImage(access.imageReference).catch((error: unknown) => {
              throw locateError(error, `${formatLocation(r.location)}.access.imageReference`);
            });
            const spec: DigestSpec = {
              hashAlgorithm: 'SHA-256',
              normalisationAlgorithm: 'genericBlobDigest/v1',
              value: digest.replace(/^sha256:/, ''),
            };
            if (r.digest && r.digest.value !== spec.value) {
              throw new LadingError(
                'DIGEST_MISMATCH',
                `${r.location.file}:${r.location.line}: ${r.location.path}.digest: ${r.digest.value} does not match ${access.imageReference} (${spec.value})`,
              );
            }
            access.imageReference = pinned;
            assemble.resourceDigests.set(i, spec);
          }),
        );
      }
    });
    component.sources.forEach((s, i) => {
      if (s.input) tasks.push(limit(async () => void assemble.sources.set(i, await upload(s, 'source'))));
    });
    // Settle every task before failing, so no upload is left running behind the error.
    const settled = await Promise.allSettled(tasks);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [i, ref] of component.componentReferences.entries()) {
      const digest = await options.referenceDigest?.(ref.componentName, ref.version);
      if (digest) assemble.referenceDigests.set(i, digest);
    }
    const descriptor = assembleDescriptor(component, assemble);
    const { result } = await repository
      .addComponentVersion(descriptor, {
        conflictPolicy: policy,
        where: (kind, index) => {
          const element = kind === 'resource' ? component.resources[index] : component.sources[index];
          // The descriptor keeps the constructor's order: an element of it is always there.
          if (!element) return formatLocation(component.location);
          return `${formatLocation(element.location)}.${element.input ? 'input' : 'access'}`;
        },
        ...(options.signal ? { signal: options.signal } : {}),
      })
      .catch((error: unknown) => {
        // The descriptor came out too large to be read back: say which constructor made it (an
        // element's own error names its element already).
        if (!isLadingError(error, 'SIZE_EXCEEDS_LIMIT') || !error.message.startsWith('component version ')) throw error;
        throw new LadingError('SIZE_EXCEEDS_LIMIT', `${formatLocation(component.location)}: ${error.message}`, {
          cause: error,
        });
      });
    emit({ component: name, version, kind: 'component', status: result });
    results.push(descriptor);
  }
  return results;
}
