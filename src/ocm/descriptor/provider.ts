import { LadingError } from '../../oci/index.js';
import type { Label, Provider } from './model.js';
import { sortedJson } from './sorted-json.js';

/**
 * The v2 wire form of a provider: the bare name, or, when labels are set (even an empty list),
 * the compact JSON `{"name":…,"labels":[…]}` in Go field order, as upstream marshals its provider
 * struct. Label values keep sorted keys, which is what upstream's YAML-derived values have.
 */
export function formatProvider(provider: Provider, where = 'provider'): string {
  if (!provider.name) throw new LadingError('INVALID_DESCRIPTOR', `${where}: provider name is empty`);
  if (provider.labels === undefined) return provider.name;
  const parts = [`{"name":${sortedJson(provider.name)}`];
  if (provider.labels.length > 0) parts.push(`,"labels":[${provider.labels.map(labelJson).join(',')}]`);
  parts.push('}');
  return parts.join('');
}

function labelJson(label: Label): string {
  let out = `{"name":${sortedJson(label.name)},"value":${sortedJson(label.value ?? null)}`;
  if (label.signing) out += ',"signing":true';
  if (label.version) out += `,"version":${sortedJson(label.version)}`;
  return `${out}}`;
}

/**
 * Reads a provider: a string whose trimmed form starts with `{` is the JSON form, anything else is
 * the name. An object (seen in hand-written YAML) is accepted as the parsed form.
 */
export function parseProvider(value: unknown, where = 'provider'): Provider {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) return providerObject(value, where);
  if (typeof value !== 'string') {
    throw new LadingError('INVALID_DESCRIPTOR', `${where}: must be a string, got ${describe(value)}`);
  }
  if (!value.trim().startsWith('{')) return { name: value };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new LadingError('INVALID_DESCRIPTOR', `${where}: invalid JSON provider: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new LadingError('INVALID_DESCRIPTOR', `${where}: JSON provider must be an object`);
  }
  return providerObject(parsed, where);
}

function providerObject(value: object, where: string): Provider {
  const record = value as Record<string, unknown>;
  const name = record.name ?? '';
  if (typeof name !== 'string') throw new LadingError('INVALID_DESCRIPTOR', `${where}.name: must be a string`);
  const provider: Provider = { name };
  if (record.labels !== undefined && record.labels !== null) {
    if (!Array.isArray(record.labels)) throw new LadingError('INVALID_DESCRIPTOR', `${where}.labels: must be an array`);
    provider.labels = record.labels.map((l, i) => {
      const label = l as Record<string, unknown>;
      if (label === null || typeof label !== 'object' || typeof label.name !== 'string') {
        throw new LadingError('INVALID_DESCRIPTOR', `${where}.labels[${i}]: must be an object with a string name`);
      }
      const out: Label = { name: label.name, value: label.value ?? null };
      if (label.signing === true) out.signing = true;
      if (typeof label.version === 'string' && label.version) out.version = label.version;
      return out;
    });
  }
  return provider;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
