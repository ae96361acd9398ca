import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkRealmAddress,
  cleanScopes,
  parseWwwAuthenticate,
  pickChallenge,
  refuseCleartextRealm,
  validateRealm,
} from './auth/index.js';
import { parseErrorBody, RegistryResponseError } from './errors.js';
import { nextPageUrl } from './link.js';
import { hasUserinfo, redactUrl, redactUserinfo } from './redact.js';
import { backoffMs, defaultRetryPolicy, parseRetryAfter } from './retry.js';

describe('WWW-Authenticate parsing', () => {
  test('a distribution Bearer challenge', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="https://auth.example.io/token",service="registry.example.io",scope="repository:a/b:pull,push"',
    );
    assert.deepEqual(c, {
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.io/token',
        service: 'registry.example.io',
        scope: 'repository:a/b:pull,push',
      },
    });
  });

  test('schemes and parameter names are case-insensitive; quoted strings unescape', () => {
    const [c] = parseWwwAuthenticate('BEARER Realm="a \\"quoted\\" realm, with comma" , ERROR=invalid_token');
    assert.equal(c?.scheme, 'bearer');
    assert.deepEqual(c?.params, { realm: 'a "quoted" realm, with comma', error: 'invalid_token' });
  });

  test('several challenges in one value and across values, token68 included', () => {
    const all = parseWwwAuthenticate([
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
      'Negotiate abc123==, Bearer realm="https://r/t"',
    ]);
    assert.deepEqual(
      all.map((c) => c.scheme),
      ['newauth', 'basic', 'negotiate', 'bearer'],
    );
    assert.deepEqual(all[0]?.params, { realm: 'apps', type: '1', title: 'Login to "apps"' });
    assert.equal(all[2]?.token68, 'abc123==');
    assert.equal(pickChallenge(all)?.scheme, 'bearer');
    assert.equal(pickChallenge(parseWwwAuthenticate('Basic realm="x"'))?.scheme, 'basic');
  });

  test('lenient about unquoted URLs and stray separators; empty input is no challenge', () => {
    const [c] = parseWwwAuthenticate(', Bearer realm=https://auth.io/token?x=1 ,service=svc,,');
    assert.deepEqual(c?.params, { realm: 'https://auth.io/token?x=1', service: 'svc' });
    assert.deepEqual(parseWwwAuthenticate(''), []);
    assert.deepEqual(parseWwwAuthenticate(undefined), []);
    assert.deepEqual(parseWwwAuthenticate('Basic'), [{ scheme: 'basic', params: {} }]);
  });
});

describe('scopes', () => {
  test('merge actions per resource, * wins, sorted', () => {
    assert.deepEqual(
      cleanScopes([
        'repository:a:push',
        'repository:a:pull',
        'repository:b:pull repository:b:*',
        'registry:catalog:*',
        'repository:host:5000/c:pull',
        'repository:a:pull',
      ]),
      ['registry:catalog:*', 'repository:a:pull,push', 'repository:b:*', 'repository:host:5000/c:pull'],
    );
  });
});

