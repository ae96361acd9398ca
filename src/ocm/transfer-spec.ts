import type { Op, ReadOnlyTarget, Target } from '../content/index.js';
import { type CopyGraphOptions, copyGraph } from '../copy/index.js';
import { cancellable, type Descriptor, LadingError } from '../oci/index.js';
import { valueText } from '../oci/value-text.js';
import { accessReference, type PlainHttpPolicy } from './access-transport.js';
import { checkRepositoryFields, repositorySpecFrom } from './config/resolvers.js';
import { verifyResourceContent } from './content-digest.js';
import { identityOf, matchesIdentity } from './descriptor/identity.js';
import type { ComponentDescriptor, Resource } from './descriptor/model.js';
import { absentList } from './descriptor/null-lists.js';
import { formatProblems, validateDescriptorDocument } from './descriptor/validate.js';
import { fromWire, toWire } from './descriptor/wire.js';
import { type RepositorySpec, repositoryBase } from './reference.js';
import { isOciManifestType, refuseComponentStore } from './repository/mapping.js';
import type { ComponentVersionRepository } from './repository/repository.js';
import { noImageSource, referenceNameOf, StandaloneAccessType } from './transfer.js';
import { AccessType, canonicalRepositoryType, isAccessType, RepositoryType } from './types.js';

/**
 * Upstream's transfer spec: a TransformationGraphDefinition (`ocm transfer cv --dry-run -o yaml`
 * prints one, `--transfer-spec` runs one). The environment holds the source descriptors (v2 JSON);
 * each transformation is a typed node whose spec refers to other nodes and to the environment
 * with `${…}` expressions.
 */
export interface TransformationGraphDefinition {
  environment: Record<string, unknown>;
  transformations: GenericTransformation[];
}

