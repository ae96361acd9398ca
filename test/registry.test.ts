// lading's registry client against REAL distribution 2.8 registries started by the harness
// (plain HTTP, TLS + htpasswd, token auth), with skopeo as an independent client for interop.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { fetchAll, listReferrers } from '../src/content/index.js';
import { copy } from '../src/copy/index.js';
import { pullFiles } from '../src/files/index.js';
import { OciLayout } from '../src/layout/index.js';
import { type Descriptor, digestBytes, isLadingError, MediaType, parseNode } from '../src/oci/index.js';
import { Registry, type Repository } from '../src/registry/index.js';
import { blobDescriptor, pushArtifact, pushImage, pushIndex, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const peers = loadPeers();
const registries: Registry[] = [];

function open(host: string, options: ConstructorParameters<typeof Registry>[1] = {}): Registry {
  const r = new Registry(host, options);
  registries.push(r);
  return r;
}

after(async () => {
  await Promise.all(registries.map((r) => r.close()));
});

const plain = open(peers.plain.host, { plainHttp: true });
let unique = 0;
function repoName(prefix: string): string {
  unique += 1;
  return `lading/${prefix}-${process.pid}-${unique}`;
}

async function allTags(repo: Repository): Promise<string[]> {
  const out: string[] = [];
  for await (const page of repo.tags()) out.push(...page);
  return out.sort();
}

function codeOf(error: unknown): string | undefined {
  return isLadingError(error) ? error.code : undefined;
}

describe('plain registry: content', () => {
  test('push an image, resolve it by tag and digest, fetch its bytes, tag and list', async () => {
    const repo = plain.repository(repoName('basic'));
    const { manifest, layer, config } = await pushImage(repo, { 'a.txt': 'alpha\n' });
    assert.deepEqual(await repo.resolve(manifest.digest), manifest);
    await repo.tag(manifest, 'v1');
    await repo.tag(manifest, 'v2');
    assert.deepEqual(await repo.resolve('v1'), manifest);
    const bytes = await fetchAll(repo, manifest);
    assert.equal(digestBytes(bytes), manifest.digest);
    const node = parseNode(bytes, manifest.mediaType, 'm');
    assert.equal(node.kind, 'manifest');
    assert.equal(digestBytes(await fetchAll(repo, layer)), layer.digest);
    assert.equal(digestBytes(await fetchAll(repo, config)), config.digest);
    assert.equal(await repo.exists(layer), true);
    assert.equal(await repo.exists(manifest), true);
    assert.equal(await repo.exists({ ...layer, digest: digestBytes(Buffer.from('absent')) }), false);
    assert.deepEqual(await allTags(repo), ['v1', 'v2']);
    const fetched = await repo.fetchManifest('v2');
    assert.deepEqual(fetched.descriptor, manifest);
    assert.deepEqual(fetched.bytes, bytes);
  });

  test('a missing manifest is NOT_FOUND with method, URL, status and the registry error', async () => {
    const repo = plain.repository(repoName('missing'));
    await assert.rejects(repo.resolve('nope'), (error: Error) => {
      assert.equal(codeOf(error), 'NOT_FOUND');
      assert.match(error.message, new RegExp(`^HEAD ${peers.plain.url}/v2/${repo.name}/manifests/nope: 404 Not Found`));
      return true;
    });
    await assert.rejects(repo.fetchManifest('nope'), (error: Error) => {
      assert.equal(codeOf(error), 'NOT_FOUND');
      // Each registry words its error its own way; both name what is missing.
      const said =
        peers.plain.kind === 'lading-serve'
          ? /^GET http:\/\/.*: 404 Not Found: manifest unknown: lading\/missing-\d+-\d+: manifest nope not found$/
          : /^GET http:\/\/.*: 404 Not Found: manifest unknown: manifest unknown \(Tag: nope\)$/;
      assert.match(error.message, said);
      return true;
    });
  });

  test('a push whose content does not match its descriptor is refused and stores nothing', async () => {
    const repo = plain.repository(repoName('mismatch'));
    const good = Buffer.from('the right bytes');
    const desc = blobDescriptor(good, MediaType.ImageLayer);
    await assert.rejects(repo.push(desc, Buffer.from('the wrong bytes')), (e) => codeOf(e) === 'DIGEST_MISMATCH');
    await assert.rejects(repo.push(desc, Readable.from([Buffer.from('the wrong bytes')])), (e) => {
      return codeOf(e) === 'DIGEST_MISMATCH';
    });
    assert.equal(await repo.exists(desc), false);
    const m = Buffer.from('{"schemaVersion":2}');
    const mdesc = { mediaType: MediaType.ImageManifest, digest: digestBytes(Buffer.from('x')), size: m.length };
    await assert.rejects(repo.push(mdesc, m), (e) => codeOf(e) === 'DIGEST_MISMATCH');
  });

  test('chunked upload (PATCH with Content-Range) lands the exact blob', async () => {
    const chunkedRegistry = open(peers.plain.host, { plainHttp: true, chunkSize: 4096 });
    const repo = chunkedRegistry.repository(repoName('chunked'));
    const data = randomBytes(4096 * 5 + 123);
    const desc = blobDescriptor(data, MediaType.ImageLayer);
    let reported = 0;
    await repo.push(desc, Readable.from([data.subarray(0, 1000), data.subarray(1000)]), {
      onProgress: (n) => {
        reported += n;
      },
    });
    assert.equal(reported, data.length);
    assert.deepEqual(await fetchAll(repo, desc, { limit: 1 << 20 }), data);
  });

  test('delete by digest removes a manifest and a blob', async () => {
    const repo = plain.repository(repoName('delete'));
    const { manifest, layer } = await pushImage(repo, { 'gone.txt': 'bye\n' });
    await repo.delete(manifest);
    assert.equal(await repo.exists(manifest), false);
    await repo.delete(layer);
    assert.equal(await repo.exists(layer), false);
    await assert.rejects(repo.delete(layer), (e) => codeOf(e) === 'NOT_FOUND');
  });

  test('cross-repository mount: 201 for a blob the registry has, false (session cancelled) otherwise', async () => {
    const source = plain.repository(repoName('mount-src'));
    const target = plain.repository(repoName('mount-dst'));
    const { layer } = await pushImage(source, { 'm.txt': 'mount me\n' });
    assert.equal(await target.exists(layer), false);
    assert.equal(await target.mount(layer, source.name), true);
    assert.equal(await target.exists(layer), true);
    const absent = blobDescriptor(randomBytes(32), MediaType.ImageLayer);
    assert.equal(await target.mount(absent, source.name), false);
  });

  test('a copy between two repositories of one registry mounts the blobs; from another registry it uploads them', async () => {
    const source = plain.repository(repoName('mount-copy-src'));
    const image = await pushImage(source, { 'a.txt': 'mounted, not re-sent\n' });
    const blobs = [image.config.digest, image.layer.digest].sort();

    const sibling = plain.repository(repoName('mount-copy-dst'));
    const mounted: string[] = [];
    const uploaded: string[] = [];
    await copy(source, image.manifest.digest, sibling, 'v1', {
      onMounted: (d) => {
        mounted.push(d.digest);
      },
      postCopy: (d) => {
        uploaded.push(d.digest);
      },
    });
    assert.deepEqual(mounted.sort(), blobs);
    assert.deepEqual(uploaded, [image.manifest.digest], 'only the manifest travels');
    assert.equal(digestBytes(await fetchAll(sibling, image.layer)), image.layer.digest);

    // Another registry (another origin) cannot mount from it: every blob is uploaded.
    const other = open(peers.tls.host, {
      caFile: peers.tls.caFile,
      credentials: async () => ({ username: peers.tls.username, password: peers.tls.password }),
    }).repository(repoName('mount-copy-far'));
    const far: string[] = [];
    await copy(source, image.manifest.digest, other, 'v1', {
      onMounted: (d) => {
        far.push(`mounted ${d.digest}`);
      },
      postCopy: (d) => {
        far.push(d.digest);
      },
    });
    assert.deepEqual(far.sort(), [...blobs, image.manifest.digest].sort());
  });

  test('progress of a copy into and out of the registry counts every byte once', async () => {
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const image = await pushImage(layout, { 'p.bin': 'x'.repeat(700_000) });
      const repo = plain.repository(repoName('progress'));
      const up = new Map<string, number>();
      await copy(layout, image.manifest.digest, repo, 'v1', {
        onProgress: (d, n) => up.set(d.digest, (up.get(d.digest) ?? 0) + n),
      });
      assert.equal(up.get(image.layer.digest), image.layer.size);
      const down = new Map<string, number>();
      const back = await OciLayout.open(join(t.path, 'back'), { mode: 'create' });
      await copy(repo, 'v1', back, 'v1', { onProgress: (d, n) => down.set(d.digest, (down.get(d.digest) ?? 0) + n) });
      assert.equal(down.get(image.layer.digest), image.layer.size);
    } finally {
      await t.cleanup();
    }
  });

  test('catalog pages follow Link with n', async () => {
    const paged = open(peers.plain.host, { plainHttp: true, pageSize: 1 });
    const pages: string[][] = [];
    for await (const page of paged.repositories()) pages.push(page);
    assert.ok(pages.length >= 2, `expected several pages, got ${JSON.stringify(pages)}`);
    assert.ok(pages.every((p) => p.length <= 1));
    const names = pages.flat();
    assert.equal(new Set(names).size, names.length);
  });
});