describe('token realm validation', () => {
  const https = new URL('https://registry.example.io');
  const local = new URL('http://127.0.0.1:5000');
  test('accepts https realms and a plain realm beside a plain registry on the same host', () => {
    assert.equal(validateRealm('https://auth.example.io/token', https).host, 'auth.example.io');
    assert.equal(validateRealm('http://127.0.0.1:5559/token', local).port, '5559');
  });
  test('refuses other schemes, downgrades, userinfo and internal addresses of another host', () => {
    assert.throws(() => validateRealm('file:///etc/passwd', https), /unsupported scheme/);
    assert.throws(() => validateRealm('http://auth.example.io/token', https), /plain HTTP/);
    // A plain-HTTP registry's challenge may name a plain-HTTP realm elsewhere (an anonymous token),
    // but credentials are never sent there in the clear.
    const plain = new URL('http://registry.example.io:5000');
    const evil = validateRealm('http://evil.example/token', plain);
    assert.throws(() => refuseCleartextRealm(evil, plain), /plain HTTP on another host/);
    assert.throws(() => refuseCleartextRealm(new URL('http://auth.example.io/token'), local), /on another host/);
    assert.doesNotThrow(() => refuseCleartextRealm(new URL('http://REGISTRY.example.io:5001/token'), plain));
    assert.doesNotThrow(() => refuseCleartextRealm(new URL('https://auth.example.io/token'), plain));
    assert.throws(() => validateRealm('https://u:p@auth.example.io/', https), /user information/);
    assert.throws(() => validateRealm('https://169.254.169.254/latest', https), /internal address/);
    assert.throws(() => validateRealm('https://10.0.0.1/token', https), /internal address/);
    assert.throws(() => validateRealm('https://[::1]/token', https), /internal address/);
    // The same hosts written otherwise: a trailing dot, IPv4 inside IPv6, shared and NAT64 ranges.
    for (const host of [
      'localhost.',
      '[::7f00:1]',
      '[::127.0.0.1]',
      '[64:ff9b::a9fe:a9fe]',
      '100.64.0.1',
      '[fec0::1]',
    ]) {
      assert.throws(() => validateRealm(`https://${host}/token`, https), /internal address/, host);
    }
    assert.equal(validateRealm('https://auth.example.io./token', https).hostname, 'auth.example.io.');
    assert.throws(() => validateRealm(undefined, https), /missing/);
    assert.throws(() => validateRealm('not a url', https), /not a URL/);
    // A realm is the registry's text: control characters reach the message escaped, for library callers too.
    assert.throws(
      () => validateRealm('\u009b2J\x1b]0;owned\x07', https),
      (e: Error) => /not a URL/.test(e.message) && [...e.message].every((c) => c >= ' ' && c <= '~'),
    );
  });
  test('a local registry may name its token server by another loopback name, a private one another private address', () => {
    const localhost = new URL('http://localhost:5000');
    for (const [realm, registry] of [
      ['http://127.0.0.1:5001/auth', localhost],
      ['http://localhost:5001/auth', local],
      ['http://[::1]:5001/auth', localhost],
      ['http://127.0.0.2:5001/auth', new URL('http://[::1]:5000')],
    ] as const) {
      const url = validateRealm(realm, registry);
      // The password stays on this machine: it may go there in the clear, as to the registry.
      assert.doesNotThrow(() => refuseCleartextRealm(url, registry), `${realm} for ${registry.host}`);
    }
    const lan = new URL('https://192.168.1.10:5000');
    assert.equal(validateRealm('https://192.168.1.11/auth', lan).hostname, '192.168.1.11');
    assert.equal(validateRealm('https://10.1.2.3/auth', localhost).hostname, '10.1.2.3');
    // Not this machine for a registry elsewhere, not link-local (cloud metadata) for anyone, and no
    // password in the clear to another private host.
    assert.throws(() => validateRealm('https://127.0.0.1/auth', lan), /internal address/);
    assert.throws(() => validateRealm('https://localhost/auth', lan), /internal address/);
    assert.throws(() => validateRealm('http://169.254.169.254/latest', localhost), /internal address/);
    assert.throws(() => validateRealm('https://169.254.169.254/latest', lan), /internal address/);
    assert.throws(() => validateRealm('https://10.0.0.1/auth', https), /internal address/);
    assert.throws(
      () => refuseCleartextRealm(new URL('http://192.168.1.11/auth'), new URL('http://192.168.1.10:5000')),
      /on another host/,
    );
    // A subdomain of localhost is a DNS question where systemd-resolved does not answer it: not this
    // machine for sure, so no password in the clear, and no internal address for a remote registry.
    assert.throws(
      () => refuseCleartextRealm(new URL('http://evil.localhost:5001/auth'), new URL('http://localhost:5000')),
      /on another host/,
    );
    assert.throws(() => validateRealm('http://evil.localhost:5001/auth', local), /internal address/);
  });
});

