import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { fileReadBytes } from '../../content/index.js';
import { LadingError } from '../../oci/index.js';
import { SniffLength, sniffMediaType } from './sniff.js';
import { optionalBoolean, optionalString, requiredString } from './spec-fields.js';
import { measureStream, spoolToTempFile } from './spool.js';
import type { InputBlob, InputContext } from './types.js';
import { resolveInWorkingDirectory } from './working-dir.js';

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
  let mediaType = optionalString(spec, 'mediaType') ?? '';
  if (mediaType === '') mediaType = await sniffFile(path, info.size);
  const read = () => createReadStream(path, { highWaterMark: fileReadBytes(info.size) });
  if (optionalBoolean(spec, 'compress')) {
    return spoolToTempFile(read, { mediaType: `${mediaType}+gzip`, gzip: true, ...tempOptions(context) });
  }
  const { digest, size } = await measureStream(read(), context.signal);
  return { mediaType, digest, size, open: read };
}

async function sniffFile(path: string, size: number): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, SniffLength));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return sniffMediaType(head.subarray(0, bytesRead), { truncated: size > SniffLength });
  } finally {
    await handle.close();
  }
}

export function tempOptions(context: InputContext): { tempDir?: string; signal?: AbortSignal } {
  const out: { tempDir?: string; signal?: AbortSignal } = {};
  if (context.tempDir) out.tempDir = context.tempDir;
  if (context.signal) out.signal = context.signal;
  return out;
}
