import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isLadingError } from '../src/oci/index.js';
import { Registry } from '../src/registry/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { pushArtifact } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';
import { Children, freePort } from './support/processes.js';

const peers = loadPeers();

/** Token-auth cases that need the token server's help: expired tokens and missing scopes. */
describe('token auth against the real registry: renewal and scopes', () => {
  test('an expired token is renewed and the push completes', async () => {
    const { host, password } = peers.token;
    const registry = new Registry(host, {
      plainHttp: true,
      credentials: async (h) => (h === host ? { username: 'expiring', password } : undefined),
    });
    try {
      const repo = registry.repository(`token/expiring-${process.pid}`, { push: true });
      const { manifest } = await pushArtifact(repo, { 'a.txt': 'renewed' });
      await repo.tag(manifest, 'v1');
      assert.equal((await repo.resolve('v1')).digest, manifest.digest);
    } finally {
      await registry.close();
    }
  });

  test('a token without push scope is refused with a clear error, and nothing is tagged', async () => {
    const { host, password } = peers.token;
    const registry = new Registry(host, {
      plainHttp: true,
      credentials: async (h) => (h === host ? { username: 'reader', password } : undefined),
    });
    try {
      const repo = registry.repository(`token/reader-${process.pid}`, { push: true });
      await assert.rejects(
        () => pushArtifact(repo, { 'a.txt': 'nope' }),
        (e) =>
          (isLadingError(e, 'UNAUTHORIZED') || isLadingError(e, 'DENIED')) &&
          !String((e as Error).message).includes(password) &&
          // The registry's body only says "authentication required"; its challenge says which right is missing.
          /\(insufficient_scope: the token does not grant repository:token\/reader-\d+:[a-z,]*push/.test(
            String((e as Error).message),
          ),
      );
      await assert.rejects(
        () => repo.resolve('v1'),
        (e) => isLadingError(e) && e.code !== 'NETWORK_ERROR',
      );
    } finally {
      await registry.close();
    }
  });
});

describe('a TLS registry and its token server on the same host, both with a certificate nobody trusts', () => {
  test("--insecure covers the token server on the registry host's other port, as in ORAS; without it both are verified", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lading-tls-token-'));
    const children = new Children();
    const tls = join(peers.dir, 'tls');
    // The realm: HTTPS with the registry's certificate, in front of the peers' token server.
    const realm = createServer(
      { cert: await readFile(join(tls, 'registry.crt')), key: await readFile(join(tls, 'registry.key')) },
      (req, res) => {
        const upstream = new URL(req.url ?? '/', peers.token.tokenServer.url);
        const headers = req.headers.authorization ? { authorization: req.headers.authorization } : {};
        const forward = request(upstream, { headers, method: 'GET', agent: false }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', () => res.destroy());
        forward.end();
      },
    );
    try {
      const realmPort = await freePort();
      await new Promise<void>((resolve) => realm.listen(realmPort, '127.0.0.1', resolve));
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const q = JSON.stringify;
      await writeFile(
        join(dir, 'registry.yml'),
        [
          'version: 0.1',
          'log: {level: warn}',
          `storage: {filesystem: {rootdirectory: ${q(join(dir, 'data'))}}}`,
          'http:',
          `  addr: ${host}`,
          '  secret: tls-token-test',
          `  tls: {certificate: ${q(join(tls, 'registry.crt'))}, key: ${q(join(tls, 'registry.key'))}}`,
          'auth:',
          '  token:',
          `    realm: https://127.0.0.1:${realmPort}/token`,
          `    service: ${q(peers.token.tokenServer.service)}`,
          `    issuer: ${q(peers.token.tokenServer.issuer)}`,
          `    rootcertbundle: ${q(join(tls, 'token-signing.crt'))}`,
          '',
        ].join('\n'),
      );
      children.start('docker-registry', ['serve', join(dir, 'registry.yml')], join(dir, 'registry.log'));
      await children.waitForPort('127.0.0.1', port, 'docker-registry (TLS + token)', join(dir, 'registry.log'));
      await writeFile(join(dir, 'f.txt'), 'behind two self-signed servers\n');
      const { username, password } = peers.token;
      const ref = `${host}/insecure/token:v1`;
      await ladingOk(['push', '--insecure', '-u', username, '--password-stdin', ref, 'f.txt'], {
        cwd: dir,
        input: `${password}\n`,
      });
      await ladingOk(['pull', '--insecure', ref, '-o', join(dir, 'out')]);
      assert.equal(await readFile(join(dir, 'out', 'f.txt'), 'utf8'), 'behind two self-signed servers\n');
      // With the CA, both verify; with neither, the registry's certificate is refused.
      await ladingOk(['resolve', '--ca-file', join(tls, 'ca.crt'), ref]);
      assertOneLineError(await lading(['resolve', ref]), new RegExp(`TLS verification of ${host} failed`));
    } finally {
      children.killAll();
      await new Promise((resolve) => realm.close(resolve));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
