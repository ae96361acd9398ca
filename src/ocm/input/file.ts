import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileReadBytes } from '../../content/index.js';
import { LadingError } from '../../oci/index.js';
import { SniffLength, sniffMediaType } from './sniff.js';
import { optionalBoolean, optionalString, requiredString } from './spec-fields.js';
import { measureStream, spoolToTempFile } from './spool.js';
import type { InputBlob, InputContext } from './types.js';
import { readInside, realWorkingDirectory, resolveInWorkingDirectory } from './working-dir.js';

/**
 * `File/v1` {path, mediaType?, compress?}: the file's bytes. Without a media type the content is
 * sniffed (upstream: gabriel-vasile/mimetype, e.g. "foobar" → `text/plain; charset=utf-8`);
 * `compress` gzips the bytes and appends `+gzip` to the media type.
 */
export async function fileInput(spec: Record<string, unknown>, context: InputContext): Promise<InputBlob> {
  const path = await resolveInWorkingDirectory(requiredString(spec, 'path'), context.workingDirectory);
  const info = await stat(path);
  if (!info.isFile())
    throw new LadingError('INVALID_ARGUMENT', `path ${JSON.stringify(spec.path)} is not a regular file`);
  // Read more than once (sniffed, measured, stored): each open checks again where it leads.
  const fs = readInside(await realWorkingDirectory(context.workingDirectory));
  let mediaType = optionalString(spec, 'mediaType') ?? '';
  if (mediaType === '')
    mediaType = await sniffFile(createReadStream(path, { fs, start: 0, end: SniffLength - 1 }), info.size);
  const read = () => createReadStream(path, { fs, highWaterMark: fileReadBytes(info.size) });
  if (optionalBoolean(spec, 'compress')) {
    return spoolToTempFile(read, { mediaType: `${mediaType}+gzip`, gzip: true, ...tempOptions(context) });
  }
  const { digest, size } = await measureStream(read(), context.signal);
  return { mediaType, digest, size, open: read };
}

/** The media type of a file of `size` bytes, from `head`: a stream of its first {@link SniffLength} bytes. */
async function sniffFile(head: Readable, size: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of head) chunks.push(chunk as Buffer);
  return sniffMediaType(Buffer.concat(chunks), { truncated: size > SniffLength });
}

export function tempOptions(context: InputContext): { tempDir?: string; signal?: AbortSignal } {
  const out: { tempDir?: string; signal?: AbortSignal } = {};
  if (context.tempDir) out.tempDir = context.tempDir;
  if (context.signal) out.signal = context.signal;
  return out;
}
