import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientNetwork } from './client-address.js';
import { Htpasswd } from './htpasswd.js';
import { isValidRepositoryName, repositoryParts } from './names.js';
import { parseAddr } from './server.js';
import { summarise } from './storage.js';

describe('server', () => {
  test('repository names: the spec grammar, and no layout file name as a component', () => {
    assert.deepEqual(repositoryParts('myorg/my-repo_1/x.y'), ['myorg', 'my-repo_1', 'x.y']);
    for (const bad of [
      '',
      '..',
      '../x',
      'a/../b',
      'A',
      'a//b',
      '/a',
      'a/',
      '.a',
      '_a',
      'a/blobs',
      'blobs',
      'a/index.json',
      'a/oci-layout',
      'a%2fb',
      'a\\b',
      `${'a'.repeat(256)}`,
    ]) {
      assert.equal(isValidRepositoryName(bad), false, bad);
    }
    assert.throws(() => repositoryParts('a/blobs/c'), { code: 'INVALID_REFERENCE', message: /"blobs" is reserved/ });
  });

  test('htpasswd: bcrypt entries only, checked with the memo', async () => {
    // htpasswd -Bbn u p (cost 5)
    const file = Htpasswd.parse(
      '# comment\nu:$2y$05$ihh.EjLW5GDQhe38v8d7tOyHBgvU8or4Iz4qDbRkgHZ4hFM8cV6tW\n',
      'htpasswd',
    );
    assert.equal(await file.check('u', 'p'), true);
    assert.equal(await file.check('u', 'p'), true);
    assert.equal(await file.check('u', 'q'), false);
    assert.equal(await file.check('v', 'p'), false);
    assert.throws(() => Htpasswd.parse('u:{SHA}abc\n', 'f'), {
      code: 'INVALID_ARGUMENT',
      message: /^f:1: not a bcrypt entry/,
    });
    assert.throws(() => Htpasswd.parse('\n', 'f'), { message: /no users/ });
  });

  test('htpasswd: a flood of wrong passwords queues at most 64 checks; the rest are refused as busy, a remembered login still passes', async () => {
    const file = Htpasswd.parse('u:$2y$05$ihh.EjLW5GDQhe38v8d7tOyHBgvU8or4Iz4qDbRkgHZ4hFM8cV6tW\n', 'htpasswd');
    assert.equal(await file.check('u', 'p'), true);
    const flood = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => file.check('u', `wrong${i}`)));
    const refused = flood.filter(
      (r) =>
        r.status === 'rejected' &&
        (r.reason as Error).name === 'ServerBusy' &&
        /password checks are waiting/.test((r.reason as Error).message),
    );
    // Two run at once and 64 wait: every other one is turned away at once.
    assert.equal(refused.length, 100 - 2 - 64);
    assert.ok(flood.every((r) => r.status === 'rejected' || r.value === false));
    assert.equal(await file.check('u', 'p'), true);
  });

  test('client networks for per-client limits: IPv4 as itself, IPv4-mapped as IPv4, IPv6 by its /64', () => {
    assert.equal(clientNetwork('192.0.2.7'), '192.0.2.7');
    assert.equal(clientNetwork('::ffff:192.0.2.7'), '192.0.2.7');
    assert.equal(clientNetwork('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(clientNetwork('2001:db8:1:2::ff'), '2001:db8:1:2::/64');
    assert.equal(clientNetwork('2001:0db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientNetwork('::1'), '0:0:0:0::/64');
    assert.equal(clientNetwork('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientNetwork(''), '');
  });

  test('--addr', () => {
    assert.deepEqual(parseAddr('127.0.0.1:5000'), { host: '127.0.0.1', port: 5000 });
    assert.deepEqual(parseAddr(':0'), { host: '0.0.0.0', port: 0 });
    assert.deepEqual(parseAddr('[::1]:5001'), { host: '::1', port: 5001 });
    for (const bad of ['5000', 'host', 'a:99999', 'a:b'])
      assert.throws(() => parseAddr(bad), { code: 'INVALID_ARGUMENT' });
  });

  test('referrers summary: artifactType, or the config media type of an image manifest', () => {
    const subject = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${'a'.repeat(64)}`,
      size: 1,
    };
    const config = { mediaType: 'application/vnd.example.config', digest: `sha256:${'b'.repeat(64)}`, size: 2 };
    const m = (extra: object) =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: [], subject, ...extra }));
    const type = 'application/vnd.oci.image.manifest.v1+json';
    assert.equal(summarise(m({}), type).artifactType, 'application/vnd.example.config');
    assert.equal(summarise(m({ artifactType: 'x/y' }), type).artifactType, 'x/y');
    assert.equal(summarise(m({}), type).subject, subject.digest);
    assert.deepEqual(summarise(m({}), type).children, [config]);
    assert.deepEqual(summarise(Buffer.from('not json'), type).children, []);
    assert.deepEqual(summarise(m({ annotations: { a: 'b' } }), type).annotations, { a: 'b' });
    // Stored before pushes checked annotations: nested too deep for JSON.stringify, so left out,
    // not a failure of every referrers query of the repository.
    const depth = 200_000;
    const deep = Buffer.from(
      `{"schemaVersion":2,"config":${JSON.stringify(config)},"layers":[],"annotations":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
    );
    const summary = summarise(deep, type);
    assert.equal(summary.annotations, undefined);
    assert.deepEqual(summary.children, [config]);
  });
});
