// HTTPS_PROXY / HTTP_PROXY / NO_PROXY against a real proxy (Debian's tinyproxy) and real
// registries (docker-registry). Go tools never proxy localhost or loopback addresses, and neither
// does lading, so the registries listen on this machine's first non-loopback IPv4 address.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { lading, ladingOk } from './support/cli.js';
import { Children, freePort } from './support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'lading-proxy-'));
const children = new Children();

function externalAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this test needs a non-loopback IPv4 address (lading, as Go, never proxies loopback)');
}

const addr = externalAddress();
let plain = '';
let secure = '';
let proxy = '';
let proxyLog = '';
const caFile = join(dir, 'registry.crt');
const payload = join(dir, 'payload.txt');

function registryConfig(name: string, port: number, extra: string[]): string {
  const file = join(dir, `${name}.yml`);
  const q = JSON.stringify;
  writeFileSync(
    file,
    [
      'version: 0.1',
      'log: {level: warn}',
      `storage: {filesystem: {rootdirectory: ${q(join(dir, name))}}}`,
      'http:',
      `  addr: ${addr}:${port}`,
      '  secret: proxy-test',
      ...extra,
      '',
    ].join('\n'),
  );
  return file;
}

before(async () => {
  writeFileSync(payload, 'through the proxy\n');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=lading-proxy-test',
      '-addext',
      `subjectAltName=IP:${addr}`,
      '-keyout',
      join(dir, 'registry.key'),
      '-out',
      caFile,
    ],
    { stdio: 'ignore' },
  );
  execFileSync('htpasswd', ['-Bbc', join(dir, 'htpasswd'), 'alice', 'registry-secret'], { stdio: 'ignore' });
  const [plainPort, securePort] = [await freePort(addr), await freePort(addr)];
  const proxyPort = await freePort('127.0.0.1');
  const q = JSON.stringify;
  const start = (command: string, args: string[], log: string) => children.start(command, args, join(dir, log));
  start('docker-registry', ['serve', registryConfig('plain', plainPort, [])], 'plain.log');
  start(
    'docker-registry',
    [
      'serve',
      registryConfig('secure', securePort, [
        `  tls: {certificate: ${q(caFile)}, key: ${q(join(dir, 'registry.key'))}}`,
        `auth: {htpasswd: {realm: proxy-test, path: ${q(join(dir, 'htpasswd'))}}}`,
      ]),
    ],
    'secure.log',
  );
  proxyLog = join(dir, 'tinyproxy.log');
  writeFileSync(proxyLog, '');
  const proxyConf = join(dir, 'tinyproxy.conf');
  writeFileSync(
    proxyConf,
    [
      `Port ${proxyPort}`,
      'Listen 127.0.0.1',
      'Timeout 60',
      'Allow 127.0.0.1',
      'BasicAuth proxyuser proxy-secret',
      'LogLevel Info',
      `LogFile "${proxyLog}"`,
      'MaxClients 20',
      '',
    ].join('\n'),
  );
  start('tinyproxy', ['-d', '-c', proxyConf], 'tinyproxy.out');
  plain = `${addr}:${plainPort}`;
  secure = `${addr}:${securePort}`;
  proxy = `http://proxyuser:proxy-secret@127.0.0.1:${proxyPort}`;
  await Promise.all([
    children.waitForPort(addr, plainPort, 'docker-registry'),
    children.waitForPort(addr, securePort, 'docker-registry (TLS)'),
    children.waitForPort('127.0.0.1', proxyPort, 'tinyproxy'),
  ]);
});

after(() => {
  children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The environment of a lading run: this test's proxy settings only, whatever the machine has. */
function env(vars: Record<string, string>): NodeJS.ProcessEnv {
  const base = { ...process.env };
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) delete base[k];
  return { ...base, DOCKER_CONFIG: join(dir, 'docker-config'), ...vars };
}

const proxyLines = () => readFileSync(proxyLog, 'utf8');

describe('HTTP proxies from the environment (tinyproxy)', () => {
  test('HTTPS through a CONNECT tunnel with proxy credentials; the registry login stays inside the tunnel', async () => {
    const e = env({ HTTPS_PROXY: proxy });
    const creds = ['--ca-file', caFile, '-u', 'alice', '-p', 'registry-secret'];
    await ladingOk(['push', ...creds, `${secure}/proxied/tls:v1`, 'payload.txt'], { cwd: dir, env: e });
    const out = join(dir, 'out-tls');
    await ladingOk(['pull', ...creds, `${secure}/proxied/tls:v1`, '-o', out], { cwd: dir, env: e });
    assert.equal(readFileSync(join(out, 'payload.txt'), 'utf8'), 'through the proxy\n');
    assert.match(proxyLines(), new RegExp(`CONNECT ${secure.replace(/\./g, '\\.')}`));
  });

  test('plain HTTP is sent to the proxy in absolute form', async () => {
    const e = env({ HTTP_PROXY: proxy });
    await ladingOk(['push', '--plain-http', `${plain}/proxied/plain:v1`, 'payload.txt'], { cwd: dir, env: e });
    const r = await ladingOk(['manifest', 'fetch', '--plain-http', `${plain}/proxied/plain:v1`], { env: e });
    assert.match(r.stdout, /payload\.txt/);
    assert.match(proxyLines(), new RegExp(`GET http://${plain.replace(/\./g, '\\.')}/v2/proxied/plain/manifests/v1`));
  });

  test('NO_PROXY reaches the registry directly; a proxy that cannot be reached is then never tried', async () => {
    const before = proxyLines().length;
    const e = env({ HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: `example.com,${addr}` });
    const r = await ladingOk(['manifest', 'fetch', '--plain-http', `${plain}/proxied/plain:v1`], { env: e });
    assert.match(r.stdout, /payload\.txt/);
    assert.equal(proxyLines().length, before);
  });

  test('a proxy that cannot be reached is named as such', async () => {
    const r = await lading(['manifest', 'fetch', '--plain-http', `${plain}/proxied/plain:v1`], {
      env: env({ HTTP_PROXY: 'http://user:pw@127.0.0.1:9' }),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot reach proxy http:\/\/127\.0\.0\.1:9 \(connection refused/);
    assert.doesNotMatch(r.stderr, /user:pw/);
  });

  test('a proxy that refuses says so in one line, naming the proxy but not its password', async () => {
    // tinyproxy answers wrong proxy credentials with a 401 as if it were the registry; none gets its 407.
    const wrong = proxy.replace('proxyuser:proxy-secret@', '');
    const r = await lading(['manifest', 'fetch', '--plain-http', `${plain}/proxied/plain:v1`], {
      env: env({ HTTP_PROXY: wrong }),
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /407/);
    const tls = await lading(['manifest', 'fetch', '--ca-file', caFile, `${secure}/proxied/tls:v1`], {
      env: env({ HTTPS_PROXY: wrong }),
    });
    assert.notEqual(tls.code, 0);
    assert.match(tls.stderr, /through proxy http:\/\/127\.0\.0\.1:\d+/);
    assert.match(tls.stderr, /407/);
    for (const s of [r.stderr, tls.stderr]) {
      assert.doesNotMatch(s, /proxy-secret|proxyuser/);
      assert.equal(s.trim().split('\n').length, 1, s);
    }
  });
});
