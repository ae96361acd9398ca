import { fetchReference, indexEntry, tagAll, tagBytes } from '../../copy/index.js';
import {
  checkTagOrDigest,
  type Descriptor,
  digestBytes,
  encodeIndex,
  type Index,
  isIndexMediaType,
  isManifestMediaType,
  isValidDigest,
  isValidMediaType,
  LadingError,
  MediaType,
  parseNode,
} from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { parseAnnotations } from '../options.js';
import { closeRegistries, type OpenedTarget, openTarget, type TargetFlags } from '../targets.js';
import { jsonOutput, Prompt, shortDigest, writeOutputFile } from './manifest-shared.js';

function checkArtifactType(type: string | undefined): void {
  if (type && !isValidMediaType(type)) {
    throw new LadingError('INVALID_MEDIA_TYPE', `${type}: invalid media type for --artifact-type`);
  }
}

/** Prints status lines unless the index itself goes to stdout. */
function statusPrinter(io: CliIO, output: string | undefined): (...parts: string[]) => void {
  if (output === '-') return () => {};
  return (...parts) => io.stdout.write(`${parts.join(' ')}\n`);
}

function wrapNotFound(error: unknown, what: string): never {
  if (error instanceof LadingError) {
    throw new LadingError(error.code, `could not find the ${what}: ${error.message}`, { cause: error });
  }
  throw error;
}

/** `Fetched  sha256:… tag` for a tag, `Fetched  sha256:…` for a digest, as ORAS prints them. */
function named(ref: string, desc: Descriptor): string {
  return isValidDigest(ref) ? ref : `${desc.digest} ${ref}`;
}

async function fetchManifestEntry(
  opened: OpenedTarget,
  ref: string,
  status: (...parts: string[]) => void,
): Promise<{ entry: Descriptor; desc: Descriptor }> {
  checkTagOrDigest(ref);
  status(Prompt.Fetching, ref);
  const { desc, bytes } = await fetchReference(opened.target, ref).catch((e) => wrapNotFound(e, `manifest ${ref}`));
  if (!isManifestMediaType(desc.mediaType)) throw new LadingError('UNSUPPORTED', `${ref} is not a manifest`);
  status(Prompt.Fetched, named(ref, desc));
  return { entry: await indexEntry(opened.target, desc, bytes, { where: ref }), desc };
}

async function fetchIndex(
  opened: OpenedTarget,
  ref: string,
  status: (...parts: string[]) => void,
): Promise<{ index: Index; desc: Descriptor }> {
  checkTagOrDigest(ref);
  status(Prompt.Fetching, ref);
  const { desc, bytes } = await fetchReference(opened.target, ref).catch((e) => wrapNotFound(e, `index ${ref}`));
  if (!isIndexMediaType(desc.mediaType)) throw new LadingError('UNSUPPORTED', `${ref} is not an index`);
  status(Prompt.Fetched, named(ref, desc));
  const node = parseNode(bytes, desc.mediaType, ref);
  if (node.kind !== 'index') throw new LadingError('INVALID_MANIFEST', `${ref} is not an index`);
  return { index: node.index, desc };
}

/** Writes the index to `-o` (stdout or a file) or pushes it, then prints what ORAS prints. */
async function deliver(
  io: CliIO,
  opened: OpenedTarget,
  bytes: Uint8Array,
  desc: Descriptor,
  options: { output?: string; pretty?: boolean; reference: string; tags: string[]; pushedAs: string },
  status: (...parts: string[]) => void,
): Promise<void> {
  if (options.output === '-') {
    io.stdout.write(jsonOutput(bytes, Boolean(options.pretty), 'index'));
    return;
  }
  if (options.output) {
    await writeOutputFile(options.output, bytes);
  } else {
    await tagBytes(opened.target, desc, bytes, options.reference);
    status(Prompt.Pushed, options.pushedAs);
    // At oras-go's default concurrency for TagBytesN, as ORAS applies index tags.
    await tagAll(opened.target, desc, options.tags, { bytes, onTagged: (t) => status('Tagged', t) });
  }
  io.stdout.write(`Digest: ${desc.digest}\n`);
}

export interface IndexCreateFlags extends TargetFlags {
  artifactType?: string;
  annotation?: string[];
  output?: string;
  pretty?: boolean;
}