// Debian's registry has no referrers API (the client falls back to the tag schema); lading serve has it.
const servePlain = peers.plain.kind === 'lading-serve';
describe(`plain registry: referrers ${servePlain ? 'API (lading serve)' : 'through the tag schema'}`, () => {
  test('with the referrers API said to be there (--distribution-spec v1.1-referrers-api), a 404 fails, no fallback', {
    skip: servePlain && 'lading serve has the API',
  }, async () => {
    const repo = plain.repository(repoName('referrers-forced'));
    const { manifest: subject } = await pushImage(repo, { 's.txt': 'subject\n' });
    await pushArtifact(repo, { 'sig.txt': 'sig' }, { subject, artifactType: 'application/vnd.test.sig' });
    const forced = plain.repository(repo.name);
    forced.referrersState = 'supported';
    await assert.rejects(
      listReferrers(forced, subject),
      (e) => codeOf(e) === 'UNSUPPORTED' && /failed to query referrers API/.test((e as Error).message),
    );
    assert.equal((await listReferrers(plain.repository(repo.name), subject)).length, 1, 'detected: the tag schema');
  });

  test('detects whether the API is there, lists referrers, filters by artifactType, forgets deleted ones', async () => {
    const repo = plain.repository(repoName('referrers'));
    const { manifest: subject } = await pushImage(repo, { 's.txt': 'subject\n' });
    assert.equal(repo.referrersState, 'unknown');
    const sig = await pushArtifact(repo, { 'sig.txt': 'sig' }, { subject, artifactType: 'application/vnd.test.sig' });
    // lading serve answers the push with OCI-Subject; distribution 2.8 does not.
    assert.equal(repo.referrersState, servePlain ? 'supported' : 'unsupported');
    const sbom = await pushArtifact(
      repo,
      { 'sbom.txt': 'sbom' },
      { subject, artifactType: 'application/vnd.test.sbom' },
    );

    const tag = `sha256-${subject.digest.slice('sha256:'.length)}`;
    if (servePlain) {
      // With the API there, no tag-schema index is written.
      await assert.rejects(repo.fetchManifest(tag), (e) => codeOf(e) === 'NOT_FOUND');
    } else {
      const index = await repo.fetchManifest(tag);
      assert.equal(index.descriptor.mediaType, MediaType.ImageIndex);
      const node = parseNode(index.bytes, MediaType.ImageIndex, tag);
      assert.ok(node.kind === 'index');
      assert.deepEqual(
        node.index.manifests.map((d) => [
          d.digest,
          d.artifactType,
          d.annotations?.['org.opencontainers.image.created'],
        ]),
        [
          [sig.manifest.digest, 'application/vnd.test.sig', '2026-01-01T00:00:00Z'],
          [sbom.manifest.digest, 'application/vnd.test.sbom', '2026-01-01T00:00:00Z'],
        ],
      );
    }

    // A fresh Repository detects the API (or its absence, from distribution's text/plain 404).
    const fresh = plain.repository(repo.name);
    const all = await listReferrers(fresh, subject);
    assert.equal(fresh.referrersState, servePlain ? 'supported' : 'unsupported');
    assert.deepEqual(
      all.map((d) => [d.digest, d.artifactType, d.annotations?.['org.opencontainers.image.created']]).sort(),
      [
        [sig.manifest.digest, 'application/vnd.test.sig', '2026-01-01T00:00:00Z'],
        [sbom.manifest.digest, 'application/vnd.test.sbom', '2026-01-01T00:00:00Z'],
      ].sort(),
    );
    const sigs = await listReferrers(fresh, subject, { artifactType: 'application/vnd.test.sig' });
    assert.deepEqual(
      sigs.map((d) => d.digest),
      [sig.manifest.digest],
    );

    // Pushing the same referrer again does not duplicate it; deleting it removes it from the list.
    await repo.push(sig.manifest, await fetchAll(repo, sig.manifest)).catch(() => {});
    assert.equal((await listReferrers(fresh, subject)).length, 2);
    await fresh.delete(sig.manifest);
    assert.deepEqual(
      (await listReferrers(fresh, subject)).map((d) => d.digest),
      [sbom.manifest.digest],
    );
  });
});