/** One node of a {@link TransformationGraphDefinition}. */
export interface GenericTransformation {
  type: string;
  id: string;
  spec: Record<string, unknown>;
  output?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;

/** The node types lading runs, with the spec fields upstream's schemas allow (and require). */
const NodeTypes: Record<string, { fields: string[]; required: string[] }> = {
  'CTFGetComponentVersion/v1alpha1': {
    fields: ['repository', 'component', 'version'],
    required: ['repository', 'component', 'version'],
  },
  'OCIGetComponentVersion/v1alpha1': {
    fields: ['repository', 'component', 'version'],
    required: ['repository', 'component', 'version'],
  },
  'CTFGetLocalResource/v1alpha1': {
    fields: ['repository', 'component', 'version', 'resourceIdentity'],
    required: ['repository', 'component', 'version', 'resourceIdentity'],
  },
  'OCIGetLocalResource/v1alpha1': {
    fields: ['repository', 'component', 'version', 'resourceIdentity'],
    required: ['repository', 'component', 'version', 'resourceIdentity'],
  },
  'CTFAddLocalResource/v1alpha1': {
    fields: ['repository', 'component', 'version', 'resource', 'file'],
    required: ['repository', 'component', 'version', 'resource', 'file'],
  },
  'OCIAddLocalResource/v1alpha1': {
    fields: ['repository', 'component', 'version', 'resource', 'file', 'globalAccessPolicy'],
    required: ['repository', 'component', 'version', 'resource', 'file'],
  },
  'GetOCIArtifact/v1alpha1': { fields: ['resource', 'outputPath'], required: ['resource'] },
  'AddOCIArtifact/v1alpha1': { fields: ['resource', 'file'], required: ['resource', 'file'] },
  'TransferOCIArtifact/v1alpha1': { fields: ['resource', 'targetResource'], required: ['resource', 'targetResource'] },
  'CTFAddComponentVersion/v1alpha1': { fields: ['repository', 'descriptor'], required: ['repository', 'descriptor'] },
  'OCIAddComponentVersion/v1alpha1': { fields: ['repository', 'descriptor'], required: ['repository', 'descriptor'] },
  'FileCleanup/v1alpha1': { fields: ['files'], required: ['files'] },
};

/** Upstream node types lading does not run (yet): named in the error instead of "unknown". */
const UpstreamOnlyTypes = new Set([
  'GetHelmChart/v1alpha1',
  'ConvertHelmToOCI/v1alpha1',
  'GetGitHubCommit/v1alpha1',
  'DownloadWgetResource/v1alpha1',
]);

const IdPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FileType = 'File/v1alpha1';
/** The `uri` of a File a Get node hands on: content streamed from its source, never a local file. */
const StreamScheme = 'lading-stream:';

// ---------------------------------------------------------------------------------------------
// Building the spec (what `--dry-run` prints)

/**
 * A transformation ID from an identity, as upstream names nodes: `transform` followed by the
 * identity's values (keys sorted) split at `,` `.` `/` `-`, in camel case.
 * `{name: "ocm.software/my-app", version: "1.0.0"}` → `transformOcmSoftwareMyApp100`.
 * Upstream splits at those four only, and its builder then refuses an ID that is not letters and
 * digits (the `+` of `1.0.0+build.1`, the `_` of a component name): every other character splits
 * here too, so such a version's spec runs (`transformAcmeOrgApp100Build1`).
 */
export function transformationId(identity: Record<string, string>): string {
  const words = ['transform'];
  for (const key of Object.keys(identity).sort()) {
    words.push(...(identity[key] as string).split(/[^A-Za-z0-9]+/).filter((w) => w !== ''));
  }
  return words
    .map((w, i) => {
      const lower = w.toLowerCase();
      return i === 0 ? lower : lower.slice(0, 1).toUpperCase() + lower.slice(1);
    })
    .join('');
}

/** A repository spec as upstream writes it into a transfer spec. */
export function repositoryObject(spec: RepositorySpec, options: { target?: boolean } = {}): Obj {
  if (spec.kind === 'CommonTransportFormat') {
    return {
      type: canonicalRepositoryType(spec.type),
      filePath: spec.filePath,
      ...(options.target ? { accessMode: 'readwrite|create' } : {}),
    };
  }
  return {
    type: canonicalRepositoryType(spec.type),
    baseUrl: spec.baseUrl,
    ...(spec.subPath ? { subPath: spec.subPath } : {}),
  };
}

/** One component version to put in a spec, and the repository it is read from. */
export interface SpecVersion {
  descriptor: ComponentDescriptor;
  source: RepositorySpec;
}

/** Options of {@link buildTransferSpec}: the same graph-shaping choices as a transfer. */
export interface BuildTransferSpecOptions {
  copyResources?: boolean;
  uploadAs?: 'localBlob' | 'ociArtifact';
}

function kindOf(spec: RepositorySpec): 'CTF' | 'OCI' {
  return spec.kind === 'CommonTransportFormat' ? 'CTF' : 'OCI';
}

/** Optional resource fields, copied from a Get node's output when present (upstream's CEL). */
function resourceFieldsFrom(get: string, access: Obj): Obj {
  return {
    name: `\${${get}.output.resource.name}`,
    version: `\${${get}.output.resource.version}`,
    type: `\${${get}.output.resource.type}`,
    relation: `\${${get}.output.resource.relation}`,
    access,
    digest: `\${has(${get}.output.resource.digest) ? ${get}.output.resource.digest : null}`,
    labels: `\${has(${get}.output.resource.labels) ? ${get}.output.resource.labels  : []}`,
    extraIdentity: `\${has(${get}.output.resource.extraIdentity) ? ${get}.output.resource.extraIdentity  : {}}`,
    srcRefs: `\${has(${get}.output.resource.srcRefs) ? ${get}.output.resource.srcRefs  : []}`,
  };
}

/**
 * The transfer spec upstream's `transfer cv --dry-run` builds for these versions: per version,
 * Get/Add nodes for each resource that travels by value (local blobs always; with copyResources
 * OCI images too), an Add…ComponentVersion node whose descriptor takes each copied resource from
 * its Add node and everything else from the environment, and one FileCleanup node.
 */
export function buildTransferSpec(
  versions: readonly SpecVersion[],
  target: RepositorySpec,
  options: BuildTransferSpecOptions = {},
): TransformationGraphDefinition {
  const tgd: TransformationGraphDefinition = { environment: {}, transformations: [] };
  const files: string[] = [];
  const to = repositoryObject(target, { target: true });
  const uploadAsArtifact = target.kind === 'OCIRepository' && options.uploadAs === 'ociArtifact';
  // Two identities can make one ID (`1.0.0-rc.1` and `1.0.0-rc1`): the second gets a number, so
  // neither version's environment entry or nodes are lost or refused as used twice.
  const taken = new Set<string>();
  // Every node's ID, across versions: a version can spell another's node name (`1.0.0` adds a
  // resource `r:1.0.0-upload` as `…100GettransformR100Upload`; `1.0.0-gettransform-r-1-0-0`
  // uploads as that too), and a spec with one ID twice is refused by --transfer-spec.
  const nodeIds = new Set<string>(['fileBufferCleanup']);
  const unique = (id: string, used: Set<string>): string => {
    let candidate = id;
    for (let n = 2; used.has(candidate); n++) candidate = `${id}N${n}`;
    used.add(candidate);
    return candidate;
  };
  for (const { descriptor, source } of versions) {
    const { name: component, version } = descriptor.component;
    const id = unique(transformationId({ name: component, version }), taken);
    const resourceIds = new Set<string>();
    const wire = toWire(descriptor);
    tgd.environment[id] = wire;
    const from = repositoryObject(source);
    const resources = descriptor.component.resources ?? [];
    const wireResources = ((wire.component as Obj).resources as Obj[] | null) ?? [];
    const added = new Map<number, string>();
    resources.forEach((resource, i) => {
      const rid = unique(transformationId(identityOf(resource)), resourceIds);
      // Claimed where a node is made, so that an ID not used takes no number from another.
      const named = new Map<string, string>();
      const nodeId = (kind: string): string => {
        let claimed = named.get(kind);
        if (claimed === undefined) named.set(kind, (claimed = unique(`${id}${kind}${rid}`, nodeIds)));
        return claimed;
      };
      const access = resource.access;
      if (isAccessType(access.type, AccessType.LocalBlob)) {
        const getId = nodeId('Get');
        const addId = nodeId('Add');
        tgd.transformations.push({
          type: `${kindOf(source)}GetLocalResource/v1alpha1`,
          id: getId,
          spec: { repository: from, component, version, resourceIdentity: identityOf(resource) },
        });
        const referenceName = (access as { referenceName?: unknown }).referenceName;
        const asArtifact =
          uploadAsArtifact &&
          isOciManifestType(String((access as { mediaType?: unknown }).mediaType ?? '')) &&
          typeof referenceName === 'string' &&
          referenceName !== '';
        tgd.transformations.push(
          asArtifact
            ? {
                type: 'AddOCIArtifact/v1alpha1',
                id: addId,
                spec: {
                  resource: {
                    ...resourceFieldsFrom(getId, {
                      type: StandaloneAccessType,
                      imageReference: `${repositoryBase(target)}/\${${getId}.output.resource.access.referenceName}`,
                    }),
                    digest: `\${${getId}.output.resource.digest}`,
                  },
                  file: `\${${getId}.output.file}`,
                },
              }
            : {
                type: `${kindOf(target)}AddLocalResource/v1alpha1`,
                id: addId,
                spec: {
                  repository: to,
                  component,
                  version,
                  resource: `\${${getId}.output.resource}`,
                  file: `\${${getId}.output.file}`,
                },
              },
        );
        added.set(i, addId);
        files.push(`\${${addId}.spec.file}`);
        return;
      }
      if (!options.copyResources) return;
      if (isAccessType(access.type, AccessType.OCIImage)) {
        const imageReference = String((access as { imageReference?: unknown }).imageReference ?? '');
        const referenceName = referenceNameOf(imageReference);
        if (uploadAsArtifact) {
          const transferId = nodeId('Transfer');
          const targetResource: Obj = {
            name: resource.name,
            version: resource.version,
            type: resource.type,
            relation: resource.relation,
            access: { type: StandaloneAccessType, imageReference: `${repositoryBase(target)}/${referenceName}` },
          };
          const w = wireResources[i] as Obj;
          for (const key of ['digest', 'labels', 'extraIdentity', 'srcRefs']) {
            if (w[key] !== undefined && w[key] !== null) targetResource[key] = w[key];
          }
          tgd.transformations.push({
            type: 'TransferOCIArtifact/v1alpha1',
            id: transferId,
            spec: { resource: w, targetResource },
          });
          added.set(i, transferId);
          return;
        }
        const getId = nodeId('Get');
        const addId = nodeId('Add');
        tgd.transformations.push({ type: 'GetOCIArtifact/v1alpha1', id: getId, spec: { resource: wireResources[i] } });
        tgd.transformations.push({
          type: `${kindOf(target)}AddLocalResource/v1alpha1`,
          id: addId,
          spec: {
            repository: to,
            component,
            version,
            resource: resourceFieldsFrom(getId, { type: 'LocalBlob/v1', referenceName }),
            file: `\${${getId}.output.file}`,
          },
        });
        added.set(i, addId);
        files.push(`\${${addId}.spec.file}`);
        return;
      }
      if (isAccessType(access.type, AccessType.Helm)) {
        // Upstream's chart path: get, convert to an OCI artifact, add. lading prints it; running it
        // is refused by name (GetHelmChart), as lading copies charts only in a direct transfer.
        const getId = nodeId('Get');
        const convertId = nodeId('Convert');
        const addId = nodeId('Add');
        tgd.transformations.push({ type: 'GetHelmChart/v1alpha1', id: getId, spec: { resource: wireResources[i] } });
        tgd.transformations.push({
          type: 'ConvertHelmToOCI/v1alpha1',
          id: convertId,
          spec: {
            resource: `\${${getId}.output.resource}`,
            chartFile: `\${${getId}.output.chartFile}`,
            provFile: `\${${getId}.output.?provFile}`,
          },
        });
        const fromConvert = `\${${convertId}.output.resource.access.imageReference}`;
        tgd.transformations.push(
          uploadAsArtifact
            ? {
                type: 'AddOCIArtifact/v1alpha1',
                id: addId,
                spec: {
                  resource: resourceFieldsFrom(convertId, {
                    type: StandaloneAccessType,
                    imageReference: `${repositoryBase(target)}/${fromConvert}`,
                  }),
                  file: `\${${convertId}.output.file}`,
                },
              }
            : {
                type: `${kindOf(target)}AddLocalResource/v1alpha1`,
                id: addId,
                spec: {
                  repository: to,
                  component,
                  version,
                  resource: resourceFieldsFrom(convertId, { type: 'LocalBlob/v1', referenceName: fromConvert }),
                  file: `\${${convertId}.output.file}`,
                },
              },
        );
        added.set(i, addId);
        files.push(`\${${convertId}.spec.chartFile}`, `\${${convertId}.spec.?provFile}`, `\${${addId}.spec.file}`);
      }
    });
    tgd.transformations.push({
      type: `${kindOf(target)}AddComponentVersion/v1alpha1`,
      id: unique(`${id}Upload`, nodeIds),
      spec: { repository: to, descriptor: descriptorSpec(descriptor, id, added) },
    });
  }
  if (files.length > 0) {
    tgd.transformations.push({ type: 'FileCleanup/v1alpha1', id: 'fileBufferCleanup', spec: { files } });
  }
  return tgd;
}

function descriptorSpec(descriptor: ComponentDescriptor, id: string, added: Map<number, string>): unknown {
  if (added.size === 0) return `\${environment.${id}}`;
  const c = descriptor.component;
  const env = `environment.${id}`;
  const optional = (field: string, present: boolean) => (present ? `\${${env}.component.${field}}` : null);
  const out: Obj = {
    meta: `\${${env}.meta}`,
    component: {
      name: `\${${env}.component.name}`,
      version: `\${${env}.component.version}`,
      provider: `\${${env}.component.provider}`,
      resources: (c.resources ?? []).map((_, i) =>
        added.has(i) ? `\${${added.get(i)}.output.resource}` : `\${${env}.component.resources[${i}]}`,
      ),
      labels: optional('labels', Boolean(c.labels?.length)),
      repositoryContexts: optional('repositoryContexts', Boolean(c.repositoryContexts?.length)),
      sources: optional('sources', Boolean(c.sources?.length)),
      componentReferences: optional('componentReferences', Boolean(c.componentReferences?.length)),
      // Upstream leaves creationTime out here, which changes the normalised digest of a signed
      // version (open-component-model#3674); lading keeps it, so signatures still verify.
      ...(c.creationTime ? { creationTime: `\${${env}.component.creationTime}` } : {}),
    },
  };
  if (descriptor.signatures?.length) out.signatures = `\${${env}.signatures}`;
  return out;
}

/** Keys sorted as Go's encoding/json sorts a map's (a transformation keeps type, id, spec, output). */
export function transferSpecJson(tgd: TransformationGraphDefinition): unknown {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v === null || typeof v !== 'object') return v;
    const o = v as Obj;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, sorted(o[k])]),
    );
  };
  return {
    environment: sorted(tgd.environment),
    transformations: tgd.transformations.map((t) => ({
      type: t.type,
      id: t.id,
      spec: sorted(t.spec),
      ...(t.output ? { output: sorted(t.output) } : {}),
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading a spec (`--transfer-spec FILE`)

function kindName(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * Checks a parsed transfer spec document and returns it typed. Every problem is one
 * INVALID_ARGUMENT naming the file and the field: unknown keys, node types lading does not know
 * (or does not run), missing or unknown spec fields, bad or repeated IDs, references to nodes that
 * do not exist.
 */
export function parseTransferSpec(document: unknown, file: string): TransformationGraphDefinition {
  const bad = (field: string, message: string): never => {
    throw new LadingError('INVALID_ARGUMENT', `${file}: ${field}: ${message}`);
  };
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    return bad(
      '(document)',
      `a transfer spec is an object with environment and transformations, got ${kindName(document)}`,
    );
  }
  checkShape(document, file);
  const top = document as Obj;
  for (const key of Object.keys(top)) {
    if (key !== 'environment' && key !== 'transformations')
      bad(key, 'unknown field (expected environment, transformations)');
  }
  const environment = top.environment ?? {};
  if (environment === null || typeof environment !== 'object' || Array.isArray(environment)) {
    bad('environment', `must be an object, got ${kindName(environment)}`);
  }
  if (!Array.isArray(top.transformations) || top.transformations.length === 0) {
    bad('transformations', 'must be a non-empty list of transformations');
  }
  const ids = new Set<string>();
  const transformations = (top.transformations as unknown[]).map((raw, i) => {
    const at = `transformations[${i}]`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      bad(at, `must be an object, got ${kindName(raw)}`);
    const t = raw as Obj;
    for (const key of Object.keys(t)) {
      if (!['type', 'id', 'spec', 'output'].includes(key))
        bad(`${at}.${key}`, 'unknown field (expected type, id, spec)');
    }
    if (typeof t.type !== 'string' || t.type === '') bad(`${at}.type`, 'is required');
    const type = t.type as string;
    if (UpstreamOnlyTypes.has(type)) {
      throw new LadingError(
        'UNSUPPORTED',
        `${file}: ${at}.type: ${type} is an upstream transformation lading does not run`,
      );
    }
    const known = NodeTypes[type];
    if (!known) {
      bad(`${at}.type`, `unknown transformation type ${valueText(type)} (known: ${Object.keys(NodeTypes).join(', ')})`);
    }
    if (typeof t.id !== 'string' || !IdPattern.test(t.id)) {
      bad(`${at}.id`, `must be an identifier (letters, digits, _), got ${valueText(t.id)}`);
    }
    const id = t.id as string;
    if (id === 'environment') bad(`${at}.id`, '"environment" is reserved');
    // The run keeps each node's values under its ID in a plain object.
    if (id === '__proto__') bad(`${at}.id`, '"__proto__" is reserved');
    if (ids.has(id)) bad(`${at}.id`, `${valueText(id)} is used twice`);
    ids.add(id);
    if (t.spec === null || typeof t.spec !== 'object' || Array.isArray(t.spec)) {
      bad(`${at}.spec`, `must be an object, got ${kindName(t.spec)}`);
    }
    const spec = t.spec as Obj;
    for (const key of Object.keys(spec)) {
      if (!known?.fields.includes(key))
        bad(`${at}.spec.${key}`, `unknown field for ${type} (allowed: ${known?.fields.join(', ')})`);
    }
    for (const key of known?.required ?? []) {
      if (spec[key] === undefined || spec[key] === null) bad(`${at}.spec.${key}`, `is required for ${type}`);
    }
    if (spec.outputPath !== undefined) {
      bad(`${at}.spec.outputPath`, 'lading streams artifacts and writes no buffer files; remove outputPath');
    }
    // A repository written out is checked now, before any node runs: a misspelt field is not "no value".
    const repository = spec.repository;
    if (repository !== null && typeof repository === 'object' && !Array.isArray(repository)) {
      // Checked against the repository's own type; a type that is not known is reported when the
      // node runs, as for a repository an expression yields.
      const repoType = (repository as Obj).type;
      let canonical: string | undefined;
      try {
        canonical = isExpression(repoType) ? undefined : canonicalRepositoryType(repoType);
      } catch {
        canonical = undefined;
      }
      if (canonical !== undefined) {
        const kind = canonical === RepositoryType.CommonTransportFormat ? 'CommonTransportFormat' : 'OCIRepository';
        const nodeKind = type.startsWith('CTF') ? 'CommonTransportFormat' : 'OCIRepository';
        if (kind !== nodeKind) {
          bad(
            `${at}.spec.repository.type`,
            `a ${type.startsWith('CTF') ? 'CTF' : 'OCI'} transformation needs a ${nodeKind} repository`,
          );
        }
        checkRepositoryFields(repository as Obj, kind, `${file}: ${at}.spec.repository`);
      }
    } else if (repository !== undefined && !isExpression(repository)) {
      bad(`${at}.spec.repository`, `must be an object, got ${kindName(repository)}`);
    }
    if (spec.files !== undefined && !Array.isArray(spec.files) && !isExpression(spec.files)) {
      bad(`${at}.spec.files`, `must be a list, got ${kindName(spec.files)}`);
    }
    if (spec.globalAccessPolicy !== undefined && spec.globalAccessPolicy !== '' && spec.globalAccessPolicy !== 'auto') {
      bad(`${at}.spec.globalAccessPolicy`, `must be "auto" or empty, got ${valueText(spec.globalAccessPolicy)}`);
    }
    return { type, id, spec } as GenericTransformation;
  });
  // Every expression must name the environment or a node of this spec.
  transformations.forEach((t, i) => {
    walkStrings(t.spec, `transformations[${i}].spec`, (text, field) => {
      for (const expr of expressions(text, `${file}: ${field}`)) {
        for (const root of roots(expr)) {
          if (root !== 'environment' && !ids.has(root)) {
            bad(field, `${valueText(`\${${expr}}`)} names no transformation called ${valueText(root)}`);
          }
          if (root === t.id) bad(field, `${valueText(`\${${expr}}`)} refers to its own transformation`);
        }
      }
    });
  });
  return { environment: environment as Obj, transformations };
}

/** A string that is one `${…}` expression and nothing else: it may stand for any value. */
function isExpression(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith('${') && value.endsWith('}');
}

/** Deepest nesting a spec may have (descriptors are a dozen levels deep; the evaluator recurses). */
const MaxSpecDepth = 1000;

/** Refuses a document nested deeper than MaxSpecDepth, or with a `__proto__` key (walked iteratively). */
function checkShape(document: unknown, file: string): void {
  const pending: [unknown, number, string][] = [[document, 1, '']];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [value, depth, field] = next;
    // YAML's .nan and .inf: no JSON (and so no descriptor the spec writes) can hold them.
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `${file}: ${field || '(document)'}: not a number JSON can hold (.nan or .inf); quote it to make it a string`,
      );
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MaxSpecDepth) {
      throw new LadingError('INVALID_ARGUMENT', `${file}: nested deeper than ${MaxSpecDepth} levels`);
    }
    if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) {
      throw new LadingError('INVALID_ARGUMENT', `${file}: a key named "__proto__" is not accepted`);
    }
    if (Array.isArray(value))
      for (const [i, child] of value.entries()) pending.push([child, depth + 1, `${field}[${i}]`]);
    else for (const [k, child] of Object.entries(value)) pending.push([child, depth + 1, field ? `${field}.${k}` : k]);
  }
}

