import { LadingError } from '../../oci/index.js';
import type { ComponentDescriptor } from './model.js';

/**
 * The name patterns of the component descriptor v2 schema (`$defs` componentName,
 * identityAttributeKey, relaxedSemver); names.test.ts checks that they are still the schema's.
 */
export const NamePattern = {
  component: /^[a-z][-a-z0-9]*([.][a-z][-a-z0-9]*)*[.][a-z]{2,}(\/[a-z][-a-z0-9_]*([.][a-z][-a-z0-9_]*)*)+$/,
  identityKey: /^[a-z0-9]([-_+a-z0-9]*[a-z0-9])?$/,
  version:
    /^[v]?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/,
} as const;

/** The schema also asks identity keys (element names among them) for at least two characters. */
const MinIdentityKeyLength = 2;
/** Longer than any registry accepts as a repository path, so never a real component. */
const MaxComponentNameLength = 255;

export function isElementName(name: string): boolean {
  return name.length >= MinIdentityKeyLength && NamePattern.identityKey.test(name);
}

function refuse(where: string, field: string, value: string, what: string): never {
  // JSON.stringify: a hostile name is shown escaped, never as raw control characters.
  throw new LadingError('INVALID_DESCRIPTOR', `${where}: ${field} ${JSON.stringify(value)} is not ${what}`);
}

function checkVersion(where: string, field: string, value: string): void {
  if (!NamePattern.version.test(value)) refuse(where, field, value, 'a version (such as 1.0.0 or v1.2)');
}

function checkElement(
  where: string,
  field: string,
  e: { name: string; version: string; extraIdentity?: Record<string, string> },
  options: { versionMayBeEmpty?: boolean } = {},
): void {
  if (!isElementName(e.name)) {
    refuse(where, `${field}.name`, e.name, 'a valid name (lower-case letters, digits, - _ +; at least 2 characters)');
  }
  if (!(options.versionMayBeEmpty && e.version === '')) checkVersion(where, `${field}.version`, e.version);
  for (const key of Object.keys(e.extraIdentity ?? {})) {
    if (!isElementName(key)) {
      refuse(where, `${field}.extraIdentity key`, key, 'a valid identity attribute name');
    }
  }
}

/**
 * Enforces the schema's name patterns on everything that identifies a component, its elements and
 * the components it references. Names travel into repository paths, tags, output file names and
 * messages, so a descriptor read from any repository must pass this, whatever else of the schema
 * it is allowed to bend (upstream only warns about schema problems of stored descriptors).
 */
export function assertDescriptorNames(descriptor: ComponentDescriptor, where: string): void {
  const c = descriptor.component;
  if (!NamePattern.component.test(c.name) || c.name.length > MaxComponentNameLength) {
    refuse(where, 'component.name', c.name, 'a component name (a DNS domain and a path, such as acme.org/app)');
  }
  checkVersion(where, 'component.version', c.version);
  (c.resources ?? []).forEach((r, i) => {
    checkElement(where, `component.resources[${i}]`, r);
  });
  // Upstream's constructor stores a source given by access without a version as `version: ""`
  // (it defaults only input sources), so such a descriptor is read, as upstream reads it.
  (c.sources ?? []).forEach((s, i) => {
    checkElement(where, `component.sources[${i}]`, s, { versionMayBeEmpty: true });
  });
  (c.componentReferences ?? []).forEach((r, i) => {
    const field = `component.componentReferences[${i}]`;
    checkElement(where, field, r);
    if (!NamePattern.component.test(r.componentName) || r.componentName.length > MaxComponentNameLength) {
      refuse(where, `${field}.componentName`, r.componentName, 'a component name');
    }
  });
}
