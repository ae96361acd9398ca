import { LadingError } from '../../oci/index.js';
import { parseErrorBody, RegistryResponseError } from '../errors.js';
import { type HttpReply, type HttpRequest, header, isReplayable, type Sender } from '../message.js';
import { readBody } from '../reply.js';
import { parseWwwAuthenticate, pickChallenge } from './challenge.js';
import type { Credential, CredentialProvider } from './credential.js';
import { checkRealmAddress, refuseCleartextRealm, validateRealm } from './realm.js';
import { cleanScopes } from './scope.js';

/** Token responses are small JSON documents; anything bigger is not one. */
const MaxTokenResponseBytes = 128 * 1024;
/** Distribution's token spec: a token without `expires_in` lives 60 s. */
const DefaultTokenLifetimeS = 60;

export interface AuthorizerOptions {
  /** The registry base URL (`scheme://host[:port]`): requests elsewhere pass through untouched. */
  registry: URL;
  credentials?: CredentialProvider | undefined;
  /** What sends the requests, the registry's and the token requests: the transport below. */
  inner: Sender;
  /** OAuth2 `client_id`. */
  clientId?: string;
  /** Use the OAuth2 password grant (POST) even without an identity token. */
  forceOAuth2?: boolean;
}

type HostScheme =
  | { kind: 'basic' }
  | {
      kind: 'bearer';
      realm: URL;
      service: string | undefined;
      /** The registry's address as its challenge came (see checkRealmAddress). */
      registryAddress: string | undefined;
    };

interface CachedToken {
  value: string;
  expiresAt: number;
}

/** A token fetched for `scopes`, which a request needing fewer may borrow. */
interface LentToken {
  key: string;
  host: string;
  scopes: string[];
  token: CachedToken;
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/**
 * The authorising layer of one registry client, wrapped around the transport that sends: it adds
 * the Authorization a request to the registry needs and answers the registry's challenges, with
 * what it keeps for that: which scheme each host asked for, the Basic header once built, and bearer
 * tokens cached per (host, scope set) until they expire. Tokens are fetched once even when many
 * requests need them at the same moment, from the transport below (never through this layer).
 */
export class Authorizer implements Sender {
  readonly #o: AuthorizerOptions;
  readonly #credentials = new Map<string, Promise<Credential | undefined>>();
  readonly #schemes = new Map<string, HostScheme>();
  readonly #basic = new Map<string, string>();
  readonly #tokens = new Map<string, Promise<CachedToken>>();
  /**
   * Tokens fetched, with the scopes asked for, that a request needing fewer scopes may borrow (a
   * cross-repository mount's token serves the manifest PUT after it): one token request fewer.
   */
  readonly #wide = new Map<string, LentToken>();
  /**
   * The same tokens by `<host> <resource>` of each scope they were fetched for: a request looks
   * only at the tokens that name its first resource. A sweep of every token per request made a
   * transfer of thousands of components (a repository, so a token, each) quadratic: 80 s of CPU
   * for 10,000 of them, where exact tokens alone cost 0.6 s.
   */
  readonly #wideByResource = new Map<string, Set<LentToken>>();

  constructor(options: AuthorizerOptions) {
    this.#o = options;
  }

