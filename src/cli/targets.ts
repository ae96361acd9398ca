import { soleReference } from '../copy/index.js';
import { OciLayout } from '../layout/index.js';
import { checkTagOrDigest, LadingError, parseLayoutReference } from '../oci/index.js';
import { safeText } from './output/safe-text.js';
import type { OpenedTarget, TargetFlags } from './registry-target.js';

export type { OpenedTarget, TargetFlags } from './registry-target.js';

/** The registry half (HTTP stack, credentials), once a command names a registry. */
let registryTargets: typeof import('./registry-target.js') | undefined;

/** Picks `--from-x` (or `--to-x`) flags out of a command's options as plain target flags. */
export function prefixedFlags(opts: Record<string, unknown>, prefix: 'from' | 'to'): TargetFlags {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(opts)) {
    if (key.startsWith(prefix) && key.length > prefix.length) {
      const rest = key.slice(prefix.length);
      out[rest.charAt(0).toLowerCase() + rest.slice(1)] = value;
    }
  }
  return out as TargetFlags;
}

/** Closes the registries the command opened (none when it named no registry). */
export async function closeRegistries(): Promise<void> {
  await registryTargets?.closeRegistries();
}

/**
 * Opens what a target argument names: a registry repository (`host/repo[:tag|@digest]`), or with
 * `--oci-layout` an OCI layout (`path[:tag|@digest]`, a directory or, read-only, a tar file), or
 * with `--oci-layout-path <path>` a reference inside that layout (the whole argument, any name).
 */
export async function openTarget(
  raw: string,
  flags: TargetFlags,
  options: { write?: boolean } = {},
): Promise<OpenedTarget> {
  if (flags.ociLayout && flags.ociLayoutPath) {
    throw new LadingError('INVALID_ARGUMENT', '--oci-layout and --oci-layout-path cannot be used together');
  }
  if (flags.ociLayout || flags.ociLayoutPath) {
    if (flags.header?.length) throw new LadingError('INVALID_ARGUMENT', '--header cannot be used with an OCI layout');
    const { path, reference } = flags.ociLayoutPath
      ? { path: flags.ociLayoutPath, reference: raw }
      : parseLayoutReference(raw);
    const [first = '', ...extraTags] = reference.split(',');
    // A new layout is made by the first write: a command that fails before it has anything to store
    // leaves no empty layout behind, and the first request need not wait for the folder.
    const layout = await OciLayout.open(path, options.write ? { mode: 'create', createOnWrite: true } : {});
    // Inside --oci-layout-path, the argument is a name of the layout's own (oras-go takes any
    // non-empty string: `localhost:5000/hello:v1`, `example.com:v1`), a digest only when it is one.
    if (!flags.ociLayoutPath) {
      if (first) checkTagOrDigest(first, raw);
      for (const t of extraTags) checkTagOrDigest(t, raw);
    } else if (extraTags.includes('')) {
      throw new LadingError('INVALID_REFERENCE', `invalid reference "${raw}": an empty name in the list`);
    }
    return {
      kind: 'oci-layout',
      target: layout,
      reference: first,
      extraTags,
      // As ORAS shows a target: the first of a list of tags; the others are reported as they are tagged.
      // Escaped: a path may hold a newline, which would forge a line of ours (`Digest: …`). Only the
      // list is cut off: a comma in the path is part of it.
      display: `[oci-layout] ${safeText(extraTags.length > 0 ? raw.slice(0, raw.length - extraTags.join(',').length - 1) : raw)}`,
      base: path,
    };
  }
  registryTargets ??= await import('./registry-target.js');
  return registryTargets.openRegistryTarget(raw, flags, options);
}

/** The reference to resolve; without one, what a store that lists its manifests holds alone (a single-image layout tar). */
export async function requireReference(opened: OpenedTarget, raw: string): Promise<string> {
  const reference = opened.reference || (await soleReference(opened.target));
  if (reference) return reference;
  throw new LadingError('INVALID_REFERENCE', `"${raw}": no tag or digest given`);
}
