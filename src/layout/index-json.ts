import type { StoreFiles } from '../archive/index.js';
import {
  Annotation,
  checkDescriptor,
  type Descriptor,
  isManifestMediaType,
  isValidDigest,
  LadingError,
  MediaType,
  plainDescriptor,
} from '../oci/index.js';
import { valueText } from '../oci/value-text.js';

// The two files that make a folder or a tar an OCI image layout (image-spec image-layout.md).

const LayoutVersion = '1.0.0';
/** index.json lists every manifest; generous, but bounded so a hostile file cannot exhaust memory. */
export const MaxIndexBytes = 64 * 1024 * 1024;

/** The `oci-layout` file. */
export function layoutFileBytes(): Buffer {
  return Buffer.from(`{"imageLayoutVersion":"${LayoutVersion}"}`);
}

export interface IndexState {
  /** Tagged entries: ref.name → descriptor (annotations included, ref.name among them). */
  tags: Map<string, Descriptor>;
  /** Every manifest recorded, by digest. */
  manifests: Map<string, Descriptor>;
}

/** Records a tag, or with a digest reference only the manifest, in `state`. */
export function recordTag(state: IndexState, desc: Descriptor, reference: string): void {
  if (isManifestMediaType(desc.mediaType) && !state.manifests.has(desc.digest)) {
    state.manifests.set(desc.digest, plainDescriptor(desc));
  }
  if (isValidDigest(reference)) return;
  const annotations = { ...(desc.annotations ?? {}), [Annotation.RefName]: reference };
  state.tags.set(reference, { ...plainDescriptor(desc), ...optional(desc), annotations });
}

/** What a tag, or the digest of a recorded manifest, names in `state`. */
export function resolveIndexed(state: IndexState, reference: string): Descriptor | undefined {
  const tagged = state.tags.get(reference);
  if (tagged) {
    // The ref.name annotation says where the descriptor sits in index.json, not what it is (as oras-go).
    const { [Annotation.RefName]: _name, ...annotations } = tagged.annotations ?? {};
    const { annotations: _all, ...rest } = tagged;
    return Object.keys(annotations).length > 0 ? { ...rest, annotations } : rest;
  }
  if (!isValidDigest(reference)) return undefined;
  return state.manifests.get(reference);
}

function optional(desc: Descriptor): Partial<Descriptor> {
  const out: Partial<Descriptor> = {};
  if (desc.artifactType) out.artifactType = desc.artifactType;
  if (desc.platform) out.platform = desc.platform;
  if (desc.urls) out.urls = desc.urls;
  return out;
}

/**
 * Reads and checks oci-layout and index.json; every problem names the file and the field. With
 * `indexOnly`, only index.json (a layout this process opened, and so checked, already).
 */
export async function readState(files: StoreFiles, o: { indexOnly?: boolean } = {}): Promise<IndexState> {
  const where = files.location;
  if (!o.indexOnly) await checkLayoutFile(files);
  const indexBytes = await files.readSmall('index.json', MaxIndexBytes);
  if (!indexBytes) throw new LadingError('INVALID_LAYOUT', `${where}: not an OCI layout (no index.json)`);
  let index: unknown;
  try {
    index = JSON.parse(indexBytes.toString('utf8'));
  } catch (error) {
    throw new LadingError('INVALID_LAYOUT', `${where}/index.json: not valid JSON${parseProblem(error)}`);
  }
  if (typeof index !== 'object' || index === null || Array.isArray(index)) {
    throw new LadingError('INVALID_LAYOUT', `${where}/index.json: must be a JSON object`);
  }
  const record = index as Record<string, unknown>;
  if (record.schemaVersion !== 2) {
    throw new LadingError(
      'INVALID_LAYOUT',
      `${where}/index.json: schemaVersion must be 2, got ${valueText(record.schemaVersion)}`,
    );
  }
  const entries = record.manifests ?? [];
  if (!Array.isArray(entries))
    throw new LadingError('INVALID_LAYOUT', `${where}/index.json: manifests must be an array`);
  const state: IndexState = { tags: new Map(), manifests: new Map() };
  entries.forEach((entry, i) => {
    let desc: Descriptor;
    try {
      desc = checkDescriptor(entry, `${where}/index.json: manifests[${i}]`);
    } catch (error) {
      throw new LadingError('INVALID_LAYOUT', (error as Error).message);
    }
    const name = desc.annotations?.[Annotation.RefName];
    if (name) state.tags.set(name, desc);
    if (isManifestMediaType(desc.mediaType) && !state.manifests.has(desc.digest)) {
      state.manifests.set(desc.digest, plainDescriptor(desc));
    }
  });
  return state;
}

/**
 * What JSON.parse found wrong, where it says so without quoting the text (`at position 12`,
 * `end of JSON input`): the file may be one the user cannot read otherwise, so none of it is shown.
 */
function parseProblem(error: unknown): string {
  const message = (error as Error).message;
  return message.includes('"') ? '' : ` (${message})`;
}

/** Checks the layout's oci-layout file: there, JSON, and of the version this reader knows. */
export async function checkLayoutFile(files: StoreFiles): Promise<void> {
  const where = files.location;
  const layoutBytes = await files.readSmall('oci-layout', 64 * 1024);
  if (!layoutBytes) throw new LadingError('INVALID_LAYOUT', `${where}: not an OCI layout (no oci-layout file)`);
  let layout: unknown;
  try {
    layout = JSON.parse(layoutBytes.toString('utf8'));
  } catch {
    throw new LadingError('INVALID_LAYOUT', `${where}/oci-layout: not valid JSON`);
  }
  const version = (layout as { imageLayoutVersion?: unknown } | null)?.imageLayoutVersion;
  if (version !== LayoutVersion) {
    throw new LadingError(
      'INVALID_LAYOUT',
      version === undefined
        ? `${where}/oci-layout: imageLayoutVersion is missing`
        : `${where}/oci-layout: unsupported imageLayoutVersion ${valueText(version)}`,
    );
  }
}

/** Tagged entries first, then manifests no tag names, as oras-go lays index.json out. */
export function encodeIndexJson(state: IndexState): Buffer {
  const tagged = new Set<string>();
  const manifests: Descriptor[] = [];
  for (const desc of state.tags.values()) {
    manifests.push(desc);
    tagged.add(desc.digest);
  }
  for (const desc of state.manifests.values()) if (!tagged.has(desc.digest)) manifests.push(desc);
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: manifests.map(orderedDescriptor) }),
  );
}

function orderedDescriptor(desc: Descriptor): Descriptor {
  return {
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    ...optional(desc),
    ...(desc.annotations ? { annotations: desc.annotations } : {}),
  };
}
