// Response headers are checked before use: the pure parts, without a server.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { contentLength, digestHeader, locationOf, mediaTypeOf, quoteHeader } from './headers.js';
import { nextPageUrl, PageWalk } from './link.js';
import type { HttpReply } from './message.js';

function reply(
  headers: Record<string, string | string[]>,
  url = 'http://r.test/v2/x/tags/list',
  content: Buffer[] = [],
): HttpReply {
  const body = Object.assign(Readable.from(content), { dump: async () => {}, consume: async () => {} });
  return { method: 'GET', status: 200, headers, body, url: new URL(url) };
}

const digest = `sha256:${'a'.repeat(64)}`;

describe('response headers', () => {
  test('a digest header must be one digest of a supported algorithm', () => {
    assert.equal(digestHeader(reply({ 'docker-content-digest': ` ${digest} ` }), 'Docker-Content-Digest', 'w'), digest);
    assert.equal(digestHeader(reply({}), 'Docker-Content-Digest', 'w'), undefined);
    for (const bad of ['sha256:abc', `md5:${'a'.repeat(32)}`, `${digest}, ${digest}`, `${digest}\u009b31m`]) {
      assert.throws(
        () => digestHeader(reply({ 'docker-content-digest': bad }), 'Docker-Content-Digest', 'GET r.test/x:v1'),
        (e: unknown) => isLadingError(e, 'REGISTRY_ERROR') && /^GET r\.test\/x:v1: the registry's/.test(e.message),
      );
    }
  });

  test('a quoted header value is printable ASCII and short', () => {
    assert.equal(quoteHeader('a"b\\c\u001b[2K\u009b\u202e'), '"a\\u{22}b\\u{5c}c\\u{1b}[2K\\u{9b}\\u{202e}"');
    assert.equal(quoteHeader('x'.repeat(100)), `"${'x'.repeat(80)}"…`);
  });

  test('Content-Type and Content-Length are taken only when well formed', () => {
    assert.equal(mediaTypeOf(reply({ 'content-type': 'application/json; charset=utf-8' })), 'application/json');
    assert.equal(mediaTypeOf(reply({ 'content-type': 'application/json\u009b' })), undefined);
    assert.equal(mediaTypeOf(reply({ 'content-type': 'no slash' })), undefined);
    assert.equal(contentLength(reply({ 'content-length': '42' })), 42);
    for (const bad of ['-1', '1e3', '99999999999999999999', '', '4 2']) {
      assert.equal(contentLength(reply({ 'content-length': bad })), undefined, bad);
    }
  });

  test('a Location that is not a URL is a registry error; a relative one resolves against the answer', () => {
    assert.equal(
      locationOf(reply({ location: '/v2/x/blobs/uploads/1' }), 'POST')?.href,
      'http://r.test/v2/x/blobs/uploads/1',
    );
    assert.equal(locationOf(reply({}), 'POST'), undefined);
    assert.throws(
      () => locationOf(reply({ location: 'http://[::1' }), 'GET'),
      (e: unknown) =>
        isLadingError(e, 'REGISTRY_ERROR') && /Location header "http:\/\/\[::1" is not a URL/.test(e.message),
    );
  });
});

describe('Link pagination bookkeeping', () => {
  test('a next link that is not a URL is a registry error, not a TypeError', () => {
    assert.throws(
      () => nextPageUrl('<http://[::1>; rel="next"', new URL('http://r.test/v2/_catalog')),
      (e: unknown) => isLadingError(e, 'REGISTRY_ERROR'),
    );
  });

  test('a page is the same page whatever its fragment; the limits name what was refused', async () => {
    const first = new URL('http://r.test/v2/x/tags/list');
    const walk = new PageWalk('tags of r.test/x', first, { maxPages: 2, maxBytes: 10 });
    assert.throws(
      () => walk.next(reply({ link: '</v2/x/tags/list#top>; rel="next"' })),
      /tags of r\.test\/x: page 1 links back to a page already read/,
    );
    const next = walk.next(reply({ link: '</v2/x/tags/list?last=a>; rel="next"' })) as URL;
    assert.equal(next.search, '?last=a');
    await walk.read(reply({}, first.href, [Buffer.from('{"a":1}')]));
    walk.admit(next);
    await assert.rejects(
      walk.read(reply({}, next.href, [Buffer.from('{"b":2}')])),
      (e: unknown) =>
        isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /more than 10 bytes; stopped before .*last=a/.test(e.message),
    );
    assert.throws(
      () => walk.admit(new URL('http://r.test/v2/x/tags/list?last=b')),
      (e: unknown) =>
        isLadingError(e, 'SIZE_EXCEEDS_LIMIT') && /more than 2 pages; stopped before .*last=b/.test(e.message),
    );
  });
});
