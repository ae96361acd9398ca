import { LadingError } from '../../oci/index.js';

/**
 * OCI tags cannot contain `+`, so a component version's build metadata is carried as `.build-`:
 * `1.2.3+ci.42` is stored under the tag `1.2.3.build-ci.42`. Like upstream, only the first `+` is
 * replaced (a valid semver has at most one).
 */
export function versionToTag(version: string): string {
  return version.replace('+', '.build-');
}

/**
 * Best-effort reverse of `versionToTag`. Upstream never maps tags back (it lists versions from the
 * `software.ocm.componentversion` annotation); use this only when no annotation is available.
 */
export function tagToVersion(tag: string): string {
  return tag.replace('.build-', '+');
}

/** The longest OCI tag (distribution-spec). */
export const MaxTagLength = 128;

const ociTag = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Whether `versionToTag(version)` is a valid OCI tag. */
export function isTaggableVersion(version: string): boolean {
  return ociTag.test(versionToTag(version));
}

/**
 * `version` cannot be stored: its tag holds `stored`, another version that maps to the same tag
 * (`+` is stored as `.build-`). No conflict policy allows it.
 */
export function tagTakenError(name: string, version: string, stored: string): LadingError {
  return new LadingError(
    'ALREADY_EXISTS',
    `component version ${name}:${version} cannot be stored: its tag ${versionToTag(version)} holds ${name}:${stored}, another version stored under the same tag`,
  );
}
