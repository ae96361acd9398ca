import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { verifiedStream } from '../content/index.js';
import { type Descriptor, LadingError } from '../oci/index.js';
import { contentClaim, verifyResourceContent } from './content-digest.js';
import type { Resource } from './descriptor/model.js';

/**
 * The content of a `File/v1alpha1` access: a local file named by a `file://` URI (RFC 8089, this
 * host only). The URI comes from a descriptor, which may be hostile: a file is read only when a
 * digest (the access's `digest` or the resource's digest) says what it must contain, so a
 * descriptor cannot make lading hand out a local file whose content its author did not already
 * know. Only a regular file is read (opened non-blocking, so a FIFO cannot hang the call); it is
 * hashed once (streaming) and checked against both digests, then handed out as a stream that is
 * verified again as it is read (a file that changes in between fails the download).
 */
export async function fileAccessContent(
  resource: Resource,
  where: string,
  signal?: AbortSignal,
): Promise<{ mediaType: string; stream: Readable; path: string }> {
  const access = resource.access as { uri?: unknown; mediaType?: unknown; digest?: unknown };
  const accessWhere = `${where}: resource ${JSON.stringify(resource.name)}: File/v1alpha1 access`;
  const uri = typeof access.uri === 'string' ? access.uri : '';
  const accessDigest = typeof access.digest === 'string' && access.digest !== '' ? access.digest : undefined;
  let path: string;
  try {
    const url = new URL(uri);
    if (url.protocol !== 'file:') throw new Error('not a file: URI');
    if (url.hostname !== '' && url.hostname !== 'localhost') throw new Error(`host "${url.hostname}" is not this one`);
    path = fileURLToPath(url);
  } catch (error) {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `${accessWhere}: uri ${JSON.stringify(uri)} is not a local file:// URI (${(error as Error).message})`,
    );
  }
  if (!accessDigest && !contentClaim(resource.digest, 'blob', accessWhere))
    throw new LadingError(
      'UNSUPPORTED',
      `${accessWhere}: no digest says what ${JSON.stringify(uri)} must contain, and a local file is read only when a digest pins it (set the access's digest or the resource's digest)`,
    );
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    throw new LadingError(
      error.code === 'ENOENT' ? 'NOT_FOUND' : 'IO_ERROR',
      `${accessWhere}: cannot open ${path}: ${error.code ?? error.message}`,
      { cause: error },
    );
  });
  let desc: Descriptor;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new LadingError('UNSUPPORTED', `${accessWhere}: ${path} is not a regular file`);
    const hash = createHash('sha256');
    for await (const chunk of handle.createReadStream({ autoClose: false, ...(signal ? { signal } : {}) }))
      hash.update(chunk as Buffer);
    desc = {
      mediaType:
        typeof access.mediaType === 'string' && access.mediaType ? access.mediaType : 'application/octet-stream',
      digest: `sha256:${hash.digest('hex')}`,
      size: info.size,
    };
  } finally {
    await handle.close();
  }
  if (accessDigest !== undefined && accessDigest !== desc.digest)
    throw new LadingError(
      'DIGEST_MISMATCH',
      // Not the digest the file has: a descriptor that names any local file must not learn its hash.
      `${accessWhere}: the file does not hold the content the access expects (${accessDigest})`,
    );
  const open_ = async () => createReadStream(path, signal ? { signal } : {});
  await verifyResourceContent(
    resource,
    desc,
    'blob',
    { fetch: open_ },
    { where, private: true, ...(signal ? { signal } : {}) },
  );
  return { mediaType: desc.mediaType, stream: verifiedStream(await open_(), desc, { where: path }), path };
}