function walkStrings(value: unknown, field: string, visit: (text: string, field: string) => void): void {
  if (typeof value === 'string') {
    if (value.includes('${')) visit(value, field);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) walkStrings(v, `${field}[${i}]`, visit);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkStrings(v, `${field}.${k}`, visit);
  }
}

/** One `${…}` in a string: where it starts and ends (exclusive) and the expression inside. */
interface Span {
  start: number;
  end: number;
  expr: string;
}

/** The `${…}` spans of a string (braces inside an expression nest: `{}` literals). */
function spans(text: string, where: string): Span[] {
  const out: Span[] = [];
  let i = text.indexOf('${');
  while (i >= 0) {
    let depth = 0;
    let j = i + 2;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '{') depth++;
      else if (c === '}') {
        if (depth === 0) break;
        depth--;
      }
    }
    if (j >= text.length) {
      throw new LadingError('INVALID_ARGUMENT', `${where}: unterminated \${ in ${valueText(text)}`);
    }
    out.push({ start: i, end: j + 1, expr: text.slice(i + 2, j).trim() });
    i = text.indexOf('${', j + 1);
  }
  return out;
}

function expressions(text: string, where: string): string[] {
  return spans(text, where).map((s) => s.expr);
}

const PathPattern = /^[A-Za-z_][A-Za-z0-9_]*(?:\.\??[A-Za-z_][A-Za-z0-9_]*|\[\d+\])*$/;