describe('errors and redaction', () => {
  test('spec error bodies map to codes and read like oras', () => {
    const errors = parseErrorBody('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}');
    const e = new RegistryResponseError({
      method: 'GET',
      url: 'http://127.0.0.1:5000/v2/x/manifests/v1',
      status: 404,
      errors,
    });
    assert.equal(e.code, 'NOT_FOUND');
    assert.equal(
      e.message,
      'GET http://127.0.0.1:5000/v2/x/manifests/v1: 404 Not Found: manifest unknown: manifest unknown',
    );
    assert.equal(new RegistryResponseError({ method: 'PUT', url: 'http://h/', status: 401 }).code, 'UNAUTHORIZED');
    assert.equal(new RegistryResponseError({ method: 'PUT', url: 'http://h/', status: 403 }).code, 'DENIED');
    const blobUnknown = parseErrorBody('{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown"}]}');
    assert.equal(
      new RegistryResponseError({ method: 'PUT', url: 'http://h/', status: 400, errors: blobUnknown }).code,
      'NOT_FOUND',
    );
    assert.equal(new RegistryResponseError({ method: 'GET', url: 'http://h/', status: 500 }).code, 'REGISTRY_ERROR');
    // Distribution names the missing blob in `detail`: the one line says which.
    const named = parseErrorBody(
      '{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:abc"}]}',
    );
    assert.equal(
      new RegistryResponseError({ method: 'PUT', url: 'http://h/', status: 400, errors: named }).message,
      'PUT http://h/: 400 Bad Request: manifest blob unknown: blob unknown to registry (sha256:abc)',
    );
    const nested = parseErrorBody('{"errors":[{"code":"DENIED","message":"no","detail":[{"Type":"repository"}]}]}');
    assert.match(
      new RegistryResponseError({ method: 'GET', url: 'http://h/', status: 403, errors: nested }).message,
      /: denied: no$/,
    );
    assert.deepEqual(parseErrorBody('404 page not found'), []);
    assert.deepEqual(parseErrorBody('{"errors":"nope"}'), []);
  });

  test('URLs lose userinfo and signing parameters', () => {
    assert.equal(
      redactUrl('https://user:pw@s3.example/bucket/o?X-Amz-Signature=abc&X-Amz-Credential=k&keep=1'),
      'https://s3.example/bucket/o?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&keep=1',
    );
    assert.equal(
      redactUrl('http://h/v2/x/blobs/uploads/u?_state=abc&digest=sha256:1'),
      'http://h/v2/x/blobs/uploads/u?_state=REDACTED&digest=sha256%3A1',
    );
    assert.equal(redactUrl('::'), '<invalid url>');
  });

  test('user names and passwords of URLs inside a text are masked', () => {
    assert.equal(
      redactUserinfo('invalid "http://testuser:URLSECRET@127.0.0.1:5000/ocm" and https://tok@h/x, not repo@sha256:ab'),
      'invalid "http://***@127.0.0.1:5000/ocm" and https://***@h/x, not repo@sha256:ab',
    );
    assert.equal(redactUserinfo('"https://u:SE@CRET@h/x//a.org/c:1.0.0"'), '"https://***@h/x//a.org/c:1.0.0"');
    assert.equal(
      redactUserinfo('invalid registry host "u:SECRET@127.0.0.1:5000", not repo:v1@sha256:0123ab'),
      'invalid registry host "***@127.0.0.1:5000", not repo:v1@sha256:0123ab',
    );
    assert.equal(hasUserinfo('https://u:p@h/x'), true);
    assert.equal(hasUserinfo('u:SECRET@127.0.0.1:5000/x'), true);
    assert.equal(hasUserinfo('h/x@sha256:ab'), false);
    assert.equal(hasUserinfo('h/x:v1@sha256:ab'), false);
  });
});

describe('retry timing and pagination', () => {
  test('Retry-After as seconds or an HTTP date; backoff stays in its window', () => {
    assert.equal(parseRetryAfter('3'), 3000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('garbage'), undefined);
    assert.equal(backoffMs(defaultRetryPolicy, 0, 120_000), 30_000);
    for (let attempt = 0; attempt < 8; attempt++) {
      const ms = backoffMs(defaultRetryPolicy, attempt);
      assert.ok(ms >= 200 && ms <= 3000, `attempt ${attempt}: ${ms}`);
    }
  });

  test('Link rel="next" resolves against the request; another origin is refused', () => {
    const base = new URL('http://r:5000/v2/_catalog?n=1');
    assert.equal(
      nextPageUrl('</v2/_catalog?last=a&n=1>; rel="next"', base)?.href,
      'http://r:5000/v2/_catalog?last=a&n=1',
    );
    assert.equal(nextPageUrl('<http://r:5000/x>; rel=prev, <http://r:5000/y>; rel=next', base)?.pathname, '/y');
    assert.equal(nextPageUrl(undefined, base), undefined);
    assert.throws(() => nextPageUrl('<https://r:5000/y>; rel="next"', base), /another origin/);
  });
});

describe('checkRealmAddress: a realm name is held to the rule of the address it resolves to', () => {
  const realm = new URL('https://auth.example.io/token');
  const registry = new URL('https://registry.example.io');
  test('public registry: an internal answer is refused, a public one taken', () => {
    for (const address of ['127.0.0.1', '10.0.0.5', '169.254.169.254', '::1', '::ffff:127.0.0.1', 'fd00::1']) {
      assert.throws(() => checkRealmAddress(realm, address, registry, '203.0.113.7'), /internal address/, address);
    }
    assert.doesNotThrow(() => checkRealmAddress(realm, '203.0.113.8', registry, '203.0.113.7'));
  });
  test('beside the registry: the same name anywhere; private beside private or loopback; loopback beside loopback', () => {
    assert.doesNotThrow(() => checkRealmAddress(new URL('https://registry.example.io:5001/t'), '10.0.0.5', registry));
    assert.doesNotThrow(() => checkRealmAddress(realm, '10.0.0.5', registry, '10.0.0.4'));
    assert.doesNotThrow(() => checkRealmAddress(realm, '192.168.1.2', registry, '::ffff:127.0.0.1'));
    assert.doesNotThrow(() => checkRealmAddress(realm, '127.0.0.1', new URL('http://localhost:5000'), undefined));
    assert.throws(() => checkRealmAddress(realm, '127.0.0.1', registry, '10.0.0.4'), /internal address/);
    assert.throws(() => checkRealmAddress(realm, '169.254.169.254', registry, '10.0.0.4'), /internal address/);
    // No peer address known (a proxy): only the registry's name counts.
    assert.throws(() => checkRealmAddress(realm, '10.0.0.5', registry, undefined), /internal address/);
  });
});

