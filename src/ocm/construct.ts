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
import type { ComponentVersionLocator } from './resolving-reader.js';
import { transferComponentVersion } from './transfer.js';
import { AccessType, isAccessType } from './types.js';

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

/** What a digest processor found for a resource given by access. */
export interface AccessDigest {
  /** The resource digest (`genericBlobDigest/v1`, as upstream records it). */
  digest: DigestSpec;
  /** The access to store instead of the one written (an OCIImage reference pinned to its digest). */
  access?: TypedSpec;
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
  /** Do not run the digest processor: resources given by access are stored as written. */
  skipReferenceDigestProcessing?: boolean;
  /**
   * The digest processor (upstream's): the digest recorded for a resource given by access, and the
   * access to store instead where upstream pins it. Undefined for an access type it has no
   * processor for: that resource is added without a digest (unless the constructor gives one),
   * with a warning. None given: accesses are stored as written, and no digest is computed.
   * {@link registryDigestProcessor} is the one `lading add cv` uses.
   */
  digestAccess?: (access: TypedSpec, options: { signal?: AbortSignal }) => Promise<AccessDigest | undefined>;
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
  /**
   * Upstream's `copy-or-fail` policy for referenced versions the constructor does not build: once
   * every input is ready, and before the constructor's own versions are stored, each of them is
   * copied into the repository with what it references (local blobs by value, other resources by
   * reference), from where this locator finds it (the repository itself, then the OCM
   * configuration's resolvers: a {@link ResolvingReader}); one found nowhere fails the run. Not
   * given (upstream's `skip`, the default), they are only pinned by their digests.
   */
  copyReferencedFrom?: ComponentVersionLocator;
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
 * (in parallel, bounded), accesses keep their specification (digests computed and OCIImage
 * references pinned by the digest processor), then the descriptor and the manifest that ties it
 * together are stored and tagged.
 *
 * What can fail is done before any version is stored: every conflict checked, every input stored
 * as a blob (untagged), every access digest resolved and every reference to a version outside the
 * constructor pinned. So a registry, which cannot be put back as it was, is left with no version of
 * a run that fails there, unless storing a version itself fails.
 */
export function constructComponentVersions(
  ctor: ComponentConstructor,
  repository: ComponentVersionRepository,
  options: ConstructOptions,
): Promise<ComponentDescriptor[]> {
  return cancellable(options.signal, () => constructComponentVersionsNow(ctor, repository, options));
}

/** {@link ConstructOptions.copyReferencedFrom}: each referenced version the constructor does not build, copied in. */
async function copyReferenced(
  ctor: ComponentConstructor,
  repository: ComponentVersionRepository,
  locator: ComponentVersionLocator,
  options: ConstructOptions,
  emit: (event: ConstructEvent) => void,
): Promise<void> {
  const built = new Set(ctor.components.map((c) => `${c.name}:${c.version}`));
  const external = new Map<string, { name: string; version: string }>();
  for (const component of ctor.components) {
    for (const ref of component.componentReferences ?? []) {
      const key = `${ref.componentName}:${ref.version}`;
      if (!built.has(key)) external.set(key, { name: ref.componentName, version: ref.version });
    }
  }
  for (const { name, version } of external.values()) {
    await transferComponentVersion(repository, repository, name, version, {
      recursive: true,
      locator,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onEvent: (event) => {
        if (event.kind !== 'component') return;
        const status = event.status === 'added' || event.status === 'replaced' ? event.status : 'unchanged';
        emit({ component: event.component, version: event.version, kind: 'component', status });
      },
    });
  }
}

/**
 * What a component needs before its descriptor can be assembled; `skip` when the policy keeps the
 * stored one. The maps are made as something is put in them (most components have inputs only),
 * and the whole is dropped once the version is stored: a constructor of thousands of components
 * holds them all between the inputs and the stores.
 */
interface Prepared {
  component: ConstructorComponent;
  skip: boolean;
  assemble: {
    resources?: Map<number, InputResult>;
    sources?: Map<number, InputResult>;
    resourceDigests?: Map<number, DigestSpec>;
    referenceDigests?: Map<number, DigestSpec>;
  };
}

async function constructComponentVersionsNow(
  ctor: ComponentConstructor,
  repository: ComponentVersionRepository,
  options: ConstructOptions,
): Promise<ComponentDescriptor[]> {
  const emit = options.onEvent ?? (() => {});
  const warn = (component: ConstructorComponent | undefined, message: string) => {
    emit({
      component: component?.name ?? '',
      version: component?.version ?? '',
      kind: 'warning',
      status: 'warning',
      message,
    });
    options.onWarning?.(message);
  };
  for (const warning of ctor.warnings) warn(undefined, warning);
  const policy = options.conflictPolicy ?? 'abort-and-fail';
  const order = buildOrder(ctor.components);
  const built = new Set<string>();
  const prepared: Prepared[] = [];
  // Every conflict first: a run that must stop at its third component stores nothing.
  for (const component of order) {
    const skip = await conflict(component, repository, policy);
    if (!skip) built.add(`${component.name}:${component.version}`);
    prepared.push({ component, skip, assemble: {} });
  }
  const limit = pLimit(options.concurrency ?? 4);
  for (const p of prepared) {
    if (p.skip) continue;
    await prepare(p, repository, options, { limit, emit, warn });
    // A reference to a version this run does not build is pinned now: a missing one fails the run
    // before anything is stored.
    for (const [i, ref] of p.component.componentReferences.entries()) {
      if (built.has(`${ref.componentName}:${ref.version}`)) continue;
      const digest = await options.referenceDigest?.(ref.componentName, ref.version);
      if (digest) (p.assemble.referenceDigests ??= new Map()).set(i, digest);
    }
  }
  if (options.copyReferencedFrom) await copyReferenced(ctor, repository, options.copyReferencedFrom, options, emit);
  const results: ComponentDescriptor[] = [];
  for (const [at, p] of prepared.entries()) {
    const { component, skip, assemble } = p;
    // What this version's inputs produced is not needed past its store.
    prepared[at] = { component, skip, assemble: {} };
    const { name, version } = component;
    if (skip) {
      emit({ component: name, version, kind: 'component', status: 'skipped' });
      results.push((await repository.getComponentVersion(name, version)).descriptor);
      continue;
    }
    for (const [i, ref] of component.componentReferences.entries()) {
      if (!built.has(`${ref.componentName}:${ref.version}`)) continue;
      const digest = await options.referenceDigest?.(ref.componentName, ref.version);
      if (digest) (assemble.referenceDigests ??= new Map()).set(i, digest);
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

/** Whether the stored version stays (`skip`); throws where the policy lets nothing happen. */
async function conflict(
  component: ConstructorComponent,
  repository: ComponentVersionRepository,
  policy: ConflictPolicy,
): Promise<boolean> {
  const { name, version } = component;
  const stored = await repository.storedVersionAtTag(name, version);
  // No policy lets another version under the same tag go.
  if (stored !== undefined && stored !== version) {
    const error = tagTakenError(name, version, stored);
    throw new LadingError(error.code, `${formatLocation(component.location)}: ${error.message}`, { cause: error });
  }
  if (stored === undefined) return false;
  if (policy === 'abort-and-fail') {
    throw new LadingError(
      'ALREADY_EXISTS',
      `${component.location.file}: component version ${name}:${version} already exists in the repository`,
      { hint: { key: 'conflictPolicy', text: "conflictPolicy 'skip' or 'replace' allows it" } },
    );
  }
  return policy === 'skip';
}

/** Runs a component's inputs (storing their blobs) and digest processors, filling `p.assemble`. */
async function prepare(
  p: Prepared,
  repository: ComponentVersionRepository,
  options: ConstructOptions,
  run: {
    limit: ReturnType<typeof pLimit>;
    emit: (event: ConstructEvent) => void;
    warn: (component: ConstructorComponent, message: string) => void;
  },
): Promise<void> {
  const { component, assemble } = p;
  const { name, version } = component;
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
      run.emit({ component: name, version, kind, name: element.name, status: 'uploaded' });
      return { access: stored.access, blobDigest: stored.access.localReference };
    } catch (error) {
      // The input is read as it is stored (a folder's tar, an OCI layout): what fails here is
      // the input's as much as what fails while it runs, and is told the same way.
      throw locateError(error, `${formatLocation(element.location)}.input`);
    } finally {
      await blob.dispose?.();
    }
  };
  const digestAccess = options.skipReferenceDigestProcessing ? undefined : options.digestAccess;
  const tasks: Promise<void>[] = [];
  component.resources.forEach((r, i) => {
    if (r.input) {
      tasks.push(run.limit(async () => void (assemble.resources ??= new Map()).set(i, await upload(r, 'resource'))));
    } else if (r.access && digestAccess) {
      const access = r.access;
      tasks.push(
        run.limit(async () => {
          const where = `${formatLocation(r.location)}.access`;
          const processed = await digestAccess(access, options.signal ? { signal: options.signal } : {}).catch(
            (error: unknown) => {
              throw locateError(error, where);
            },
          );
          if (!processed) {
            // A local blob is the repository's to check as it stores the version.
            if (!r.digest && !isAccessType(access.type, AccessType.LocalBlob)) {
              run.warn(
                component,
                `${where}: no digest processor for access type ${String(access.type)}: resource ${JSON.stringify(r.name)} is added without a digest, so it cannot be signed until the constructor gives one`,
              );
            }
            return;
          }
          // A digest the constructor gives must be the one the access resolves to.
          if (r.digest && r.digest.value !== processed.digest.value) {
            throw new LadingError(
              'DIGEST_MISMATCH',
              `${formatLocation(r.location)}.digest: ${r.digest.value} does not match what the access resolves to (${processed.digest.value})`,
            );
          }
          (assemble.resources ??= new Map()).set(i, { access: processed.access ?? access });
          (assemble.resourceDigests ??= new Map()).set(i, processed.digest);
        }),
      );
    }
  });
  component.sources.forEach((s, i) => {
    if (s.input) {
      tasks.push(run.limit(async () => void (assemble.sources ??= new Map()).set(i, await upload(s, 'source'))));
    }
  });
  // Settle every task before failing, so no upload is left running behind the error.
  const settled = await Promise.allSettled(tasks);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}
