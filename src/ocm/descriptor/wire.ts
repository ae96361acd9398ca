import { LadingError } from '../../oci/index.js';
import type {
  Component,
  ComponentDescriptor,
  ComponentReference,
  DigestSpec,
  Label,
  NestedDigest,
  Provider,
  Resource,
  ResourceDigest,
  Signature,
  Source,
  SourceRef,
  TypedSpec,
} from './model.js';
import { absentList, writesNull } from './null-lists.js';
import { formatProvider, parseProvider } from './provider.js';

/**
 * The object upstream's Go v2 types marshal to: which fields exist, which are `null` and which
 * are left out (omitempty) follows `bindings/go/descriptor/v2/descriptor.go`. Key order does not
 * matter here: both stored encodings sort keys.
 */
export function toWire(desc: ComponentDescriptor): Record<string, unknown> {
  const out: Record<string, unknown> = {
    meta: { schemaVersion: desc.meta.schemaVersion },
    component: componentToWire(desc.component),
  };
  if (desc.signatures?.length) out.signatures = desc.signatures.map(signatureToWire);
  if (desc.nestedDigests?.length) out.nestedDigests = desc.nestedDigests.map(nestedDigestToWire);
  return out;
}

function componentToWire(c: Component): Record<string, unknown> {
  const out: Record<string, unknown> = { name: c.name, version: c.version };
  putLabels(out, c.labels);
  if (c.creationTime) out.creationTime = c.creationTime;
  out.repositoryContexts = writesNull(c.repositoryContexts) ? null : c.repositoryContexts.map(typedToWire);
  out.provider = formatProvider(c.provider, 'component.provider');
  out.resources = writesNull(c.resources) ? null : c.resources.map(resourceToWire);
  out.sources = writesNull(c.sources) ? null : c.sources.map(sourceToWire);
  out.componentReferences = writesNull(c.componentReferences) ? null : c.componentReferences.map(referenceToWire);
  return out;
}

function putLabels(out: Record<string, unknown>, labels: Label[] | undefined): void {
  if (labels?.length) out.labels = labels.map(labelToWire);
}

function labelToWire(l: Label): Record<string, unknown> {
  const out: Record<string, unknown> = { name: l.name, value: l.value === undefined ? null : l.value };
  if (l.signing) out.signing = true;
  if (l.version) out.version = l.version;
  return out;
}

function elementToWire(e: {
  name: string;
  version: string;
  labels?: Label[];
  extraIdentity?: Record<string, string>;
}): Record<string, unknown> {
  const out: Record<string, unknown> = { name: e.name, version: e.version };
  putLabels(out, e.labels);
  if (e.extraIdentity && Object.keys(e.extraIdentity).length > 0) out.extraIdentity = { ...e.extraIdentity };
  return out;
}

function typedToWire(t: TypedSpec | null | undefined): unknown {
  return t === undefined ? null : t;
}

function digestToWire(d: DigestSpec): Record<string, unknown> {
  return { hashAlgorithm: d.hashAlgorithm, normalisationAlgorithm: d.normalisationAlgorithm, value: d.value };
}

function resourceToWire(r: Resource): Record<string, unknown> {
  const out = elementToWire(r);
  if (r.srcRefs?.length) out.srcRefs = r.srcRefs.map(srcRefToWire);
  out.type = r.type;
  out.relation = r.relation;
  out.access = typedToWire(r.access);
  if (r.digest) out.digest = digestToWire(r.digest);
  return out;
}

function srcRefToWire(s: SourceRef): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.identitySelector && Object.keys(s.identitySelector).length > 0)
    out.identitySelector = { ...s.identitySelector };
  putLabels(out, s.labels);
  return out;
}

function sourceToWire(s: Source): Record<string, unknown> {
  const out = elementToWire(s);
  out.type = s.type;
  out.access = typedToWire(s.access);
  return out;
}

function referenceToWire(r: ComponentReference): Record<string, unknown> {
  const out = elementToWire(r);
  out.componentName = r.componentName;
  // A Go struct field: `omitempty` has no effect, so an absent digest is three empty strings.
  out.digest = digestToWire(r.digest ?? { hashAlgorithm: '', normalisationAlgorithm: '', value: '' });
  return out;
}

/** A signature in its v2 wire form, in Go's field order (as `sign cv` prints it). */
export function signatureToWire(s: Signature): Record<string, unknown> {
  const info: Record<string, unknown> = {
    algorithm: s.signature.algorithm,
    value: s.signature.value,
    mediaType: s.signature.mediaType,
  };
  if (s.signature.issuer) info.issuer = s.signature.issuer;
  return { name: s.name, digest: digestToWire(s.digest), signature: info };
}

