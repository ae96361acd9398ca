// A registry that answers blob GETs with a redirect, as Docker Hub, GHCR, ECR and most clouds do:
// Debian's docker-registry with distribution's `redirect` storage middleware, its storage served
// by busybox httpd (standing in for the object store or CDN). Blobs are fetched by the blob threads
// from where the registry sends them (the main thread asks it where), end to end, library and CLI.
// LADING_FETCH_THREADS sends every blob the threads' way, whatever the core count.
process.env.LADING_FETCH_THREADS = '2';

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchAll } from '../src/content/index.js';
import { copy } from '../src/copy/index.js';
import { OciLayout } from '../src/layout/index.js';
import { blobThreadCounts } from '../src/registry/blob-threads.js';
import { Registry } from '../src/registry/index.js';
import { ladingOk } from './support/cli.js';
import { pushArtifact } from './support/fixtures.js';
import { Children, freePort } from './support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'lading-redirect-'));
const children = new Children();
const storage = join(dir, 'storage');
const httpdLog = join(dir, 'httpd.log');
let host = '';

/** The blob paths busybox httpd was asked for (its -vv log: `<peer>: url:<path>`). */
function objectRequests(): string[] {
  return [...readFileSync(httpdLog, 'utf8').matchAll(/: url:(\S+)/g)].map((m) => m[1] as string);
}

before(async () => {
  mkdirSync(storage);
  const [registryPort, storePort] = [await freePort(), await freePort()];
  host = `127.0.0.1:${registryPort}`;
  const q = JSON.stringify;
  const config = join(dir, 'registry.yml');
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: {level: warn}',
      `storage: {filesystem: {rootdirectory: ${q(storage)}}}`,
      // Blob GETs answer 307 to <baseurl><the blob's path in the storage>, where httpd serves it.
      'middleware:',
      '  storage:',
      `    - {name: redirect, options: {baseurl: ${q(`http://127.0.0.1:${storePort}/`)}}}`,
      'http:',
      `  addr: ${host}`,
      '  secret: redirect-test',
      '',
    ].join('\n'),
  );
  children.start('docker-registry', ['serve', config], join(dir, 'registry.log'));
  children.start('busybox', ['httpd', '-f', '-vv', '-p', `127.0.0.1:${storePort}`, '-h', storage], httpdLog);
  await Promise.all([
    children.waitForPort('127.0.0.1', registryPort, 'docker-registry (redirect)', join(dir, 'registry.log')),
    children.waitForPort('127.0.0.1', storePort, 'busybox httpd', httpdLog),
  ]);
});

after(() => {
  children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('a registry that redirects its blobs (docker-registry + redirect middleware, busybox httpd)', () => {
  test('the threads fetch every blob from where the registry redirects: the first costs one request more', async () => {
    const registry = new Registry(host, { plainHttp: true });
    const work = mkdtempSync(join(dir, 'lib-'));
    try {
      const repo = registry.repository('redirect/lib', { push: true });
      const content = Object.fromEntries([0, 1, 2].map((i) => [`f${i}.bin`, randomBytes(300 * 1024 + i)]));
      const { manifest, layers } = await pushArtifact(repo, content);
      await repo.tag(manifest, 'v1');
      const asked = objectRequests().length;
      const before = blobThreadCounts();
      const layout = await OciLayout.open(join(work, 'layout'), { mode: 'create' });
      await copy(repo, 'v1', layout, 'v1', { concurrency: 1 });
      for (const [i, layer] of layers.entries()) {
        assert.ok((await fetchAll(layout, layer)).equals(Object.values(content)[i] as Buffer), `layer ${i}`);
      }
      await layout.close();
      const now = blobThreadCounts();
      assert.equal(now.written - before.written, layers.length, 'every blob written by a thread');
      assert.equal(now.fallback - before.fallback, 1, "the first thread's GET met the redirect; none after");
      const fetched = objectRequests().slice(asked);
      for (const layer of layers) {
        const hex = layer.digest.slice('sha256:'.length);
        assert.equal(
          fetched.filter((path) => path === `/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`).length,
          1,
          `${layer.digest} fetched once, from the object store`,
        );
      }
    } finally {
      await registry.close();
    }
  });

  test('lading pull and lading cp through the redirect: the files and the layout are what was pushed', async () => {
    const work = mkdtempSync(join(dir, 'cli-'));
    const files = { 'a.bin': randomBytes(700 * 1024), 'b.bin': randomBytes(500 * 1024) };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(work, name), data);
    const ref = `${host}/redirect/cli:v1`;
    await ladingOk(['push', '--plain-http', ref, 'a.bin', 'b.bin'], { cwd: work });
    await ladingOk(['pull', '--plain-http', ref, '-o', 'out'], { cwd: work });
    for (const [name, data] of Object.entries(files))
      assert.ok(readFileSync(join(work, 'out', name)).equals(data), name);
    await ladingOk(['cp', '--from-plain-http', ref, '--to-oci-layout', 'layout:v1'], { cwd: work });
    const layout = await OciLayout.open(join(work, 'layout'));
    try {
      const stored = await layout.resolve('v1');
      const bytes = await fetchAll(layout, stored);
      const layers = (JSON.parse(bytes.toString('utf8')) as { layers: { digest: string; size: number }[] }).layers;
      assert.equal(layers.length, 2);
      for (const layer of layers) {
        const data = await fetchAll(layout, { mediaType: 'application/octet-stream', ...layer });
        assert.ok(Object.values(files).some((f) => f.equals(data)));
      }
    } finally {
      await layout.close();
    }
  });
});