describe('TLS + basic auth registry', () => {
  const creds = async () => ({ username: peers.tls.username, password: peers.tls.password });

  test('pushes and pulls with the CA and credentials', async () => {
    const tls = open(peers.tls.host, { caFile: peers.tls.caFile, credentials: creds });
    const repo = tls.repository(repoName('tls'));
    const { manifest, layer } = await pushImage(repo, { 't.txt': 'over tls\n' });
    await repo.tag(manifest, 'latest');
    assert.deepEqual(await repo.resolve('latest'), manifest);
    assert.equal(digestBytes(await fetchAll(repo, layer)), layer.digest);
    assert.deepEqual(await allTags(repo), ['latest']);
  });

  test('without the CA the TLS failure is a NETWORK_ERROR that says so; insecure skips verification', async () => {
    const strict = open(peers.tls.host, { credentials: creds, retry: { maxRetries: 0 } });
    await assert.rejects(strict.ping(), (error: Error) => {
      assert.equal(codeOf(error), 'NETWORK_ERROR');
      assert.match(error.message, /TLS verification of 127\.0\.0\.1:\d+ failed/);
      return true;
    });
    const insecure = open(peers.tls.host, { insecure: true, credentials: creds });
    await insecure.ping();
    const notPem = new URL('../package.json', import.meta.url).pathname;
    assert.throws(
      () => open(peers.tls.host, { caFile: notPem }),
      (error: Error) =>
        codeOf(error) === 'INVALID_ARGUMENT' && /CA file .*package\.json: not a PEM file/.test(error.message),
    );
  });

  test('a certificate for other names says so, not that its CA is untrusted', async () => {
    const port = Number(peers.tls.host.split(':').at(-1));
    const host = `not-in-the-certificate.test:${port}`;
    const named = open(host, {
      caFile: peers.tls.caFile,
      credentials: creds,
      retry: { maxRetries: 0 },
      resolve: { [host]: { address: '127.0.0.1', port } },
    });
    await assert.rejects(named.ping(), (error: Error) => {
      assert.equal(codeOf(error), 'NETWORK_ERROR');
      assert.match(
        error.message,
        /TLS verification of not-in-the-certificate\.test:\d+ failed \(ERR_TLS_CERT_ALTNAME_INVALID\): its certificate is not for this host name/,
      );
      assert.equal((error as { hint?: { key: string } }).hint?.key, 'tlsName');
      return true;
    });
  });

  test('HTTPS to a plain-HTTP registry is a NETWORK_ERROR that says the server answered without TLS', async () => {
    const https = open(peers.plain.host, { retry: { maxRetries: 0 } });
    await assert.rejects(https.ping(), (error: Error) => {
      assert.equal(codeOf(error), 'NETWORK_ERROR');
      assert.match(
        error.message,
        /127\.0\.0\.1:\d+ answered without TLS: a plain-HTTP registry\? \(plainHttp speaks plain HTTP to it\)$/,
      );
      assert.equal((error as { hint?: { key: string } }).hint?.key, 'plainHttp');
      assert.doesNotMatch(error.message, /ssl3_get_record|deps\/openssl/);
      return true;
    });
  });

  test('plain HTTP to an HTTPS registry (Go answers a bare 400, and so does lading serve) says the server expects HTTPS', async () => {
    const plain = open(peers.tls.host, { plainHttp: true, credentials: creds, retry: { maxRetries: 0 } });
    const repo = plain.repository(repoName('tls'));
    // HEAD reads no body: the bare answer (no header fields at all) is what tells.
    for (const attempt of [() => repo.resolve('latest'), () => plain.ping()]) {
      await assert.rejects(attempt(), (error: Error) => {
        assert.match(
          error.message,
          /^(HEAD|GET) http:\/\/127\.0\.0\.1:\d+\/v2\/\S*: 400 Bad Request: the server expects HTTPS on this port \(speak HTTPS to it: plainHttp false\)$/,
        );
        assert.equal((error as { hint?: { key: string } }).hint?.key, 'https');
        return true;
      });
    }
  });

  test('a wrong password is UNAUTHORIZED and the password never shows in the error', async () => {
    const wrongPassword = 'definitely-wrong-password';
    const tls = open(peers.tls.host, {
      caFile: peers.tls.caFile,
      credentials: async () => ({ username: peers.tls.username, password: wrongPassword }),
    });
    await assert.rejects(tls.repository(repoName('tls-wrong')).resolve('x'), (error: Error) => {
      assert.equal(codeOf(error), 'UNAUTHORIZED');
      assert.match(error.message, /401 Unauthorized/);
      assert.ok(!error.message.includes(wrongPassword));
      assert.ok(!JSON.stringify(error).includes(Buffer.from(`testuser:${wrongPassword}`).toString('base64')));
      return true;
    });
  });

  test('no credentials at all is UNAUTHORIZED', async () => {
    const tls = open(peers.tls.host, { caFile: peers.tls.caFile });
    await assert.rejects(tls.ping(), (e) => codeOf(e) === 'UNAUTHORIZED');
  });
});

