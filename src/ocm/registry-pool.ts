import { LadingError, parseReference } from '../oci/index.js';
import {
  type CredentialProvider,
  isEmptyCredential,
  Registry,
  type RegistryOptions,
  type Repository,
} from '../registry/index.js';
import { accessReference, isLoopbackHost, type PlainHttpPolicy } from './access-transport.js';

/** Options of a {@link RegistryPool}: the options of each registry, and plain HTTP. */
export interface RegistryPoolOptions {
  /** Options (credentials, TLS) for a registry, per host. */
  registryOptions: (host: string) => RegistryOptions;
  /** Plain HTTP to every registry (the caller chose it for all of them). */
  plainHttp?: boolean;
  /**
   * Hosts that may be sent credentials (and extra headers) over plain HTTP: the registries the
   * user named. Loopback hosts always may; any other host reached over plain HTTP (one a
   * descriptor or constructor names, by `http://` or through `plainHttp`) is asked anonymously,
   * so that no password or token crosses a network in clear text to a host the user never chose.
   */
  plainHttpCredentials?: (host: string) => boolean;
}

/**
 * The registries a call reaches besides its repository's: those that OCI image accesses,
 * `oci://` charts and standalone artifact copies name. One Registry (connection pool, token cache)
 * per scheme and host, all with the same options; `close()` ends them.
 */
export class RegistryPool {
  readonly #options: RegistryPoolOptions;
  readonly #open = new Map<string, Registry>();

  /** A pool that opens each registry on first use, with `options`. */
  constructor(options: RegistryPoolOptions) {
    this.#options = options;
  }

  /** Options for a registry that a library call opens itself (a chart's `oci://` registry). */
  optionsFor(host: string): RegistryOptions {
    return this.#optionsFor(host, Boolean(this.#options.plainHttp));
  }

  #optionsFor(host: string, plain: boolean): RegistryOptions {
    const options = this.#options.registryOptions(host);
    if (!plain) return options;
    if (isLoopbackHost(host) || this.#options.plainHttpCredentials?.(host)) return { ...options, plainHttp: true };
    const { credentials, headers: _h, ...anonymous } = options;
    if (!credentials) return { ...anonymous, plainHttp: true };
    // Asked only when the registry demands them: say why none are sent, rather than "none configured".
    const withheld: CredentialProvider = async (h) => {
      const configured = await credentials(h);
      if (configured === undefined || isEmptyCredential(configured)) return undefined;
      throw new LadingError(
        'UNAUTHORIZED',
        `${host} asks for credentials, and the ones configured for it are not sent over plain HTTP to a registry that is neither loopback nor one the user named (name it as a repository, or reach it over HTTPS)`,
      );
    };
    return { ...anonymous, credentials: withheld, plainHttp: true };
  }

  /** The registry at `host` (opened once, over plain HTTP with `o.plainHttp`). */
  registry(host: string, o: { plainHttp?: boolean } = {}): Registry {
    const plain = Boolean(o.plainHttp || this.#options.plainHttp);
    const key = `${plain ? 'http' : 'https'}://${host}`;
    let registry = this.#open.get(key);
    if (!registry) {
      registry = new Registry(host, this.#optionsFor(host, plain));
      this.#open.set(key, registry);
    }
    return registry;
  }

  /**
   * The repository a registry reference of an access names (`[http[s]://]host/repo[:tag|@digest]`),
   * and its tag or digest. `http://` is refused unless the policy allows plain HTTP to the host.
   *
   * @internal
   */
  repository(
    raw: string,
    o: { allowPlainHttp?: PlainHttpPolicy | undefined; where: string; push?: boolean },
  ): { target: Repository; reference: string } {
    const access = accessReference(raw, { allowPlainHttp: o.allowPlainHttp, where: o.where });
    const parsed = parseReference(access.reference);
    const registry = this.registry(parsed.registry, { plainHttp: access.plainHttp });
    return {
      target: registry.repository(parsed.repository, o.push ? { push: true } : {}),
      reference: parsed.reference,
    };
  }

  /** Closes every registry the pool opened. */
  async close(): Promise<void> {
    await Promise.all([...this.#open.values()].map((r) => r.close()));
    this.#open.clear();
  }

  /** {@link RegistryPool.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
