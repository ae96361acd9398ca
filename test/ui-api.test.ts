// The browser view's JSON API and downloads without a browser: an OCI layout store, pages,
// downloads of content that no longer matches its digest, and the static files' safety.
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { ctfStore, layoutStore, startUiServer, type UiServer } from '../src/server/ui/index.js';
import { ladingOk } from './support/cli.js';
import { overwriteStored, pushArtifact, pushImage, tempDir } from './support/fixtures.js';

const assets = new URL('../src/server/ui/assets/', import.meta.url);

async function json(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

/** Reads a download to its end: the bytes, and whether the connection ended early. */
async function download(url: string): Promise<{ status: number; bytes: Buffer; cut: boolean; length: number }> {
  let r: Response;
  try {
    r = await fetch(url);
  } catch {
    // The connection closed before any header: nothing arrived.
    return { status: 0, bytes: Buffer.alloc(0), cut: true, length: 0 };
  }
  const length = Number(r.headers.get('content-length'));
  const chunks: Buffer[] = [];
  try {
    for await (const c of r.body as unknown as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(c));
    return { status: r.status, bytes: Buffer.concat(chunks), cut: false, length };
  } catch {
    return { status: r.status, bytes: Buffer.concat(chunks), cut: true, length };
  }
}

describe('the view over an OCI layout', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let server: UiServer;
  let image: Awaited<ReturnType<typeof pushImage>>;
  before(async () => {
    work = await tempDir('lading-ui-');
    const layout = await OciLayout.open(join(work.path, 'layout'), { mode: 'create' });
    image = await pushImage(layout, { 'a.txt': 'a\n' });
    await layout.tag(image.manifest, 'v1');
    const sbom = await pushArtifact(layout, { 'sbom.json': '{}' }, { subject: image.manifest, artifactType: 'x/sbom' });
    await layout.tag(sbom.manifest, 'sbom');
    server = await startUiServer({ store: layoutStore(layout, 'layout', 'layout') });
  });
  after(async () => {
    await server.close();
    await work.cleanup();
  });

  test('one repository, its tags in pages, the graph with config, layer and referrer', async () => {
    assert.deepEqual((await json(`${server.url}api/repositories`)).body, { items: ['layout'] });
    const first = await json(`${server.url}api/tags?repository=layout&n=1`);
    assert.deepEqual(
      (first.body.items as { tag: string }[]).map((t) => t.tag),
      ['sbom'],
    );
    assert.equal(first.body.next, 'sbom');
    const second = await json(`${server.url}api/tags?repository=layout&n=1&last=sbom`);
    assert.deepEqual(
      (second.body.items as { tag: string; descriptor: { digest: string } }[]).map((t) => [t.tag, t.descriptor.digest]),
      [['v1', image.manifest.digest]],
    );
    assert.equal(second.body.next, undefined);
    const view = (await json(`${server.url}api/artifact?repository=layout&reference=v1`)).body as {
      root: { children: { role: string; descriptor: { digest: string } }[] };
      referrers: { desc: { artifactType: string } }[];
      document: string;
    };
    assert.deepEqual(
      view.root.children.map((c) => [c.role, c.descriptor.digest]),
      [
        ['config', image.config.digest],
        ['layer', image.layer.digest],
      ],
    );
    assert.deepEqual(
      view.referrers.map((r) => r.desc.artifactType),
      ['x/sbom'],
    );
    assert.match(view.document, /"schemaVersion": 2/);
    const other = await json(`${server.url}api/tags?repository=elsewhere`);
    assert.equal(other.status, 404);
    assert.equal((other.body.error as { code: string }).code, 'NOT_FOUND');
  });

  test('a layer downloads whole, as an attachment that cannot render', async () => {
    const { layer } = image;
    const url = `${server.url}api/blob?repository=layout&digest=${layer.digest}&size=${layer.size}&name=../../etc/passwd`;
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/octet-stream');
    assert.equal(r.headers.get('content-disposition'), 'attachment; filename="passwd"');
    assert.match(r.headers.get('content-security-policy') ?? '', /sandbox/);
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.equal(bytes.length, layer.size);
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(layer.size));
    const missing = `sha256:${'0'.repeat(64)}`;
    const gone = await fetch(`${server.url}api/blob?repository=layout&digest=${missing}&size=3`, { method: 'HEAD' });
    assert.equal(gone.status, 404);
    const bad = await json(`${server.url}api/blob?repository=layout&digest=sha256:nothex&size=3`);
    assert.equal(bad.status, 400);
  });

  test('no path leaves the static files; unknown pages are 404', async () => {
    for (const path of ['assets/..%2f..%2fhandler.ts', 'assets/%2e%2e/handler.ts', 'assets/nope.js', 'api/nope']) {
      const r = await fetch(`${server.url}${path}`);
      assert.equal(r.status, 404, path);
    }
    assert.equal((await fetch(`${server.url}nope`)).status, 404);
    assert.equal((await fetch(`${server.url}artifact?repository=x&reference=y`)).status, 200);
  });
});

