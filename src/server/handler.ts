import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Descriptor,
  isDigestReference,
  isLadingError,
  isManifestMediaType,
  isValidMediaType,
  isValidTag,
  LadingError,
  MaxManifestBytes,
  MediaType,
  parseDigest,
  parseNode,
} from '../oci/index.js';
import { allowedHostName, fromBrowser, fromOwnOrigin } from './browser.js';
import { ServerBusy } from './busy.js';
import { clientNetwork } from './client-address.js';
import type { Htpasswd } from './htpasswd.js';
import { repositoryParts } from './names.js';
import { sendFileRange } from './send.js';
import type { RegistryStore } from './storage.js';
import { RangeMismatch, type Uploads } from './uploads.js';

/** distribution-spec's error codes. */
export type SpecCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'TOOMANYREQUESTS'
  | 'UNSUPPORTED';

/** An answer with a spec error body; thrown inside a request and turned into the response. */
export class RegistryReply extends LadingError {
  readonly status: number;
  readonly specCode: SpecCode;
  readonly headers: Record<string, string>;
  constructor(status: number, specCode: SpecCode, message: string, headers: Record<string, string> = {}) {
    super(status === 404 ? 'NOT_FOUND' : status === 401 ? 'UNAUTHORIZED' : 'INVALID_ARGUMENT', message);
    this.status = status;
    this.specCode = specCode;
    this.headers = headers;
  }
}

export interface HandlerOptions {
  store: RegistryStore;
  uploads: Uploads;
  htpasswd?: Htpasswd | undefined;
  readOnly?: boolean | undefined;
  maxManifestBytes?: number | undefined;
  /** Mount a blob named without `from` from any repository of this registry (default true). */
  automaticMount?: boolean | undefined;
  /** Aborted when the server shuts down: bodies still streaming are cut off. */
  signal?: AbortSignal | undefined;
  /**
   * Whether a request sent by a web browser (one carrying `Origin` or `Sec-Fetch-*`; registry
   * clients send neither) names the server by a Host it may use (see hostGuard); other browser
   * requests are refused. A page elsewhere could otherwise read and write the registry through DNS
   * rebinding (its origin resolved to the server's address is "same-origin" to the browser).
   * Undefined: no check.
   */
  browserHost?: () => ((host: string | undefined) => boolean) | undefined;
  /**
   * Whether every request, not only a browser's, must pass `browserHost`: for a server on a
   * loopback address, whose clients name it `localhost` or by its address. A page's own requests
   * after DNS rebinding carry no browser marker at all (a same-origin GET over plain HTTP to a
   * name that is not `localhost`), and would otherwise read the registry.
   */
  hostForAll?: () => boolean;
  /** The browser view, answering below `/ui/` behind the same authentication as the API. */
  ui?: ((req: IncomingMessage, res: ServerResponse) => Promise<boolean>) | undefined;
}

const ApiVersion = { 'Docker-Distribution-API-Version': 'registry/2.0' };

