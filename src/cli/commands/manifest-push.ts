import { hasDelete } from '../../content/index.js';
import { tagAll, tagBytes } from '../../copy/index.js';
import {
  assertOciSchema,
  type Descriptor,
  digestBytes,
  hasSchema,
  isManifestMediaType,
  isValidDigest,
  LadingError,
  MaxManifestBytes,
  parseJson,
  parseNode,
} from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { parseConcurrency } from '../options.js';
import { closeRegistries, openTarget, type TargetFlags } from '../targets.js';
import {
  checkStdinConflict,
  confirm,
  isNotFound,
  Prompt,
  printDescriptor,
  readInput,
  shownDescriptor,
  statusLine,
} from './manifest-shared.js';

export interface ManifestPushFlags extends TargetFlags {
  mediaType?: string;
  concurrency: string;
  descriptor?: boolean;
  pretty?: boolean;
}

/**
 * Checks a hand-written manifest before anything reaches the target: valid JSON, a manifest media
 * type, the image-spec schema for OCI types, and the structure every graph walk relies on.
 */
export function checkManifest(bytes: Uint8Array, file: string, flagType: string | undefined): string {
  const where = file === '-' ? 'stdin' : file;
  const value = parseJson(bytes, where);
  const declared =
    value && typeof value === 'object' && !Array.isArray(value)
      ? (value as { mediaType?: unknown }).mediaType
      : undefined;
  const mediaType = flagType || (typeof declared === 'string' ? declared : '');
  if (!mediaType) {
    throw new LadingError(
      'INVALID_MANIFEST',
      `media type is not specified via the flag "--media-type" nor in "${file}"; set "mediaType" in the manifest or pass --media-type`,
    );
  }
  if (!isManifestMediaType(mediaType)) {
    throw new LadingError('INVALID_MEDIA_TYPE', `${where}: "${mediaType}" is not a manifest media type`);
  }
  if (hasSchema(mediaType)) assertOciSchema(mediaType, value, where);
  parseNode(bytes, mediaType, where);
  return mediaType;
}

export async function manifestPush(io: CliIO, raw: string, file: string, flags: ManifestPushFlags): Promise<void> {
  const concurrency = parseConcurrency(flags.concurrency);
  if (file === '-') checkStdinConflict(flags);
  const bytes = await readInput(file, MaxManifestBytes);
  const mediaType = checkManifest(bytes, file, flags.mediaType);
  const desc: Descriptor = { mediaType, digest: digestBytes(bytes), size: bytes.length };
  const opened = await openTarget(raw, flags, { write: true });
  try {
    const reference = opened.reference || desc.digest;
    if (isValidDigest(reference) && reference !== desc.digest) {
      throw new LadingError('DIGEST_MISMATCH', `${raw}: the manifest in ${file} has the digest ${desc.digest}`);
    }
    let exists = false;
    try {
      exists = (await opened.target.resolve(reference)).digest === desc.digest;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const verbose = !flags.descriptor;
    if (exists) {
      if (verbose) statusLine(io, Prompt.Exists, desc);
    } else {
      if (verbose) statusLine(io, Prompt.Uploading, desc);
      await tagBytes(opened.target, desc, bytes, reference);
      if (verbose) statusLine(io, Prompt.Uploaded, desc);
    }
    if (!verbose) {
      await tagAll(opened.target, desc, opened.extraTags, { bytes, concurrency });
      printDescriptor(io, desc, Boolean(flags.pretty));
      return;
    }
    // ORAS 1.3's words: `Pushed:`, unlike `oras push`'s `Pushed`.
    io.stdout.write(`Pushed: ${opened.display}\n`);
    await tagAll(opened.target, desc, opened.extraTags, {
      bytes,
      concurrency,
      onTagged: (t) => io.stdout.write(`Tagged ${t}\n`),
    });
    io.stdout.write(`Digest: ${desc.digest}\n`);
  } finally {
    await closeRegistries();
  }
}

export interface ManifestDeleteFlags extends TargetFlags {
  force?: boolean;
  descriptor?: boolean;
  pretty?: boolean;
}

export async function manifestDelete(io: CliIO, raw: string, flags: ManifestDeleteFlags): Promise<void> {
  if (flags.descriptor && !flags.force) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      'must apply --force to confirm the deletion if the descriptor is outputted',
    );
  }
  const opened = await openTarget(raw, flags, { write: true });
  try {
    // No fallback to "the only manifest" here: a delete names what it deletes.
    if (!opened.reference) throw new LadingError('INVALID_REFERENCE', `"${raw}": no tag or digest given`);
    const target = opened.target;
    if (!hasDelete(target)) throw new LadingError('UNSUPPORTED', `${opened.display}: deleting is not supported`);
    let desc: Descriptor;
    try {
      desc = await target.resolve(opened.reference);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      if (flags.force && !flags.descriptor) {
        io.stdout.write(`Missing ${raw}\n`);
        return;
      }
      throw new LadingError('NOT_FOUND', `${raw}: the specified manifest does not exist`, { cause: error });
    }
    if (!isManifestMediaType(desc.mediaType)) {
      throw new LadingError(
        'UNSUPPORTED',
        `${raw}: ${desc.digest} is a blob, not a manifest; use "lading blob delete"`,
      );
    }
    const prompt = `Are you sure you want to delete the manifest "${desc.digest}" and all tags associated with it?`;
    if (!flags.force && !(await confirm(io, prompt))) return;
    try {
      await target.delete(desc);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new LadingError(
        error instanceof LadingError ? error.code : 'REGISTRY_ERROR',
        `failed to delete ${raw}: ${message}`,
        { cause: error },
      );
    }
    if (flags.descriptor) printDescriptor(io, shownDescriptor(opened, opened.reference, desc), Boolean(flags.pretty));
    else io.stdout.write(`Deleted ${opened.display}\n`);
  } finally {
    await closeRegistries();
  }
}
