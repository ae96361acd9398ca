import { createPrivateKey, X509Certificate } from 'node:crypto';
import { type Op, readRegularFileSync } from '../content/index.js';
import { cancellable, cancellablePages, LadingError, parseReference, withoutUserinfo } from '../oci/index.js';
import { Authorizer } from './auth/authorizer.js';
import { catalogScope } from './auth/scope.js';
import type { DirectGet } from './blob-threads.js';
import type { RegistryEndpoint, RegistryOptions } from './endpoint.js';
import { pages } from './link.js';
import type { HttpReply, HttpRequest } from './message.js';
import { hasUserinfo, redactUserinfo } from './redact.js';
import { replyError } from './reply.js';
import { Repository, type RepositoryOptions } from './repository.js';
import { defaultRetryPolicy } from './retry.js';
import { Transport } from './transport.js';

/** The largest PEM file read (a CA bundle of every public root is well under 1 MiB). */
const MaxPemBytes = 4 * 1024 * 1024;

function readPem(file: string, what: string): Buffer {
  // A regular file only: a FIFO would block this (the only) thread for good, /dev/zero never ends.
  const pem = readRegularFileSync(file, { limit: MaxPemBytes, where: `${what} ${file}` });
  // Node would take anything and fail later with a TLS error that does not name the file.
  if (!pem.includes('-----BEGIN ')) {
    throw new LadingError('INVALID_ARGUMENT', `${what} ${file}: not a PEM file (no "-----BEGIN" block)`);
  }
  return pem;
}

/**
 * Checks a client certificate and key before any connection, as Go's tls.LoadX509KeyPair does for
 * ORAS: otherwise a key that does not match, or one that is encrypted, fails in the handshake as
 * if the registry's certificate were at fault.
 */
function checkKeyPair(cert: string | Buffer, key: string | Buffer, options: RegistryOptions): void {
  const certName = options.certFile ? `client certificate ${options.certFile}` : 'the client certificate';
  const keyName = options.keyFile ? `client key ${options.keyFile}` : 'the client key';
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new LadingError('INVALID_ARGUMENT', `${certName}: not a PEM certificate`, { cause: error });
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    // PKCS#8 (`ENCRYPTED PRIVATE KEY`) or the traditional form (`Proc-Type: 4,ENCRYPTED`).
    const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(String(key));
    throw new LadingError(
      'INVALID_ARGUMENT',
      encrypted
        ? `${keyName} is encrypted: give the key unencrypted (openssl pkey -in <key> -out <plain key>)`
        : `${keyName}: not a PEM private key`,
      { cause: error },
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new LadingError('INVALID_ARGUMENT', `${keyName} is not the key of ${certName}`);
  }
}