describe('token auth registry', () => {
  const creds = async () => ({ username: peers.token.username, password: peers.token.password });

  async function tokenRequests(): Promise<Array<{ user: string; scopes: string[]; status: number }>> {
    const lines = (await readFile(peers.token.tokenServer.log, 'utf8')).split('\n').filter(Boolean);
    return lines.map((l) => JSON.parse(l)).filter((e) => e.method);
  }

  test('pushes with a pull,push token and pulls anonymously', async () => {
    const token = open(peers.token.host, { plainHttp: true, credentials: creds });
    const name = repoName('token');
    const repo = token.repository(name);
    const { manifest, layer } = await pushImage(repo, { 'tok.txt': 'token\n' });
    await repo.tag(manifest, 'v1');
    const anonymous = open(peers.token.host, { plainHttp: true }).repository(name);
    assert.deepEqual(await anonymous.resolve('v1'), manifest);
    assert.equal(digestBytes(await fetchAll(anonymous, layer)), layer.digest);
  });

  test('pre-seeded push scope and the token cache: one token request for a whole push', async () => {
    const token = open(peers.token.host, { plainHttp: true, credentials: creds });
    const name = repoName('token-once');
    const before = (await tokenRequests()).length;
    const repo = token.repository(name, { push: true });
    const { manifest } = await pushImage(repo, { 'once.txt': 'once\n' });
    await repo.tag(manifest, 'v1');
    const requests = (await tokenRequests()).slice(before);
    assert.deepEqual(
      requests.map((r) => [r.user, r.scopes]),
      [['testuser', [`repository:${name}:pull,push`]]],
    );
  });

  test('anonymous push is refused; a wrong password is UNAUTHORIZED', async () => {
    const anonymous = open(peers.token.host, { plainHttp: true }).repository(repoName('token-anon'));
    await assert.rejects(pushImage(anonymous), (e) => ['UNAUTHORIZED', 'DENIED'].includes(codeOf(e) ?? ''));
    const wrong = open(peers.token.host, {
      plainHttp: true,
      credentials: async () => ({ username: peers.token.username, password: 'wrong' }),
    });
    await assert.rejects(wrong.repository(repoName('token-wrong')).resolve('v1'), (error: Error) => {
      assert.equal(codeOf(error), 'UNAUTHORIZED');
      assert.match(error.message, /^GET http:\/\/127\.0\.0\.1:\d+\/token: 401 Unauthorized/);
      return true;
    });
  });
});

