// The browser view's artifact graph is bounded in the bytes it reads, not only in nodes: an index
// that names one large manifest many times is read so far, and the answer stays small.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { OciLayout } from '../src/layout/index.js';
import { MaxGraphBytes } from '../src/server/ui/artifacts.js';
import { layoutStore, startUiServer } from '../src/server/ui/index.js';
import { blobDescriptor, tempDir } from './support/fixtures.js';

test('an index naming one 1 MiB manifest 40 times reads 16 MiB of it, not 40', async () => {
  const work = await tempDir('lading-ui-graph-');
  const layout = await OciLayout.open(join(work.path, 'layout'), { mode: 'create' });
  const config = Buffer.from('{}');
  const configDesc = blobDescriptor(config, 'application/vnd.oci.image.config.v1+json');
  await layout.push(configDesc, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: configDesc,
      layers: [],
      annotations: { filler: 'x'.repeat(1024 * 1024) },
    }),
  );
  const manifestDesc = blobDescriptor(manifest, 'application/vnd.oci.image.manifest.v1+json');
  await layout.push(manifestDesc, manifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: Array.from({ length: 40 }, () => manifestDesc),
    }),
  );
  const indexDesc = blobDescriptor(index, 'application/vnd.oci.image.index.v1+json');
  await layout.push(indexDesc, index);
  await layout.tag(indexDesc, 'wide');
  const server = await startUiServer({ store: layoutStore(layout, 'layout', 'layout') });
  try {
    const r = await fetch(`${server.url}api/artifact?repository=layout&reference=wide`);
    const body = await r.text();
    assert.equal(r.status, 200);
    assert.ok(body.length < MaxGraphBytes + 4 * 1024 * 1024, `an answer of ${body.length} bytes`);
    const view = JSON.parse(body) as { root: { children: { error?: string; annotations?: object }[] } };
    const read = view.root.children.filter((c) => c.annotations);
    assert.equal(read.length, Math.floor(MaxGraphBytes / manifest.length));
    assert.match(view.root.children[39]?.error ?? '', /not read: the view reads at most 16 MiB/);
  } finally {
    await server.close();
    await work.cleanup();
  }
});
