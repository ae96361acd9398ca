import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { parseProxyUrl, proxyConfigFromEnv, proxySelector, redactProxy } from './proxy.js';

const via = (noProxy: string | undefined, url: string) =>
  proxySelector({ httpProxy: 'http://p:3128', httpsProxy: 'http://p:3128', noProxy })?.(new URL(url))?.href;

describe('proxy selection (as Go httpproxy)', () => {
  test('the proxy of the request scheme; none for localhost and loopback addresses', () => {
    const select = proxySelector({ httpsProxy: 'https://secure:8443' });
    assert.ok(select);
    assert.equal(select(new URL('https://registry.example/v2/'))?.href, 'https://secure:8443/');
    assert.equal(select(new URL('http://registry.example/v2/')), undefined);
    for (const u of ['https://localhost:5000/', 'https://127.0.0.1/', 'https://127.9.9.9/', 'https://[::1]:5000/']) {
      assert.equal(select(new URL(u)), undefined, u);
    }
    assert.equal(proxySelector({}), undefined);
  });

  test('NO_PROXY: domains with and without a leading dot, wildcards, ports, IPs and CIDR ranges', () => {
    assert.equal(via('example.com', 'https://example.com/'), undefined);
    assert.equal(via('example.com', 'https://a.b.example.com/'), undefined);
    assert.equal(via('example.com', 'https://notexample.com/'), 'http://p:3128/');
    assert.equal(via('.example.com', 'https://example.com/'), 'http://p:3128/');
    assert.equal(via('.example.com', 'https://x.example.com/'), undefined);
    assert.equal(via('*.example.com', 'https://x.example.com/'), undefined);
    assert.equal(via('*.example.com', 'https://example.com/'), 'http://p:3128/');
    assert.equal(via('example.com:5000', 'https://example.com:5000/'), undefined);
    assert.equal(via('example.com:5000', 'https://example.com/'), 'http://p:3128/');
    assert.equal(via('EXAMPLE.com', 'https://Example.COM/'), undefined);
    assert.equal(via('10.0.0.0/8', 'https://10.1.2.3/'), undefined);
    assert.equal(via('10.0.0.0/8', 'https://11.1.2.3/'), 'http://p:3128/');
    assert.equal(via('10.0.0.0/8', 'https://ten.example/'), 'http://p:3128/');
    assert.equal(via('192.0.2.7', 'https://192.0.2.7:443/'), undefined);
    assert.equal(via('192.0.2.7:5000', 'https://192.0.2.7/'), 'http://p:3128/');
    assert.equal(via('fd00::/8', 'https://[fd00::2]/'), undefined);
    assert.equal(via('[fd00::2]:443', 'https://[fd00:0::2]/'), undefined);
    assert.equal(via(' a.test , b.test ', 'https://b.test/'), undefined);
    assert.equal(via('*', 'https://anything/'), undefined);
    assert.equal(via('', 'https://anything/'), 'http://p:3128/');
  });

  test('proxy URLs: a bare host:port is http://; SOCKS and URLs with paths are refused, naming the setting', () => {
    assert.equal(parseProxyUrl('proxy.corp:3128', 'HTTPS_PROXY').href, 'http://proxy.corp:3128/');
    assert.equal(parseProxyUrl('10.0.0.1:3128', 'HTTPS_PROXY').href, 'http://10.0.0.1:3128/');
    assert.equal(parseProxyUrl('https://u:p@proxy.corp', 'x').username, 'u');
    assert.throws(
      () => parseProxyUrl('socks5://proxy:1080', 'HTTPS_PROXY'),
      (e: unknown) => isLadingError(e, 'UNSUPPORTED') && /HTTPS_PROXY/.test((e as Error).message),
    );
    assert.throws(
      () => parseProxyUrl('http://user:secret@proxy/some/path', 'HTTP_PROXY'),
      (e: unknown) => isLadingError(e, 'INVALID_ARGUMENT') && !(e as Error).message.includes('secret'),
    );
    assert.equal(redactProxy('http://user:secret@proxy:3128'), 'http://proxy:3128');
    // A password with a raw /, ? or # does not parse as a URL; none of it shows in the refusal.
    for (const password of ['pa/ss', 'pa?ss', 'pa#ss', 'p@/ss']) {
      assert.equal(redactProxy(`http://user:${password}@proxy:3128`), 'http://proxy:3128');
      assert.throws(
        () => parseProxyUrl(`http://user:${password}@proxy.example:3128`, 'HTTPS_PROXY'),
        (e: unknown) =>
          isLadingError(e, 'INVALID_ARGUMENT') &&
          /HTTPS_PROXY/.test((e as Error).message) &&
          !/ss@|pa[/?#]|user:/.test((e as Error).message),
      );
    }
    assert.throws(
      () => parseProxyUrl('http://user:s3cr%zzet@proxy.example:3128', 'HTTPS_PROXY'),
      (e: unknown) =>
        isLadingError(e, 'INVALID_ARGUMENT') &&
        /bad percent escape/.test((e as Error).message) &&
        !(e as Error).message.includes('s3cr'),
    );
    assert.equal(redactProxy(new URL('http://user:secret@proxy:3128')), 'http://proxy:3128');
  });

  test('environment: upper case before lower case, empty values ignored', () => {
    assert.deepEqual(
      proxyConfigFromEnv({
        HTTPS_PROXY: '',
        https_proxy: 'http://lower:1',
        HTTP_PROXY: 'http://upper:2',
        no_proxy: 'x',
      }),
      { httpProxy: 'http://upper:2', httpsProxy: 'http://lower:1', noProxy: 'x' },
    );
  });
});
