import { LadingError } from '../../oci/index.js';
import type {
  ComponentDescriptor,
  ComponentReference,
  DigestSpec,
  Label,
  Provider,
  Resource,
  Source,
} from '../descriptor/model.js';
import { canonicalJson } from './jcs.js';

export const NormalisationAlgorithms = {
  JsonV4alpha1: 'jsonNormalisation/v4alpha1',
  /** OCM v1's algorithm; upstream v2 reads it as v4alpha1, which produces the same bytes. */
  LegacyJsonV3: 'jsonNormalisation/v3',
} as const;

export const DefaultNormalisation = NormalisationAlgorithms.JsonV4alpha1;

/**
 * The algorithm that actually runs for a name: `jsonNormalisation/v3` maps to v4alpha1 as upstream
 * does (and a new digest records v4alpha1). Anything else, including V1's v1 and v2, is unknown.
 */
export function resolveNormalisation(algorithm: string): typeof NormalisationAlgorithms.JsonV4alpha1 {
  if (algorithm === NormalisationAlgorithms.JsonV4alpha1 || algorithm === NormalisationAlgorithms.LegacyJsonV3) {
    return NormalisationAlgorithms.JsonV4alpha1;
  }
  throw new LadingError(
    'UNSUPPORTED',
    `unknown normalisation algorithm "${algorithm}" (supported: ${NormalisationAlgorithms.JsonV4alpha1}, ${NormalisationAlgorithms.LegacyJsonV3})`,
  );
}

/** The normalised bytes of a descriptor: what its digest, and so its signature, covers. */
export function normalise(descriptor: ComponentDescriptor, algorithm: string = DefaultNormalisation): Buffer {
  resolveNormalisation(algorithm);
  return Buffer.from(canonicalJson(normalisedValue(descriptor)), 'utf8');
}

type Json = Record<string, unknown>;

/**
 * jsonNormalisation/v4alpha1 as upstream's code does it (not as the spec prose says): the v2 form
 * after upstream's runtime round trip (label `version` and `merge` gone, an absent reference digest
 * as three empty strings), then the exclusion rules. Every object member whose value is null is
 * dropped at every depth; null array items stay.
 */
export function normalisedValue(descriptor: ComponentDescriptor): Json {
  const c = descriptor.component;
  const component: Json = { name: c.name, version: c.version };
  const labels = signingLabels(c.labels?.map(v2Label));
  if (labels) component.labels = labels;
  if (c.creationTime) component.creationTime = c.creationTime;
  component.provider = provider(c.provider);
  component.resources = (c.resources ?? []).map(resource);
  component.sources = (c.sources ?? []).map(source);
  // Upstream's rule is keyed `references`, which never matches: references stay as they are,
  // labels included.
  component.componentReferences = (c.componentReferences ?? []).map(reference);
  return dropNullMembers({ component }) as Json;
}

function v2Label(l: Label): Json {
  const out: Json = { name: l.name, value: l.value === undefined ? null : l.value };
  if (l.signing) out.signing = true;
  return out;
}

/** Labels that take part in signing, reduced to name, version, value and signing; none → absent. */
function signingLabels(labels: unknown): unknown[] | undefined {
  if (!Array.isArray(labels)) return labels === undefined || labels === null ? undefined : (labels as never);
  const kept: unknown[] = [];
  for (const label of labels) {
    if (label === null || typeof label !== 'object' || Array.isArray(label)) continue;
    const l = label as Json;
    if (l.signing !== true && l.signing !== 'true') continue;
    const out: Json = {};
    for (const key of ['name', 'version', 'value', 'signing']) if (key in l) out[key] = l[key];
    kept.push(out);
  }
  return kept.length > 0 ? kept : undefined;
}

/**
 * The provider as a map: the v2 string is parsed as a JSON object when it is one (Go's Unmarshal
 * into a map also accepts `null`, giving an empty map), otherwise it is `{name: <string>}`.
 */
function provider(p: Provider): unknown {
  let value: Json;
  if (p.labels === undefined) {
    value = providerAsMap(p.name);
  } else {
    value = { name: p.name };
    if (p.labels.length > 0) value.labels = p.labels.map(v2Label);
  }
  if ('labels' in value) {
    const labels = signingLabels(value.labels);
    if (labels) value.labels = labels;
    else delete value.labels;
  }
  return value;
}

function providerAsMap(text: string): Json {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null) return {};
    if (typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
  } catch {
    // a plain name
  }
  return { name: text };
}

function element(e: { name: string; version: string; extraIdentity?: Record<string, string> }): Json {
  const out: Json = { name: e.name, version: e.version };
  if (e.extraIdentity && Object.keys(e.extraIdentity).length > 0) out.extraIdentity = { ...e.extraIdentity };
  return out;
}

function digest(d: DigestSpec): Json {
  return { hashAlgorithm: d.hashAlgorithm, normalisationAlgorithm: d.normalisationAlgorithm, value: d.value };
}

/** Upstream's "none" access: exactly `none` or `None`, no other spelling. */
export function isNoneAccess(access: { type?: unknown } | null | undefined): boolean {
  return access?.type === 'none' || access?.type === 'None';
}

function resource(r: Resource): Json {
  const out = element(r);
  const labels = signingLabels(r.labels?.map(v2Label));
  if (labels) out.labels = labels;
  out.type = r.type;
  out.relation = r.relation;
  // A resource without access makes no claim about content: its digest is left out.
  if (r.digest && !isNoneAccess(r.access)) out.digest = digest(r.digest);
  return out;
}

function source(s: Source): Json {
  const out = element(s);
  const labels = signingLabels(s.labels?.map(v2Label));
  if (labels) out.labels = labels;
  out.type = s.type;
  return out;
}

function reference(r: ComponentReference): Json {
  const out = element(r);
  if (r.labels?.length) out.labels = r.labels.map(v2Label);
  out.componentName = r.componentName;
  out.digest = digest(r.digest ?? { hashAlgorithm: '', normalisationAlgorithm: '', value: '' });
  return out;
}

function dropNullMembers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNullMembers);
  if (value !== null && typeof value === 'object') {
    // fromEntries defines its keys: a `__proto__` member (a label value, a provider's JSON) stays
    // data that the digest covers, where an assignment would have dropped it unsigned.
    return Object.fromEntries(
      Object.entries(value as Json)
        .filter(([, v]) => v !== null && v !== undefined)
        .map(([k, v]) => [k, dropNullMembers(v)]),
    );
  }
  return value;
}
