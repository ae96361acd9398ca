import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { uploadLocation } from './upload.js';

describe('upload Location', () => {
  const https = new URL('https://registry.example');
  const plain = new URL('http://127.0.0.1:5000');
  const post = (base: URL) => new URL('/v2/a/blobs/uploads/', base);
  const refused = (pattern: RegExp) => (e: unknown) => isLadingError(e, 'REGISTRY_ERROR') && pattern.test(String(e));

  test('another host is followed (a CDN or object store), relative locations resolve against the request', () => {
    assert.equal(
      uploadLocation('https://cdn.example/u/1?sig=x', post(https), https).href,
      'https://cdn.example/u/1?sig=x',
    );
    assert.equal(
      uploadLocation('/v2/a/blobs/uploads/abc', post(https), https).href,
      'https://registry.example/v2/a/blobs/uploads/abc',
    );
    // Relative to where the request went: a session that moved to the CDN stays there.
    assert.equal(
      uploadLocation('?part=2', new URL('https://cdn.example/u/1'), https).href,
      'https://cdn.example/u/1?part=2',
    );
  });

  test('plain HTTP upgrades to HTTPS; HTTPS never steps down, unless the registry is plain HTTP by choice', () => {
    assert.equal(uploadLocation('https://cdn.example/u', post(plain), plain).href, 'https://cdn.example/u');
    assert.equal(uploadLocation('http://127.0.0.1:6000/u', post(plain), plain).href, 'http://127.0.0.1:6000/u');
    assert.throws(() => uploadLocation('http://cdn.example/u', post(https), https), refused(/plain HTTP after HTTPS/));
    assert.throws(() => uploadLocation('http://registry.example/u', post(https), https), refused(/plain HTTP/));
    // A plain-HTTP registry whose upload moved to an HTTPS host does not go back to plain HTTP.
    assert.throws(
      () => uploadLocation('http://127.0.0.1:6000/u', new URL('https://cdn.example/u'), plain),
      refused(/plain HTTP after HTTPS/),
    );
  });

  test('anything but HTTP(S), no Location, or not a URL is refused', () => {
    assert.throws(() => uploadLocation('file:///etc/passwd', post(plain), plain), refused(/not HTTP\(S\)/));
    assert.throws(() => uploadLocation('ftp://cdn.example/u', post(https), https), refused(/not HTTP\(S\)/));
    assert.throws(() => uploadLocation(undefined, post(https), https), refused(/without Location/));
    assert.throws(() => uploadLocation('http://[::1', post(https), https), refused(/not a URL/));
  });
});