function nestedDigestToWire(n: NestedDigest): Record<string, unknown> {
  const out: Record<string, unknown> = { name: n.name, version: n.version };
  if (n.digest) out.digest = digestToWire(n.digest);
  if (n.resourceDigests?.length) out.resourceDigests = n.resourceDigests.map(resourceDigestToWire);
  return out;
}

function resourceDigestToWire(r: ResourceDigest): Record<string, unknown> {
  const out: Record<string, unknown> = { name: r.name, version: r.version };
  if (r.extraIdentity && Object.keys(r.extraIdentity).length > 0) out.extraIdentity = { ...r.extraIdentity };
  out.digest = r.digest ? digestToWire(r.digest) : null;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading. Upstream unmarshals into its Go types, which ignores unknown fields and fails on a
// wrong JSON type; this reader does the same, naming the field path in the error.

type Obj = Record<string, unknown>;

function fail(path: string, message: string): never {
  throw new LadingError('INVALID_DESCRIPTOR', `${path}: ${message}`);
}

function kind(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function obj(value: unknown, path: string): Obj {
  if (value === undefined) fail(path, 'is missing');
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    fail(path, `must be an object, got ${kind(value)}`);
  return value as Obj;
}

/** Go decodes JSON null into a string field as "". */
function str(value: unknown, path: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') fail(path, `must be a string, got ${kind(value)}`);
  return value;
}

function optStr(value: unknown, path: string): string | undefined {
  const s = str(value, path);
  return s === '' ? undefined : s;
}

function bool(value: unknown, path: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') fail(path, `must be a boolean, got ${kind(value)}`);
  return value;
}

function arr(value: unknown, path: string): unknown[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) fail(path, `must be an array, got ${kind(value)}`);
  return value;
}

function stringMap(value: unknown, path: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const o = obj(value, path);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[k] = str(v, `${path}.${k}`);
  return Object.keys(out).length > 0 ? out : undefined;
}

function typed(value: unknown, path: string): TypedSpec {
  const o = obj(value, path);
  if (typeof o.type !== 'string') fail(`${path}.type`, `must be a string, got ${kind(o.type)}`);
  return o as TypedSpec;
}

function labels(value: unknown, path: string): Label[] | undefined {
  const list = arr(value, path);
  if (!list || list.length === 0) return undefined;
  return list.map((item, i) => {
    const p = `${path}[${i}]`;
    const o = obj(item, p);
    const label: Label = { name: str(o.name, `${p}.name`), value: o.value === undefined ? null : o.value };
    if (bool(o.signing, `${p}.signing`)) label.signing = true;
    const version = optStr(o.version, `${p}.version`);
    if (version) label.version = version;
    if (o.merge !== undefined && o.merge !== null) label.merge = obj(o.merge, `${p}.merge`);
    return label;
  });
}

function digest(value: unknown, path: string): DigestSpec | undefined {
  if (value === undefined || value === null) return undefined;
  const o = obj(value, path);
  return {
    hashAlgorithm: str(o.hashAlgorithm, `${path}.hashAlgorithm`),
    normalisationAlgorithm: str(o.normalisationAlgorithm, `${path}.normalisationAlgorithm`),
    value: str(o.value, `${path}.value`),
  };
}

function element(
  o: Obj,
  path: string,
): { name: string; version: string; labels?: Label[]; extraIdentity?: Record<string, string> } {
  const out: { name: string; version: string; labels?: Label[]; extraIdentity?: Record<string, string> } = {
    name: str(o.name, `${path}.name`),
    version: str(o.version, `${path}.version`),
  };
  const l = labels(o.labels, `${path}.labels`);
  if (l) out.labels = l;
  const extra = stringMap(o.extraIdentity, `${path}.extraIdentity`);
  if (extra) out.extraIdentity = extra;
  return out;
}

function resource(value: unknown, path: string): Resource {
  const o = obj(value, path);
  const r: Resource = {
    ...element(o, path),
    type: str(o.type, `${path}.type`),
    relation: str(o.relation, `${path}.relation`),
    access: typed(o.access, `${path}.access`),
  };
  const refs = arr(o.srcRefs, `${path}.srcRefs`);
  if (refs?.length) {
    r.srcRefs = refs.map((ref, i) => {
      const p = `${path}.srcRefs[${i}]`;
      const ro = obj(ref, p);
      const out: SourceRef = {};
      const selector = stringMap(ro.identitySelector, `${p}.identitySelector`);
      if (selector) out.identitySelector = selector;
      const l = labels(ro.labels, `${p}.labels`);
      if (l) out.labels = l;
      return out;
    });
  }
  const d = digest(o.digest, `${path}.digest`);
  if (d) r.digest = d;
  return r;
}

function source(value: unknown, path: string): Source {
  const o = obj(value, path);
  return { ...element(o, path), type: str(o.type, `${path}.type`), access: typed(o.access, `${path}.access`) };
}

function reference(value: unknown, path: string): ComponentReference {
  const o = obj(value, path);
  const r: ComponentReference = { ...element(o, path), componentName: str(o.componentName, `${path}.componentName`) };
  const d = digest(o.digest, `${path}.digest`);
  // Go cannot tell an absent reference digest from an all-empty one; neither can we.
  if (d && (d.hashAlgorithm || d.normalisationAlgorithm || d.value)) r.digest = d;
  return r;
}

function signature(value: unknown, path: string): Signature {
  const o = obj(value, path);
  const info = obj(o.signature, `${path}.signature`);
  const s: Signature = {
    name: str(o.name, `${path}.name`),
    digest: digest(o.digest, `${path}.digest`) ?? { hashAlgorithm: '', normalisationAlgorithm: '', value: '' },
    signature: {
      algorithm: str(info.algorithm, `${path}.signature.algorithm`),
      value: str(info.value, `${path}.signature.value`),
      mediaType: str(info.mediaType, `${path}.signature.mediaType`),
    },
  };
  const issuer = optStr(info.issuer, `${path}.signature.issuer`);
  if (issuer) s.signature.issuer = issuer;
  if (o.timestamp !== undefined && o.timestamp !== null) s.timestamp = obj(o.timestamp, `${path}.timestamp`);
  return s;
}

function nestedDigest(value: unknown, path: string): NestedDigest {
  const o = obj(value, path);
  const n: NestedDigest = { name: str(o.name, `${path}.name`), version: str(o.version, `${path}.version`) };
  const d = digest(o.digest, `${path}.digest`);
  if (d) n.digest = d;
  const list = arr(o.resourceDigests, `${path}.resourceDigests`);
  if (list?.length) {
    n.resourceDigests = list.map((item, i) => {
      const p = `${path}.resourceDigests[${i}]`;
      const ro = obj(item, p);
      const rd: ResourceDigest = { name: str(ro.name, `${p}.name`), version: str(ro.version, `${p}.version`) };
      const extra = stringMap(ro.extraIdentity, `${p}.extraIdentity`);
      if (extra) rd.extraIdentity = extra;
      rd.digest = digest(ro.digest, `${p}.digest`) ?? null;
      return rd;
    });
  }
  return n;
}

/** Builds the model from a parsed descriptor document; `where` prefixes error paths. */
export function fromWire(value: unknown, where: string): ComponentDescriptor {
  const root = obj(value, where);
  const meta = obj(root.meta ?? {}, `${where}: meta`);
  const c = obj(root.component, `${where}: component`);
  const p = `${where}: component`;
  const provider: Provider = parseProvider(c.provider ?? '', `${p}.provider`);
  const component: Component = {
    name: str(c.name, `${p}.name`),
    version: str(c.version, `${p}.version`),
    repositoryContexts:
      arr(c.repositoryContexts, `${p}.repositoryContexts`)?.map((r, i) => typed(r, `${p}.repositoryContexts[${i}]`)) ??
      absentList(),
    provider,
    resources: arr(c.resources, `${p}.resources`)?.map((r, i) => resource(r, `${p}.resources[${i}]`)) ?? absentList(),
    sources: arr(c.sources, `${p}.sources`)?.map((s, i) => source(s, `${p}.sources[${i}]`)) ?? absentList(),
    componentReferences:
      arr(c.componentReferences, `${p}.componentReferences`)?.map((r, i) =>
        reference(r, `${p}.componentReferences[${i}]`),
      ) ?? absentList(),
  };
  const l = labels(c.labels, `${p}.labels`);
  if (l) component.labels = l;
  const creationTime = optStr(c.creationTime, `${p}.creationTime`);
  if (creationTime) component.creationTime = creationTime;
  const desc: ComponentDescriptor = {
    meta: { schemaVersion: str(meta.schemaVersion, `${where}: meta.schemaVersion`) },
    component,
  };
  const sigs = arr(root.signatures, `${where}: signatures`);
  if (sigs?.length) desc.signatures = sigs.map((s, i) => signature(s, `${where}: signatures[${i}]`));
  const nested = arr(root.nestedDigests, `${where}: nestedDigests`);
  if (nested?.length) desc.nestedDigests = nested.map((n, i) => nestedDigest(n, `${where}: nestedDigests[${i}]`));
  return desc;
}
