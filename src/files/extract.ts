import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, rm, symlink, unlink, utimes } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { PassThrough, type Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { createDigester, LadingError } from '../oci/index.js';

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** No component between `root` and `target` may be a symlink: a link placed by an earlier entry could redirect writes. */
async function assertNoLinkBetween(root: string, target: string, where: string): Promise<void> {
  let current = root;
  const parts = relative(root, dirname(target)).split(sep).filter(Boolean);
  for (const part of parts) {
    current = resolve(current, part);
    const info = await lstat(current).catch(() => undefined);
    if (!info) return;
    if (info.isSymbolicLink())
      throw new LadingError('PATH_TRAVERSAL', `${where}: passes through a symlink (${current})`);
  }
}

export interface ExtractOptions {
  /** The folder the archive's entries must stay inside (ORAS: `<output>/<title>`). */
  root: string;
  /** Where entry names are resolved from (ORAS: the output folder; entries are prefixed with the title). */
  base: string;
  /** `sha256:` of the uncompressed tar, checked as it streams. */
  expectedTarDigest?: string;
  /** Bound on the bytes written, against decompression bombs. */
  maxBytes?: number;
  signal?: AbortSignal;
}

class Hasher extends Transform {
  readonly hash = createDigester('sha256');
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback) {
    this.hash.update(chunk);
    done(null, chunk);
  }
}

/**
 * Unpacks a tar+gzip stream. Every entry must land inside `root`; links may only point inside it;
 * devices and other special files are skipped. Modes keep the permission bits only.
 */
export async function extractTarGz(source: Readable, options: ExtractOptions): Promise<void> {
  const root = resolve(options.root);
  const base = resolve(options.base);
  const hasher = new Hasher();
  const extractor = tarExtract();
  let written = 0;
  const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  extractor.on('entry', (header, stream, next) => {
    const done = (error?: unknown) => {
      if (error) extractor.destroy(error as Error);
      else next();
    };
    const where = `tar entry "${header.name}"`;
    // The entry can fail (a truncated archive) before the work below reaches its pipeline; the
    // failure reaches the caller through the extractor, so an early one must not go unhandled.
    stream.on('error', () => {});
    (async () => {
      const target = resolve(base, header.name);
      if (!inside(root, target)) throw new LadingError('PATH_TRAVERSAL', `${where}: would be written outside ${root}`);
      await assertNoLinkBetween(root, target, where);
      const mode = (header.mode ?? 0o644) & 0o777;
      switch (header.type) {
        case 'directory':
          await mkdir(target, { recursive: true, mode: mode | 0o700 });
          stream.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          await mkdir(dirname(target), { recursive: true });
          const existing = await lstat(target).catch(() => undefined);
          if (existing?.isSymbolicLink() || (existing && !existing.isFile()))
            await rm(target, { recursive: true, force: true });
          const counter = new PassThrough();
          counter.on('data', (c: Buffer) => {
            written += c.length;
            if (written > maxBytes)
              counter.destroy(
                new LadingError('SIZE_EXCEEDS_LIMIT', `${where}: archive expands beyond ${maxBytes} bytes`),
              );
          });
          await pipeline(stream, counter, createWriteStream(target, { mode }));
          break;
        }
        case 'symlink': {
          const linkname = header.linkname ?? '';
          const pointsTo = resolve(dirname(target), linkname);
          if (isAbsolute(linkname) || !inside(root, pointsTo)) {
            throw new LadingError('PATH_TRAVERSAL', `${where}: symlink to "${linkname}" leaves ${root}`);
          }
          await mkdir(dirname(target), { recursive: true });
          await rm(target, { force: true, recursive: true });
          await symlink(linkname, target);
          stream.resume();
          break;
        }
        case 'link': {
          const linkTarget = resolve(base, header.linkname ?? '');
          if (!inside(root, linkTarget)) {
            throw new LadingError('PATH_TRAVERSAL', `${where}: hard link to "${header.linkname}" leaves ${root}`);
          }
          await assertNoLinkBetween(root, linkTarget, where);
          await mkdir(dirname(target), { recursive: true });
          await unlink(target).catch(() => {});
          await link(linkTarget, target);
          stream.resume();
          break;
        }
        default:
          stream.resume(); // devices, fifos: never created from an artifact
          return;
      }
      if (header.mtime && header.type !== 'symlink') await utimes(target, header.mtime, header.mtime).catch(() => {});
    })().then(() => done(), done);
  });
  try {
    await pipeline(source, createGunzip(), hasher, extractor, options.signal ? { signal: options.signal } : {});
  } catch (error) {
    throw describeFailure(error, root);
  }
  if (options.expectedTarDigest) {
    const got = `sha256:${hasher.hash.digest('hex')}`;
    if (got !== options.expectedTarDigest) {
      throw new LadingError(
        'DIGEST_MISMATCH',
        `content digest mismatch: unpacked tar is ${got}, expected ${options.expectedTarDigest}`,
      );
    }
  }
}

/** zlib and tar-stream fail with plain errors; the caller gets a stable code naming the archive. */
function describeFailure(error: unknown, root: string): unknown {
  if (error instanceof LadingError || (error as Error).name === 'AbortError') return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const message = (error as Error).message;
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
    return new LadingError('INVALID_ARCHIVE', `${root}: not a valid gzip stream (${message})`, { cause: error });
  }
  if (/^E[A-Z]+$/.test(code)) {
    return new LadingError('IO_ERROR', `${root}: cannot extract: ${message}`, { cause: error });
  }
  return new LadingError('INVALID_ARCHIVE', `${root}: not a valid tar archive (${message})`, { cause: error });
}

export function extractFile(file: string, options: ExtractOptions): Promise<void> {
  return extractTarGz(createReadStream(file, { highWaterMark: 1024 * 1024 }), options);
}
