// The view's search over a hostile registry: a tag list whose `Link: rel="next"` chain never ends
// is read only so far per repository, and a search cut short (by that bound, or by a page that
// fails) says so with `partial`.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { Registry } from '../src/registry/index.js';
import { registryStore } from '../src/server/ui/index.js';
import { SearchTagPages, search } from '../src/server/ui/search.js';
import { HostileRegistry, json } from './support/hostile-registry.js';

let server: HostileRegistry | undefined;
let registry: Registry | undefined;

afterEach(async () => {
  await registry?.close();
  await server?.close();
});

async function hostile(repositories: string[]): Promise<{ server: HostileRegistry; registry: Registry }> {
  server = await HostileRegistry.start();
  server.on('GET', /^\/v2\/_catalog$/, ({ res }) => json(res, 200, { repositories }));
  registry = new Registry(server.host, { plainHttp: true, retry: { minWaitMs: 1, maxWaitMs: 5 } });
  return { server, registry };
}

test('an endless tag-page chain is read for at most SearchTagPages pages per repository, and the search is partial', async () => {
  const { server, registry } = await hostile(['endless', 'small']);
  server.on('GET', /^\/v2\/endless\/tags\/list$/, ({ res, url }) => {
    const n = Number(url.searchParams.get('last')?.slice(1) ?? 0) + 1;
    json(res, 200, { name: 'endless', tags: [`t${n}`] }, { link: `</v2/endless/tags/list?last=t${n}>; rel="next"` });
  });
  server.on('GET', /^\/v2\/small\/tags\/list$/, ({ res }) => json(res, 200, { name: 'small', tags: ['t1', 'v1'] }));
  const result = await search(registryStore(registry, server.url), 't1', {});
  assert.equal(server.count('GET', /^\/v2\/endless\/tags\/list/), SearchTagPages);
  assert.ok(SearchTagPages <= 20);
  assert.equal(result.partial, true);
  // What was read is still found: t1, t10..t19 of the endless one, t1 of the small one.
  assert.deepEqual(
    result.tags.map((t) => `${t.repository}:${t.tag}`),
    ['endless:t1', ...Array.from({ length: 10 }, (_, i) => `endless:t1${i}`), 'small:t1'],
  );
});

test('a tag page that fails makes the search partial; the other repositories are still searched', async () => {
  const { server, registry } = await hostile(['broken', 'fine']);
  server.on('GET', /^\/v2\/broken\/tags\/list$/, ({ res, url }) => {
    if (url.searchParams.get('last')) return void json(res, 400, { errors: [{ code: 'UNSUPPORTED', message: 'no' }] });
    json(res, 200, { name: 'broken', tags: ['v1'] }, { link: '</v2/broken/tags/list?last=v1>; rel="next"' });
  });
  server.on('GET', /^\/v2\/fine\/tags\/list$/, ({ res }) => json(res, 200, { name: 'fine', tags: ['v1'] }));
  const result = await search(registryStore(registry, server.url), 'v1', {});
  assert.equal(result.partial, true);
  assert.deepEqual(
    result.tags.map((t) => `${t.repository}:${t.tag}`),
    ['broken:v1', 'fine:v1'],
  );
});

test('a search that read everything is not partial', async () => {
  const { server, registry } = await hostile(['fine']);
  server.on('GET', /^\/v2\/fine\/tags\/list$/, ({ res }) => json(res, 200, { name: 'fine', tags: ['v1', 'v2'] }));
  const result = await search(registryStore(registry, server.url), 'v2', {});
  assert.equal(result.partial, false);
  assert.deepEqual(result.tags, [{ repository: 'fine', tag: 'v2' }]);
});
