import { LadingError } from '../oci/index.js';

/** distribution-spec's repository name grammar (a path of lowercase components). */
const namePattern = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/**
 * Components a repository name may not have: each repository is an OCI image layout folder and a
 * nested repository is a folder inside its parent's, so a component must never be one of the
 * layout's own files or folders (`a/blobs` would be repository `a`'s blob folder).
 */
const reserved = new Set(['blobs', 'index.json', 'oci-layout', 'index.json.lock', 'ingest']);

/** Longest name accepted (distribution's limit is 255 for the whole name). */
export const MaxNameLength = 255;

/** The folders of a valid repository name, or a NAME_INVALID-style error (INVALID_REFERENCE). */
export function repositoryParts(name: string): string[] {
  if (name.length === 0 || name.length > MaxNameLength || !namePattern.test(name)) {
    throw new LadingError('INVALID_REFERENCE', `invalid repository name "${shorten(name)}"`);
  }
  const parts = name.split('/');
  const bad = parts.find((p) => reserved.has(p));
  if (bad !== undefined) {
    throw new LadingError(
      'INVALID_REFERENCE',
      `invalid repository name "${shorten(name)}": "${bad}" is reserved (a repository is an OCI layout folder)`,
    );
  }
  return parts;
}

export function isValidRepositoryName(name: string): boolean {
  try {
    repositoryParts(name);
    return true;
  } catch {
    return false;
  }
}

function shorten(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}