/** Splits `[scheme://]host[:port]`; a scheme given in the host decides plain HTTP unless options say otherwise. */
function parseHost(raw: string): { host: string; scheme?: 'http' | 'https' } {
  const match = /^(https?):\/\/(.*?)\/*$/i.exec(raw);
  const host = match ? (match[2] ?? '') : raw;
  if (hasUserinfo(raw)) {
    throw new LadingError(
      'INVALID_REFERENCE',
      `invalid registry host "${redactUserinfo(raw)}": credentials do not belong in the address`,
      { hint: { key: 'credentials', text: 'pass them as the credentials option' } },
    );
  }
  if (!host || /[/\s@?#]/.test(host)) {
    throw new LadingError('INVALID_REFERENCE', `invalid registry host "${withoutUserinfo(raw)}"`);
  }
  return match ? { host, scheme: (match[1] ?? '').toLowerCase() as 'http' | 'https' } : { host };
}

/** What {@link Registry.fromReference} gives: a registry, one of its repositories, and the tag or digest named. */
export interface RegistryReference extends AsyncDisposable {
  /** The registry client. */
  registry: Registry;
  /** The repository the reference names. */
  repository: Repository;
  /** The tag or digest after the repository, `''` when none was given. */
  reference: string;
  /** {@link Registry.close} of `registry`. */
  close(): Promise<void>;
}

/**
 * A distribution-spec registry: one connection pool, one authorizer (token cache), one retry
 * policy, shared by all its repositories. Requests go through the authorizer, which wraps the
 * transport (pool, redirects, retries) and fetches its tokens from it.
 */
export class Registry implements RegistryEndpoint {
  readonly host: string;
  readonly baseUrl: URL;
  /** The options the registry was created with. */
  readonly options: Readonly<RegistryOptions>;
  readonly #transport: Transport;
  readonly #sender: Authorizer;

  /**
   * A client of the registry at `host` (`ghcr.io`, `localhost:5000`, or with a scheme, `http://…`). No request is sent
   * until one is needed.
   */
  constructor(host: string, options: RegistryOptions = {}) {
    const parsed = parseHost(host);
    this.host = parsed.host;
    this.options = options;
    const hostname = new URL(`http://${parsed.host}`).hostname;
    const plain = options.plainHttp ?? (parsed.scheme ? parsed.scheme === 'http' : hostname === 'localhost');
    this.baseUrl = new URL(`${plain ? 'http' : 'https'}://${parsed.host}`);
    const ca = [
      ...(options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca]),
      ...(options.caFile ? [readPem(options.caFile, 'CA file')] : []),
    ];
    const cert = options.cert ?? (options.certFile ? readPem(options.certFile, 'client certificate') : undefined);
    const key = options.key ?? (options.keyFile ? readPem(options.keyFile, 'client key') : undefined);
    if (cert !== undefined && key !== undefined) checkKeyPair(cert, key, options);
    this.#transport = new Transport({
      origin: this.baseUrl.origin,
      userAgent: options.userAgent,
      ...(options.headers ? { headers: options.headers } : {}),
      tls: {
        ...(options.insecure ? { insecure: true } : {}),
        ...(ca.length > 0 ? { ca } : {}),
        ...(cert !== undefined ? { cert } : {}),
        ...(key !== undefined ? { key } : {}),
      },
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      retry: { ...defaultRetryPolicy, ...options.retry },
      ...(options.trace ? { trace: options.trace } : {}),
      ...(options.proxy !== undefined ? { proxy: options.proxy } : {}),
      ...(options.resolve ? { resolve: options.resolve } : {}),
    });
    this.#sender = new Authorizer({
      registry: this.baseUrl,
      credentials: options.credentials,
      inner: this.#transport,
      ...(options.clientId ? { clientId: options.clientId } : {}),
      ...(options.forceOAuth2 ? { forceOAuth2: true } : {}),
    });
  }

  /**
   * The registry and repository a reference names, `[http[s]://]host[:port]/repository[:tag|@digest]`
   * (`localhost:5000/hello:v1`, `ghcr.io/acme/app@sha256:…`). A scheme decides plain HTTP unless
   * `options.plainHttp` does; without either, only `localhost` speaks plain HTTP. Close the registry
   * (or the returned object) when done.
   */
  static fromReference(reference: string, options: RegistryOptions & RepositoryOptions = {}): RegistryReference {
    const scheme = /^(https?):\/\//i.exec(reference)?.[1];
    const parsed = parseReference(scheme ? reference.slice(scheme.length + 3) : reference);
    const { push, referrers, ...registryOptions } = options;
    const registry = new Registry(scheme ? `${scheme}://${parsed.registry}` : parsed.registry, registryOptions);
    const repository = registry.repository(parsed.repository, {
      ...(push !== undefined ? { push } : {}),
      ...(referrers !== undefined ? { referrers } : {}),
    });
    const close = () => registry.close();
    return { registry, repository, reference: parsed.reference, close, [Symbol.asyncDispose]: close };
  }

  /** One repository of this registry, a `Target`; it shares the registry's connections and tokens. */
  repository(name: string, options: RepositoryOptions = {}): Repository {
    return new Repository(this, name, options);
  }

  /**
   * Sends a request to this registry (authorised, retried). The caller consumes the body.
   *
   * @internal The transport under the repositories, for lading's own modules; its request and
   * reply types are not part of the API.
   */
  send(req: HttpRequest): Promise<HttpReply> {
    return this.#sender.send(req);
  }

  /**
   * A blob GET of `url` as another thread may send it, with the Authorization this registry
   * would send up front; undefined when it must go the usual way (see Transport.direct).
   *
   * @internal For lading's blob threads; its types are not part of the API.
   */
  async directGet(url: URL, scopes: readonly string[], signal?: AbortSignal): Promise<DirectGet | undefined> {
    const authorization = await this.#sender.upfront(url, scopes, signal);
    return this.#transport.direct(url, authorization);
  }

  /**
   * The GET of `to`, where this registry redirected a blob GET of `from`, as another thread may
   * send it (no credential goes there); undefined when it must go the usual way. See
   * Transport.directRedirect.
   *
   * @internal For lading's blob threads; its types are not part of the API.
   */
  directRedirect(from: URL, to: URL): Promise<DirectGet | undefined> {
    return this.#transport.directRedirect(from, to);
  }

  /**
   * Starts connecting to the registry before the first request needs it, so that the connection
   * (and a TLS handshake) overlaps the caller's own preparation; the first request takes it.
   * Nothing is sent, and a failure stays silent: that request meets it.
   *
   * @internal For lading's command line, which knows a request will follow.
   */
  warm(): void {
    this.#transport.warm();
  }

  url(path: string): URL {
    return new URL(`/v2/${path}`, this.baseUrl);
  }

  /** `GET /v2/`: succeeds when the registry is reachable and accepts our credentials. */
  ping(o: Op = {}): Promise<void> {
    return cancellable(o.signal, async () => {
      const reply = await this.send({ method: 'GET', url: this.url(''), signal: o.signal, scopes: [] });
      if (reply.status !== 200) throw await replyError(reply, 'GET');
      await reply.body.dump();
    });
  }

  /** Repository names from `_catalog`, page by page. */
  repositories(o: Op & { last?: string } = {}): AsyncGenerator<string[]> {
    const first = this.url('_catalog');
    if (this.options.pageSize !== undefined) first.searchParams.set('n', String(this.options.pageSize));
    if (o.last) first.searchParams.set('last', o.last);
    return cancellablePages(o.signal, () =>
      pages(this, first, 'repositories', [catalogScope], {
        ...o,
        what: `repositories of ${this.host}`,
        limits: this.options.pageLimits,
      }),
    );
  }

  /** Releases pooled connections. The registry's repositories must not be used afterwards. */
  close(): Promise<void> {
    return this.#transport.close();
  }

  /** {@link Registry.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
