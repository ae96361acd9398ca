import { createHash } from 'node:crypto';
import type { Op } from '../content/index.js';
import { LadingError } from '../oci/index.js';
import { type HttpReply, type HttpRequest, header } from './message.js';
import { redactUrl } from './redact.js';
import { readBody, replyError } from './reply.js';

/** Largest tag or catalog page we decode. */
const MaxPageBytes = 4 * 1024 * 1024;

/**
 * How far one `Link`-paginated listing (tags, catalog, referrers) is followed. A registry decides
 * where its chain ends; these bounds are what a hostile or broken one cannot push us past.
 */
export interface PageLimits {
  /** Most pages of one listing. */
  maxPages: number;
  /** Most body bytes of all pages of one listing together. */
  maxBytes: number;
}

/**
 * Generous for real registries: 10,000 pages of 100 tags is a million tags, and 32 MiB of JSON
 * holds about a million names (the largest tag lists seen in the wild are a few hundred thousand).
 * A looping or endless registry reaches them within seconds, not gigabytes.
 */
export const defaultPageLimits: PageLimits = { maxPages: 10_000, maxBytes: 32 * 1024 * 1024 };

/**
 * The `rel="next"` target of an RFC 8288 `Link` header, resolved against the request URL. A next
 * page on another origin is refused: following it would send our credentials elsewhere.
 */
export function nextPageUrl(link: string | undefined, requestUrl: URL): URL | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (!match) continue;
    const params = match[2] ?? '';
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (!rels.includes('next')) continue;
    let next: URL;
    try {
      next = new URL(match[1] ?? '', requestUrl);
    } catch {
      throw new LadingError('REGISTRY_ERROR', `${redactUrl(requestUrl)}: next page link is not a URL`);
    }
    if (next.origin !== requestUrl.origin) {
      throw new LadingError('REGISTRY_ERROR', `next page link points to another origin (${next.origin}); refusing`);
    }
    return next;
  }
  return undefined;
}

/** A URL for a message: redacted, and cut short (a `Link` header may be kilobytes long). */
function shown(url: URL): string {
  const text = redactUrl(url);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * A page is the same page whatever fragment its link carries. Kept as a hash: a registry's links
 * may be some 64 KiB each, and ten thousand of them remembered whole would weigh 650 MB.
 */
function pageKey(url: URL): string {
  const u = new URL(url);
  u.hash = '';
  return createHash('sha256').update(u.href).digest('base64');
}

/**
 * The bookkeeping of one paginated listing: the pages and bytes read so far against the limits,
 * and every page URL visited, so that a `Link` back to one of them ends the walk instead of
 * starting it again.
 */
export class PageWalk {
  readonly #what: string;
  readonly #limits: PageLimits;
  readonly #seen = new Set<string>();
  #pages = 0;
  #bytes = 0;

  /** `what` names the listing in errors (`tags of host/repo`). */
  constructor(what: string, first: URL, limits: Partial<PageLimits> = {}) {
    this.#what = what;
    this.#limits = { ...defaultPageLimits, ...limits };
    this.#seen.add(pageKey(first));
  }

  /** Reads one page's body, counting it against both limits. */
  async read(reply: HttpReply): Promise<Buffer> {
    this.#pages++;
    const left = this.#limits.maxBytes - this.#bytes;
    const limit = Math.min(MaxPageBytes, left);
    let body: Buffer;
    try {
      body = await readBody(reply, limit, `${this.#what}, page ${this.#pages}`);
    } catch (error) {
      if (limit === left && error instanceof LadingError && error.code === 'SIZE_EXCEEDS_LIMIT') {
        throw this.#tooMuch(`more than ${this.#limits.maxBytes} bytes`, reply.url);
      }
      throw error;
    }
    this.#bytes += body.length;
    return body;
  }

  /** The next page named by the reply's `Link`, or undefined at the end; refuses a loop. */
  next(reply: HttpReply): URL | undefined {
    const next = nextPageUrl(header(reply.headers, 'link'), reply.url);
    if (!next) return undefined;
    const key = pageKey(next);
    if (this.#seen.has(key)) {
      throw new LadingError(
        'REGISTRY_ERROR',
        `${this.#what}: page ${this.#pages + 1} links back to a page already read (${shown(next)}); the registry's pagination loops`,
      );
    }
    this.#seen.add(key);
    return next;
  }

  /** Called before a page after the first is requested: refuses the one past the page limit. */
  admit(url: URL): void {
    if (this.#pages >= this.#limits.maxPages) throw this.#tooMuch(`more than ${this.#limits.maxPages} pages`, url);
  }

  #tooMuch(what: string, at: URL): LadingError {
    return new LadingError(
      'SIZE_EXCEEDS_LIMIT',
      `${this.#what}: the listing runs to ${what}; stopped before ${shown(at)}`,
    );
  }
}

/** Walks a `Link`-paginated JSON list (`tags/list`, `_catalog`). */
export async function* pages(
  registry: { send(req: HttpRequest): Promise<HttpReply> },
  first: URL,
  field: 'tags' | 'repositories',
  scopes: readonly string[],
  o: Op & { what: string; limits?: Partial<PageLimits> | undefined },
): AsyncGenerator<string[]> {
  const walk = new PageWalk(o.what, first, o.limits);
  let url: URL | undefined = first;
  while (url) {
    o.signal?.throwIfAborted();
    if (url !== first) walk.admit(url);
    const reply = await registry.send({
      method: 'GET',
      url,
      scopes,
      signal: o.signal,
      headers: { accept: 'application/json' },
    });
    if (reply.status !== 200) throw await replyError(reply, 'GET');
    let next: URL | undefined;
    try {
      next = walk.next(reply);
    } catch (error) {
      reply.body.destroy();
      throw error;
    }
    const body = await walk.read(reply);
    let list: unknown;
    try {
      list = (JSON.parse(body.toString('utf8')) as Record<string, unknown>)[field];
    } catch {
      throw new LadingError('REGISTRY_ERROR', `GET ${url.origin}${url.pathname}: response is not JSON`);
    }
    if (list !== null && list !== undefined && !(Array.isArray(list) && list.every((t) => typeof t === 'string'))) {
      throw new LadingError('REGISTRY_ERROR', `GET ${url.origin}${url.pathname}: "${field}" is not a list of strings`);
    }
    yield (list as string[] | null) ?? [];
    url = next;
  }
}
