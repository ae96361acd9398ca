import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileReadBytes } from '../../content/index.js';
import { LadingError } from '../../oci/index.js';
import { assertPlainTree, type DirTarOptions, dirTar } from './dir-tar.js';
import { tempOptions } from './file.js';
import { optionalBoolean, optionalString, optionalStringList, requiredString } from './spec-fields.js';
import { measureStream, spoolToTempFile } from './spool.js';
import type { InputBlob, InputContext } from './types.js';
import { readInside, realWorkingDirectory, resolveInWorkingDirectory } from './working-dir.js';

/**
 * `Dir/v1` {path, mediaType?, compress?, preserveDir?, followSymlinks?, excludeFiles?,
 * includeFiles?, reproducible?}: the directory as a tar (see `dirTar`), `application/x-tar` unless
 * a media type is given (no `+tar` is added), `+gzip` with `compress`. `followSymlinks` is
 * accepted and ignored, as upstream does. A path that names a regular file gives that file
 * (`application/octet-stream` by default), and then patterns are an error.
 *
 * Memory stays flat for any size: an uncompressed tar is produced twice — once to measure digest
 * and size, once more for each `open()` — which costs a second read of the files but no disk
 * space (the second read is usually served from the page cache); with the context's `digestLater`
 * it is produced once, by the caller that hashes it as it stores it. A compressed tar is gzipped
 * once into a temporary file, since compressing twice would cost more than the disk write.
 */
export async function dirInput(spec: Record<string, unknown>, context: InputContext): Promise<InputBlob> {
  const path = await resolveInWorkingDirectory(requiredString(spec, 'path'), context.workingDirectory);
  const compress = optionalBoolean(spec, 'compress');
  const includeFiles = optionalStringList(spec, 'includeFiles');
  const excludeFiles = optionalStringList(spec, 'excludeFiles');
  optionalBoolean(spec, 'followSymlinks');
  const info = await stat(path);

  if (info.isFile()) {
    if (includeFiles.length > 0 || excludeFiles.length > 0) {
      throw new LadingError('INVALID_ARGUMENT', 'include/exclude patterns are not supported for single files');
    }
    const mediaType = optionalString(spec, 'mediaType') || 'application/octet-stream';
    const fs = readInside(await realWorkingDirectory(context.workingDirectory));
    const read = () => createReadStream(path, { fs, highWaterMark: fileReadBytes(info.size) });
    if (compress) return spoolToTempFile(read, { mediaType: `${mediaType}+gzip`, gzip: true, ...tempOptions(context) });
    const { digest, size } = await measureStream(read(), context.signal);
    return { mediaType, digest, size, open: read };
  }
  if (!info.isDirectory())
    throw new LadingError('UNSUPPORTED', `path ${JSON.stringify(spec.path)} is neither a file nor a directory`);

  const options: DirTarOptions = {
    preserveDir: optionalBoolean(spec, 'preserveDir'),
    reproducible: optionalBoolean(spec, 'reproducible'),
    includeFiles,
    excludeFiles,
  };
  if (context.signal) options.signal = context.signal;
  // Checked now, not when the tar is read: a folder above swapped for a link by then would move the root too.
  options.within = await realWorkingDirectory(context.workingDirectory);
  const mediaType = optionalString(spec, 'mediaType') || 'application/x-tar';
  const produce = () => dirTar(path, options);
  if (compress)
    return spoolToTempFile(produce, { mediaType: `${mediaType}+gzip`, gzip: true, ...tempOptions(context) });
  const plainTree = !options.preserveDir && includeFiles.length === 0 && excludeFiles.length === 0;
  if (plainTree && isOciLayoutMediaType(mediaType)) {
    // An OCI image layout is unpacked by whoever stores it; measuring its tar would read every
    // file once more for a digest nobody uses. Its files are read as they are, not through the
    // tar: a link (index.json to a file elsewhere) or a FIFO is refused first, as the tar refuses it.
    await assertPlainTree(path, context.signal ? { signal: context.signal } : {});
    return { mediaType, open: produce, directory: path };
  }
  if (context.digestLater) {
    // The caller hashes the tar as it stores it: producing it once more only to measure it first
    // would read every file twice.
    return { mediaType, open: produce, ...(plainTree ? { directory: path } : {}) };
  }
  const { digest, size } = await measureStream(produce(), context.signal);
  return { mediaType, digest, size, open: produce, ...(plainTree ? { directory: path } : {}) };
}

function isOciLayoutMediaType(mediaType: string): boolean {
  return (
    mediaType === 'application/vnd.ocm.software.oci.layout.v1+tar' ||
    mediaType === 'application/vnd.ocm.software.oci.layout.v1+tar+gzip'
  );
}