/**
 * `has(x) ? a : b` split into its three parts, or undefined when the expression is not of that
 * form. Scanned by hand in one pass: the expression comes from a hostile spec, and the regular
 * expression this replaces (`^has\(([^()]+)\)\s*\?\s*(.+?)\s*:\s*(.+)$`) backtracked in cubic
 * time on a long run of spaces without a `:` (10 KB of spec held the CPU for minutes).
 */
function parseHas(expr: string): [string, string, string] | undefined {
  if (!expr.startsWith('has(')) return undefined;
  const close = expr.indexOf(')', 4);
  if (close <= 4) return undefined;
  const tested = expr.slice(4, close);
  if (tested.includes('(')) return undefined;
  const rest = expr.slice(close + 1).trimStart();
  if (!rest.startsWith('?')) return undefined;
  const branches = rest.slice(1);
  const colon = branches.indexOf(':');
  if (colon < 0) return undefined;
  const then = branches.slice(0, colon).trim();
  const otherwise = branches.slice(colon + 1).trim();
  if (then === '' || otherwise === '') return undefined;
  return [tested, then, otherwise];
}

/** The node IDs (or `environment`) an expression reads. */
function roots(expr: string): string[] {
  const parts = parseHas(expr) ?? [expr];
  return parts.flatMap((p) => {
    const t = p.trim();
    if (t === 'null' || !PathPattern.test(t)) return [];
    return [t.split(/[.[]/)[0] as string];
  });
}

const Missing = Symbol('missing');

function lookup(path: string, scope: Obj, where: string): unknown {
  if (!PathPattern.test(path)) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${where}: unsupported expression ${valueText(path)} (lading evaluates paths, has(x) ? x : y and \${} in strings)`,
    );
  }
  const steps = path.match(/\.\??[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|^[A-Za-z_][A-Za-z0-9_]*/g) as string[];
  let value: unknown = scope;
  for (const step of steps) {
    const key = step.startsWith('[') ? Number(step.slice(1, -1)) : step.replace(/^\.\??/, '');
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return Missing;
    value = (value as Obj)[key as string];
  }
  return value;
}

function literal(text: string, scope: Obj, where: string): unknown {
  const t = text.trim();
  if (t === '[]') return [];
  if (t === '{}') return {};
  if (t === 'null') return null;
  const v = lookup(t, scope, where);
  if (v === Missing) throw new LadingError('INVALID_ARGUMENT', `${where}: ${valueText(t)} is not set`);
  return v;
}

function evaluateExpression(expr: string, scope: Obj, where: string): unknown {
  const has = parseHas(expr);
  if (has) {
    const present = lookup(has[0].trim(), scope, where) !== Missing;
    return literal(present ? has[1] : has[2], scope, where);
  }
  return literal(expr, scope, where);
}

/**
 * Values (objects, lists, scalars) the expressions of one run may copy in all, beyond twice the
 * values of the spec itself. A node's spec may copy an earlier node's spec, so without a bound a
 * spec of n nodes that each copy the one before twice does 2^n work (and holds it in memory).
 */
const MaxCopiedValues = 1_000_000;

interface Budget {
  left: number;
}

/** Counts the values of `value` (walked iteratively), stopping once more than `limit` are seen. */
function countValues(value: unknown, limit: number): number {
  const pending: unknown[] = [value];
  let count = 0;
  while (pending.length > 0 && count <= limit) {
    const next = pending.pop();
    count++;
    if (next !== null && typeof next === 'object') for (const child of Object.values(next)) pending.push(child);
  }
  return count;
}

/** Takes the values an expression copies from the run's budget, or refuses the spec. */
function spend(value: unknown, budget: Budget, field: string): void {
  budget.left -= countValues(value, budget.left);
  if (budget.left < 0) {
    throw new LadingError(
      'SIZE_EXCEEDS_LIMIT',
      `${field}: the spec's expressions copy more than ${MaxCopiedValues} values beyond the spec's own size; refusing it as a possible expansion attack`,
    );
  }
}

/** A spec with every `${…}` replaced by its value (a string that is one expression becomes the value). */
function evaluate(value: unknown, scope: Obj, field: string, budget: Budget): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    const found = spans(value, field);
    const [first] = found;
    if (found.length === 1 && first && first.start === 0 && first.end === value.length) {
      const copied = evaluateExpression(first.expr, scope, field);
      spend(copied, budget, field);
      return structuredClone(copied);
    }
    let out = '';
    let at = 0;
    for (const span of found) {
      const v = evaluateExpression(span.expr, scope, field);
      if (typeof v !== 'string' && typeof v !== 'number') {
        throw new LadingError('INVALID_ARGUMENT', `${field}: \${${span.expr}} is ${kindName(v)}, not text`);
      }
      out += value.slice(at, span.start) + String(v);
      at = span.end;
    }
    return out + value.slice(at);
  }
  if (Array.isArray(value)) return value.map((v, i) => evaluate(v, scope, `${field}[${i}]`, budget));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, scope, `${field}.${k}`, budget)]));
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Running a spec

/** Content a Get node found: where it streams from, checked against the resource's digest. */
interface Content {
  from: ReadOnlyTarget;
  node: Descriptor;
}

/** Where an `OCIImage/v1` reference is read from, and where an artifact of a spec is pushed. */
export interface RunTransferSpecOptions {
  /** Opens a repository a node names (`write` for Add nodes); the caller closes them after the run. */
  open: (spec: RepositorySpec, o: { write: boolean }) => Promise<ComponentVersionRepository>;
  imageSource?: (imageReference: string) => Promise<{ target: ReadOnlyTarget; reference: string }>;
  /** Where AddOCIArtifact and TransferOCIArtifact push `imageReference` (a registry repository). */
  artifactTarget?: (imageReference: string) => Promise<{ target: Target; reference: string }>;
  /** Hosts an `http://` repository or image of the spec may be reached on (default: loopback only). */
  allowPlainHttp?: PlainHttpPolicy;
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (desc: Descriptor, bytes: number) => void;
  /** One line per node as it completes. */
  onNode?: (t: GenericTransformation, summary: string) => void;
}

/** What {@link runTransferSpec} wrote: each component version it added, by node. */
export interface RunTransferSpecResult {
  versions: {
    id: string;
    component: string;
    version: string;
    repository: RepositorySpec;
    /** As a transfer's component event says: new to the target, replacing another, or already there. */
    status: 'added' | 'replaced' | 'unchanged';
  }[];
}

/**
 * Runs a transfer spec: every node that only reads (Get…) first, so a spec whose content is missing
 * or does not match its digests fails before the first write; then the Add nodes, each version's
 * descriptor last. Content streams from the source into the target (nothing is buffered in files),
 * and a File handed from a Get node to an Add node is a handle, never a path on this machine.
 */
export function runTransferSpec(
  tgd: TransformationGraphDefinition,
  file: string,
  options: RunTransferSpecOptions,
): Promise<RunTransferSpecResult> {
  return cancellable(options.signal, () => runNow(tgd, file, options));
}

function isRead(type: string): boolean {
  return /^(CTF|OCI)Get|^GetOCIArtifact\//.test(type);
}

async function runNow(
  tgd: TransformationGraphDefinition,
  file: string,
  options: RunTransferSpecOptions,
): Promise<RunTransferSpecResult> {
  const o: Op = options.signal ? { signal: options.signal } : {};
  const byId = new Map(tgd.transformations.map((t, i) => [t.id, { t, i }]));
  const deps = new Map<string, Set<string>>();
  for (const t of tgd.transformations) {
    const set = new Set<string>();
    walkStrings(t.spec, 'spec', (text, field) => {
      for (const expr of expressions(text, `${file}: ${field}`)) {
        for (const r of roots(expr)) if (r !== 'environment') set.add(r);
      }
    });
    deps.set(t.id, set);
  }
  // Reads before writes; otherwise the file's order (Kahn's algorithm, reads first).
  const order: GenericTransformation[] = [];
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const t of tgd.transformations) {
    const own = deps.get(t.id) ?? new Set<string>();
    waiting.set(t.id, own.size);
    for (const d of own) dependents.set(d, [...(dependents.get(d) ?? []), t.id]);
  }
  const reads: GenericTransformation[] = [];
  const writes: GenericTransformation[] = [];
  const enqueue = (t: GenericTransformation) => (isRead(t.type) ? reads : writes).push(t);
  for (const t of tgd.transformations) if (waiting.get(t.id) === 0) enqueue(t);
  for (let next = reads.shift() ?? writes.shift(); next; next = reads.shift() ?? writes.shift()) {
    order.push(next);
    for (const d of dependents.get(next.id) ?? []) {
      const left = (waiting.get(d) as number) - 1;
      waiting.set(d, left);
      if (left === 0) enqueue(byId.get(d)?.t as GenericTransformation);
    }
  }
  if (order.length < tgd.transformations.length) {
    const stuck = tgd.transformations.find((t) => (waiting.get(t.id) as number) > 0) as GenericTransformation;
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${file}: transformations[${byId.get(stuck.id)?.i}] (${stuck.id}): its references form a cycle`,
    );
  }

  const scope: Obj = { environment: tgd.environment };
  // The bound grows with the spec: a large environment copied once per node is ordinary.
  const budget: Budget = { left: MaxCopiedValues + 2 * countValues(tgd, Number.POSITIVE_INFINITY) };
  const contents = new Map<string, Content>();
  const repositories = new Map<string, Promise<ComponentVersionRepository>>();
  /** Local blobs added per target repository and version: the descriptor's manifest lists them. */
  const blobs = new Map<string, Descriptor[]>();
  const result: RunTransferSpecResult = { versions: [] };

  const repository = (raw: unknown, field: string, kind: 'CTF' | 'OCI', write: boolean) => {
    const spec = repositorySpecFrom(raw, `${file}: ${field}`, { strict: true });
    if ((spec.kind === 'CommonTransportFormat') !== (kind === 'CTF')) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `${file}: ${field}.type: a ${kind} transformation needs a ${kind === 'CTF' ? 'CommonTransportFormat' : 'OCIRepository'} repository`,
      );
    }
    if (spec.kind === 'OCIRepository')
      accessReference(spec.baseUrl, { allowPlainHttp: options.allowPlainHttp, where: `${file}: ${field}.baseUrl` });
    if (spec.kind === 'CommonTransportFormat' && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(spec.filePath)) {
      throw new LadingError('INVALID_ARGUMENT', `${file}: ${field}.filePath: a path on this machine, not a URL`);
    }
    const key = `${write}:${JSON.stringify(spec)}`;
    let opened = repositories.get(key);
    if (!opened) {
      opened = options.open(spec, { write });
      repositories.set(key, opened);
    }
    return opened.then((repo) => ({ repo, spec }));
  };
  const str = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || v === '')
      throw new LadingError('INVALID_ARGUMENT', `${file}: ${field}: must be a non-empty string`);
    return v;
  };
  const obj = (v: unknown, field: string): Obj => {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new LadingError('INVALID_ARGUMENT', `${file}: ${field}: must be an object, got ${kindName(v)}`);
    return v as Obj;
  };
  const content = (v: unknown, field: string): Content => {
    const f = obj(v, field);
    const uri = typeof f.uri === 'string' ? f.uri : '';
    const found = f.type === FileType && uri.startsWith(StreamScheme) ? contents.get(uri) : undefined;
    if (!found) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `${file}: ${field}: must be the file output of a Get transformation of this spec (lading reads no local files a spec names)`,
      );
    }
    return found;
  };
  const resourceModel = (v: unknown, field: string): Resource => {
    // Read through the descriptor decoder so that a resource of the spec is checked like a stored one.
    const doc = {
      meta: { schemaVersion: 'v2' },
      component: {
        name: 'x.y/z',
        version: '0.0.0',
        provider: 'x',
        repositoryContexts: null,
        resources: [v],
        sources: null,
        componentReferences: null,
      },
    };
    return (fromWire(doc, `${file}: ${field}`).component.resources as Resource[])[0] as Resource;
  };
  const resourceWire = (r: Resource): Obj => {
    const d = toWire({
      meta: { schemaVersion: 'v2' },
      component: {
        name: 'x.y/z',
        version: '0.0.0',
        provider: { name: 'x' },
        repositoryContexts: absentList(),
        resources: [r],
        sources: absentList(),
        componentReferences: absentList(),
      },
    });
    return ((d.component as Obj).resources as Obj[])[0] as Obj;
  };
  const copyOptions: CopyGraphOptions = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  };

  for (const t of order) {
    const i = byId.get(t.id)?.i as number;
    const at = `transformations[${i}].spec`;
    const spec = evaluate(t.spec, scope, `${file}: ${at}`, budget) as Obj;
    const where = `${file}: transformations[${i}] (${t.id})`;
    let output: Obj = {};
    let summary = '';
    const kind = t.type.startsWith('CTF') ? 'CTF' : 'OCI';
    switch (t.type) {
      case 'CTFGetComponentVersion/v1alpha1':
      case 'OCIGetComponentVersion/v1alpha1': {
        const { repo } = await repository(spec.repository, `${at}.repository`, kind, false);
        const stored = await repo.getComponentVersion(
          str(spec.component, `${at}.component`),
          str(spec.version, `${at}.version`),
          o,
        );
        output = { descriptor: toWire(stored.descriptor) };
        summary = `read ${spec.component}:${spec.version}`;
        break;
      }
      case 'CTFGetLocalResource/v1alpha1':
      case 'OCIGetLocalResource/v1alpha1': {
        const { repo } = await repository(spec.repository, `${at}.repository`, kind, false);
        const component = str(spec.component, `${at}.component`);
        const version = str(spec.version, `${at}.version`);
        const wanted = obj(spec.resourceIdentity, `${at}.resourceIdentity`);
        for (const [k, v] of Object.entries(wanted)) str(v, `${at}.resourceIdentity.${k}`);
        const stored = await repo.getComponentVersion(component, version, o);
        const resources = stored.descriptor.component.resources ?? [];
        const resource = resources.find((r) => {
          const id = identityOf(r);
          return (
            matchesIdentity(wanted as Record<string, string>, id) &&
            Object.keys(id).length === Object.keys(wanted).length
          );
        });
        if (!resource) {
          throw new LadingError(
            'NOT_FOUND',
            `${where}: ${component}:${version} has no resource ${JSON.stringify(wanted)}`,
          );
        }
        if (!isAccessType(resource.access.type, AccessType.LocalBlob)) {
          throw new LadingError(
            'INVALID_ARGUMENT',
            `${where}: resource ${resource.name} of ${component}:${version} is not a local blob (${resource.access.type})`,
          );
        }
        const local = await repo.localContent(stored, resource.access as never, o);
        const uri = `${StreamScheme}${t.id}`;
        contents.set(uri, { from: local.target, node: local.desc });
        output = { resource: resourceWire(resource), file: { type: FileType, uri, mediaType: local.desc.mediaType } };
        summary = `found ${resource.name} of ${component}:${version} (${local.desc.digest})`;
        break;
      }
      case 'GetOCIArtifact/v1alpha1': {
        if (!options.imageSource) throw noImageSource(where);
        const resource = resourceModel(spec.resource, `${at}.resource`);
        if (!isAccessType(resource.access.type, AccessType.OCIImage)) {
          throw new LadingError(
            'INVALID_ARGUMENT',
            `${file}: ${at}.resource.access.type: GetOCIArtifact reads OCIImage/v1 accesses, got ${resource.access.type}`,
          );
        }
        const imageReference = str((resource.access as Obj).imageReference, `${at}.resource.access.imageReference`);
        accessReference(imageReference, {
          allowPlainHttp: options.allowPlainHttp,
          where: `${file}: ${at}.resource.access.imageReference`,
        });
        const image = await options.imageSource(imageReference);
        const top = await image.target.resolve(image.reference, o);
        await verifyResourceContent(resource, top, 'artifact', image.target, { ...o, where });
        const uri = `${StreamScheme}${t.id}`;
        contents.set(uri, { from: image.target, node: top });
        output = { resource: resourceWire(resource), file: { type: FileType, uri, mediaType: top.mediaType } };
        summary = `found ${imageReference} (${top.digest})`;
        break;
      }
      case 'CTFAddLocalResource/v1alpha1':
      case 'OCIAddLocalResource/v1alpha1': {
        const { repo, spec: repoSpec } = await repository(spec.repository, `${at}.repository`, kind, true);
        const component = str(spec.component, `${at}.component`);
        const version = str(spec.version, `${at}.version`);
        const from = content(spec.file, `${at}.file`);
        const resource = resourceModel(spec.resource, `${at}.resource`);
        await copyGraph(from.from, await repo.target(component, o), from.node, copyOptions);
        const key = `${JSON.stringify(repoSpec)}\n${component}:${version}`;
        blobs.set(key, [
          ...(blobs.get(key) ?? []),
          { mediaType: from.node.mediaType, digest: from.node.digest, size: from.node.size },
        ]);
        const referenceName = (resource.access as Obj).referenceName;
        const access: Obj = {
          type: 'LocalBlob/v1',
          localReference: from.node.digest,
          mediaType: from.node.mediaType,
          ...(typeof referenceName === 'string' && referenceName ? { referenceName } : {}),
        };
        if (spec.globalAccessPolicy === 'auto' && repoSpec.kind === 'OCIRepository') {
          const host = repoSpec.baseUrl.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
          const base = `${host}/${repoSpec.subPath ? `${repoSpec.subPath}/` : ''}component-descriptors/${component}@${from.node.digest}`;
          access.globalAccess = isOciManifestType(from.node.mediaType)
            ? { type: 'OCIImage/v1', imageReference: base }
            : {
                type: 'OCIImageLayer/v1',
                ref: base,
                mediaType: from.node.mediaType,
                digest: from.node.digest,
                size: from.node.size,
              };
        }
        output = { resource: { ...resourceWire(resource), access } };
        summary = `added ${resource.name} to ${component}:${version} (${from.node.digest})`;
        break;
      }
      case 'AddOCIArtifact/v1alpha1':
      case 'TransferOCIArtifact/v1alpha1': {
        if (!options.artifactTarget)
          throw new LadingError('UNSUPPORTED', `${where}: no registry to push OCI artifacts to`);
        const field = t.type.startsWith('Add') ? 'resource' : 'targetResource';
        const resource = resourceModel(spec[field], `${at}.${field}`);
        const imageReference = str((resource.access as Obj).imageReference, `${at}.${field}.access.imageReference`);
        accessReference(imageReference, {
          allowPlainHttp: options.allowPlainHttp,
          where: `${file}: ${at}.${field}.access.imageReference`,
        });
        let from: Content;
        if (t.type.startsWith('Add')) {
          from = content(spec.file, `${at}.file`);
        } else {
          if (!options.imageSource) throw noImageSource(where);
          const source = resourceModel(spec.resource, `${at}.resource`);
          const ref = str((source.access as Obj).imageReference, `${at}.resource.access.imageReference`);
          accessReference(ref, {
            allowPlainHttp: options.allowPlainHttp,
            where: `${file}: ${at}.resource.access.imageReference`,
          });
          const image = await options.imageSource(ref);
          const top = await image.target.resolve(image.reference, o);
          await verifyResourceContent(source, top, 'artifact', image.target, { ...o, where });
          from = { from: image.target, node: top };
        }
        refuseComponentStore(imageReference, `${file}: ${at}.${field}.access.imageReference`);
        const to = await options.artifactTarget(imageReference);
        await copyGraph(from.from, to.target, from.node, copyOptions);
        if (to.reference) await to.target.tag(from.node, to.reference, o);
        output = { resource: resourceWire(resource) };
        summary = `pushed ${imageReference} (${from.node.digest})`;
        break;
      }
      case 'CTFAddComponentVersion/v1alpha1':
      case 'OCIAddComponentVersion/v1alpha1': {
        const { repo, spec: repoSpec } = await repository(spec.repository, `${at}.repository`, kind, true);
        const document = obj(spec.descriptor, `${at}.descriptor`);
        const problems = validateDescriptorDocument(document);
        if (problems.length > 0) {
          throw new LadingError(
            'INVALID_DESCRIPTOR',
            `${file}: ${at}.descriptor: ${formatProblems(problems).join('; ')}`,
          );
        }
        const descriptor = fromWire(document, `${file}: ${at}.descriptor`);
        const { name: component, version } = descriptor.component;
        const added = blobs.get(`${JSON.stringify(repoSpec)}\n${component}:${version}`) ?? [];
        // A local blob the spec did not add would dangle in the target.
        for (const [j, r] of (descriptor.component.resources ?? []).entries()) {
          if (!isAccessType(r.access.type, AccessType.LocalBlob)) continue;
          const ref = (r.access as Obj).localReference;
          if (!added.some((b) => b.digest === ref)) {
            throw new LadingError(
              'INVALID_ARGUMENT',
              `${file}: ${at}.descriptor.component.resources[${j}]: resource ${r.name} is a local blob (${valueText(ref)}) that no Add transformation of this spec puts into ${component}:${version} in the target`,
            );
          }
        }
        const { result: outcome } = await repo.addComponentVersion(descriptor, {
          conflictPolicy: 'replace',
          blobs: added,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const status = outcome === 'skipped' ? 'unchanged' : outcome;
        result.versions.push({ id: t.id, component, version, repository: repoSpec, status });
        output = { descriptor: toWire(descriptor) };
        summary = `${status === 'unchanged' ? 'unchanged' : 'transferred'} ${component}:${version}`;
        break;
      }
      case 'FileCleanup/v1alpha1': {
        if (!Array.isArray(spec.files)) {
          throw new LadingError(
            'INVALID_ARGUMENT',
            `${file}: ${at}.files: must be a list, got ${kindName(spec.files)}`,
          );
        }
        const list = spec.files;
        for (const [j, f] of list.entries())
          if (f !== null && f !== undefined && f !== '') content(f, `${at}.files[${j}]`);
        // Streams leave nothing behind to clean.
        output = { cleanedFiles: 0 };
        summary = 'nothing to clean up (content was streamed)';
        break;
      }
    }
    scope[t.id] = { spec, output };
    options.onNode?.(t, summary);
  }
  return result;
}
