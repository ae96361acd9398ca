// Types for peers.mjs, so TypeScript tests can import it.

export type RegistryName = 'plain' | 'tls' | 'token';

export declare const REGISTRY_NAMES: readonly RegistryName[];

/** A made-up host name the tests reach the registry by (--resolve); lading serve is told to answer it. */
export declare const ParityHostName: string;

/**
 * One `docker-registry serve` instance, or with LADING_TEST_REGISTRY=serve (plain and tls only)
 * one `lading serve`. `pid` is null while stopped (see stopRegistry).
 */
export interface RegistryPeer {
  /** Which registry runs: the tests that depend on one's behaviour ask. */
  kind: 'docker-registry' | 'lading-serve';
  /** `127.0.0.1:<port>`, as used in image references. */
  host: string;
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>`. */
  url: string;
  pid: number | null;
  /** docker-registry's config file (YAML; written but unused by lading serve). */
  config: string;
  /** The storage root of this registry. */
  dataDir: string;
  /** stdout and stderr of the registry. */
  log: string;
}

export interface TlsRegistryPeer extends RegistryPeer {
  /** PEM of the CA that signed the server certificate (SAN IP:127.0.0.1, DNS:localhost). */
  caFile: string;
  /** A directory holding `ca.crt`, for `skopeo --cert-dir`. */
  certDir: string;
  username: string;
  password: string;
}

export interface TokenServerPeer {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** `<url>/token`, the realm in the registry's Bearer challenge. */
  realm: string;
  /** `lading-registry`, the `service` (and token `aud`). */
  service: string;
  /** `lading-token-issuer`, the token `iss`. */
  issuer: string;
  pid: number | null;
  config: string;
  /** One JSON line per token request. */
  log: string;
}

export interface TokenRegistryPeer extends RegistryPeer {
  username: string;
  password: string;
  /** An OAuth2 refresh token the token server takes for `username` (docker's identity token). */
  identityToken: string;
  tokenServer: TokenServerPeer;
}

/** The content of `<dir>/peers.json`. */
export interface Peers {
  dir: string;
  plain: RegistryPeer;
  tls: TlsRegistryPeer;
  token: TokenRegistryPeer;
  /** Every live process of these peers. */
  pids: number[];
  /** Where stopRegistry/restartRegistry ask the process that owns the peers to act. */
  control: { url: string; pid: number } | null;
}

export interface StartPeersOptions {
  /** Scratch dir; a fresh one under os.tmpdir() when omitted. */
  dir?: string;
  /** Token lifetime in seconds (default: env LADING_TOKEN_EXPIRES_IN, else 300). */
  tokenExpiresIn?: number;
}

/** Installs missing peer packages with apt when root; otherwise throws naming them. */
export declare function ensurePackages(): Promise<void>;
export declare function startPeers(options?: StartPeersOptions): Promise<Peers>;
/** Stops every peer process (SIGTERM, SIGKILL after 2 s). Idempotent. */
export declare function stopPeers(info: Peers): Promise<void>;
/** Stops one registry; its `pid` becomes null until restartRegistry. */
export declare function stopRegistry(info: Peers, name: RegistryName): Promise<void>;
/** Stops (if running) and starts one registry with the same config, port and data. */
export declare function restartRegistry(info: Peers, name: RegistryName): Promise<void>;
/** The peers of this `npm test` run; throws when LADING_PEERS is not set. */
export declare function loadPeers(): Peers;
