import type { Op } from '../content/index.js';
import { LadingError } from '../oci/index.js';
import { readBody, replyError } from './reply.js';
import { type HttpReply, type HttpRequest, header } from './transport.js';

/** Largest tag or catalog page we decode. */
const MaxPageBytes = 4 * 1024 * 1024;

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
    const next = new URL(match[1] ?? '', requestUrl);
    if (next.origin !== requestUrl.origin) {
      throw new LadingError('REGISTRY_ERROR', `next page link points to another origin (${next.origin}); refusing`);
    }
    return next;
  }
  return undefined;
}

/** Walks a `Link`-paginated JSON list (`tags/list`, `_catalog`). */
export async function* pages(
  registry: { send(req: HttpRequest): Promise<HttpReply> },
  first: URL,
  field: 'tags' | 'repositories',
  scopes: readonly string[],
  o: Op,
): AsyncGenerator<string[]> {
  let url: URL | undefined = first;
  while (url) {
    const reply = await registry.send({
      method: 'GET',
      url,
      scopes,
      signal: o.signal,
      headers: { accept: 'application/json' },
    });
    if (reply.status !== 200) throw await replyError(reply, 'GET');
    const next = nextPageUrl(header(reply.headers, 'link'), reply.url);
    const body = await readBody(reply, MaxPageBytes, url.pathname);
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