export async function indexCreate(io: CliIO, raw: string, sources: string[], flags: IndexCreateFlags): Promise<void> {
  checkArtifactType(flags.artifactType);
  const annotations = parseAnnotations(flags.annotation);
  const status = statusPrinter(io, flags.output);
  const opened = await openTarget(raw, flags, { write: !flags.output });
  try {
    const manifests: Descriptor[] = [];
    for (const source of sources) manifests.push((await fetchManifestEntry(opened, source, status)).entry);
    const bytes = encodeIndex({
      schemaVersion: 2,
      mediaType: MediaType.ImageIndex,
      ...(flags.artifactType ? { artifactType: flags.artifactType } : {}),
      manifests,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    });
    const desc: Descriptor = { mediaType: MediaType.ImageIndex, digest: digestBytes(bytes), size: bytes.byteLength };
    if (isValidDigest(opened.reference) && opened.reference !== desc.digest) {
      throw new LadingError('DIGEST_MISMATCH', `${raw}: the new index has the digest ${desc.digest}`);
    }
    status(Prompt.Packed, shortDigest(desc), MediaType.ImageIndex);
    const first = opened.extraTags.length > 0 ? raw.slice(0, raw.length - opened.extraTags.join(',').length - 1) : raw;
    await deliver(
      io,
      opened,
      bytes,
      desc,
      {
        ...(flags.output !== undefined ? { output: flags.output } : {}),
        ...(flags.pretty ? { pretty: true } : {}),
        reference: opened.reference,
        tags: opened.extraTags,
        pushedAs: `[${opened.kind}] ${first}`,
      },
      status,
    );
  } finally {
    await closeRegistries();
  }
}

export interface IndexUpdateFlags extends TargetFlags {
  add?: string[];
  merge?: string[];
  remove?: string[];
  tag?: string[];
  artifactType?: string;
  output?: string;
  pretty?: boolean;
}

export async function indexUpdate(io: CliIO, raw: string, flags: IndexUpdateFlags): Promise<void> {
  if (flags.tag?.length && flags.output !== undefined) {
    throw new LadingError('INVALID_ARGUMENT', '--tag, --output cannot be used at the same time');
  }
  for (const r of flags.remove ?? []) {
    if (!isValidDigest(r)) throw new LadingError('INVALID_ARGUMENT', `remove: ${r} is not a digest`);
  }
  for (const t of flags.tag ?? []) checkTagOrDigest(t);
  if (!flags.add?.length && !flags.merge?.length && !flags.remove?.length && flags.artifactType === undefined) {
    io.stdout.write('Nothing to update as no change is requested\n');
    return;
  }
  checkArtifactType(flags.artifactType);
  const status = statusPrinter(io, flags.output);
  const opened = await openTarget(raw, flags, { write: !flags.output });
  try {
    const reference = opened.reference;
    if (!reference) throw new LadingError('INVALID_REFERENCE', `"${raw}": no tag or digest given`);
    const { index, desc: old } = await fetchIndex(opened, reference, status);
    const updated: Index = { ...index };
    if (flags.artifactType !== undefined) {
      if (flags.artifactType) updated.artifactType = flags.artifactType;
      else delete updated.artifactType;
    }
    const remove = new Set(flags.remove ?? []);
    let manifests = index.manifests.filter((m) => !remove.has(m.digest));
    for (const digest of remove) {
      if (!index.manifests.some((m) => m.digest === digest)) {
        throw new LadingError('NOT_FOUND', `${digest} does not exist in the index ${reference}`);
      }
      status(Prompt.Removed, digest);
    }
    for (const ref of flags.add ?? []) {
      const { entry, desc } = await fetchManifestEntry(opened, ref, status);
      manifests.push(entry);
      status(Prompt.Added, named(ref, desc));
    }
    for (const ref of flags.merge ?? []) {
      const { index: other, desc } = await fetchIndex(opened, ref, status);
      manifests = [...manifests, ...other.manifests];
      status(Prompt.Merged, named(ref, desc));
    }
    updated.manifests = manifests;
    const bytes = encodeIndex(updated);
    const mediaType = updated.mediaType || old.mediaType;
    const desc: Descriptor = { mediaType, digest: digestBytes(bytes), size: bytes.byteLength };
    status(Prompt.Updated, desc.digest);
    // An index named by digest cannot keep that name: the new one is pushed by its own digest.
    const byDigest = isValidDigest(reference);
    await deliver(
      io,
      opened,
      bytes,
      desc,
      {
        ...(flags.output !== undefined ? { output: flags.output } : {}),
        ...(flags.pretty ? { pretty: true } : {}),
        reference: byDigest ? desc.digest : reference,
        tags: flags.tag ?? [],
        pushedAs: byDigest ? `[${opened.kind}] ${opened.base}` : `[${opened.kind}] ${raw}`,
      },
      status,
    );
  } finally {
    await closeRegistries();
  }
}
