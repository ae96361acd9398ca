import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  type BlobFill,
  BlobFillBrand,
  type BytesFetcher,
  type Content,
  cancellablePush,
  checkExpectedSize,
  contentTooLong,
  type Deleter,
  digestMismatch,
  type FetchedBlob,
  fetchAll,
  type Mounter,
  type Op,
  PieceWriter,
  type ReferencePusher,
  type ReferrerLister,
  type ResumeSource,
  readAll,
  sizeMismatch,
  type TagLister,
  type Target,
  toReadable,
  verifiedStream,
  verifyBytes,
} from '../content/index.js';
import {
  abortError,
  cancellable,
  cancellablePages,
  checkTagOrDigest,
  type Descriptor,
  digestBytes,
  isDigestReference,
  isLadingError,
  isManifestMediaType,
  isValidMediaType,
  LadingError,
  MaxManifestBytes,
  MediaType,
  parseDigest,
  parseJson,
  parseNode,
} from '../oci/index.js';
import { repositoryScope } from './auth/scope.js';
import { blobFillWay, type DirectGet, fetchOnThread, leaveToMainThread, routeRedirects } from './blob-threads.js';
import type { RegistryEndpoint } from './endpoint.js';
import { networkError, RegistryResponseError } from './errors.js';
import { consumeBody } from './h1/exchange.js';
import { contentLength, digestHeader, locationOf, mediaTypeOf } from './headers.js';
import { PageWalk, pages } from './link.js';
import { type HttpReply, type HttpRequest, header } from './message.js';
import {
  encodeReferrersIndex,
  filterByArtifactType,
  type ReferrersState,
  referrerOf,
  referrersTag,
  sameEntry,
} from './referrers.js';
import { discard, readBody, replyError } from './reply.js';
import { isTransientError } from './retry.js';
import { RedirectStatuses } from './transport.js';
import { type PushOptions, uploadBlob } from './upload.js';

/** Every manifest type we read, as oras-go asks for them. */
export const ManifestAccept = [
  MediaType.DockerManifest,
  MediaType.DockerManifestList,
  MediaType.ImageManifest,
  MediaType.ImageIndex,
  MediaType.ArtifactManifest,
].join(', ');

const NameGrammar = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const ZeroDigest = `sha256:${'0'.repeat(64)}`;
/**
 * Answers to a HEAD of a manifest that say the method is not served (a registry or proxy that
 * serves manifests by GET only): asked again with a GET, as containerd's resolver does for a 405.
 */
const HeadRefused: ReadonlySet<number> = new Set([405, 501]);
/** Answers to a referrers API request that mean the registry has no such API (see #noReferrersApi). */
const NoReferrersApiStatuses: ReadonlySet<number> = new Set([400, 404, 405, 406, 501]);
/** Range re-requests after a body breaks off mid-blob. */
const MaxResumes = 5;

/** Options of a {@link Repository}. */
export interface RepositoryOptions {
  /** Ask for push rights from the first request, saving a second token round trip when writing. */
  push?: boolean;
  /** Preset the referrers capability instead of probing the registry for it. */
  referrers?: ReferrersState;
}

/** One repository of a registry as a Target with every optional capability. */
export class Repository implements Target, BytesFetcher, TagLister, Deleter, Mounter, ReferrerLister, ReferencePusher {
  /** The registry the repository belongs to. */
  readonly registry: RegistryEndpoint;
  /** The repository path within the registry (`acme/app`). */
  readonly name: string;
  #push: boolean;
  #referrers: ReferrersState;
  readonly #indexLocks = new Map<string, Promise<void>>();
  /** The manifest this repository last read with a GET (checked against its digest): a tag of it needs no second GET. */
  #lastManifest: { digest: string; bytes: Buffer } | undefined;

  /**
   * A repository of `registry`; usually made by {@link Registry.repository}. INVALID_REFERENCE for a name the
   * distribution spec does not allow.
   */
  constructor(registry: RegistryEndpoint, name: string, options: RepositoryOptions = {}) {
    if (!NameGrammar.test(name)) throw new LadingError('INVALID_REFERENCE', `invalid repository name "${name}"`);
    this.registry = registry;
    this.name = name;
    this.#push = options.push ?? false;
    this.#referrers = options.referrers ?? 'unknown';
  }

  /** What we know about the registry's referrers API for this repository. */
  get referrersState(): ReferrersState {
    return this.#referrers;
  }

  /** Records what is known about the referrers API (a later call skips the probe or the API). */
  set referrersState(state: ReferrersState) {
    this.#referrers = state;
  }

  toString(): string {
    return `${this.registry.host}/${this.name}`;
  }

