// Mutual TLS against a real registry: Debian's docker-registry with `http.tls.clientcas`, which
// refuses any connection without a certificate its CA signed. lading presents one with ORAS's
// --cert-file/--key-file; skopeo (--cert-dir) reads back what lading pushed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from '../src/registry/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { Children, freePort } from './support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'lading-mtls-'));
const children = new Children();
let host = '';

const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A key and a certificate for `subject`, signed by the test CA, with `extensions` (openssl -extfile). */
function signed(name: string, subject: string, extensions: string[]): void {
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(file(`${name}.ext`), `${extensions.join('\n')}\n`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-sha256',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  );
}

before(async () => {
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-sha256',
    '-days',
    '2',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-subj',
    '/CN=lading-mtls-test-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  signed('server', '/CN=127.0.0.1', [
    'basicConstraints=CA:FALSE',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1',
  ]);
  signed('client', '/CN=lading-mtls-client', ['basicConstraints=CA:FALSE', 'extendedKeyUsage=clientAuth']);
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  const q = JSON.stringify;
  writeFileSync(
    file('registry.yml'),
    [
      'version: 0.1',
      'log: {level: warn}',
      `storage: {filesystem: {rootdirectory: ${q(file('data'))}}}`,
      'http:',
      `  addr: ${host}`,
      '  secret: mtls-test',
      '  tls:',
      `    certificate: ${q(file('server.crt'))}`,
      `    key: ${q(file('server.key'))}`,
      `    clientcas: [${q(file('ca.crt'))}]`,
      '',
    ].join('\n'),
  );
  children.start('docker-registry', ['serve', file('registry.yml')], file('registry.log'));
  await children.waitForPort('127.0.0.1', port, 'docker-registry (mutual TLS)', file('registry.log'));
  // skopeo's --cert-dir: *.crt are CAs, a *.cert with its *.key is the client's pair.
  mkdirSync(file('skopeo-certs'));
  copyFileSync(file('ca.crt'), file('skopeo-certs/ca.crt'));
  copyFileSync(file('client.crt'), file('skopeo-certs/client.cert'));
  copyFileSync(file('client.key'), file('skopeo-certs/client.key'));
  writeFileSync(file('hello.txt'), 'only for certified clients\n');
});

after(() => {
  children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

const trust = () => ['--ca-file', file('ca.crt')];
const identity = () => ['--cert-file', file('client.crt'), '--key-file', file('client.key')];

describe('mutual TLS (docker-registry with clientcas)', () => {
  test('push and pull with --cert-file/--key-file; skopeo reads back the same manifest', async () => {
    const ref = `${host}/mtls/hello:v1`;
    await ladingOk(['push', ...trust(), ...identity(), ref, 'hello.txt'], { cwd: dir });
    const out = file('pulled');
    await ladingOk(['pull', ...trust(), ...identity(), '-o', out, ref]);
    assert.equal(readFileSync(join(out, 'hello.txt'), 'utf8'), 'only for certified clients\n');
    const fetched = await ladingOk(['manifest', 'fetch', ...trust(), ...identity(), ref]);
    const raw = execFileSync('skopeo', ['inspect', '--raw', '--cert-dir', file('skopeo-certs'), `docker://${ref}`], {
      encoding: 'utf8',
    });
    assert.equal(fetched.stdout, raw);
  });

  test('without a client certificate the registry refuses the handshake: one line, exit 1', async () => {
    const r = await lading(['manifest', 'fetch', ...trust(), `${host}/mtls/hello:v1`]);
    assertOneLineError(
      r,
      /refused the TLS handshake \(ERR_SSL_[\w/]+_ALERT_\w+\): it wants a client certificate it trusts \(give one with --cert-file and --key-file\)$/,
    );
    assert.ok(r.stderr.startsWith(`Error: GET https://${host}/v2/mtls/hello/manifests/v1: `), r.stderr);
    assert.equal(r.code, 1);
  });

  test("a key that is not the certificate's, or an encrypted one, is named as such before any connection", async () => {
    openssl('pkey', '-in', 'client.key', '-aes256', '-passout', 'pass:secret', '-out', 'client-encrypted.key');
    const ref = `${host}/mtls/hello:v1`;
    const cases: [string[], RegExp][] = [
      [
        ['--cert-file', file('client.crt'), '--key-file', file('server.key')],
        /^Error: client key .*server\.key is not the key of client certificate .*client\.crt$/m,
      ],
      [
        ['--cert-file', file('client.crt'), '--key-file', file('client-encrypted.key')],
        /^Error: client key .*client-encrypted\.key is encrypted: give the key unencrypted/m,
      ],
      [['--cert-file', file('client.key'), '--key-file', file('client.key')], /client\.key: not a PEM certificate$/m],
      [['--cert-file', file('client.crt'), '--key-file', file('client.crt')], /client\.crt: not a PEM private key$/m],
    ];
    for (const [flags, pattern] of cases) {
      const r = await lading(['manifest', 'fetch', ...trust(), ...flags, ref]);
      assertOneLineError(r, pattern);
      assert.doesNotMatch(r.stderr, /TLS verification|handshake/);
    }
  });

  test('a client with its own CA list loads it into one TLS context, not one per connection', async () => {
    // node:tls as the TLS sockets use it (the CommonJS exports), to count the contexts made.
    const tls = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
    const original = tls.createSecureContext;
    let made = 0;
    tls.createSecureContext = (...args) => {
      made++;
      return original(...args);
    };
    const registry = new Registry(host, {
      caFile: file('ca.crt'),
      certFile: file('client.crt'),
      keyFile: file('client.key'),
    });
    try {
      // Requests at once: each opens a connection of its own.
      await Promise.all([registry.ping(), registry.ping(), registry.ping(), registry.ping()]);
      await registry.ping();
      assert.equal(made, 1);
    } finally {
      tls.createSecureContext = original;
      await registry.close();
    }
  });

  test('--cert-file without --key-file is refused before any connection', async () => {
    const r = await lading([
      'manifest',
      'fetch',
      ...trust(),
      '--cert-file',
      file('client.crt'),
      `${host}/mtls/hello:v1`,
    ]);
    assertOneLineError(r, /--cert-file and --key-file must be used together/);
    assert.notEqual(r.code, 0);
  });
});
