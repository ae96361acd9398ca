import { goStringify, LadingError, parseDigest } from '../oci/index.js';
import { valueText } from '../oci/value-text.js';

/** One entry of `artifact-index.json`: a manifest of a repository, tagged or not. */
export interface ArtifactMetadata {
  /** The repository the manifest belongs to. */
  repository: string;
  /** Its tag, when it has one. */
  tag?: string;
  /** Its digest. */
  digest?: string;
  /** Absent in indexes written by OCM v1; such entries are image manifests. */
  mediaType?: string;
}

/**
 * The artifact index as upstream holds it. `artifacts` keeps Go's distinction between a nil
 * slice (written `null`: a new index) and an empty one (written `[]`: every entry removed), so
 * that what we write is byte-identical to what upstream writes for the same history.
 */
export interface ArtifactIndex {
  schemaVersion: 1;
  artifacts: ArtifactMetadata[] | null;
}

export const ArtifactIndexSchemaVersion = 1;

export function emptyArtifactIndex(): ArtifactIndex {
  return { schemaVersion: 1, artifacts: null };
}

const indexFields = ['schemaVersion', 'artifacts'] as const;
const entryFields = ['repository', 'tag', 'digest', 'mediaType'] as const;

function fail(where: string, what: string): never {
  throw new LadingError('INVALID_ARCHIVE', `${where}: ${what}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Go's decoder matches JSON keys to struct fields exactly first, then case-insensitively; with
 * DisallowUnknownFields anything else is an error. We follow it so that every file upstream
 * accepts, we accept, and every file it refuses, we refuse.
 */
function fieldFor<T extends string>(key: string, fields: readonly T[]): T | undefined {
  const exact = fields.find((f) => f === key);
  if (exact) return exact;
  const folded = key.toLowerCase();
  return fields.find((f) => f.toLowerCase() === folded);
}

function stringField(value: unknown, where: string, field: string): string {
  // Go leaves a string field alone for `null`.
  if (value === null) return '';
  if (typeof value !== 'string') fail(where, `${field} must be a string, got ${valueText(value)}`);
  return value;
}

/**
 * Parses `artifact-index.json` as upstream's DecodeIndex does: schemaVersion 1 only, no unknown
 * fields. It also checks what upstream would only trip over later (a malformed digest), so a
 * damaged index is reported where it is, with the file and the field. An empty file is an empty
 * index, as upstream reads it.
 */
export function parseArtifactIndex(bytes: Uint8Array, where: string): ArtifactIndex {
  if (bytes.byteLength === 0) return emptyArtifactIndex();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    fail(where, `not valid JSON (${(error as Error).message})`);
  }
  if (value !== null && !isRecord(value)) fail(where, 'must be a JSON object');
  let schemaVersion: unknown = 0;
  let rawArtifacts: unknown = null;
  for (const [key, field] of Object.entries(value ?? {})) {
    const known = fieldFor(key, indexFields);
    if (!known) fail(where, `unknown field ${valueText(key)}`);
    if (known === 'schemaVersion') schemaVersion = field;
    else rawArtifacts = field;
  }
  if (schemaVersion !== null && (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion))) {
    fail(where, `schemaVersion must be an integer, got ${valueText(schemaVersion)}`);
  }
  if (schemaVersion !== ArtifactIndexSchemaVersion) {
    fail(where, `unsupported schemaVersion ${valueText(schemaVersion)}; only ${ArtifactIndexSchemaVersion} is known`);
  }
  if (rawArtifacts === null) return { schemaVersion: 1, artifacts: null };
  if (!Array.isArray(rawArtifacts)) fail(where, 'artifacts must be an array');
  const artifacts = rawArtifacts.map((raw, i) => parseEntry(raw, `${where}: artifacts[${i}]`));
  return { schemaVersion: 1, artifacts };
}

function parseEntry(raw: unknown, where: string): ArtifactMetadata {
  if (!isRecord(raw)) fail(where, 'must be an object');
  const out: Record<(typeof entryFields)[number], string> = { repository: '', tag: '', digest: '', mediaType: '' };
  for (const [key, value] of Object.entries(raw)) {
    const known = fieldFor(key, entryFields);
    if (!known) fail(where, `unknown field ${valueText(key)}`);
    out[known] = stringField(value, where, known);
  }
  if (out.repository === '') fail(where, 'repository is missing or empty');
  if (out.digest !== '') {
    try {
      parseDigest(out.digest);
    } catch (error) {
      fail(where, `digest: ${(error as Error).message}`);
    }
  }
  return compact(out);
}

/** Go's omitempty: an empty string is the same as no field. */
function compact(entry: ArtifactMetadata): ArtifactMetadata {
  const out: ArtifactMetadata = { repository: entry.repository };
  if (entry.tag) out.tag = entry.tag;
  if (entry.digest) out.digest = entry.digest;
  if (entry.mediaType) out.mediaType = entry.mediaType;
  return out;
}

/** Each entry's encoding, kept while the entry lives: entries are never changed once made. */
const encodedEntries = new WeakMap<ArtifactMetadata, string>();

function encodeEntry(a: ArtifactMetadata): string {
  let text = encodedEntries.get(a);
  if (text === undefined) {
    text = goStringify({
      repository: a.repository,
      tag: a.tag || undefined,
      digest: a.digest || undefined,
      mediaType: a.mediaType || undefined,
    });
    encodedEntries.set(a, text);
  }
  return text;
}

/**
 * The exact bytes upstream's json.Marshal gives: compact, Go field order, no trailing newline.
 * Entries are encoded once each (an index rewritten after every version added to it would
 * otherwise encode every earlier entry again, each time).
 */
export function encodeArtifactIndex(index: ArtifactIndex): Buffer {
  const artifacts = index.artifacts === null ? 'null' : `[${index.artifacts.map(encodeEntry).join(',')}]`;
  return Buffer.from(`{"schemaVersion":${goStringify(index.schemaVersion)},"artifacts":${artifacts}}`);
}

/**
 * Upstream's AddArtifact, pass for pass: in one sweep over the repository's entries, an exact
 * duplicate (same tag and digest) ends the call with no addition; a tag on another digest is
 * cleared there (the entry stays, untagged); an untagged entry of the same digest takes the tag in
 * place. Only when no untagged entry took the tag is a new entry appended.
 */
export function addArtifact(index: ArtifactIndex, added: ArtifactMetadata): ArtifactIndex {
  const a = compact(added);
  // Entries are shared between an index and the next (never changed in place): only those this
  // call changes are new objects, so an update costs a copy of the list, not of every entry.
  const artifacts = (index.artifacts ?? []).slice();
  // The sweep visits the repository's own entries only (see RepositoryPlaces): recording a
  // manifest costs the entries of its repository, not of the whole archive.
  const places = takePlaces(index);
  const own = places.get(a.repository);
  const positions = own?.positions ?? [];
  const tag = a.tag ?? '';
  let filled = false;
  let duplicate = false;
  // This repository's lists, copied once this call changes them: those handed out for the index
  // before stay as they were.
  let changed: RepositoryPlace | undefined;
  const change = (): RepositoryPlace => {
    changed ??= { positions: positions.slice(), entries: own ? own.entries.slice() : [] };
    return changed;
  };
  for (let j = 0; j < positions.length; j++) {
    const i = positions[j] as number;
    const art = artifacts[i] as ArtifactMetadata;
    const artTag = art.tag ?? '';
    // A new index even when nothing changed: a writer that records what another recorded too
    // writes the index, so that the other's rollback sees it relied on it (see CtfStore.rollback).
    if (artTag === tag && art.digest === a.digest) {
      duplicate = true;
      break;
    }
    let now: ArtifactMetadata | undefined;
    if (tag !== '' && artTag === tag && art.digest !== a.digest) now = retagged(art, undefined);
    if (tag !== '' && artTag === '' && art.digest === a.digest) {
      now = retagged(art, tag);
      filled = true;
    }
    if (now) {
      artifacts[i] = now;
      change().entries[j] = now;
    }
  }
  if (!duplicate && !filled) {
    artifacts.push(a);
    const place = change();
    place.positions.push(artifacts.length - 1);
    place.entries.push(a);
  }
  if (changed) places.set(a.repository, changed);
  const next: ArtifactIndex = { schemaVersion: 1, artifacts };
  repositoryPlaces.set(next, places);
  return next;
}

/**
 * `entry` with `tag` (last) or without one; its other fields in its order, as `{ ...entry, tag }`
 * and a rest pattern made them. Field by field: on Node.js 20 each object a spread or a rest
 * pattern makes here gets a hidden class of its own (~200 bytes more for each of an index's
 * thousands of entries, and the property reads that encode them slower).
 */
function retagged(entry: ArtifactMetadata, tag: string | undefined): ArtifactMetadata {
  const out: ArtifactMetadata = { repository: entry.repository };
  if (entry.digest !== undefined) out.digest = entry.digest;
  if (entry.mediaType !== undefined) out.mediaType = entry.mediaType;
  if (tag !== undefined) out.tag = tag;
  return out;
}

/** Upstream's RemoveTag: drops the first entry of the repository with that tag, or returns undefined. */
export function removeTag(index: ArtifactIndex, repository: string, tag: string): ArtifactIndex | undefined {
  const artifacts = index.artifacts ?? [];
  const at = artifacts.findIndex((a) => a.repository === repository && (a.tag ?? '') === tag);
  if (at < 0) return undefined;
  return { schemaVersion: 1, artifacts: artifacts.filter((_, i) => i !== at) };
}

/** Drops every entry of a repository for a digest (tagged or not). */
export function removeDigest(index: ArtifactIndex, repository: string, digest: string): ArtifactIndex {
  const artifacts = index.artifacts ?? [];
  const kept = artifacts.filter((a) => !(a.repository === repository && a.digest === digest));
  if (kept.length === artifacts.length) return index;
  return { schemaVersion: 1, artifacts: kept };
}

/** Where one repository's entries are in an index's list, and the entries, both in file order. */
interface RepositoryPlace {
  positions: number[];
  entries: ArtifactMetadata[];
}

/**
 * Each index's entries by repository (indexes are never changed in place). An update hands its
 * map on to the index it makes, changed where it changed (so each update costs the entries of
 * one repository, not a sweep of every entry of the archive: an `add cv` of thousands of
 * components was quadratic), and the index it came from loses it: that one is rarely asked
 * again, and then maps its entries anew. The lists given out are never changed.
 */
const repositoryPlaces = new WeakMap<ArtifactIndex, Map<string, RepositoryPlace>>();

function placesOf(index: ArtifactIndex): Map<string, RepositoryPlace> {
  let places = repositoryPlaces.get(index);
  if (!places) {
    places = new Map();
    const all = index.artifacts ?? [];
    for (let i = 0; i < all.length; i++) {
      const a = all[i] as ArtifactMetadata;
      const repository = a.repository;
      const place = places.get(repository);
      if (place) {
        place.positions.push(i);
        place.entries.push(a);
      } else {
        places.set(repository, { positions: [i], entries: [a] });
      }
    }
    repositoryPlaces.set(index, places);
  }
  return places;
}

/** {@link placesOf}, taken from `index` for the index made from it (see repositoryPlaces). */
function takePlaces(index: ArtifactIndex): Map<string, RepositoryPlace> {
  const places = placesOf(index);
  repositoryPlaces.delete(index);
  return places;
}

const noEntries: readonly ArtifactMetadata[] = Object.freeze([]);

/** The entries of one repository, in file order; not to be changed (shared by every caller). */
export function repositoryEntries(index: ArtifactIndex, repository: string): readonly ArtifactMetadata[] {
  return placesOf(index).get(repository)?.entries ?? noEntries;
}

/** Repository names in the index, sorted, each once. */
export function repositoryNames(index: ArtifactIndex): string[] {
  return [...new Set((index.artifacts ?? []).map((a) => a.repository))].sort();
}