  #url(path: string): URL {
    return this.registry.url(`${this.name}/${path}`);
  }

  #scopes(action?: 'push' | 'delete'): string[] {
    // Once we have written, keep asking for write rights: one token serves the whole session.
    if (action === 'push') this.#push = true;
    const actions = this.#push ? ['pull', 'push'] : ['pull'];
    if (action === 'delete') actions.push('delete');
    return [repositoryScope(this.name, actions)];
  }

  #send(req: Omit<HttpRequest, 'scopes'> & { scopes?: readonly string[] }, o: Op = {}): Promise<HttpReply> {
    return this.registry.send({ scopes: this.#scopes(), ...req, ...(o.signal ? { signal: o.signal } : {}) });
  }

  // --- resolve / fetch / exists -------------------------------------------------------------

  resolve(reference: string, o: Op = {}): Promise<Descriptor> {
    return cancellable(o.signal, () => this.#resolve(reference, o));
  }

  async #resolve(reference: string, o: Op): Promise<Descriptor> {
    checkTagOrDigest(reference, `${this}:${reference}`);
    const url = this.#url(`manifests/${reference}`);
    const reply = await this.#send({ method: 'HEAD', url, headers: { accept: ManifestAccept } }, o);
    if (HeadRefused.has(reply.status)) {
      await discard(reply);
      return (await this.fetchManifest(reference, o)).descriptor;
    }
    if (reply.status !== 200) throw await replyError(reply, 'HEAD', `manifest ${reference} not found in ${this}`);
    await discard(reply);
    const mediaType = mediaTypeOf(reply);
    const size = contentLength(reply);
    let digest = digestHeader(reply, 'Docker-Content-Digest', `HEAD ${this}:${reference}`);
    if (isDigestReference(reference)) {
      if (digest && digest !== reference) {
        throw new LadingError('DIGEST_MISMATCH', `${this}: registry resolved ${reference} to ${digest}`);
      }
      digest = reference;
    }
    if (mediaType && digest && size !== undefined) return { mediaType, digest, size };
    return (await this.fetchManifest(reference, o)).descriptor;
  }

  /**
   * GETs a manifest by tag or digest with its bytes; the digest is checked against the bytes.
   * `accept` replaces the default Accept list (the manifest media types asked for).
   */
  fetchManifest(
    reference: string,
    o: Op & { accept?: readonly string[] } = {},
  ): Promise<{
    /** The manifest's descriptor (its media type as the registry answered it). */
    descriptor: Descriptor;
    /** The manifest's bytes, checked against the digest. */
    bytes: Buffer;
  }> {
    return cancellable(o.signal, () => this.#fetchManifest(reference, o));
  }

  async #fetchManifest(
    reference: string,
    o: Op & { accept?: readonly string[] },
  ): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    checkTagOrDigest(reference, `${this}:${reference}`);
    const url = this.#url(`manifests/${reference}`);
    const accept = o.accept?.length ? o.accept.join(', ') : ManifestAccept;
    const reply = await this.#send({ method: 'GET', url, headers: { accept } }, o);
    if (reply.status !== 200) throw await replyError(reply, 'GET', `manifest ${reference} not found in ${this}`);
    const mediaType = mediaTypeOf(reply);
    const bytes = await readBody(reply, MaxManifestBytes, `${this}:${reference}`);
    const algorithm = isDigestReference(reference) ? parseDigest(reference).algorithm : 'sha256';
    const digest = digestBytes(bytes, algorithm);
    const claimed = isDigestReference(reference)
      ? reference
      : digestHeader(reply, 'Docker-Content-Digest', `GET ${this}:${reference}`);
    if (claimed && claimed !== digest) {
      throw new LadingError(
        'DIGEST_MISMATCH',
        `${this}:${reference}: manifest content digest ${digest} is not ${claimed}`,
      );
    }
    let type = mediaType;
    if (!type) {
      const value = parseJson(bytes, `${this}:${reference}`);
      const declared =
        typeof value === 'object' && value !== null ? (value as { mediaType?: unknown }).mediaType : undefined;
      if (declared !== undefined && (typeof declared !== 'string' || !isValidMediaType(declared))) {
        throw new LadingError('INVALID_MANIFEST', `${this}:${reference}: the manifest's mediaType is not a media type`);
      }
      type = declared ?? MediaType.ImageManifest;
    }
    this.#lastManifest = { digest, bytes };
    return { descriptor: { mediaType: type, digest, size: bytes.length }, bytes };
  }

  fetch(desc: Descriptor, o: Op = {}): Promise<Readable> {
    return cancellable(o.signal, () => this.#fetch(desc, o));
  }

  async #fetch(desc: Descriptor, o: Op): Promise<Readable> {
    const where = `${this}@${desc.digest}`;
    const onBytes = o.onProgress ? { onBytes: o.onProgress } : {};
    if (desc.data !== undefined) {
      return verifiedStream(Readable.from([Buffer.from(desc.data, 'base64')]), desc, { where, ...onBytes });
    }
    const { reply, resume } = await this.#get(desc, where, o);
    return verifiedStream(reply.body, desc, { where, ...onBytes, ...(resume ? { resume } : {}) });
  }

  /**
   * The blob as a fill of a file: fetched on this thread as it arrives, or by a blob thread, as
   * `blobFillWay` (blob-threads.ts) decides; undefined for a manifest, a blob the descriptor
   * embeds, or once the main thread's share is spent while the threads are off (a stream then).
   *
   * @internal For lading's stores (OciLayout, CTF); not part of the API.
   */
  blobFill(desc: Descriptor, o: Op = {}): BlobFill | undefined {
    if (desc.data !== undefined || isManifestMediaType(desc.mediaType)) return undefined;
    const way = blobFillWay(desc.size);
    if (way === 'here') return this.#fillHere(desc, o);
    if (way === 'stream' || !this.registry.directGet) return undefined;
    return { [BlobFillBrand]: true, fill: (file, op) => this.#fill(desc, file, op) };
  }

  /**
   * A blob into a file on this thread. Its GET goes out now, while the destination makes the
   * file ready (measured: the destination's work between a manifest's answer and its first
   * blob's request was ~9 ms of a 4 MiB pull, as long as the registry takes to answer). The body
   * is consumed as the connection reads it (for a plain connection, straight from the read
   * buffer), each piece hashed and written at its offset by a {@link PieceWriter} before the next
   * read: no stream, no copy, no trip through the thread pool per write. A body that breaks off is
   * picked up with a Range request where it broke.
   */
  #fillHere(desc: Descriptor, o: Op): BlobFill {
    const where = `${this}@${desc.digest}`;
    const got = this.#get(desc, where, o);
    // Rejections reach whoever awaits it: fill, or release, which drops it.
    got.catch(() => {});
    let taken = false;
    return {
      [BlobFillBrand]: true,
      fill: (file, op) => {
        if (taken) return Promise.reject(new LadingError('UNSUPPORTED', `${where}: this fill was used or released`));
        taken = true;
        return this.#consumeInto(desc, got, file, op, where);
      },
      release: () => {
        if (taken) return;
        taken = true;
        got.then(
          ({ reply }) => discard(reply),
          () => {},
        );
      },
    };
  }

  async #consumeInto(
    desc: Descriptor,
    got: Promise<{ reply: HttpReply; resume?: ResumeSource }>,
    file: FileHandle,
    o: Op,
    where: string,
  ): Promise<{ filled: true }> {
    const { reply, resume } = await got;
    const writer = new PieceWriter(file.fd, desc, where);
    const onBytes = (bytes: Buffer) => {
      writer.take(bytes);
      o.onProgress?.(bytes.length);
    };
    let body: Readable = reply.body;
    // The GET carries the signal the fill was made with; this one (the fill's) stops the body too.
    const onAbort = () => body.destroy(abortError(o.signal as AbortSignal));
    o.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        o.signal?.throwIfAborted();
        try {
          await consumeBody(body, onBytes);
          break;
        } catch (error) {
          if (isLadingError(error) || o.signal?.aborted) throw error;
          // A body cut off mid-way is picked up where it broke (resume throws when it may not be).
          body = await (resume as ResumeSource)(writer.taken, error);
        }
      }
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
      if (!body.destroyed && !body.readableEnded) body.destroy();
    }
    writer.finish();
    return { filled: true };
  }

  async #fill(desc: Descriptor, file: FileHandle, o: Op): ReturnType<BlobFill['fill']> {
    const where = `${this}@${desc.digest}`;
    const { algorithm } = parseDigest(desc.digest);
    checkExpectedSize(desc, where);
    const url = this.#url(`blobs/${desc.digest}`);
    const direct = await this.registry.directGet?.(url, this.#scopes(), o.signal);
    let reported = 0;
    let get = direct;
    let redirectOf: string | undefined;
    // At most twice: a registry that redirects a thread's GET is asked where the blob is, once.
    for (let attempt = 0; direct && get && attempt < 2; attempt++) {
      if (redirectOf === undefined && routeRedirects(direct.connection.route)) {
        // The registry answers its blob GETs with a redirect (an object store, a CDN): the main
        // thread asks it where this one is, with its credentials, and a thread fetches it from there.
        const located = await this.#locate(url, desc, where, o);
        if ('reply' in located) {
          const resume = this.#resumer(url, desc, o);
          return { filled: false, content: verifiedStream(located.reply.body, desc, { where, resume }), reported };
        }
        redirectOf = direct.connection.route;
        get = located.get;
        if (!get) {
          // Back to the registry itself, through a proxy, not HTTP: the main thread's way, from now on
          // (asking first would cost every blob a request more).
          leaveToMainThread(direct.connection.route);
          break;
        }
      }
      const result = await fetchOnThread({
        get,
        redirectOf,
        fd: file.fd,
        size: desc.size,
        algorithm,
        digest: desc.digest,
        signal: o.signal,
        onProgress: (n) => {
          reported += n;
          o.onProgress?.(n);
        },
      });
      if (result.kind === 'cancelled') throw abortError(o.signal as AbortSignal);
      if (result.kind === 'written') {
        const got = `${algorithm}:${result.hex}`;
        if (got !== desc.digest) throw digestMismatch(where, got, desc);
        return { filled: true };
      }
      // The file is what failed, not the download: fetching it again would fail the same way.
      if (result.reason.startsWith('write failed: ')) {
        throw new LadingError('IO_ERROR', `${where}: cannot write the blob: ${result.reason.slice(14)}`);
      }
      // A body cut off mid-way is picked up where it broke, as the main thread's own downloads are.
      if (result.written > 0) {
        const resume = this.#resumer(url, desc, o);
        // A registry that does not answer the Range request gets the usual whole GET below.
        const rest = await resume(result.written, threadConnectionLost(result.reason)).catch((error: unknown) => {
          if (o.signal?.aborted) throw error;
          return undefined;
        });
        if (rest) {
          const source = Readable.from(prefixThenRest(file, result.written, rest, where), {
            objectMode: false,
            highWaterMark: 1024 * 1024,
          });
          // Offsets count from the blob's first byte, the read-back prefix included.
          const content = verifiedStream(source, desc, { where, resume });
          return { filled: false, content, reported, keepsPrefix: true };
        }
        break;
      }
      // Only a redirect the registry gave the thread is worth a second try (located as above).
      if (redirectOf !== undefined || !routeRedirects(direct.connection.route)) break;
    }
    return { filled: false, content: await this.fetch(desc, o.signal ? { signal: o.signal } : {}), reported };
  }

  /**
   * GETs a blob without following a redirect: where the registry says the blob is (as a GET a
   * thread may send there, or undefined when it must go the usual way), or the registry's own
   * answer when it sends the blob itself.
   */
  async #locate(
    url: URL,
    desc: Descriptor,
    where: string,
    o: Op,
  ): Promise<{ get: DirectGet | undefined } | { reply: HttpReply }> {
    const reply = await this.#send({ method: 'GET', url, followRedirects: false }, o);
    if (reply.status === 200) {
      this.#checkHeaders(reply, desc, where);
      return { reply };
    }
    let to: URL | undefined;
    try {
      to = RedirectStatuses.has(reply.status) ? locationOf(reply, 'GET') : undefined;
    } catch (error) {
      await discard(reply);
      throw error;
    }
    if (!to) throw await replyError(reply, 'GET', `${desc.digest} not found in ${this}`);
    await discard(reply);
    return { get: await this.registry.directRedirect?.(url, to) };
  }

  /**
   * A manifest's or blob's whole content in one buffer, verified: how manifests and small blobs
   * are read whole (a BytesFetcher), without a verifying stream and a pipeline for
   * a few kilobytes. A blob body that breaks off is picked up with a Range request, as in
   * {@link Repository.fetch}. Only for content small enough to hold.
   */
  fetchBytes(desc: Descriptor, o: Op = {}): Promise<Buffer> {
    return cancellable(o.signal, () => this.#fetchBytes(desc, o));
  }

  async #fetchBytes(desc: Descriptor, o: Op): Promise<Buffer> {
    const where = `${this}@${desc.digest}`;
    if (desc.data !== undefined) {
      const bytes = Buffer.from(desc.data, 'base64');
      verifyBytes(desc, bytes, where);
      o.onProgress?.(bytes.length);
      return bytes;
    }
    const { reply, resume } = await this.#get(desc, where, o);
    const out = Buffer.allocUnsafe(desc.size);
    let filled = 0;
    let body: Readable = reply.body;
    for (;;) {
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (filled + chunk.length > desc.size) {
            body.destroy();
            throw contentTooLong(where, desc);
          }
          chunk.copy(out, filled);
          filled += chunk.length;
          o.onProgress?.(chunk.length);
        }
        break;
      } catch (error) {
        if (isLadingError(error) || (error as Error).name === 'AbortError') throw error;
        if (!resume) throw networkError('GET', reply.url, error);
        body = await resume(filled, error);
      }
    }
    verifyBytes(desc, out.subarray(0, filled), where);
    return out;
  }

  /**
   * GETs a manifest or blob by digest, its answer checked against `desc` (size, digest headers);
   * for a blob, how to pick its body up where it breaks off.
   */
  async #get(desc: Descriptor, where: string, o: Op): Promise<{ reply: HttpReply; resume?: ResumeSource }> {
    parseDigest(desc.digest);
    checkExpectedSize(desc, where);
    const manifest = isManifestMediaType(desc.mediaType);
    if (manifest && desc.size > MaxManifestBytes) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${where}: manifest of ${desc.size} bytes exceeds ${MaxManifestBytes}`,
      );
    }
    const url = this.#url(`${manifest ? 'manifests' : 'blobs'}/${desc.digest}`);
    const headers = manifest ? { accept: `${desc.mediaType}, ${ManifestAccept}` } : {};
    const reply = await this.#send({ method: 'GET', url, headers }, o);
    if (reply.status !== 200) throw await replyError(reply, 'GET', `${desc.digest} not found in ${this}`);
    this.#checkHeaders(reply, desc, where);
    return manifest ? { reply } : { reply, resume: this.#resumer(url, desc, o) };
  }

  #checkHeaders(reply: HttpReply, desc: Descriptor, where: string): void {
    const length = contentLength(reply);
    if (length !== undefined && length !== desc.size) {
      reply.body.destroy();
      throw new LadingError('SIZE_MISMATCH', `${where}: registry announces ${length} bytes, expected ${desc.size}`);
    }
    // Another origin (a CDN a blob was redirected to) may label its answers its own way.
    if (reply.url.origin !== this.registry.baseUrl.origin) return;
    let digest: string | undefined;
    try {
      digest = digestHeader(reply, 'Docker-Content-Digest', `GET ${where}`);
    } catch (error) {
      reply.body.destroy();
      throw error;
    }
    if (digest && digest !== desc.digest) {
      reply.body.destroy();
      throw new LadingError('DIGEST_MISMATCH', `${where}: registry answered with ${digest}`);
    }
  }

  /** Picks a blob body up where it broke off with a Range request, so a reset costs no restart. */
  #resumer(url: URL, desc: Descriptor, o: Op): ResumeSource {
    let resumes = 0;
    return async (offset, error) => {
      if (o.signal?.aborted) throw abortError(o.signal);
      if (!isTransientError(error) || resumes >= MaxResumes || offset >= desc.size) {
        throw networkError('GET', url, error);
      }
      resumes++;
      const reply = await this.#send({ method: 'GET', url, headers: { range: `bytes=${offset}-` } }, o);
      const range = header(reply.headers, 'content-range') ?? '';
      if (reply.status !== 206 || !range.startsWith(`bytes ${offset}-`)) {
        await discard(reply);
        throw networkError('GET', url, error);
      }
      return reply.body;
    };
  }

  /** A blob's descriptor from its digest (HEAD on the blob; `resolve` speaks to the manifest endpoint). */
  resolveBlob(digest: string, o: Op = {}): Promise<Descriptor> {
    return cancellable(o.signal, () => this.#resolveBlob(digest, o));
  }

  async #resolveBlob(digest: string, o: Op): Promise<Descriptor> {
    checkTagOrDigest(digest, `${this}@${digest}`);
    const url = this.#url(`blobs/${digest}`);
    const reply = await this.#send({ method: 'HEAD', url }, o);
    if (reply.status !== 200) throw await replyError(reply, 'HEAD', `blob ${digest} not found in ${this}`);
    await discard(reply);
    const size = contentLength(reply);
    if (size === undefined) {
      throw new LadingError('REGISTRY_ERROR', `HEAD ${this}@${digest}: no usable Content-Length`);
    }
    const answered = digestHeader(reply, 'Docker-Content-Digest', `HEAD ${this}@${digest}`);
    if (answered && answered !== digest) {
      throw new LadingError('DIGEST_MISMATCH', `${this}: registry resolved ${digest} to ${answered}`);
    }
    return { mediaType: MediaType.OctetStream, digest, size };
  }

  /**
   * A blob's descriptor and content from one GET (its Content-Length is the size), verified as it
   * is read; a registry that answers without a length is asked with a HEAD first, as resolveBlob.
   */
  fetchBlob(digest: string, o: Op = {}): Promise<FetchedBlob> {
    return cancellable(o.signal, () => this.#fetchBlob(digest, o));
  }

  async #fetchBlob(digest: string, o: Op): Promise<FetchedBlob> {
    checkTagOrDigest(digest, `${this}@${digest}`);
    parseDigest(digest);
    const where = `${this}@${digest}`;
    const url = this.#url(`blobs/${digest}`);
    const reply = await this.#send({ method: 'GET', url }, o);
    if (reply.status === 404) {
      // Said as the HEAD it replaces says it (a registry's `BLOB_UNKNOWN` body adds nothing).
      await discard(reply);
      throw new RegistryResponseError({
        method: 'GET',
        url: reply.url,
        status: 404,
        text: `blob ${digest} not found in ${this}`,
      });
    }
    if (reply.status !== 200) throw await replyError(reply, 'GET', `blob ${digest} not found in ${this}`);
    const size = contentLength(reply);
    if (size === undefined) {
      reply.body.destroy();
      const descriptor = await this.#resolveBlob(digest, o);
      return { descriptor, content: await this.#fetch(descriptor, o) };
    }
    const descriptor: Descriptor = { mediaType: MediaType.OctetStream, digest, size };
    this.#checkHeaders(reply, descriptor, where);
    const onBytes = o.onProgress ? { onBytes: o.onProgress } : {};
    const content = verifiedStream(reply.body, descriptor, {
      where,
      ...onBytes,
      resume: this.#resumer(url, descriptor, o),
    });
    return { descriptor, content };
  }

  exists(desc: Descriptor, o: Op = {}): Promise<boolean> {
    return cancellable(o.signal, () => this.#exists(desc, o));
  }

  async #exists(desc: Descriptor, o: Op): Promise<boolean> {
    const kind = isManifestMediaType(desc.mediaType) ? 'manifests' : 'blobs';
    const url = this.#url(`${kind}/${desc.digest}`);
    const headers = kind === 'manifests' ? { accept: `${desc.mediaType}, ${ManifestAccept}` } : {};
    const reply = await this.#send({ method: 'HEAD', url, headers }, o);
    await discard(reply);
    if (reply.status === 200) return this.#answersFor(reply, desc);
    if (reply.status === 404) return false;
    if (kind === 'manifests' && HeadRefused.has(reply.status)) {
      const got = await this.#send({ method: 'GET', url, headers }, o);
      if (got.status !== 200 && got.status !== 404) throw await replyError(got, 'GET');
      await discard(got);
      return got.status === 200 && this.#answersFor(got, desc);
    }
    throw await replyError(reply, 'HEAD');
  }

  /**
   * Whether a HEAD's 200 describes `desc`: a registry that announces another size or digest does
   * not hold our content (or lies about it), and a copy that believed it would skip an upload.
   */
  #answersFor(reply: HttpReply, desc: Descriptor): boolean {
    const length = contentLength(reply);
    if (length !== undefined && length !== desc.size) return false;
    if (reply.url.origin !== this.registry.baseUrl.origin) return true;
    const digest = header(reply.headers, 'docker-content-digest')?.trim();
    return digest === undefined || digest === desc.digest;
  }

  // --- push / tag -------------------------------------------------------------------------------

  push(expected: Descriptor, content: Content, o: PushOptions = {}): Promise<void> {
    return cancellablePush(content, o, () => this.#pushContent(expected, content, o));
  }

  async #pushContent(expected: Descriptor, content: Content, o: PushOptions): Promise<void> {
    if (isManifestMediaType(expected.mediaType)) {
      await this.#pushManifest(expected, content, expected.digest, { index: true }, o);
      return;
    }
    parseDigest(expected.digest);
    await uploadBlob(
      {
        send: (req) => this.registry.send(req),
        base: this.registry.baseUrl,
        scopes: this.#scopes('push'),
        chunkSize: this.registry.options.chunkSize,
        retries: this.registry.options.retry?.maxRetries ?? 5,
      },
      this.#url('blobs/uploads/'),
      expected,
      content,
      o,
    );
  }

  pushReference(expected: Descriptor, content: Content, reference: string, o: Op = {}): Promise<void> {
    return cancellablePush(content, o, () => this.#pushReference(expected, content, reference, o));
  }

  async #pushReference(expected: Descriptor, content: Content, reference: string, o: Op): Promise<void> {
    checkTagOrDigest(reference, `${this}:${reference}`);
    if (!isManifestMediaType(expected.mediaType)) {
      throw new LadingError('INVALID_ARGUMENT', `${this}:${reference}: ${expected.mediaType} is not a manifest type`);
    }
    await this.#pushManifest(expected, content, reference, { index: true }, o);
  }

  /** Tags by re-PUTting the manifest bytes: the registry API has no tag operation. */
  tag(desc: Descriptor, reference: string, o: Op = {}): Promise<void> {
    return cancellable(o.signal, () => this.#tag(desc, reference, o));
  }

  async #tag(desc: Descriptor, reference: string, o: Op): Promise<void> {
    checkTagOrDigest(reference, `${this}:${reference}`);
    const last = this.#lastManifest;
    const bytes =
      last && last.digest === desc.digest && last.bytes.length === desc.size
        ? last.bytes
        : await fetchAll(this, desc, { ...(o.signal ? { signal: o.signal } : {}) });
    // A re-tag never rewrites the referrers fallback index (oras PR #1435).
    await this.#pushManifest(desc, bytes, reference, { index: false }, o);
  }

  async #pushManifest(
    desc: Descriptor,
    content: Content,
    reference: string,
    how: { index: boolean },
    o: Op,
  ): Promise<void> {
    const where = `${this}:${reference}`;
    if (desc.size > MaxManifestBytes) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${where}: manifest of ${desc.size} bytes exceeds ${MaxManifestBytes}`,
      );
    }
    const bytes =
      content instanceof Uint8Array
        ? Buffer.from(content.buffer, content.byteOffset, content.byteLength)
        : await readAll(toReadable(content), MaxManifestBytes, where);
    if (bytes.length !== desc.size) {
      throw sizeMismatch(where, bytes.length, desc);
    }
    const digest = digestBytes(bytes, parseDigest(desc.digest).algorithm);
    if (digest !== desc.digest) {
      throw new LadingError('DIGEST_MISMATCH', `${where}: content digest ${digest} does not match ${desc.digest}`);
    }
    const reply = await this.#send(
      {
        method: 'PUT',
        url: this.#url(`manifests/${reference}`),
        headers: { 'content-type': desc.mediaType, 'content-length': String(bytes.length) },
        body: bytes,
        scopes: this.#scopes('push'),
      },
      o,
    );
    if (reply.status !== 201 && reply.status !== 200) throw await replyError(reply, 'PUT');
    await discard(reply);
    const stored = digestHeader(reply, 'Docker-Content-Digest', `PUT ${where}`);
    if (stored && stored !== desc.digest) {
      throw new LadingError('DIGEST_MISMATCH', `${where}: registry stored the manifest as ${stored}`);
    }
    o.onProgress?.(bytes.length);
    const announced = digestHeader(reply, 'OCI-Subject', `PUT ${where}`);
    if (announced === undefined && (!how.index || this.#referrers === 'supported')) return;
    const { subject, entry } = referrerOf(desc, bytes);
    // OCI-Subject says the registry indexed the referrer itself; believed only for the subject
    // this manifest really names, else the tag-schema index is kept as for any other registry.
    if (announced !== undefined && announced === subject?.digest) {
      this.#referrers = 'supported';
      return;
    }
    if (!how.index || this.#referrers === 'supported' || !subject) return;
    this.#referrers = 'unsupported';
    // The tag-schema index is the registry's bookkeeping, not this manifest's bytes: not counted.
    await this.#updateFallbackIndex(subject, { add: entry }, o.signal ? { signal: o.signal } : {});
  }

  // --- referrers ----------------------------------------------------------------------------------

  /**
   * Referrers of `subject`, page by page: from the referrers API where the registry has one,
   * otherwise from the tag-schema index. What we learn about the API is kept for this repository.
   */
  referrers(subject: Descriptor, o: Op & { artifactType?: string } = {}): AsyncGenerator<Descriptor[]> {
    return cancellablePages(o.signal, () => this.#referrerPages(subject, o));
  }

  async *#referrerPages(subject: Descriptor, o: Op & { artifactType?: string }): AsyncGenerator<Descriptor[]> {
    parseDigest(subject.digest);
    // Known (or set, --distribution-spec v1.1-referrers-api) to have the API: no fallback, as oras-go.
    const known = this.#referrers === 'supported';
    if (this.#referrers !== 'unsupported') {
      const url = this.#url(`referrers/${subject.digest}`);
      if (o.artifactType) url.searchParams.set('artifactType', o.artifactType);
      const first = await this.#send({ method: 'GET', url, headers: { accept: MediaType.ImageIndex } }, o);
      if (first.status === 200 && mediaTypeOf(first) === MediaType.ImageIndex) {
        this.#referrers = 'supported';
        const walk = new PageWalk(`referrers of ${this}@${subject.digest}`, url, this.registry.options.pageLimits);
        let reply = first;
        for (;;) {
          let next: URL | undefined;
          try {
            next = walk.next(reply);
          } catch (error) {
            reply.body.destroy();
            throw error;
          }
          // Filtered here even where the registry says it filtered (OCI-Filters-Applied): the
          // header is its word, the artifact types in the list are what we show.
          yield filterByArtifactType(await this.#readReferrersPage(reply, walk), o.artifactType);
          if (!next) return;
          o.signal?.throwIfAborted();
          walk.admit(next);
          reply = await this.#send({ method: 'GET', url: next, headers: { accept: MediaType.ImageIndex } }, o);
          if (reply.status !== 200) throw await replyError(reply, 'GET');
        }
      }
      await this.#noReferrersApi(first, { known });
      if (known) {
        throw new LadingError(
          'UNSUPPORTED',
          `failed to query referrers API: ${this}@${subject.digest}: the registry answered ${first.status}${first.status === 200 ? ` with ${mediaTypeOf(first) || 'no content type'}` : ''}, not an image index`,
        );
      }
    }
    yield filterByArtifactType(await this.#fallbackReferrers(subject, o), o.artifactType);
  }

  /**
   * Decides from a non-index answer whether the API is missing (fallback) or the call failed. Where
   * the API is `known` to be there (forced, or seen), the state stays: a push beside this call must
   * not take the moment for a registry without it and write the tag-schema index.
   *
   * Besides the spec's 404, registries without the API answer the path with 405 or 501 (a route
   * they do not serve), 406 (Artifactory) or 400 (an endpoint they cannot parse); go-containerregistry
   * falls back on 400 and 406 too, oras-go only on 404. A 400 is also how Quay, which has the API,
   * says the subject is unknown: the fallback then finds nothing, as the API would, and the state is
   * left as it was so that one such answer does not turn the API off for the repository.
   */
  async #noReferrersApi(reply: HttpReply, o: { known: boolean }): Promise<void> {
    if (reply.status === 200) {
      // An index under another content type is not the referrers API (oras-go compares exactly).
      await discard(reply);
      if (!o.known) this.#referrers = 'unsupported';
      return;
    }
    const error = await replyError(reply, 'GET');
    if (!NoReferrersApiStatuses.has(reply.status) || error.has('NAME_UNKNOWN')) throw error;
    if (!o.known && reply.status !== 400) this.#referrers = 'unsupported';
  }

  async #readReferrersPage(reply: HttpReply, walk: PageWalk): Promise<Descriptor[]> {
    const bytes = await walk.read(reply);
    const node = parseNode(bytes, MediaType.ImageIndex, `${this} referrers`);
    return node.kind === 'index' ? node.index.manifests : [];
  }

  /** The tag-schema index of a subject; a missing or bogus one (some registries resolve the tag as the digest) is empty. */
  async #fallbackReferrers(subject: Descriptor, o: Op): Promise<Descriptor[]> {
    const tag = referrersTag(subject.digest);
    const url = this.#url(`manifests/${tag}`);
    const reply = await this.#send({ method: 'GET', url, headers: { accept: MediaType.ImageIndex } }, o);
    if (reply.status === 404) {
      await discard(reply);
      return [];
    }
    if (reply.status !== 200) throw await replyError(reply, 'GET');
    const bytes = await readBody(reply, MaxManifestBytes, `${this}:${tag}`);
    if (mediaTypeOf(reply) !== MediaType.ImageIndex || digestBytes(bytes) === subject.digest) return [];
    const node = parseNode(bytes, MediaType.ImageIndex, `${this}:${tag}`);
    return node.kind === 'index' ? node.index.manifests : [];
  }

  /** Adds or removes one referrer in the tag-schema index; updates of one tag run one at a time. */
  async #updateFallbackIndex(subject: Descriptor, change: { add?: Descriptor; remove?: Descriptor }, o: Op) {
    const tag = referrersTag(subject.digest);
    const previous = this.#indexLocks.get(tag) ?? Promise.resolve();
    const run = previous.then(async () => {
      const current = await this.#fallbackReferrers(subject, o);
      let next = current;
      if (change.add) {
        const add = change.add;
        if (current.some((d) => sameEntry(d, add))) return;
        next = [...current, add];
      }
      if (change.remove) {
        const remove = change.remove;
        next = current.filter((d) => !sameEntry(d, remove));
        if (next.length === current.length) return;
      }
      const bytes = encodeReferrersIndex(next);
      const desc: Descriptor = { mediaType: MediaType.ImageIndex, digest: digestBytes(bytes), size: bytes.byteLength };
      await this.#pushManifest(desc, bytes, tag, { index: false }, o);
    });
    const settled = run.catch(() => {});
    this.#indexLocks.set(tag, settled);
    try {
      await run;
    } finally {
      if (this.#indexLocks.get(tag) === settled) this.#indexLocks.delete(tag);
    }
  }

  /** Probes the referrers API once (as oras-go does before deletes). */
  async #probeReferrers(o: Op): Promise<ReferrersState> {
    if (this.#referrers !== 'unknown') return this.#referrers;
    const url = this.#url(`referrers/${ZeroDigest}`);
    const reply = await this.#send({ method: 'GET', url, headers: { accept: MediaType.ImageIndex } }, o);
    if (reply.status === 200 && mediaTypeOf(reply) === MediaType.ImageIndex) {
      await discard(reply);
      this.#referrers = 'supported';
    } else {
      await this.#noReferrersApi(reply, { known: false });
    }
    // A 400 leaves the state unknown, but this once it is answered as no API: keeping the
    // tag-schema index right costs at most a lookup of a tag that is not there.
    return this.#referrers === 'unknown' ? 'unsupported' : this.#referrers;
  }

  // --- tags / delete / mount ----------------------------------------------------------------------

  tags(o: Op & { last?: string } = {}): AsyncGenerator<string[]> {
    const first = this.#url('tags/list');
    const n = this.registry.options.pageSize;
    if (n !== undefined) first.searchParams.set('n', String(n));
    if (o.last) first.searchParams.set('last', o.last);
    return cancellablePages(o.signal, () =>
      pages(this.registry, first, 'tags', this.#scopes(), {
        ...o,
        what: `tags of ${this}`,
        limits: this.registry.options.pageLimits,
      }),
    );
  }

  delete(desc: Descriptor, o: Op = {}): Promise<void> {
    return cancellable(o.signal, () => this.#delete(desc, o));
  }

  async #delete(desc: Descriptor, o: Op): Promise<void> {
    parseDigest(desc.digest);
    const manifest = isManifestMediaType(desc.mediaType);
    let subject: Descriptor | undefined;
    let entry: Descriptor | undefined;
    if (manifest && this.#referrers !== 'supported') {
      // A referrer leaves the tag-schema index when it goes; learn its subject while it exists.
      const bytes = await fetchAll(this, desc, o).catch(() => undefined);
      if (bytes) ({ subject, entry } = referrerOf(desc, bytes));
    }
    const url = this.#url(`${manifest ? 'manifests' : 'blobs'}/${desc.digest}`);
    const reply = await this.#send({ method: 'DELETE', url, scopes: this.#scopes('delete') }, o);
    if (reply.status !== 202 && reply.status !== 200 && reply.status !== 204) {
      throw await replyError(reply, 'DELETE', `${desc.digest} not found in ${this}`);
    }
    await discard(reply);
    if (subject && entry && (await this.#probeReferrers(o)) === 'unsupported') {
      await this.#updateFallbackIndex(subject, { remove: entry }, o);
    }
  }

  mountSourceFor(source: object): string | undefined {
    if (!(source instanceof Repository) || source.name === this.name) return undefined;
    return source.registry.baseUrl.origin === this.registry.baseUrl.origin ? source.name : undefined;
  }

  mount(desc: Descriptor, fromRepository: string, o: Op = {}): Promise<boolean> {
    return cancellable(o.signal, () => this.#mount(desc, fromRepository, o));
  }

  async #mount(desc: Descriptor, fromRepository: string, o: Op): Promise<boolean> {
    parseDigest(desc.digest);
    if (!NameGrammar.test(fromRepository)) {
      throw new LadingError('INVALID_REFERENCE', `invalid repository name "${fromRepository}"`);
    }
    const url = this.#url('blobs/uploads/');
    url.search = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepository)}`;
    const scopes = [...this.#scopes('push'), repositoryScope(fromRepository, ['pull'])];
    const reply = await this.#send({ method: 'POST', url, scopes, headers: { 'content-length': '0' } }, o);
    if (reply.status === 201) {
      await discard(reply);
      const digest = digestHeader(reply, 'Docker-Content-Digest', `POST ${this} (mount)`);
      if (digest && digest !== desc.digest) {
        throw new LadingError('DIGEST_MISMATCH', `${this}: mount of ${desc.digest} produced ${digest}`);
      }
      return true;
    }
    if (reply.status === 202) {
      // The registry opened an upload instead; close it so the copier's own upload starts clean.
      await discard(reply);
      const cancel = (() => {
        try {
          return locationOf(reply, 'POST');
        } catch {
          return undefined; // an upload we cannot name is left to expire
        }
      })();
      if (cancel) {
        if (cancel.origin === this.registry.baseUrl.origin) {
          await this.#send({ method: 'DELETE', url: cancel, scopes }, o)
            .then(discard)
            .catch(() => {});
        }
      }
      return false;
    }
    // No rights on the source, or nothing to mount: the caller uploads instead.
    if (reply.status === 401 || reply.status === 403 || reply.status === 404) {
      await discard(reply);
      return false;
    }
    throw await replyError(reply, 'POST');
  }
}

/** The connection a blob thread lost, as the error the Range resume expects of a broken body. */
function threadConnectionLost(reason: string): Error {
  return Object.assign(new Error(`blob thread: ${reason}`), { code: 'ECONNRESET' });
}

/**
 * The first `length` bytes a blob thread wrote into `file`, read back (so that they are verified
 * with the rest), then the body of a Range request from there.
 */
async function* prefixThenRest(
  file: FileHandle,
  length: number,
  rest: Readable,
  where: string,
): AsyncGenerator<Buffer> {
  let at = 0;
  try {
    while (at < length) {
      const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, length - at));
      // Through the handle: closing it waits for a read under way.
      let n: number;
      try {
        ({ bytesRead: n } = await file.read(buffer, 0, buffer.length, at));
      } catch (error) {
        throw new LadingError('IO_ERROR', `${where}: cannot read back what was written: ${(error as Error).message}`, {
          cause: error,
        });
      }
      if (n === 0) throw new LadingError('IO_ERROR', `${where}: the first ${length} bytes are no longer in the file`);
      at += n;
      yield buffer.subarray(0, n);
    }
    yield* rest as AsyncIterable<Buffer>;
  } finally {
    // Stopped early (an abort, a failed write): the connection is let go, not left waiting.
    if (!rest.destroyed) rest.destroy();
  }
}
