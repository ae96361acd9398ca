import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { Repository } from '../registry/index.js';
import { registryArtifactDestination, registryImageSource } from './image-access.js';
import { parseRepository } from './reference.js';
import { RegistryPool } from './registry-pool.js';

describe('registries that accesses name', () => {
  test('a standalone artifact lands below the target sub path, tagged, over the scheme the target names', async () => {
    const registries = new RegistryPool({ registryOptions: () => ({}) });
    try {
      const destination = registryArtifactDestination(parseRepository('http://registry.example:5000/sub'), registries);
      assert.ok(destination);
      const to = await destination('acme/image:1.0');
      assert.ok(to.target instanceof Repository);
      assert.equal(to.target.name, 'sub/acme/image');
      assert.equal(to.target.registry.baseUrl.href, 'http://registry.example:5000/');
      assert.equal(to.reference, '1.0');
      // The access keeps the target's scheme, as upstream writes it: read back over plain HTTP.
      assert.equal(to.imageReference, 'http://registry.example:5000/sub/acme/image:1.0');
      assert.equal(registryArtifactDestination(parseRepository('./ctf'), registries), undefined);
    } finally {
      await registries.close();
    }
  });

  test('an image reference gets plain HTTP only where the policy allows it; one registry per scheme and host', async () => {
    const registries = new RegistryPool({ registryOptions: () => ({}) });
    try {
      const refused = registryImageSource(registries);
      await assert.rejects(refused('http://registry.example/acme/image:1.0'), (e: unknown) =>
        isLadingError(e, 'DENIED'),
      );
      const allowed = registryImageSource(registries, { allowPlainHttp: (host) => host === 'registry.example' });
      const image = await allowed('http://registry.example/acme/image:1.0');
      assert.ok(image.target instanceof Repository);
      assert.equal(image.reference, '1.0');
      assert.equal(image.target.registry.baseUrl.protocol, 'http:');
      const again = await allowed(`http://registry.example/acme/other@sha256:${'0'.repeat(64)}`);
      assert.ok(again.target instanceof Repository);
      assert.equal(again.target.registry, image.target.registry);
      const secure = await allowed('registry.example/acme/image:1.0');
      assert.ok(secure.target instanceof Repository);
      assert.equal(secure.target.registry.baseUrl.protocol, 'https:');
    } finally {
      await registries.close();
    }
  });
});
