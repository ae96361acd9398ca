import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../src/oci/index.js';
import { Registry } from '../src/registry/index.js';
import { pushArtifact } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

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