describe('interop with skopeo', () => {
  test('skopeo reads the exact manifest bytes lading pushed', async () => {
    const repo = plain.repository(repoName('skopeo-read'));
    const { manifest } = await pushImage(repo, { 'sk.txt': 'for skopeo\n' });
    await repo.tag(manifest, 'v1');
    const { stdout } = await run(
      'skopeo',
      ['inspect', '--raw', '--tls-verify=false', `docker://${peers.plain.host}/${repo.name}:v1`],
      { encoding: 'buffer' },
    );
    assert.deepEqual(stdout, await fetchAll(repo, manifest));
  });

  test('lading reads byte-for-byte what skopeo copied from an OCI layout', async () => {
    const t = await tempDir();
    try {
      const layout = await OciLayout.open(join(t.path, 'layout'), { mode: 'create' });
      const { manifest, layer, config } = await pushImage(layout, { 'from-skopeo.txt': 'via skopeo\n' });
      await layout.tag(manifest, 'v1');
      const name = repoName('skopeo-write');
      await run('skopeo', [
        'copy',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${join(t.path, 'layout')}:v1`,
        `docker://${peers.plain.host}/${name}:v1`,
      ]);
      const repo = plain.repository(name);
      assert.deepEqual(await repo.resolve('v1'), manifest);
      for (const d of [manifest, config, layer]) {
        assert.deepEqual(await fetchAll(repo, d), await fetchAll(layout, d));
      }
    } finally {
      await t.cleanup();
    }
  });
});