/** Serves distribution-spec v1.1.1 from a RegistryStore. */
export function registryHandler(o: HandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const maxManifest = o.maxManifestBytes ?? MaxManifestBytes;
  /** Bytes reserved by manifest bodies being received (see ManifestBodyBudget). */
  let manifestBytesInFlight = 0;
  return async (req, res) => {
    try {
      await route(req, res);
    } catch (error) {
      try {
        sendError(res, req, error);
      } catch {
        res.destroy();
      }
    }
  };

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://registry.invalid');
    } catch {
      // An absolute-form target that is no URL (`GET http://[`): the client's mistake, not ours.
      throw new RegistryReply(400, 'NAME_INVALID', 'the request target is not a URL');
    }
    const path = url.pathname;
    if (o.ui && (path === '/ui' || path.startsWith('/ui/'))) {
      await authorize(req);
      if (await o.ui(req, res)) return;
    }
    if (!path.startsWith('/v2')) throw new RegistryReply(404, 'NAME_UNKNOWN', `${path}: not a registry API path`);
    const writes = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
    const browser = fromBrowser(req);
    if (browser || o.hostForAll?.()) {
      const hostOk = o.browserHost?.();
      if (hostOk && !hostOk(req.headers.host)) {
        // The client sees only `403` on a HEAD (no body): the operator's log says why, and names
        // the host as `allowedHosts` would take it, where it is a name one could allow.
        const host = req.headers.host ?? '';
        internalErrors.set(
          res,
          printable(`refused the host name ${JSON.stringify(host)}: not one of this server's names`, 500),
        );
        const name = allowableHost(host);
        if (name) refusedHosts.set(res, name);
        throw new RegistryReply(
          403,
          'DENIED',
          browser
            ? 'a request from a web page is answered only when it names this registry by its address or an allowed host name'
            : 'this registry listens on a loopback address: a request must name it localhost, by its address, or by an allowed host name',
        );
      }
    }
    if (browser) {
      // Checked before authorization: a browser sends the credentials it remembers on its own.
      // (A page elsewhere can send a form or a no-cors fetch without any preflight.)
      if (writes && !fromOwnOrigin(req)) {
        throw new RegistryReply(403, 'DENIED', 'a web page of another site may not change this registry');
      }
    }
    await authorize(req);
    if (path === '/v2/' || path === '/v2') return reply(res, req, 200, {}, Buffer.from('{}'), 'application/json');
    const rest = path.slice('/v2/'.length);
    if (writes && o.readOnly) throw new RegistryReply(405, 'UNSUPPORTED', 'this registry is read-only');
    if (rest === '_catalog') return only(method, ['GET', 'HEAD'], () => catalog(req, res, url));
    let m: RegExpExecArray | null;
    if ((m = /^(.+)\/manifests\/([^/]+)$/.exec(rest))) {
      const [name, ref] = [checkName(m[1] as string), m[2] as string];
      if (method === 'GET' || method === 'HEAD') return getManifest(req, res, name, ref);
      if (method === 'PUT') return putManifest(req, res, name, ref);
      if (method === 'DELETE') return deleteManifest(res, req, name, ref);
      return notAllowed(method);
    }
    if ((m = /^(.+)\/blobs\/uploads\/?$/.exec(rest))) {
      const name = checkName(m[1] as string);
      return only(method, ['POST'], () => startUpload(req, res, name, url));
    }
    if ((m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(rest))) {
      const [name, id] = [checkName(m[1] as string), m[2] as string];
      if (method === 'GET' || method === 'HEAD') return uploadStatus(req, res, name, id);
      if (method === 'PATCH') return patchUpload(req, res, name, id);
      if (method === 'PUT') return putUpload(req, res, name, id, url);
      if (method === 'DELETE') return cancelUpload(req, res, name, id);
      return notAllowed(method);
    }
    if ((m = /^(.+)\/blobs\/([^/]+)$/.exec(rest))) {
      const [name, digest] = [checkName(m[1] as string), checkDigest(m[2] as string)];
      if (method === 'GET' || method === 'HEAD') return getBlob(req, res, name, digest);
      if (method === 'DELETE') return deleteBlob(req, res, name, digest);
      return notAllowed(method);
    }
    if ((m = /^(.+)\/tags\/list$/.exec(rest))) {
      const name = checkName(m[1] as string);
      return only(method, ['GET', 'HEAD'], () => tags(req, res, name, url));
    }
    if ((m = /^(.+)\/referrers\/([^/]+)$/.exec(rest))) {
      const [name, digest] = [checkName(m[1] as string), checkDigest(m[2] as string)];
      return only(method, ['GET', 'HEAD'], () => referrers(req, res, name, digest, url));
    }
    throw new RegistryReply(404, 'NAME_UNKNOWN', `${path}: not a registry API path`);
  }

  async function authorize(req: IncomingMessage): Promise<void> {
    if (!o.htpasswd) return;
    const basic = basicCredentials(req);
    if (basic && (await o.htpasswd.check(basic.user, basic.password))) return;
    throw new RegistryReply(401, 'UNAUTHORIZED', 'authentication required', {
      'WWW-Authenticate': 'Basic realm="lading", charset="UTF-8"',
    });
  }

  // -------------------------------------------------------------------------------------------
  // Manifests

  async function getManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    const desc = await resolve(name, ref);
    if (!desc) throw new RegistryReply(404, 'MANIFEST_UNKNOWN', `${name}: manifest ${ref} not found`);
    const bytes = await o.store.readSmall(name, desc.digest, Math.max(maxManifest, desc.size));
    if (!bytes) throw new RegistryReply(404, 'MANIFEST_UNKNOWN', `${name}: manifest ${ref} not found`);
    const headers = { 'Docker-Content-Digest': desc.digest, ETag: `"${desc.digest}"` };
    if (notModified(req, desc.digest)) {
      for (const [k, v] of Object.entries({ ...ApiVersion, ...headers })) res.setHeader(k, v);
      res.writeHead(304).end();
      return;
    }
    reply(res, req, 200, headers, bytes, desc.mediaType);
  }

  async function resolve(name: string, ref: string): Promise<Descriptor | undefined> {
    // A tag that cannot exist is not there (404), as the spec's pull workflow expects.
    if (!isDigestReference(ref) && !isValidTag(ref)) return undefined;
    checkReference(ref);
    // An unknown repository holds no manifest: MANIFEST_UNKNOWN, as distribution answers.
    const state = await o.store.state(name);
    if (!state) return undefined;
    return isDigestReference(ref) ? state.manifests.get(ref) : state.tags.get(ref);
  }

  async function putManifest(req: IncomingMessage, res: ServerResponse, name: string, ref: string): Promise<void> {
    checkReference(ref);
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > maxManifest) {
      req.resume();
      throw new RegistryReply(
        413,
        'SIZE_INVALID',
        `manifest of ${declared} bytes is over the ${maxManifest}-byte limit`,
      );
    }
    // Manifest bodies are held whole while they arrive: all of them together stay within a budget,
    // so clients that send one slowly (or never finish) cannot make the server hold gigabytes. The
    // budget counts bytes received, not announced: connections that announce big bodies and send
    // nothing hold nothing, and cannot keep everyone else's manifests out.
    if (Number.isFinite(declared) && declared >= 0 && manifestBytesInFlight + declared > ManifestBodyBudget) {
      // A body of a known, small size is read and dropped: the client then reads the answer.
      if (declared <= DrainBytes) draining.add(req);
      req.resume();
      throw manifestsBusy();
    }
    let held = 0;
    const hold = (n: number): boolean => {
      if (manifestBytesInFlight + n > ManifestBodyBudget) return false;
      manifestBytesInFlight += n;
      held += n;
      return true;
    };
    let bytes: Buffer;
    try {
      bytes = await readBody(req, maxManifest, hold);
    } finally {
      manifestBytesInFlight -= held;
    }
    let mediaType = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    let value: { mediaType?: unknown } = {};
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryReply(400, 'MANIFEST_INVALID', 'the manifest is not valid JSON');
    }
    if (!mediaType && typeof value?.mediaType === 'string') mediaType = value.mediaType;
    if (!isManifestMediaType(mediaType)) {
      throw new RegistryReply(400, 'MANIFEST_INVALID', `unsupported manifest media type "${clip(mediaType)}"`);
    }
    const algorithm = isDigestReference(ref) ? parseDigest(ref).algorithm : 'sha256';
    const digest = `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
    if (isDigestReference(ref) && ref !== digest) {
      throw new RegistryReply(400, 'DIGEST_INVALID', `the manifest's digest is ${digest}, not ${ref}`);
    }
    let node: ReturnType<typeof parseNode>;
    try {
      node = parseNode(bytes, mediaType, `manifest ${digest}`);
    } catch (error) {
      throw new RegistryReply(400, 'MANIFEST_INVALID', (error as Error).message);
    }
    const named: Descriptor[] =
      node.kind === 'manifest'
        ? [node.manifest.config, ...node.manifest.layers.filter((l) => !l.urls?.length)]
        : node.kind === 'index'
          ? node.index.manifests
          : (node.artifact.blobs ?? []);
    const subject =
      node.kind === 'manifest'
        ? node.manifest.subject
        : node.kind === 'index'
          ? node.index.subject
          : node.artifact.subject;
    const artifactType = (value as { artifactType?: unknown }).artifactType;
    // Copied into the index entry of every tag and into referrers lists: a media type, as the
    // image-spec says, not a few megabytes of text.
    if (artifactType !== undefined && (typeof artifactType !== 'string' || !isArtifactType(artifactType))) {
      throw new RegistryReply(400, 'MANIFEST_INVALID', 'artifactType is not a media type (type/subtype)');
    }
    const desc: Descriptor = {
      mediaType,
      digest,
      size: bytes.length,
      ...(typeof artifactType === 'string' ? { artifactType } : {}),
    };
    // A blob pushed to a repository makes it, so a manifest whose first blob is not there is refused
    // before the lock (which makes a missing repository): a failed push leaves no empty one behind.
    const first = named[0];
    if (first && (await o.store.blobSize(name, first.digest)) === undefined) {
      throw new RegistryReply(400, 'MANIFEST_BLOB_UNKNOWN', `${name}: blob ${first.digest} is not in the repository`);
    }
    await o.store.locked(name, async (dir) => {
      // Checked under the lock that a blob delete also takes: no manifest is recorded naming a blob
      // that is missing, or of another size than it says (a later DELETE of the blob itself is the
      // client's to make, as with distribution).
      // Each digest is looked up once: a manifest may name one blob thousands of times.
      const sizes = new Map<string, number | undefined>();
      for (const child of named) {
        let size = sizes.get(child.digest);
        if (!sizes.has(child.digest)) {
          size = await o.store.blobSize(name, child.digest);
          sizes.set(child.digest, size);
        }
        if (size === undefined) {
          throw new RegistryReply(
            400,
            'MANIFEST_BLOB_UNKNOWN',
            `${name}: blob ${child.digest} is not in the repository`,
          );
        }
        if (size !== child.size) {
          throw new RegistryReply(
            400,
            'MANIFEST_INVALID',
            `${name}: blob ${child.digest} is ${size} bytes, the manifest says ${child.size}`,
          );
        }
      }
      await o.store.putManifestBlob(name, digest, bytes);
      const state = await o.store.stateIn(dir, name);
      o.store.recordManifest(state, desc, isDigestReference(ref) ? undefined : ref);
      await o.store.writeState(dir, state, name);
    });
    const headers: Record<string, string> = {
      Location: `/v2/${name}/manifests/${digest}`,
      'Docker-Content-Digest': digest,
    };
    if (subject) headers['OCI-Subject'] = subject.digest;
    reply(res, req, 201, headers);
  }

  async function deleteManifest(res: ServerResponse, req: IncomingMessage, name: string, ref: string): Promise<void> {
    checkReference(ref);
    if (!(await o.store.exists(name))) throw new RegistryReply(404, 'NAME_UNKNOWN', `repository ${name} not found`);
    const found = await o.store.locked(name, async (dir) => {
      const state = await o.store.stateIn(dir, name);
      if (!isDigestReference(ref)) {
        if (!state.tags.delete(ref)) return false;
        await o.store.writeState(dir, state, name);
        return true;
      }
      if (!state.manifests.delete(ref)) return false;
      for (const [tag, d] of state.tags) if (d.digest === ref) state.tags.delete(tag);
      await o.store.writeState(dir, state, name);
      await o.store.removeBlob(dir, ref);
      return true;
    });
    if (!found) throw new RegistryReply(404, 'MANIFEST_UNKNOWN', `${name}: manifest ${ref} not found`);
    reply(res, req, 202, {});
  }

  // -------------------------------------------------------------------------------------------
  // Blobs

  async function getBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    const blob = await o.store.openBlob(name, digest);
    if (!blob) {
      req.resume();
      throw new RegistryReply(404, 'BLOB_UNKNOWN', `${name}: blob ${digest} not found`);
    }
    let start = 0;
    let end = blob.size - 1;
    let status = 200;
    // As docker-registry answers: content addressed, so cacheable for good under its digest.
    const headers: Record<string, string> = {
      'Docker-Content-Digest': digest,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      ETag: `"${digest}"`,
      'Cache-Control': 'max-age=31536000',
      'X-Content-Type-Options': 'nosniff',
    };
    if (notModified(req, digest)) {
      await blob.handle.close();
      for (const [k, v] of Object.entries({ ...ApiVersion, ...headers })) {
        if (k !== 'Accept-Ranges' && k !== 'Content-Type') res.setHeader(k, v);
      }
      res.writeHead(304).end();
      return;
    }
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2]) && blob.size > 0) {
      if (range[1]) {
        start = Number(range[1]);
        if (range[2]) end = Math.min(Number(range[2]), blob.size - 1);
      } else {
        start = Math.max(0, blob.size - Number(range[2]));
      }
      if (start > end || start >= blob.size) {
        await blob.handle.close();
        res.writeHead(416, { ...ApiVersion, 'Content-Range': `bytes */${blob.size}`, 'Content-Length': '0' }).end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${blob.size}`;
    }
    headers['Content-Length'] = String(end - start + 1);
    for (const [k, v] of Object.entries({ ...ApiVersion, ...headers })) res.setHeader(k, v);
    res.writeHead(status);
    if (req.method === 'HEAD' || blob.size === 0) {
      await blob.handle.close();
      res.end();
      return;
    }
    // A client that goes away is not answered: the response is cut off.
    await sendFileRange(blob.handle, res, start, end);
  }

  async function deleteBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    if (!(await o.store.exists(name)))
      throw new RegistryReply(404, 'BLOB_UNKNOWN', `${name}: blob ${digest} not found`);
    const removed = await o.store.locked(name, async (dir) => {
      const state = await o.store.stateIn(dir, name);
      if (state.manifests.has(digest)) {
        throw new RegistryReply(405, 'UNSUPPORTED', `${name}: ${digest} is a manifest; delete it as one`);
      }
      return o.store.removeBlob(dir, digest);
    });
    if (!removed) throw new RegistryReply(404, 'BLOB_UNKNOWN', `${name}: blob ${digest} not found`);
    reply(res, req, 202, {});
  }

  async function startUpload(req: IncomingMessage, res: ServerResponse, name: string, url: URL): Promise<void> {
    const mount = url.searchParams.get('mount');
    const from = url.searchParams.get('from');
    if (mount !== null) {
      const digest = checkDigest(mount);
      const source = from === null || from === '' ? undefined : from;
      if (source !== undefined || o.automaticMount !== false) {
        if (await o.store.mount(name, digest, source)) {
          req.resume();
          return reply(res, req, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
        }
      }
    }
    const digestParam = url.searchParams.get('digest');
    const digest = digestParam === null ? undefined : checkDigest(digestParam);
    const { id } = await o.uploads.start(name, { owner: uploadOwner(req) });
    if (digest !== undefined) {
      try {
        await o.uploads.append(name, id, req, bodyOptions(req));
      } catch (error) {
        // The client never learnt this upload's location: nobody could resume or cancel it.
        await o.uploads.cancel(name, id).catch(() => {});
        throw error;
      }
      return finishUpload(req, res, name, id, digest);
    }
    req.resume();
    reply(res, req, 202, uploadHeaders(name, id, 0));
  }

  async function uploadStatus(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    const size = await o.uploads.status(name, id);
    if (size === undefined) throw unknownUpload(name, id);
    reply(res, req, 204, uploadHeaders(name, id, size));
  }

  async function patchUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    const range = contentRange(req);
    const size = await o.uploads.append(name, id, req, {
      ...bodyOptions(req),
      // The range says how long the chunk is, also when no Content-Length does (a chunked body).
      ...(range === undefined ? {} : { start: range.start, length: range.end - range.start + 1 }),
    });
    if (size === undefined) throw unknownUpload(name, id);
    reply(res, req, 202, uploadHeaders(name, id, size));
  }

  async function putUpload(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    id: string,
    url: URL,
  ): Promise<void> {
    const raw = url.searchParams.get('digest');
    if (raw === null) {
      req.resume();
      throw new RegistryReply(400, 'DIGEST_INVALID', 'the digest query parameter is missing');
    }
    const digest = checkDigest(raw);
    const range = contentRange(req);
    const size = await o.uploads.append(name, id, req, {
      ...bodyOptions(req),
      // The range says how long the chunk is, also when no Content-Length does (a chunked body).
      ...(range === undefined ? {} : { start: range.start, length: range.end - range.start + 1 }),
    });
    if (size === undefined) throw unknownUpload(name, id);
    return finishUpload(req, res, name, id, digest);
  }

  async function finishUpload(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    id: string,
    digest: string,
  ): Promise<void> {
    let done: { size: number } | undefined;
    try {
      done = await o.uploads.finish(name, id, digest);
    } catch (error) {
      if (isLadingError(error, 'DIGEST_MISMATCH')) throw new RegistryReply(400, 'DIGEST_INVALID', error.message);
      throw error;
    }
    if (!done) throw unknownUpload(name, id);
    reply(res, req, 201, { Location: `/v2/${name}/blobs/${digest}`, 'Docker-Content-Digest': digest });
  }

  async function cancelUpload(req: IncomingMessage, res: ServerResponse, name: string, id: string): Promise<void> {
    req.resume();
    if (!(await o.uploads.cancel(name, id))) throw unknownUpload(name, id);
    reply(res, req, 204, {});
  }

  function bodyOptions(req: IncomingMessage): { length?: number; signal?: AbortSignal } {
    const length = req.headers['content-length'];
    return {
      ...(length !== undefined && /^\d+$/.test(length) ? { length: Number(length) } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    };
  }

  /** Who an upload belongs to, for the uploads one client may hold: its user, or else its address. */
  function uploadOwner(req: IncomingMessage): string {
    // authorize() has checked the password already.
    const basic = o.htpasswd ? basicCredentials(req) : undefined;
    if (basic) return `user ${basic.user}`;
    return `address ${clientNetwork(req.socket?.remoteAddress ?? '')}`;
  }

  // -------------------------------------------------------------------------------------------
  // Listings

  async function tags(req: IncomingMessage, res: ServerResponse, name: string, url: URL): Promise<void> {
    const state = await o.store.state(name);
    if (!state) throw new RegistryReply(404, 'NAME_UNKNOWN', `repository ${name} not found`);
    let all = sortedTags.get(state);
    if (!all) {
      all = [...state.tags.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      sortedTags.set(state, all);
    }
    const { page, next } = paginate(all, url);
    const headers: Record<string, string> = {};
    if (next !== undefined)
      headers.Link = `</v2/${name}/tags/list?n=${page.length}&last=${encodeURIComponent(next)}>; rel="next"`;
    reply(res, req, 200, headers, Buffer.from(JSON.stringify({ name, tags: page })), 'application/json');
  }

  async function catalog(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const { page, next } = paginate(await o.store.catalog(), url);
    const headers: Record<string, string> = {};
    if (next !== undefined)
      headers.Link = `</v2/_catalog?n=${page.length}&last=${encodeURIComponent(next)}>; rel="next"`;
    reply(res, req, 200, headers, Buffer.from(JSON.stringify({ repositories: page })), 'application/json');
  }

  async function referrers(
    req: IncomingMessage,
    res: ServerResponse,
    name: string,
    digest: string,
    url: URL,
  ): Promise<void> {
    let list = await o.store.referrers(name, digest);
    const headers: Record<string, string> = {};
    const artifactType = url.searchParams.get('artifactType');
    if (artifactType !== null) {
      list = list.filter((d) => d.artifactType === artifactType);
      headers['OCI-Filters-Applied'] = 'artifactType';
    }
    // Pages of at most ReferrersPageBytes, in digest order, each after the `last` the one before
    // named (the Link header's next page): a subject with many referrers is not one huge answer.
    list.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
    const last = url.searchParams.get('last');
    if (last) list = list.filter((d) => d.digest > last);
    const page: Descriptor[] = [];
    let bytes = 0;
    for (const d of list) {
      const size = JSON.stringify(d).length + 1;
      if (page.length > 0 && bytes + size > ReferrersPageBytes) break;
      page.push(d);
      bytes += size;
    }
    if (page.length < list.length) {
      const next = new URLSearchParams({ last: (page.at(-1) as Descriptor).digest });
      if (artifactType !== null) next.set('artifactType', artifactType);
      headers.Link = `</v2/${name}/referrers/${digest}?${next}>; rel="next"`;
    }
    const body = { schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: page };
    reply(res, req, 200, headers, Buffer.from(JSON.stringify(body)), MediaType.ImageIndex);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * An artifactType to record: a media type, with parameters as some are written in the wild
 * (`application/vnd.dev.sigstore.bundle+json;version=0.2`), printable and at most 255 characters.
 */
function isArtifactType(value: string): boolean {
  if (value.length > 255 || !/^[\x20-\x7e]+$/.test(value)) return false;
  const semicolon = value.indexOf(';');
  return isValidMediaType((semicolon < 0 ? value : value.slice(0, semicolon)).trim());
}

/** The most descriptor JSON one page of a referrers list holds (one descriptor always fits). */
const ReferrersPageBytes = 1024 * 1024;

function only(method: string, allowed: string[], fn: () => Promise<void>): Promise<void> {
  if (!allowed.includes(method)) notAllowed(method);
  return fn();
}

/** Whether the client's `If-None-Match` names this digest's ETag (or `*`): a 304 then. */
function notModified(req: IncomingMessage, digest: string): boolean {
  const header = req.headers['if-none-match'];
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim().replace(/^W\//, '');
    return t === '*' || t === `"${digest}"`;
  });
}

function notAllowed(method: string): never {
  throw new RegistryReply(405, 'UNSUPPORTED', `${method} is not supported here`);
}

function checkName(name: string): string {
  try {
    repositoryParts(name);
  } catch (error) {
    throw new RegistryReply(400, 'NAME_INVALID', (error as Error).message);
  }
  return name;
}

function checkDigest(raw: string): string {
  try {
    parseDigest(raw);
  } catch (error) {
    throw new RegistryReply(400, 'DIGEST_INVALID', (error as Error).message);
  }
  return raw;
}

function checkReference(ref: string): void {
  if (isDigestReference(ref)) checkDigest(ref);
  else if (!isValidTag(ref)) throw new RegistryReply(400, 'MANIFEST_INVALID', `invalid tag "${clip(ref)}"`);
}

function unknownUpload(name: string, id: string): RegistryReply {
  return new RegistryReply(404, 'BLOB_UPLOAD_UNKNOWN', `${name}: upload ${clip(id)} not found`);
}

function uploadHeaders(name: string, id: string, size: number): Record<string, string> {
  return {
    Location: `/v2/${name}/blobs/uploads/${id}`,
    Range: `0-${Math.max(size - 1, 0)}`,
    'Docker-Upload-UUID': id,
  };
}

/**
 * The first byte of a chunk's `Content-Range` (`<start>-<end>`, also with a `bytes` prefix). A
 * range that runs backwards, or whose length is not the chunk's `Content-Length`, is refused (as
 * distribution refuses it): the upload would otherwise hold other bytes than the client says.
 */
function contentRange(req: IncomingMessage): { start: number; end: number } | undefined {
  const header = req.headers['content-range'];
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  const start = Number(m?.[1]);
  const end = Number(m?.[2]);
  const length = req.headers['content-length'];
  const sized = length !== undefined && /^\d+$/.test(length);
  if (!m || end < start || (sized && Number(length) !== end - start + 1)) {
    req.resume();
    const says = m && sized ? ` for a ${length}-byte chunk` : '';
    throw new RegistryReply(416, 'BLOB_UPLOAD_INVALID', `invalid Content-Range "${clip(header)}"${says}`);
  }
  return { start, end };
}

function paginate(all: string[], url: URL): { page: string[]; next: string | undefined } {
  const last = url.searchParams.get('last');
  let list = last ? all.filter((t) => t > last) : all;
  const nRaw = url.searchParams.get('n');
  if (nRaw !== null) {
    if (!/^\d+$/.test(nRaw)) throw new RegistryReply(400, 'UNSUPPORTED', `invalid n "${clip(nRaw)}"`);
    const n = Number(nRaw);
    if (n < list.length) {
      list = list.slice(0, n);
      return { page: list, next: n > 0 ? list[list.length - 1] : undefined };
    }
  }
  return { page: list, next: undefined };
}

/** The user name and password of a request's Basic Authorization, when it has one. */
function basicCredentials(req: IncomingMessage): { user: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  if (!m) return undefined;
  const text = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon > 0 ? { user: text.slice(0, colon), password: text.slice(colon + 1) } : undefined;
}

/** Tag lists in order, by the repository state they were sorted from (states are kept while index.json is unchanged). */
const sortedTags = new WeakMap<object, string[]>();

/** What all manifest bodies being received may hold at once, in bytes. */
const ManifestBodyBudget = 64 * 1024 * 1024;
/** How long a manifest body may take to arrive, in ms. */
const ManifestBodyMs = 60_000;
/** What is read and dropped of a body past the limit before its connection is cut. */
const DrainBytes = 16 * 1024 * 1024;
/** Requests whose body is being read and dropped after their answer (see readBody). */
const draining = new WeakSet<IncomingMessage>();

/** The answer to a manifest that would take the bodies arriving at once past their budget. */
function manifestsBusy(): RegistryReply {
  return new RegistryReply(429, 'TOOMANYREQUESTS', 'too many manifests are arriving at once; try again later', {
    'Retry-After': '10',
  });
}

/**
 * A manifest body, whole, within `limit` bytes and {@link ManifestBodyMs}, each piece kept only if
 * `hold` takes it (the budget). Past the limit the answer is a 413, past the budget a 429, and the
 * rest of the body is read and dropped (up to {@link DrainBytes}): a connection closed on bytes it
 * has not read is reset, and the reset can take the answer with it.
 */
function readBody(req: IncomingMessage, limit: number, hold: (bytes: number) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let over = false;
    const timer = setTimeout(() => {
      req.destroy(new LadingError('NETWORK_ERROR', `the manifest did not arrive within ${ManifestBodyMs / 1000} s`));
    }, ManifestBodyMs);
    req.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (over) {
        if (total > limit + DrainBytes) req.destroy();
        return;
      }
      const tooBig = total > limit;
      if (tooBig || !hold(chunk.length)) {
        over = true;
        chunks.length = 0;
        clearTimeout(timer);
        draining.add(req);
        reject(
          tooBig
            ? new RegistryReply(413, 'SIZE_INVALID', `the manifest is over the ${limit}-byte limit`)
            : manifestsBusy(),
        );
        return;
      }
      chunks.push(chunk);
    });
    // Settled any way, no later piece is held: the caller has given back what was.
    req.once('end', () => {
      clearTimeout(timer);
      over = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      over = true;
      reject(error);
    });
    req.once('close', () => {
      clearTimeout(timer);
      over = true;
      if (!req.complete) reject(new LadingError('NETWORK_ERROR', 'the client went away before the manifest arrived'));
    });
  });
}

function reply(
  res: ServerResponse,
  req: IncomingMessage,
  status: number,
  headers: Record<string, string>,
  body?: Buffer,
  contentType?: string,
): void {
  const all: Record<string, string> = { ...ApiVersion, ...headers };
  if (contentType) all['Content-Type'] = contentType;
  all['Content-Length'] = String(body?.length ?? 0);
  for (const [k, v] of Object.entries(all)) res.setHeader(k, v);
  res.writeHead(status);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Why a request failed, for the request log (server.ts): what failed in one answered 500, or a refused host name. */
export const internalErrors = new WeakMap<ServerResponse, string>();

/** A refused request's host name, as `allowedHosts` would admit it (server.ts's request log). */
export const refusedHosts = new WeakMap<ServerResponse, string>();

/** The name in a Host header, without its port, where it is one `allowedHosts` could hold. */
function allowableHost(header: string): string | undefined {
  try {
    return allowedHostName(header.replace(/:\d{1,5}$/, ''));
  } catch {
    return undefined;
  }
}

function sendError(res: ServerResponse, req: IncomingMessage, error: unknown): void {
  let answer: RegistryReply;
  // LadingError's instanceof accepts every LadingError (copies of the package): tell them by their fields.
  if (isReply(error)) answer = error;
  else if (isLadingError(error) && 'size' in error && error.name === RangeMismatch.name) {
    answer = new RegistryReply(416, 'BLOB_UPLOAD_INVALID', error.message, {
      Range: `0-${Math.max((error as RangeMismatch).size - 1, 0)}`,
    });
  } else if (isLadingError(error) && error.name === ServerBusy.name) {
    answer = new RegistryReply(429, 'TOOMANYREQUESTS', error.message, { 'Retry-After': '60' });
  } else if (isLadingError(error, 'SIZE_EXCEEDS_LIMIT')) answer = new RegistryReply(413, 'SIZE_INVALID', error.message);
  else if (isLadingError(error, 'SIZE_MISMATCH')) answer = new RegistryReply(400, 'BLOB_UPLOAD_INVALID', error.message);
  else if (isLadingError(error, 'INVALID_DIGEST')) answer = new RegistryReply(400, 'DIGEST_INVALID', error.message);
  else if (isLadingError(error, 'INVALID_REFERENCE')) answer = new RegistryReply(400, 'NAME_INVALID', error.message);
  else if (isLadingError(error, 'PATH_TRAVERSAL'))
    answer = new RegistryReply(400, 'NAME_INVALID', 'the repository is not stored as a plain folder');
  else {
    // The client is gone, or the answer has started: nothing to say. (A request whose body was read
    // whole counts as destroyed too; its client still waits for the answer.)
    if (res.headersSent || res.destroyed || !req.socket || req.socket.destroyed) {
      res.destroy();
      return;
    }
    // The detail names the failure's kind only: its message may hold the server's own paths. The
    // whole message goes to the operator's log.
    internalErrors.set(res, printable(error instanceof Error ? error.message : String(error), 500));
    const code = (error as { code?: unknown } | undefined)?.code;
    const detail = typeof code === 'string' ? clip(code) : '';
    const body = JSON.stringify({ errors: [{ code: 'UNKNOWN', message: 'internal error', detail }] });
    res.writeHead(500, {
      ...ApiVersion,
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ errors: [{ code: answer.specCode, message: answer.message, detail: {} }] });
  if (draining.has(req)) {
    // Kept open while the rest of the body is read (also for a client that asked for a close, which
    // it makes itself once it has the answer).
    res.shouldKeepAlive = true;
  } else if (!req.complete) {
    // Stop reading a body nobody will use, and do not keep the connection for it.
    res.setHeader('Connection', 'close');
  }
  const headers = { ...ApiVersion, ...answer.headers, 'Content-Type': 'application/json' };
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.writeHead(answer.status);
  res.end(req.method === 'HEAD' ? undefined : body);
  if (!req.complete) req.resume();
}

function isReply(error: unknown): error is RegistryReply {
  return isLadingError(error) && 'specCode' in error && 'status' in error;
}

function clip(text: string): string {
  return printable(text, 100);
}

/** `text` in printable ASCII (anything else a `?`), cut at `max` characters. */
function printable(text: string, max: number): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
