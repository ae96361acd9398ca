import { parseDigest } from './digest.js';
import { type ErrorHint, LadingError } from './errors.js';

/** A registry reference `registry/repository[:tag|@digest]`. */
export interface Reference {
  /** The registry host, with its port when given (`ghcr.io`, `localhost:5000`). */
  registry: string;
  /** The repository path within the registry. */
  repository: string;
  /** A tag or a digest; empty when the reference names only the repository. */
  reference: string;
}

const repositoryPattern = /^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

export function isDigestReference(reference: string): boolean {
  return reference.includes(':');
}

/** What may follow the `@` of a digest reference: a digest (`sha256:…`, 32 characters or more encoded), to the end. */
const digestAfterAt = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}$/;

/**
 * A reference or address as a message may quote it: what stands before an `@` that does not
 * start a digest (user information someone typed, `user:password@host/…` or `token@host`, a
 * password with any characters in it) is masked, the scheme kept.
 */
export function withoutUserinfo(raw: string): string {
  let cut = -1;
  for (let at = raw.indexOf('@'); at >= 0; at = raw.indexOf('@', at + 1)) {
    if (!digestAfterAt.test(raw.slice(at + 1))) cut = at;
  }
  if (cut < 0) return raw;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(raw.slice(0, cut))?.[0] ?? '';
  return `${scheme}***${raw.slice(cut)}`;
}

/**
 * Whether the text after the first `@` of a reference is meant as its digest: what stands before
 * it holds a `/` (so the `@` is not in the registry, where user information would be) and no
 * `@`, and what follows holds neither `/` nor `@` (a digest never does; a host with a path after
 * user information does). Such a digest is safe to quote: it follows every `@`.
 */
function isDigestAttempt(raw: string): boolean {
  const at = raw.indexOf('@');
  if (at < 0) return false;
  const before = raw.slice(0, at);
  const after = raw.slice(at + 1);
  return before.indexOf('/') > 0 && !/[/@]/.test(after);
}

function invalid(raw: string, why: string, hint?: ErrorHint): never {
  const shown = withoutUserinfo(raw);
  // The reason may quote a part of the reference (its registry): masked too when it held user information.
  throw new LadingError(
    'INVALID_REFERENCE',
    `invalid reference "${shown}": ${shown === raw ? why : 'it holds user information before an "@" (credentials do not belong in a reference)'}`,
    shown === raw && hint ? { hint } : {},
  );
}

function checkRegistry(raw: string, registry: string): void {
  let url: URL;
  try {
    url = new URL(`dummy://${registry}`);
  } catch {
    invalid(raw, `invalid registry "${registry}"`);
  }
  if (url.host.toLowerCase() !== registry.toLowerCase() || url.pathname !== '' || url.username || url.search) {
    invalid(raw, `invalid registry "${registry}"`);
  }
}

/**
 * Parses a registry reference with the ORAS rules: registry up to the first `/`; a digest after
 * `@` wins over any tag before it; otherwise a tag after the first `:` of the path.
 */
export function parseReference(raw: string): Reference {
  // An OCM-style `http://host/…` (or a URL copied from a browser): the scheme is not part of a
  // registry reference; say what to write instead.
  const scheme = /^(https?):\/\/(?=[^/@]+\/)/i.exec(raw);
  if (scheme) {
    const rest = raw.slice(scheme[0].length);
    const http = scheme[1]?.toLowerCase() === 'http';
    invalid(
      raw,
      `a registry reference names no scheme: write ${rest}`,
      http ? { key: 'plainHttp', text: 'plainHttp speaks plain HTTP to it, the default for localhost' } : undefined,
    );
  }
  const slash = raw.indexOf('/');
  if (slash <= 0) invalid(raw, 'missing registry or repository (expected <registry>/<repository>[:tag|@digest])');
  const registry = raw.slice(0, slash);
  let path = raw.slice(slash + 1);
  checkRegistry(raw, registry);
  let reference = '';
  const at = path.indexOf('@');
  if (at >= 0) {
    reference = path.slice(at + 1);
    path = path.slice(0, at);
    try {
      parseDigest(reference);
    } catch (error) {
      // A mistyped digest after `registry/repository[:tag]` is named alone, as ORAS does; anything
      // else before an `@` may be user information and is masked.
      if (isDigestAttempt(raw)) {
        throw new LadingError('INVALID_REFERENCE', `invalid reference: ${(error as Error).message}`, { cause: error });
      }
      invalid(raw, (error as Error).message);
    }
    // A tag before the digest is ignored, as ORAS does.
    const colon = path.indexOf(':');
    if (colon >= 0) path = path.slice(0, colon);
  } else {
    const colon = path.indexOf(':');
    if (colon >= 0) {
      reference = path.slice(colon + 1);
      path = path.slice(0, colon);
      if (!isValidTag(reference)) invalid(raw, `invalid tag "${reference}"`);
    }
  }
  if (!repositoryPattern.test(path)) invalid(raw, `invalid repository "${path}"`);
  return { registry, repository: path, reference };
}