  /** Sends `req` with the registry's authorization, answering a 401 challenge when it can. */
  async send(req: HttpRequest): Promise<HttpReply> {
    const inner = this.#o.inner;
    // Another origin (a blob store a registry redirected to) gets no credentials of the registry's.
    if (req.url.origin !== this.#o.registry.origin) return inner.send(req);
    const host = req.url.host;
    const scopes = req.scopes ?? [];
    // A borrowed wider token that the registry refuses costs a retry: only where the body can be sent again.
    let sent = await this.#authorization(host, scopes, req.signal, isReplayable(req.body));
    let reply = await inner.send({ ...req, authorization: sent });
    // Two rounds: a token can be stale as soon as it is issued (clock skew between the token
    // server and the registry), and a second fresh one usually is not.
    for (let round = 0; round < 2; round++) {
      if (reply.status !== 401 || reply.url.origin !== this.#o.registry.origin) return reply;
      const next = await this.#onChallenge(host, reply, scopes, sent, req.signal);
      if (next === undefined || next === sent) return reply;
      if (!isReplayable(req.body)) return reply;
      await reply.body.dump().catch(() => {});
      sent = next;
      reply = await inner.send({ ...req, authorization: next });
    }
    return reply;
  }

  /**
   * The Authorization a request to `url` needing `scopes` would carry up front (none when no
   * challenge has told how the registry authenticates yet, or `url` is elsewhere): for a request
   * another thread sends (blob-threads.ts), which falls back to {@link Authorizer.send} on a 401.
   */
  upfront(url: URL, scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    if (url.origin !== this.#o.registry.origin) return Promise.resolve(undefined);
    return this.#authorization(url.host, scopes, signal);
  }

  /** The header to send up front, when an earlier challenge told us how this host authenticates. */
  async #authorization(
    host: string,
    scopes: readonly string[],
    signal?: AbortSignal,
    borrow = false,
  ): Promise<string | undefined> {
    const scheme = this.#schemes.get(host);
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') return this.#basic.get(host);
    const needed = cleanScopes(scopes);
    const wider = borrow ? this.#wider(host, needed) : undefined;
    if (wider) return `Bearer ${wider.value}`;
    const token = await this.#token(host, scheme, needed, signal);
    return token ? `Bearer ${token.value}` : undefined;
  }

  /**
   * Answers a 401: returns a header worth one more attempt, or undefined when nothing better than
   * what was `sent` can be offered (the caller then reports the 401).
   */
  async #onChallenge(
    host: string,
    reply: HttpReply,
    scopes: readonly string[],
    sent: string | undefined,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const challenge = pickChallenge(parseWwwAuthenticate(header(reply.headers, 'www-authenticate')));
    if (!challenge) return undefined;
    if (challenge.scheme === 'basic') {
      this.#schemes.set(host, { kind: 'basic' });
      const cred = await this.#credential(host);
      if (!cred?.username || !cred.password) {
        if (sent === undefined) {
          throw new LadingError('UNAUTHORIZED', `${host} requires a user name and password, and none is configured`);
        }
        return undefined;
      }
      const value = basicHeader(cred.username, cred.password);
      if (value === sent) return undefined;
      this.#basic.set(host, value);
      return value;
    }
    const scheme: HostScheme = {
      kind: 'bearer',
      realm: validateRealm(challenge.params.realm, this.#o.registry, reply.remoteAddress),
      service: challenge.params.service,
      registryAddress: reply.remoteAddress,
    };
    this.#schemes.set(host, scheme);
    // A borrowed token the registry refused is lent no more (any it was lent as is filed under the
    // first resource the request needed).
    const first = cleanScopes(scopes)[0];
    for (const w of first === undefined ? [] : (this.#wideByResource.get(`${host} ${resourceOf(first)}`) ?? [])) {
      if (`Bearer ${w.token.value}` === sent) this.#unlend(w);
    }
    const all = cleanScopes([...scopes, ...(challenge.params.scope ?? '').split(' ')]);
    const key = `${host} ${all.join(' ')}`;
    const cached = this.#tokens.get(key);
    if (cached) {
      // Only the request that saw the stale token evicts it; its siblings share the new one.
      const t = await cached.catch(() => undefined);
      if (!t || `Bearer ${t.value}` === sent) this.#tokens.delete(key);
    }
    const token = await this.#token(host, scheme, all, signal);
    if (!token) return undefined;
    const value = `Bearer ${token.value}`;
    return value === sent ? undefined : value;
  }

  #credential(host: string): Promise<Credential | undefined> {
    let c = this.#credentials.get(host);
    if (!c) {
      c = this.#o.credentials ? this.#o.credentials(host) : Promise.resolve(undefined);
      c.catch(() => this.#credentials.delete(host));
      this.#credentials.set(host, c);
    }
    return c;
  }

  async #token(
    host: string,
    scheme: Extract<HostScheme, { kind: 'bearer' }>,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<CachedToken | undefined> {
    const key = `${host} ${scopes.join(' ')}`;
    let pending = this.#tokens.get(key);
    if (pending) {
      const t = await pending.catch(() => undefined);
      if (t && t.expiresAt > Date.now()) return t;
      if (this.#tokens.get(key) === pending) this.#tokens.delete(key);
    }
    pending = this.#fetchToken(host, scheme, scopes, signal);
    this.#tokens.set(key, pending);
    try {
      const token = await pending;
      if (this.#tokens.get(key) === pending) this.#lend({ key, host, scopes, token });
      return token;
    } catch (error) {
      if (this.#tokens.get(key) === pending) this.#tokens.delete(key);
      throw error;
    }
  }

  /** An unexpired token of `host` fetched for scopes that include every one of `needed`, if any. */
  #wider(host: string, needed: readonly string[]): CachedToken | undefined {
    const first = needed[0];
    if (first === undefined) return undefined;
    const filed = this.#wideByResource.get(`${host} ${resourceOf(first)}`);
    if (!filed) return undefined;
    const now = Date.now();
    for (const w of filed) {
      if (w.token.expiresAt <= now) {
        this.#unlend(w);
        continue;
      }
      if (w.host === host && needed.every((n) => coveredBy(n, w.scopes))) return w.token;
    }
    return undefined;
  }

  #lend(w: LentToken): void {
    const before = this.#wide.get(w.key);
    if (before) this.#unlend(before);
    this.#wide.set(w.key, w);
    for (const scope of w.scopes) {
      const at = `${w.host} ${resourceOf(scope)}`;
      let filed = this.#wideByResource.get(at);
      if (!filed) this.#wideByResource.set(at, (filed = new Set()));
      filed.add(w);
    }
  }

  #unlend(w: LentToken): void {
    if (this.#wide.get(w.key) === w) this.#wide.delete(w.key);
    for (const scope of w.scopes) {
      const at = `${w.host} ${resourceOf(scope)}`;
      const filed = this.#wideByResource.get(at);
      filed?.delete(w);
      if (filed?.size === 0) this.#wideByResource.delete(at);
    }
  }

  async #fetchToken(
    host: string,
    scheme: Extract<HostScheme, { kind: 'bearer' }>,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<CachedToken> {
    const cred = (await this.#credential(host)) ?? {};
    if (cred.registryToken) return { value: cred.registryToken, expiresAt: Number.POSITIVE_INFINITY };
    const oauth2 = cred.identityToken || (this.#o.forceOAuth2 && cred.username && cred.password);
    const sendsSecret = Boolean(cred.identityToken || (cred.username && cred.password));
    if (sendsSecret) refuseCleartextRealm(scheme.realm, this.#o.registry);
    let req: HttpRequest;
    if (oauth2) {
      const form = new URLSearchParams();
      if (cred.identityToken) {
        form.set('grant_type', 'refresh_token');
        form.set('refresh_token', cred.identityToken);
      } else {
        form.set('grant_type', 'password');
        form.set('username', cred.username ?? '');
        form.set('password', cred.password ?? '');
      }
      if (scheme.service) form.set('service', scheme.service);
      form.set('client_id', this.#o.clientId ?? 'lading');
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      const body = Buffer.from(form.toString());
      req = {
        method: 'POST',
        url: scheme.realm,
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) },
        body,
        followRedirects: false,
      };
    } else {
      const url = new URL(scheme.realm);
      if (scheme.service) url.searchParams.append('service', scheme.service);
      for (const s of scopes) url.searchParams.append('scope', s);
      req = {
        method: 'GET',
        url,
        headers: { accept: 'application/json' },
        // A redirect is held to what the realm itself was: no internal address the registry does
        // not live on, no plain HTTP for an HTTPS registry.
        checkRedirect: (hop) => {
          const next = validateRealm(hop.href, this.#o.registry, scheme.registryAddress);
          if (sendsSecret) refuseCleartextRealm(next, this.#o.registry);
        },
        ...(cred.username && cred.password ? { authorization: basicHeader(cred.username, cred.password) } : {}),
      };
    }
    if (signal) req.signal = signal;
    // What the realm's name resolves to is held to the rule of a literal, on the address dialled.
    req.checkAddress = (address, url) => checkRealmAddress(url, address, this.#o.registry, scheme.registryAddress);
    const started = Date.now();
    const reply = await this.#o.inner.send(req);
    const bytes = await readBody(reply, MaxTokenResponseBytes, `token response from ${scheme.realm.origin}`);
    if (reply.status !== 200) {
      throw new RegistryResponseError({
        method: req.method,
        url: scheme.realm,
        status: reply.status,
        errors: parseErrorBody(bytes),
        text: `token request for ${host} failed${reply.status === 401 ? ' (wrong credentials?)' : ''}`,
      });
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
    } catch {
      throw new LadingError('REGISTRY_ERROR', `token response from ${scheme.realm.origin} is not JSON`);
    }
    const value =
      typeof parsed.access_token === 'string' && parsed.access_token
        ? parsed.access_token
        : typeof parsed.token === 'string'
          ? parsed.token
          : '';
    if (!value) throw new LadingError('REGISTRY_ERROR', `token response from ${scheme.realm.origin} holds no token`);
    const lifetimeMs =
      (typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DefaultTokenLifetimeS) *
      1000;
    // Renew a little early so a token does not lapse between our check and the registry's.
    return { value, expiresAt: started + lifetimeMs - Math.min(10_000, lifetimeMs / 10) };
  }
}

/** What a scope is about: `type:name` of `type:name:actions`, an opaque scope whole. */
function resourceOf(scope: string): string {
  const last = scope.lastIndexOf(':');
  return last <= scope.indexOf(':') ? scope : scope.slice(0, last);
}

/** Whether one of `granted` (clean scopes) names the resource of `scope` with all of its actions, or `*`. */
function coveredBy(scope: string, granted: readonly string[]): boolean {
  const last = scope.lastIndexOf(':');
  if (last <= scope.indexOf(':')) return granted.includes(scope);
  const resource = scope.slice(0, last);
  const actions = scope.slice(last + 1).split(',');
  return granted.some((g) => {
    const at = g.lastIndexOf(':');
    if (g.slice(0, at) !== resource) return false;
    const has = g.slice(at + 1).split(',');
    return has.includes('*') || actions.every((a) => has.includes(a));
  });
}
