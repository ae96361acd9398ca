import type { ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { fetchAll, hasBlobResolver, hasTags, type Op, type Target } from '../../content/index.js';
import { type ReferrerNode, referrerTree } from '../../copy/index.js';
import {
  type Descriptor,
  isLadingError,
  isManifestMediaType,
  isValidDigest,
  isValidMediaType,
  LadingError,
  MediaType,
  type Platform,
  parseNode,
} from '../../oci/index.js';
import { DownloadCsp, securityHeaders } from './http.js';
import type { UiStore } from './store.js';

/** Nodes of one artifact graph the view reads at most (an index of indexes of ... is cut there). */
export const MaxGraphNodes = 500;
/** Levels of nested indexes (and of referrers) the view walks. */
export const MaxGraphDepth = 4;
/**
 * Bytes of manifests and indexes one artifact graph reads at most, counting each time one is
 * read: an index naming one large manifest hundreds of times is cut there, not read (and its
 * annotations repeated in the answer) hundreds of times.
 */
export const MaxGraphBytes = 16 * 1024 * 1024;

export interface Page<T> {
  items: T[];
  /** Pass as `last` for the next page; absent on the last page. */
  next?: string;
}

/** A page of names from paged sources, after `last`, optionally only those containing `filter`. */
export async function pageOf(
  source: AsyncIterable<string[]>,
  n: number,
  options: { last?: string | undefined; filter?: (name: string) => boolean } = {},
): Promise<Page<string>> {
  const items: string[] = [];
  let more = false;
  for await (const page of source) {
    for (const name of page) {
      if (options.last !== undefined && name <= options.last) continue;
      if (options.filter && !options.filter(name)) continue;
      if (items.length === n) {
        more = true;
        break;
      }
      items.push(name);
    }
    if (more) break;
  }
  return more ? { items, next: items[items.length - 1] as string } : { items };
}

/** Repository names of the store, a page at a time. */
export async function listRepositories(
  store: UiStore,
  n: number,
  options: Op & { last?: string | undefined; filter?: (name: string) => boolean } = {},
): Promise<Page<string>> {
  const { resolver } = store;
  if (!resolver.repositories) {
    throw new LadingError('UNSUPPORTED', `${store.display}: this store cannot list its repositories`);
  }
  const { last, filter, ...o } = options;
  return pageOf(resolver.repositories(o), n, { last, ...(filter ? { filter } : {}) });
}

export interface TagEntry {
  tag: string;
  descriptor?: Descriptor;
  error?: string;
}

/** A page of tags of a repository, each resolved to its descriptor. */
export async function listTags(
  store: UiStore,
  repository: string,
  n: number,
  options: Op & { last?: string | undefined } = {},
): Promise<Page<TagEntry>> {
  const { last, ...o } = options;
  const target = await store.resolver.targetFor(repository, o);
  if (!hasTags(target)) throw new LadingError('UNSUPPORTED', `${repository}: this store cannot list tags`);
  const page = await pageOf(target.tags({ ...o, ...(last ? { last } : {}) }), n, { last });
  const limit = pLimit(8);
  const items = await Promise.all(
    page.items.map((tag) =>
      limit(async (): Promise<TagEntry> => {
        try {
          return { tag, descriptor: await target.resolve(tag, o) };
        } catch (error) {
          if (isLadingError(error) && error.code !== 'ABORTED') return { tag, error: error.message };
          throw error;
        }
      }),
    ),
  );
  return page.next ? { items, next: page.next } : { items };
}

/** One node of an artifact graph as the view draws it. */
export interface GraphNode {
  descriptor: Descriptor;
  /** What the node is to its parent. */
  role: 'root' | 'manifest' | 'config' | 'layer' | 'blob';
  /** For manifests and indexes: their own artifact type, annotations and subject. */
  artifactType?: string;
  annotations?: Record<string, string>;
  subject?: Descriptor;
  platform?: Platform;
  children?: GraphNode[];
  /** Why the node's content could not be shown (not found, too large, invalid). */
  error?: string;
}

export interface ArtifactView {
  repository: string;
  reference: string;
  root: GraphNode;
  /** The manifest or index as stored, for the raw view (absent for a blob). */
  document?: string;
  referrers: ReferrerNode[];
  referrersError?: string;
}

/** The descriptor a reference names: a tag or digest the store resolves, or a digest the caller described. */
export async function describe(
  target: Target,
  reference: string,
  hint: { mediaType?: string | null; size?: string | null },
  o: Op,
): Promise<Descriptor> {
  if (isValidDigest(reference) && hint.mediaType && hint.size) {
    if (!isValidMediaType(hint.mediaType)) {
      throw new LadingError('INVALID_ARGUMENT', `media type "${hint.mediaType}" is not a valid media type`);
    }
    if (!/^[0-9]{1,15}$/.test(hint.size))
      throw new LadingError('INVALID_ARGUMENT', `size "${hint.size}" is not a size`);
    return { mediaType: hint.mediaType, digest: reference, size: Number(hint.size) };
  }
  return target.resolve(reference, o);
}

/**
 * The graph under a manifest or index: an index's manifests (with their platforms), each
 * manifest's config and layers, bounded in depth and node count. Content is read verified.
 */
export async function artifactGraph(
  store: UiStore,
  repository: string,
  reference: string,
  hint: { mediaType?: string | null; size?: string | null },
  o: Op,
): Promise<ArtifactView> {
  const target = await store.resolver.targetFor(repository, o);
  const rootDesc = await describe(target, reference, hint, o);
  let count = 0;
  let bytesRead = 0;
  let document: string | undefined;
  const where = `${repository}@${rootDesc.digest}`;
  const visit = async (desc: Descriptor, role: GraphNode['role'], depth: number): Promise<GraphNode> => {
    count++;
    const node: GraphNode = { descriptor: desc, role };
    if (desc.platform) node.platform = desc.platform;
    if (!isManifestMediaType(desc.mediaType)) return node;
    if (depth > MaxGraphDepth || count > MaxGraphNodes) {
      node.error = `not read: the view shows ${MaxGraphDepth} levels and ${MaxGraphNodes} nodes`;
      return node;
    }
    if (role !== 'root' && bytesRead + desc.size > MaxGraphBytes) {
      node.error = `not read: the view reads at most ${MaxGraphBytes / 1024 / 1024} MiB of manifests for one artifact`;
      return node;
    }
    bytesRead += desc.size;
    let parsed: ReturnType<typeof parseNode>;
    try {
      const bytes = await fetchAll(target, desc, o);
      parsed = parseNode(bytes, desc.mediaType, where);
      if (role === 'root') document = JSON.stringify(JSON.parse(bytes.toString('utf8')), null, 2);
    } catch (error) {
      if (!isLadingError(error) || error.code === 'ABORTED' || role === 'root') throw error;
      node.error = error.message;
      return node;
    }
    const value =
      parsed.kind === 'manifest' ? parsed.manifest : parsed.kind === 'index' ? parsed.index : parsed.artifact;
    if (value.artifactType) node.artifactType = value.artifactType;
    if (value.annotations && Object.keys(value.annotations).length > 0) node.annotations = value.annotations;
    if (value.subject) node.subject = value.subject;
    const children: GraphNode[] = [];
    if (parsed.kind === 'index') {
      for (const m of parsed.index.manifests) children.push(await visit(m, 'manifest', depth + 1));
    } else if (parsed.kind === 'manifest') {
      children.push(await visit(parsed.manifest.config, 'config', depth + 1));
      for (const l of parsed.manifest.layers) children.push(await visit(l, 'layer', depth + 1));
    } else {
      for (const b of parsed.artifact.blobs ?? []) children.push(await visit(b, 'blob', depth + 1));
    }
    node.children = children;
    return node;
  };
  const root = await visit(rootDesc, 'root', 0);
  const view: ArtifactView = { repository, reference, root, referrers: [] };
  if (document !== undefined) view.document = document;
  if (isManifestMediaType(rootDesc.mediaType)) {
    try {
      view.referrers = await referrerTree(target, rootDesc, {
        depth: MaxGraphDepth,
        where,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (error) {
      if (!isLadingError(error) || error.code === 'ABORTED') throw error;
      view.referrersError = error.message;
    }
  }
  return view;
}

/**
 * Holds back the last chunk until the source ended well: a store verifies size and digest at the
 * end of a stream, and the browser must then see a download cut short (fewer bytes than
 * Content-Length), never a complete file with the wrong bytes.
 */
class HoldLast extends Transform {
  #held: Buffer | undefined;
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    const previous = this.#held;
    this.#held = chunk;
    done(null, previous);
  }
  override _flush(done: TransformCallback): void {
    done(null, this.#held);
  }
}

/** A safe file name for Content-Disposition: the title's last segment, printable ASCII, else the digest. */
export function downloadName(name: string | null | undefined, digest: string): string {
  const last = (name ?? '').split(/[\\/]/).pop() ?? '';
  const clean = last.replace(/[^A-Za-z0-9._+-]/g, '_').replace(/^\.+/, '');
  return clean.length > 0 && clean.length <= 200 ? clean : digest.replace(':', '-');
}

/**
 * Streams content to the browser as a download: attacker bytes, so never rendered (attachment,
 * octet-stream, sandbox), and verified by the store while they stream. A HEAD answers the
 * headers only.
 */
export async function sendContent(
  res: ServerResponse,
  target: Target,
  desc: Descriptor,
  options: { name?: string | null; head: boolean; signal: AbortSignal },
): Promise<void> {
  const o: Op = { signal: options.signal };
  // Read first, so that a missing blob is a 404 and not a broken download.
  const stream = options.head ? undefined : await target.fetch(desc, o);
  if (options.head && !(await target.exists(desc, o))) {
    throw new LadingError('NOT_FOUND', `${desc.digest} is not in the store`);
  }
  securityHeaders(res, DownloadCsp);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Content-Length', desc.size);
  res.setHeader('Content-Disposition', `attachment; filename="${downloadName(options.name, desc.digest)}"`);
  res.setHeader('Docker-Content-Digest', desc.digest);
  res.setHeader('Cache-Control', 'no-store');
  if (!stream) {
    res.end();
    return;
  }
  try {
    await pipeline(stream, new HoldLast(), res, o);
  } catch (error) {
    // Headers are gone: the only way to say "failed" is to cut the connection short.
    res.destroy();
    if (!isLadingError(error) || error.code !== 'ABORTED') throw error;
  }
}

/** The descriptor of a blob named by digest (and, where the store cannot describe blobs, its size). */
export async function describeBlob(
  target: Target,
  digest: string,
  hint: { size?: string | null; mediaType?: string | null },
  o: Op,
): Promise<Descriptor> {
  if (!isValidDigest(digest)) throw new LadingError('INVALID_DIGEST', `"${digest}" is not a valid digest`);
  const mediaType = hint.mediaType && isValidMediaType(hint.mediaType) ? hint.mediaType : MediaType.OctetStream;
  if (hint.size) {
    if (!/^[0-9]{1,15}$/.test(hint.size))
      throw new LadingError('INVALID_ARGUMENT', `size "${hint.size}" is not a size`);
    return { mediaType, digest, size: Number(hint.size) };
  }
  if (hasBlobResolver(target)) return { ...(await target.resolveBlob(digest, o)), mediaType };
  throw new LadingError('INVALID_ARGUMENT', `${digest}: this store needs the blob's size (query parameter "size")`);
}
