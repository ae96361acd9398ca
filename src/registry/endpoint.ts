import type { CredentialProvider } from './auth/credential.js';
import type { DirectGet } from './blob-threads.js';
import type { PageLimits } from './link.js';
import type { Sender } from './message.js';
import type { ProxyConfig } from './proxy.js';
import type { RetryPolicy } from './retry.js';
import type { Timeouts } from './transport.js';

/** Options of a {@link Registry}: plain HTTP or TLS settings, credentials, retries, timeouts, paging and tracing. */
export interface RegistryOptions {
  /** Speak HTTP instead of HTTPS. Default: only for `localhost`, as ORAS does. */
  plainHttp?: boolean;
  /** Skip TLS certificate verification for this registry. */
  insecure?: boolean;
  /** Extra CA certificates (PEM), trusted on top of the system roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** A file of extra CA certificates (PEM), read when the registry is created. */
  caFile?: string;
  /** Client certificate and key (PEM) for mutual TLS. */
  cert?: string | Buffer;
  /** The client certificate's private key (PEM), with `cert`. */
  key?: string | Buffer;
  /** A file holding the client certificate (PEM), instead of `cert`. */
  certFile?: string;
  /** A file holding the client key (PEM), instead of `key`. */
  keyFile?: string;
  /** Where credentials come from (a static credential, the docker config, a function); none: anonymous. */
  credentials?: CredentialProvider;
  /** Default `lading/<version>`. */
  userAgent?: string;
  /** Extra request headers, sent to the registry origin only. */
  headers?: Record<string, string>;
  /**
   * How often and how long to retry a request that failed for a reason worth retrying (default 5 retries, 200 ms to 3 s
   * apart).
   */
  retry?: Partial<RetryPolicy>;
  /** Time limits of a request (defaults: 30 s to connect, generous ones for the rest). */
  timeouts?: Timeouts;
  /** Get tokens with the OAuth2 password grant (POST) instead of a GET with Basic auth. */
  forceOAuth2?: boolean;
  /** OAuth2 `client_id` (default `lading`). */
  clientId?: string;
  /** Upload blobs in PATCH chunks of this many bytes instead of one streamed PUT. */
  chunkSize?: number;
  /** `n` for tag and catalog pages; the registry's default when unset. */
  pageSize?: number;
  /** Bounds of one paginated listing (tags, catalog, referrers); see `defaultPageLimits`. */
  pageLimits?: Partial<PageLimits>;
  /** Receives one line per HTTP request and response, with credentials removed (a debug log). */
  trace?: (line: string) => void;
  /**
   * HTTP proxies for this registry and the servers it sends to (token realms, redirects); `false`
   * for none. Default: the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`), as Go tools read it.
   */
  proxy?: ProxyConfig | false;
  /**
   * Fixed addresses, as ORAS's `--resolve host:port:address[:address_port]`: `host:port` → the IP
   * address and port connected to instead, for every request this registry's client sends.
   */
  resolve?: Record<
    string,
    {
      /** The IP address connected to. */
      address: string;
      /** The port connected to. */
      port: number;
    }
  >;
}

/**
 * What a repository sees of its registry: where it is, how it was configured, and the one sender
 * (authorised, retried) that all its repositories share. `Registry` is the implementation; the
 * interface keeps a repository from depending on the class that makes it.
 */
export interface RegistryEndpoint extends Sender {
  /** `host[:port]` as used in references. */
  readonly host: string;
  /** `scheme://host[:port]`. */
  readonly baseUrl: URL;
  /** The options the registry was made with. */
  readonly options: Readonly<RegistryOptions>;
  /** `/v2/<path>` on this registry. */
  url(path: string): URL;
  /** A blob GET another thread may send (see Registry.directGet). @internal */
  directGet?(url: URL, scopes: readonly string[], signal?: AbortSignal): Promise<DirectGet | undefined>;
  /** The GET of where a blob GET was redirected, another thread may send (see Registry.directRedirect). @internal */
  directRedirect?(from: URL, to: URL): Promise<DirectGet | undefined>;
}