describe('downloads of content that does not match its digest', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let server: UiServer;
  let archive: CtfArchive;
  before(async () => {
    work = await tempDir('lading-ui-');
    await writeFile(join(work.path, 'data.txt'), 'genuine bytes, 32 of them......\n');
    await writeFile(
      join(work.path, 'component-constructor.yaml'),
      'name: acme.org/x\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: data\n    type: blob\n    input:\n      type: file/v1\n      path: ./data.txt\n',
    );
    await ladingOk(['add', 'cv', '-r', './ctf'], { cwd: work.path });
    archive = await CtfArchive.open(join(work.path, 'ctf'), { mode: 'readonly' });
    server = await startUiServer({ store: ctfStore(archive, 'ctf') });
  });
  after(async () => {
    await server.close();
    await archive.close({ commit: false });
    await work.cleanup();
  });

  test('a swapped blob is never delivered whole, as a blob or as a resource', async () => {
    const version = (await json(`${server.url}api/version?component=acme.org/x&version=1.0.0`)).body as {
      resourceContent: { descriptor: { digest: string; size: number }; repository: string }[];
    };
    const blob = version.resourceContent[0]?.descriptor;
    assert.ok(blob);
    const good = await download(
      `${server.url}api/blob?repository=component-descriptors/acme.org/x&digest=${blob.digest}&size=${blob.size}`,
    );
    assert.equal(good.bytes.toString(), 'genuine bytes, 32 of them......\n');
    // Same length, other bytes: only the digest can tell.
    const file = join(work.path, 'ctf', 'blobs', blob.digest.replace(':', '.'));
    await overwriteStored(file, 'forged  bytes, 32 of them......\n');
    const bad = await download(
      `${server.url}api/blob?repository=component-descriptors/acme.org/x&digest=${blob.digest}&size=${blob.size}`,
    );
    assert.ok(bad.cut || bad.status !== 200, 'the download fails');
    assert.ok(bad.bytes.length < blob.size, `only ${bad.bytes.length} of ${blob.size} bytes arrive`);
    assert.ok(!bad.bytes.toString().includes('forged'), 'no forged byte arrives');
    // The resource's own digest names the genuine bytes too: refused before, or cut during, the download.
    const resource = await download(`${server.url}api/resource?component=acme.org/x&version=1.0.0&index=0`);
    assert.ok(resource.cut || resource.status === 502, `status ${resource.status}`);
    assert.ok(resource.bytes.length < blob.size || resource.status === 502);
    assert.ok(!resource.bytes.toString().includes('forged'), 'no forged byte arrives');
  });
});

test('the static files never build markup from strings, evaluate text or load anything from elsewhere', async () => {
  for (const name of await readdir(assets)) {
    const text = await readFile(new URL(name, assets), 'utf8');
    assert.doesNotMatch(
      text,
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setTimeout\(['"`]/,
      name,
    );
    assert.doesNotMatch(text, /(?:src|href)=["']?(?:https?:)?\/\//i, `${name} loads nothing from another origin`);
    assert.doesNotMatch(text, /@import|url\(\s*["']?(?:https?:)?\/\//i, name);
  }
});