/** A reference as `registry/repository[:tag|@digest]`. */
export function formatReference(ref: Reference): string {
  const base = `${ref.registry}/${ref.repository}`;
  if (!ref.reference) return base;
  return isDigestReference(ref.reference) ? `${base}@${ref.reference}` : `${base}:${ref.reference}`;
}

/** Whitespace, control and invisible format characters: no tag, reference or digest has them. */
const notInAnyReference = /[\s\p{Cc}\p{Cf}]/u;

/**
 * Validates a name a store records for a manifest where no registry's tag grammar applies: an OCI
 * layout's `org.opencontainers.image.ref.name`, a memory store's tag. As oras-go's layout store,
 * it takes any name a reference could be (a tag, a path, a whole `host/repo:tag` reference, a
 * tag a stricter grammar refuses), and refuses only what none could: an empty name, and one with
 * whitespace or control characters.
 */
export function checkRefName(name: string, where?: string): void {
  const at = where ? `${where}: ` : '';
  if (!name) throw new LadingError('INVALID_REFERENCE', `${at}empty tag`);
  if (notInAnyReference.test(name)) {
    throw new LadingError(
      'INVALID_REFERENCE',
      `${at}invalid tag ${JSON.stringify(name)}: whitespace or control characters`,
    );
  }
}

/** Validates a tag or digest used against one repository (a bare `tag` or `sha256:…`). */
export function checkTagOrDigest(reference: string, where = reference): void {
  if (isDigestReference(reference)) {
    try {
      parseDigest(reference);
    } catch (error) {
      throw new LadingError('INVALID_REFERENCE', `invalid reference "${where}": ${(error as Error).message}`);
    }
  } else if (!isValidTag(reference)) {
    throw new LadingError('INVALID_REFERENCE', `invalid reference "${where}": invalid tag "${reference}"`);
  }
}

/** An OCI layout target `path[:tag|@digest]`. */
export interface LayoutReference {
  /** The layout's directory or tar file. */
  path: string;
  /** The tag or digest after the path; empty when none was given. */
  reference: string;
}

/**
 * Splits an OCI layout argument as ORAS does: at the last `@` for a digest, else at the last `:`
 * for a tag. A Windows drive prefix (`C:\`) is not a tag separator.
 */
export function parseLayoutReference(raw: string): LayoutReference {
  if (raw === '') throw new LadingError('INVALID_REFERENCE', 'invalid OCI layout reference "": empty path');
  let path = raw;
  let reference = '';
  const at = raw.lastIndexOf('@');
  if (at >= 0) {
    path = raw.slice(0, at);
    reference = raw.slice(at + 1);
    try {
      parseDigest(reference);
    } catch (error) {
      throw new LadingError('INVALID_REFERENCE', `invalid OCI layout reference "${raw}": ${(error as Error).message}`);
    }
  } else {
    const colon = raw.lastIndexOf(':');
    const isDrive = colon === 1 && /^[A-Za-z]:[\\/]/.test(raw);
    if (colon >= 0 && !isDrive) {
      path = raw.slice(0, colon);
      reference = raw.slice(colon + 1);
    }
  }
  if (path === '') throw new LadingError('INVALID_REFERENCE', `invalid OCI layout reference "${raw}": empty path`);
  return { path, reference };
}
