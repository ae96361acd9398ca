// The HTTP/1.1 message parsing of the client, on bytes: what a hostile or broken server can send.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BodyDecoder } from './body.js';
import { type Framing, framingOf, keepsAlive, parseResponseHead, requestHead } from './head.js';

const head = (text: string) => parseResponseHead(Buffer.from(text, 'latin1'));
const bad = (e: unknown) => (e as { code?: string }).code === 'BAD_RESPONSE';

function decode(framing: Framing, pieces: string[]) {
  const got: string[] = [];
  const d = new BodyDecoder(framing, (b) => got.push(b.toString('latin1')));
  let left: Buffer | undefined;
  for (const p of pieces) left = d.feed(Buffer.from(p, 'latin1'));
  return { body: got.join(''), done: d.done, left: left?.toString('latin1') };
}

describe('HTTP/1.1 heads', () => {
  test('a response head: status, lower-case names, repeats joined as Node joins them', () => {
    const h = head(
      'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="a"\r\nwww-authenticate: Basic realm="b"\r\n' +
        'Content-Type: a/b\r\nContent-Type: c/d\r\nSet-Cookie: x=1\r\nSet-Cookie: y=2\r\nX-Empty:\r\nDocker-Content-Digest:  sha256:ab \t',
    );
    assert.equal(h.status, 401);
    assert.equal(h.minor, 1);
    assert.equal(h.headers['www-authenticate'], 'Bearer realm="a", Basic realm="b"');
    assert.equal(h.headers['content-type'], 'a/b');
    assert.deepEqual(h.headers['set-cookie'], ['x=1', 'y=2']);
    assert.equal(h.headers['x-empty'], '');
    assert.equal(h.headers['docker-content-digest'], 'sha256:ab');
    assert.equal(Object.getPrototypeOf(head('HTTP/1.1 200 OK\r\n__proto__: x').headers), Object.prototype);
  });

  test('refused: a bad status line, folded or nameless lines, bad names, control characters, conflicting lengths', () => {
    for (const text of [
      'HTTP/2 200 OK',
      'HTTP/1.1 99 Low',
      'HTTP/1.1 200OK',
      'ICY 200 OK',
      'HTTP/1.1 200 OK\r\nA: b\r\n folded',
      'HTTP/1.1 200 OK\r\n: empty name',
      'HTTP/1.1 200 OK\r\nBad Name: x',
      'HTTP/1.1 200 OK\r\nA: b\x00c',
      'HTTP/1.1 200 OK\r\nA: b\rc',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2',
      `HTTP/1.1 200 OK${'\r\nA: b'.repeat(300)}`,
    ]) {
      assert.throws(() => head(text), bad, JSON.stringify(text));
    }
    assert.equal(head('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5').headers['content-length'], '5');
  });

  test('framing: none for HEAD, 204 and 304; chunked; a length; else until the connection closes', () => {
    assert.deepEqual(framingOf(head('HTTP/1.1 200 OK\r\nContent-Length: 9'), 'HEAD'), { kind: 'none' });
    assert.deepEqual(framingOf(head('HTTP/1.1 204 No Content'), 'DELETE'), { kind: 'none' });
    assert.deepEqual(framingOf(head('HTTP/1.1 304 Not Modified'), 'GET'), { kind: 'none' });
    assert.deepEqual(framingOf(head('HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked'), 'GET'), { kind: 'chunked' });
    assert.deepEqual(framingOf(head('HTTP/1.1 200 OK\r\nContent-Length: 12'), 'GET'), { kind: 'length', length: 12 });
    assert.deepEqual(framingOf(head('HTTP/1.0 200 OK'), 'GET'), { kind: 'close' });
    for (const text of [
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked',
      'HTTP/1.1 200 OK\r\nContent-Length: -1',
      'HTTP/1.1 200 OK\r\nContent-Length: 1e3',
      'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999',
    ]) {
      assert.throws(() => framingOf(head(text), 'GET'), bad, text);
    }
  });

  test('keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with keep-alive', () => {
    assert.equal(keepsAlive(head('HTTP/1.1 200 OK')), true);
    assert.equal(keepsAlive(head('HTTP/1.1 200 OK\r\nConnection: Close')), false);
    assert.equal(keepsAlive(head('HTTP/1.1 200 OK\r\nConnection: upgrade, close')), false);
    assert.equal(keepsAlive(head('HTTP/1.0 200 OK')), false);
    assert.equal(keepsAlive(head('HTTP/1.0 200 OK\r\nConnection: keep-alive')), true);
  });

  test('a request head: fields as given; CR, LF and NUL in a name, value, method or path are refused', () => {
    assert.equal(
      requestHead('GET', '/v2/a/manifests/b?x=1', { Host: 'r.example', Accept: 'a/b' }),
      'GET /v2/a/manifests/b?x=1 HTTP/1.1\r\nHost: r.example\r\nAccept: a/b\r\n\r\n',
    );
    const invalid = (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_CHAR';
    assert.throws(() => requestHead('GET', '/', { 'X-A': 'b\r\nInjected: yes' }), invalid);
    assert.throws(() => requestHead('GET', '/', { 'X-A\r\nB': 'c' }), invalid);
    assert.throws(() => requestHead('GET', '/', { 'X-A': 'nul\x00' }), invalid);
    assert.throws(() => requestHead('GET', '/', { 'X-A': 'wide \u2028' }), invalid);
    assert.throws(() => requestHead('GET /x HTTP/1.1\r\n', '/', {}), invalid);
    assert.throws(() => requestHead('GET', '/a b', {}), invalid);
  });
});

describe('HTTP/1.1 bodies', () => {
  test('a length: the bytes due, however they are split, and what follows them is left over', () => {
    assert.deepEqual(decode({ kind: 'length', length: 5 }, ['ab', 'cdeXY']), { body: 'abcde', done: true, left: 'XY' });
    assert.deepEqual(decode({ kind: 'length', length: 5 }, ['ab']), { body: 'ab', done: false, left: undefined });
    assert.deepEqual(decode({ kind: 'length', length: 0 }, ['']), { body: '', done: true, left: '' });
  });

  test('chunked: sizes in hex, extensions and trailers skipped, split anywhere', () => {
    const wire = '5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer-A: x\r\n\r\nNEXT';
    for (let cut = 0; cut <= wire.length; cut++) {
      const got = decode({ kind: 'chunked' }, [wire.slice(0, cut), wire.slice(cut)]);
      assert.equal(got.body, 'hello0123456789', `cut at ${cut}`);
      assert.equal(got.done, true);
      assert.equal(got.left, cut <= wire.length - 4 ? 'NEXT' : wire.slice(cut));
    }
    const bytewise = decode({ kind: 'chunked' }, [...'3\r\nabc\r\n0\r\n\r\n']);
    assert.deepEqual([bytewise.body, bytewise.done], ['abc', true]);
  });

  test('chunked framing that lies is refused: bad sizes, data past its size, bare LF, endless lines', () => {
    for (const wire of [
      'x\r\nabc\r\n',
      '-1\r\n',
      '3\r\nabcd\r\n0\r\n\r\n',
      '3\nabc\r\n',
      `${'1'.repeat(14)}\r\n`,
      `1;${'e'.repeat(5000)}`,
      '0\r\nbad trailer\r\n\r\n',
    ]) {
      assert.throws(() => decode({ kind: 'chunked' }, [wire]), bad, JSON.stringify(wire.slice(0, 40)));
    }
  });

  test('until close: everything is body', () => {
    assert.deepEqual(decode({ kind: 'close' }, ['ab', 'cd']), { body: 'abcd', done: false, left: undefined });
  });
});