describe('copy() between an OCI layout and a registry', () => {
  test('layout → registry → layout keeps every byte, referrers included', async () => {
    const t = await tempDir();
    try {
      const src = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const { manifest } = await pushImage(src, { 'c.txt': 'copied\n' });
      await src.tag(manifest, 'v1');
      const sig = await pushArtifact(
        src,
        { sig: 'signature' },
        { subject: manifest, artifactType: 'application/x.sig' },
      );

      const repo = plain.repository(repoName('copy'), { push: true });
      const root = await copy(src, 'v1', repo, 'v1', { includeReferrers: true });
      assert.equal(root.digest, manifest.digest);
      assert.deepEqual(await repo.resolve('v1'), manifest);
      assert.deepEqual(
        (await listReferrers(repo, manifest)).map((d) => d.digest),
        [sig.manifest.digest],
      );

      const back = await OciLayout.open(join(t.path, 'back'), { mode: 'create' });
      await copy(plain.repository(repo.name), 'v1', back, 'v1', { includeReferrers: true });
      assert.equal((await back.resolve('v1')).digest, manifest.digest);
      assert.deepEqual(await fetchAll(back, manifest), await fetchAll(src, manifest));
      assert.deepEqual(await fetchAll(back, sig.manifest), await fetchAll(src, sig.manifest));
    } finally {
      await t.cleanup();
    }
  });

  test('a copy out of a registry reads the root manifest in one GET by tag: no HEAD before it, no second GET', async () => {
    const t = await tempDir();
    try {
      const name = repoName('one-get');
      const { manifest, layer } = await pushImage(plain.repository(name, { push: true }), { 'g.txt': 'got once\n' });
      await plain.repository(name, { push: true }).tag(manifest, 'v1');
      const trace: string[] = [];
      const traced = open(peers.plain.host, { plainHttp: true, trace: (line) => trace.push(line) });
      const dst = await OciLayout.open(join(t.path, 'out'), { mode: 'create' });
      const root = await copy(traced.repository(name), 'v1', dst, 'v1');
      assert.deepEqual(root, manifest);
      assert.deepEqual(await dst.resolve('v1'), manifest);
      assert.equal(digestBytes(await fetchAll(dst, layer)), layer.digest);
      const manifestRequests = () =>
        trace
          .filter((line) => line.startsWith('> ') && line.includes('/manifests/'))
          .map((line) => line.split(' ').slice(0, 3).join(' '));
      assert.deepEqual(manifestRequests(), [`> GET ${peers.plain.url}/v2/${name}/manifests/v1`]);

      // pullFiles (`lading pull`) finds its root the same way.
      trace.length = 0;
      const pulled = await pullFiles(traced.repository(name), 'v1', { output: join(t.path, 'files') });
      assert.equal(pulled.root.digest, manifest.digest);
      assert.deepEqual(manifestRequests(), [`> GET ${peers.plain.url}/v2/${name}/manifests/v1`]);
    } finally {
      await t.cleanup();
    }
  });

  test("-r copies the referrers of an index's manifests too, as oras cp -r does", async () => {
    const t = await tempDir();
    try {
      const src = await OciLayout.open(join(t.path, 'src'), { mode: 'create' });
      const amd = await pushImage(src, { 'a.txt': 'amd64\n' });
      const arm = await pushImage(src, { 'a.txt': 'arm64\n' });
      const index = await pushIndex(src, [amd.manifest, arm.manifest]);
      await src.tag(index, 'v1');
      const indexSig = await pushArtifact(src, { sig: 'of the index' }, { subject: index });
      const armSbom = await pushArtifact(src, { sbom: 'of arm64' }, { subject: arm.manifest });
      const sbomSig = await pushArtifact(src, { sig: 'of the sbom' }, { subject: armSbom.manifest });

      const repo = plain.repository(repoName('copy-index-referrers'), { push: true });
      await copy(src, 'v1', repo, 'v1', { includeReferrers: true });
      assert.deepEqual(
        (await listReferrers(repo, index)).map((d) => d.digest),
        [indexSig.manifest.digest],
      );
      assert.deepEqual(
        (await listReferrers(repo, arm.manifest)).map((d) => d.digest),
        [armSbom.manifest.digest],
      );
      assert.deepEqual(
        (await listReferrers(repo, armSbom.manifest)).map((d) => d.digest),
        [sbomSig.manifest.digest],
      );
      assert.deepEqual(await listReferrers(repo, amd.manifest), []);
    } finally {
      await t.cleanup();
    }
  });
});