describe("an attacker's pass over token realms (session 23)", () => {
  const registry = new URL('https://registry.example.io');
  const realm = new URL('https://auth.example.io/token');
  test('an IPv6 address that carries an IPv4 one is judged by that IPv4 address', () => {
    // DNS64 (an IPv6-only network, AWS's NAT64 included) answers every IPv4-only name, auth.docker.io
    // among them, with 64:ff9b::a.b.c.d: a public address behind it is a public token server.
    for (const address of ['64:ff9b::3425:4d18', '64:ff9b::52.37.77.24', '::ffff:808:808', '::ffff:0:808:808']) {
      assert.doesNotThrow(() => checkRealmAddress(realm, address, registry, '203.0.113.7'), address);
      assert.doesNotThrow(() => validateRealm(`https://[${address}]/token`, registry), address);
    }
    // 6to4 and Teredo carry an IPv4 address too: an internal one is internal whatever wraps it;
    // a local-use NAT64 prefix (RFC 8215) is the operator's own network.
    for (const address of [
      '2002:7f00:1::1',
      '2002:a9fe:a9fe::',
      '2002:a00:1::',
      '2001:0:4136:e378:8000:63bf:80ff:fffe',
      '2001:0:a9fe:a9fe::1',
      '64:ff9b:1::a9fe:a9fe',
      '::ffff:0:a9fe:a9fe',
      '64:ff9b::a00:1',
    ]) {
      assert.throws(() => checkRealmAddress(realm, address, registry, '203.0.113.7'), /internal address/, address);
      assert.throws(() => validateRealm(`https://[${address}]/token`, registry), /internal address/, address);
    }
    // The hex spelling of a mapped loopback address is loopback, as its dotted spelling was.
    const local = new URL('http://localhost:5000');
    assert.doesNotThrow(() => checkRealmAddress(realm, '::ffff:7f00:1', local, undefined));
    assert.doesNotThrow(() => checkRealmAddress(realm, '10.0.0.5', registry, '::ffff:a00:4'));
    const mapped = validateRealm('http://[::ffff:127.0.0.1]:5001/token', local);
    assert.doesNotThrow(() => refuseCleartextRealm(mapped, local));
    // NAT64 of this machine is not this machine: the gateway's, refused even beside a local registry.
    assert.throws(() => validateRealm('http://[64:ff9b::7f00:1]:5001/token', local), /internal address/);
    assert.throws(() => checkRealmAddress(realm, '64:ff9b::7f00:1', local, '127.0.0.1'), /internal address/);
  });
  test("a literal realm is judged as a resolved one: by the registry's name or the address its challenge came from", () => {
    const lan = new URL('https://registry.corp.example');
    assert.equal(validateRealm('https://10.0.0.5/token', lan, '10.0.0.4').hostname, '10.0.0.5');
    assert.equal(validateRealm('https://127.0.0.1:5001/token', lan, '127.0.0.1').hostname, '127.0.0.1');
    assert.throws(() => validateRealm('https://10.0.0.5/token', lan, '203.0.113.7'), /internal address/);
    assert.throws(() => validateRealm('https://10.0.0.5/token', lan), /internal address/);
    assert.throws(() => validateRealm('https://169.254.169.254/token', lan, '10.0.0.4'), /internal address/);
    assert.throws(() => validateRealm('https://127.0.0.1/token', lan, '10.0.0.4'), /internal address/);
  });
  test('a realm too long for any token server is refused in a short line', () => {
    for (const raw of [
      `https://auth.example.io/${'p'.repeat(60_000)}`,
      `https://${'a'.repeat(60_000)}.example/token`,
      `https://${'a'.repeat(64)}.example/token`,
      `https://${`${'a'.repeat(60)}.`.repeat(5)}example/token`,
    ]) {
      assert.throws(
        () => validateRealm(raw, registry),
        (e: Error) => /too long|not a host name/.test(e.message) && e.message.length < 300,
        raw.slice(0, 40),
      );
    }
    assert.equal(validateRealm(`https://${'a'.repeat(63)}.example/${'p'.repeat(900)}`, registry).hostname.length, 71);
  });
});