describe('memory stays flat', () => {
  const MiB = 1024 * 1024;
  const total = 512 * MiB;
  // One random MiB repeated: the registry cannot dedupe within a blob, and nothing is allocated per chunk.
  const block = randomBytes(MiB);
  function generate(): Readable {
    let sent = 0;
    return new Readable({
      read() {
        if (sent >= total) {
          this.push(null);
          return;
        }
        sent += block.length;
        this.push(block);
      },
    });
  }

  test('push and pull a 512 MiB blob streaming, with RSS growth under 150 MB', { timeout: 300_000 }, async () => {
    const hash = createHash('sha256');
    for await (const chunk of generate()) hash.update(chunk as Buffer);
    const desc: Descriptor = { mediaType: MediaType.ImageLayer, digest: `sha256:${hash.digest('hex')}`, size: total };

    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 50);
    try {
      const repo = plain.repository(repoName('big'));
      const started = Date.now();
      await repo.push(desc, generate());
      const pushed = Date.now();
      let seen = 0;
      for await (const chunk of await repo.fetch(desc)) seen += (chunk as Buffer).length;
      const pulled = Date.now();
      assert.equal(seen, total);
      const growth = (peak - baseline) / 1e6;
      process.stdout.write(
        `# 512 MiB: push ${(total / MiB / ((pushed - started) / 1000)).toFixed(0)} MiB/s, ` +
          `pull ${(total / MiB / ((pulled - pushed) / 1000)).toFixed(0)} MiB/s, peak RSS growth ${growth.toFixed(1)} MB\n`,
      );
      assert.ok(growth < 150, `RSS grew by ${growth.toFixed(1)} MB`);
      await repo.delete(desc);
    } finally {
      clearInterval(sampler);
    }
  });
});
