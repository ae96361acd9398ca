import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { readTarBytes } from '../src/archive/index.js';
import { readAll } from '../src/content/index.js';
import { encodeManifest, isLadingError, MediaType } from '../src/oci/index.js';
import {
  createHelmInput,
  helmAccessDigest,
  helmCredentialsFromConfig,
  helmInput,
  type InputBlob,
  openComponentRepository,
  packageChartDirectory,
  parseOcmConfig,
  transferComponentVersion,
} from '../src/ocm/index.js';
import { Registry } from '../src/registry/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { pushBytes, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';
import { ocmVectors } from './support/vectors.js';

const run = promisify(execFile);
const peers = loadPeers();
const plain = peers.plain.host;
const testdata = join(ocmVectors, 'bindings/go/helm/testdata');
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let n = 0;

interface Served {
  url: string;
  requests: { path: string; authorization?: string }[];
  close(): Promise<void>;
}

type Routes = Record<string, (req: IncomingMessage, res: ServerResponse) => void>;

function bytes(body: Uint8Array, type = 'application/octet-stream') {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': type, 'content-length': body.length });
    res.end(body);
  };
}

async function serve(routes: Routes, tls?: { cert: Buffer; key: Buffer }): Promise<Served> {
  const requests: Served['requests'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const route = routes[path];
    if (route) route(req, res);
    else {
      res.writeHead(404);
      res.end('not found');
    }
  };
  const server = tls ? createHttpsServer(tls, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function index(entries: { name: string; version: string; url: string; digest: string }[]): Buffer {
  const lines = ['apiVersion: v1', 'entries:'];
  for (const name of new Set(entries.map((e) => e.name))) {
    lines.push(`  ${name}:`);
    for (const e of entries.filter((x) => x.name === name)) {
      lines.push(
        `  - name: ${e.name}`,
        `    version: ${e.version}`,
        `    digest: ${e.digest}`,
        '    urls:',
        `    - ${e.url}`,
      );
    }
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

/** The Helm OCI artifact inside an input's OCI layout tar.gz: config, layers (by media type) and the tag. */
async function unpackLayout(blob: InputBlob) {
  assert.equal(blob.mediaType, 'application/vnd.ocm.software.oci.layout.v1+tar+gzip');
  const tar = gunzipSync(await readAll(await blob.open(), 1 << 28));
  const files = new Map(readTarBytes(tar, 'layout').map((e) => [e.name, e.body]));
  const idx = JSON.parse(String(files.get('index.json')));
  const top = idx.manifests[0];
  const manifest = JSON.parse(String(files.get(`blobs/sha256/${top.digest.slice(7)}`)));
  const blobOf = (d: { digest: string }) => files.get(`blobs/sha256/${d.digest.slice(7)}`) as Buffer;
  return {
    tag: top.annotations['org.opencontainers.image.ref.name'] as string,
    manifestDigest: top.digest as string,
    config: JSON.parse(String(blobOf(manifest.config))),
    layers: (manifest.layers as { mediaType: string; digest: string }[]).map((l) => ({
      mediaType: l.mediaType,
      bytes: blobOf(l),
    })),
  };
}

let chart010: Buffer;
let chart020: Buffer;
let provChart: Buffer;
let provFile: Buffer;
let http: Served;
let other: Served;
let https: Served;
let work: { path: string; cleanup: () => Promise<void> };
const ctx = () => ({ workingDirectory: work.path });

before(async () => {
  work = await tempDir('lading-helm-');
  chart010 = (await packageChartDirectory(join(testdata, 'mychart'))).archive;
  // A second version of the same chart, to test version selection in index.yaml.
  await cp(join(testdata, 'mychart'), join(work.path, 'mychart-0.2.0'), { recursive: true });
  const chartYaml = join(work.path, 'mychart-0.2.0', 'Chart.yaml');
  await writeFile(chartYaml, (await readFile(chartYaml, 'utf8')).replace(/^version: .*$/m, 'version: 0.2.0'));
  chart020 = (await packageChartDirectory(join(work.path, 'mychart-0.2.0'))).archive;
  provChart = await readFile(join(testdata, 'provenance/mychart-0.1.0.tgz'));
  provFile = await readFile(join(testdata, 'provenance/mychart-0.1.0.tgz.prov'));

  other = await serve({ '/elsewhere/mychart-0.1.0.tgz': bytes(chart010) });
  const charts = index([
    { name: 'mychart', version: '0.1.0', url: 'mychart-0.1.0.tgz', digest: sha256(chart010) },
    { name: 'mychart', version: '0.2.0', url: 'sub/mychart-0.2.0.tgz', digest: sha256(chart020) },
  ]);
  http = await serve({
    '/charts/index.yaml': bytes(charts, 'text/yaml'),
    '/charts/mychart-0.1.0.tgz': bytes(chart010),
    '/charts/sub/mychart-0.2.0.tgz': bytes(chart020),
    '/prov/mychart-0.1.0.tgz': bytes(provChart),
    '/prov/mychart-0.1.0.tgz.prov': bytes(provFile),
    '/bad/index.yaml': bytes(
      index([{ name: 'mychart', version: '0.1.0', url: '/charts/mychart-0.1.0.tgz', digest: sha256(chart020) }]),
    ),
    '/redirect/mychart.tgz': (_req, res) => {
      res.writeHead(302, { location: '/charts/mychart-0.1.0.tgz' });
      res.end();
    },
    '/private/index.yaml': (req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from('helm:secret').toString('base64')}`) {
        res.writeHead(401);
        res.end();
        return;
      }
      bytes(
        index([
          { name: 'mychart', version: '0.1.0', url: '/private/mychart-0.1.0.tgz', digest: sha256(chart010) },
          {
            name: 'mychart',
            version: '0.1.1',
            url: `${other.url}/elsewhere/mychart-0.1.0.tgz`,
            digest: sha256(chart010),
          },
        ]),
      )(req, res);
    },
    '/private/mychart-0.1.0.tgz': bytes(chart010),
    '/notachart.tgz': bytes(Buffer.from('hello')),
  });
  https = await serve(
    { '/charts/mychart-0.1.0.tgz': bytes(chart010) },
    {
      cert: await readFile(join(peers.dir, 'tls', 'registry.crt')),
      key: await readFile(join(peers.dir, 'tls', 'registry.key')),
    },
  );
});

after(async () => {
  await Promise.all([http?.close(), other?.close(), https?.close()]);
  await work?.cleanup();
});

describe('Helm/v1 input from http(s) chart repositories', () => {
  test('a chart archive URL: the same OCI layout a local chart gives; provenance fetched when served', async () => {
    const remote = await unpackLayout(
      await helmInput({ type: 'helm/v1', helmRepository: `${http.url}/charts/mychart-0.1.0.tgz` }, ctx()),
    );
    assert.equal(remote.tag, '0.1.0');
    assert.deepEqual(remote.config, { name: 'mychart', version: '0.1.0' });
    assert.deepEqual(
      remote.layers.map((l) => l.mediaType),
      ['application/vnd.cncf.helm.chart.content.v1.tar+gzip'],
    );
    assert.ok(remote.layers[0]?.bytes.equals(chart010));
    const local = await unpackLayout(
      await helmInput({ type: 'helm/v1', path: join(testdata, 'mychart') }, { workingDirectory: testdata }),
    );
    assert.equal(remote.manifestDigest, local.manifestDigest, 'downloaded and local charts pack alike');

    const withProv = await unpackLayout(
      await helmInput({ type: 'Helm/v1', helmRepository: `${http.url}/prov/mychart-0.1.0.tgz` }, ctx()),
    );
    assert.deepEqual(
      withProv.layers.map((l) => [l.mediaType, sha256(l.bytes)]),
      [
        ['application/vnd.cncf.helm.chart.content.v1.tar+gzip', sha256(provChart)],
        ['application/vnd.cncf.helm.chart.provenance.v1.prov', sha256(provFile)],
      ],
    );
    const redirected = await unpackLayout(
      await helmInput({ type: 'helm', helmRepository: `${http.url}/redirect/mychart.tgz` }, ctx()),
    );
    assert.equal(redirected.manifestDigest, remote.manifestDigest);
  });

  test('<repository>/<chart>:<version> goes through index.yaml (relative URLs, digest checked); version overrides the tag', async () => {
    const v1 = await unpackLayout(
      await helmInput({ type: 'helm/v1', helmRepository: `${http.url}/charts/mychart:0.1.0` }, ctx()),
    );
    assert.ok(v1.layers[0]?.bytes.equals(chart010));
    const v2 = await unpackLayout(
      await helmInput({ type: 'helm/v1', helmRepository: `${http.url}/charts/mychart:0.1.0`, version: '0.2.0' }, ctx()),
    );
    assert.deepEqual(v2.config, { name: 'mychart', version: '0.2.0' });
    assert.ok(v2.layers[0]?.bytes.equals(chart020));
    await assert.rejects(
      helmInput({ type: 'helm/v1', helmRepository: `${http.url}/bad/mychart:0.1.0` }, ctx()),
      (e) => isLadingError(e, 'DIGEST_MISMATCH') && /repository index says/.test((e as Error).message),
    );
    await assert.rejects(
      helmInput({ type: 'helm/v1', helmRepository: `${http.url}/charts/mychart:9.9.9` }, ctx()),
      (e) =>
        isLadingError(e, 'NOT_FOUND') &&
        /chart mychart version 9\.9\.9 not found in http:\/\/127\.0\.0\.1:\d+\/charts\/index\.yaml/.test(
          (e as Error).message,
        ),
    );
  });

  test('errors: 404, not a chart, repository tag, bad helmRepository, path and helmRepository together', async () => {
    await assert.rejects(
      helmInput({ type: 'helm/v1', helmRepository: `${http.url}/nope/mychart-0.1.0.tgz` }, ctx()),
      (e) =>
        isLadingError(e, 'NOT_FOUND') &&
        /^GET http:\/\/127\.0\.0\.1:\d+\/nope\/mychart-0\.1\.0\.tgz: 404$/.test((e as Error).message),
    );
    await assert.rejects(helmInput({ type: 'helm/v1', helmRepository: `${http.url}/notachart.tgz` }, ctx()), (e) =>
      isLadingError(e, 'INVALID_ARCHIVE'),
    );
    await assert.rejects(
      helmInput(
        { type: 'helm/v1', helmRepository: `${http.url}/charts/mychart-0.1.0.tgz`, repository: 'x/mychart:1.0.0' },
        ctx(),
      ),
      /must equal the chart version "0\.1\.0"/,
    );
    await assert.rejects(helmInput({ type: 'helm/v1', helmRepository: 'ftp://example.com/c.tgz' }, ctx()), (e) =>
      isLadingError(e, 'INVALID_ARGUMENT'),
    );
    await assert.rejects(
      helmInput({ type: 'helm/v1', helmRepository: `${http.url}/x.tgz`, path: 'mychart' }, ctx()),
      /only one of/,
    );
  });

  test('https: TLS is verified; caCertFile (relative to the working directory) and caCert are trusted', async () => {
    const url = `${https.url}/charts/mychart-0.1.0.tgz`;
    await assert.rejects(
      helmInput({ type: 'helm/v1', helmRepository: url }, ctx()),
      (e) =>
        isLadingError(e, 'NETWORK_ERROR') && /TLS verification of 127\.0\.0\.1:\d+ failed/.test((e as Error).message),
    );
    await cp(peers.tls.caFile, join(work.path, 'ca.pem'));
    const viaFile = await unpackLayout(
      await helmInput({ type: 'helm/v1', helmRepository: url, caCertFile: 'ca.pem' }, ctx()),
    );
    assert.ok(viaFile.layers[0]?.bytes.equals(chart010));
    const viaInline = await unpackLayout(
      await helmInput(
        { type: 'helm/v1', helmRepository: url, caCert: await readFile(peers.tls.caFile, 'utf8') },
        ctx(),
      ),
    );
    assert.equal(viaInline.manifestDigest, viaFile.manifestDigest);
  });

  test('credentials go to the repository origin only, never to a chart URL on another host', async () => {
    // From an .ocmconfig consumer of the repository, as upstream configures helm repositories.
    const port = new URL(http.url).port;
    const config = parseOcmConfig(`type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: HelmChartRepository, scheme: http, hostname: 127.0.0.1, port: "${port}", path: private}
    credentials:
    - {type: Credentials/v1, properties: {username: helm, password: secret}}
`);
    const input = createHelmInput({ httpCredentials: helmCredentialsFromConfig(config) });
    const a = await unpackLayout(
      await input({ type: 'helm/v1', helmRepository: `${http.url}/private/mychart:0.1.0` }, ctx()),
    );
    assert.ok(a.layers[0]?.bytes.equals(chart010));
    const before = other.requests.length;
    await assert.rejects(
      input({ type: 'helm/v1', helmRepository: `${http.url}/private/mychart:0.1.1` }, ctx()),
      /holds chart mychart:0\.1\.0, but the repository index lists it as mychart:0\.1\.1/,
    );
    const elsewhere = other.requests.slice(before);
    assert.ok(elsewhere.length > 0, 'the other host was asked for the chart');
    assert.ok(
      elsewhere.every((r) => r.authorization === undefined),
      'credentials leaked to another host',
    );
    await assert.rejects(
      helmInput({ type: 'helm/v1', helmRepository: `${http.url}/private/mychart:0.1.0` }, ctx()),
      (e) => isLadingError(e, 'UNAUTHORIZED'),
    );
  });
});

describe('Helm/v1 input and access with oci:// charts on the real registry', () => {
  const repo = `helm-charts-${process.pid}/mychart`;
  before(async () => {
    // Pushed as helm does it (its own manifest, with a created annotation), with lading's library.
    const registry = new Registry(plain, { plainHttp: true });
    const target = registry.repository(repo, { push: true });
    const config = await pushBytes(
      target,
      Buffer.from('{"name":"mychart","version":"0.1.0"}'),
      'application/vnd.cncf.helm.config.v1+json',
    );
    const layer = await pushBytes(target, chart010, 'application/vnd.cncf.helm.chart.content.v1.tar+gzip');
    const manifest = await pushBytes(
      target,
      encodeManifest({
        schemaVersion: 2,
        mediaType: MediaType.ImageManifest,
        config,
        layers: [layer],
        annotations: { 'org.opencontainers.image.created': '2026-01-01T00:00:00Z' },
      }),
      MediaType.ImageManifest,
    );
    await target.tag(manifest, '0.1.0');
    await registry.close();
  });

  test('oci://host/repo/chart:version, with plain HTTP chosen explicitly', async () => {
    const input = createHelmInput({ registryOptions: () => ({ plainHttp: true }) });
    const got = await unpackLayout(
      await input({ type: 'helm/v1', helmRepository: `oci://${plain}/${repo}:0.1.0` }, ctx()),
    );
    assert.deepEqual(got.config, { name: 'mychart', version: '0.1.0' });
    assert.ok(got.layers[0]?.bytes.equals(chart010));
    const local = await unpackLayout(
      await helmInput({ type: 'helm/v1', path: join(testdata, 'mychart') }, { workingDirectory: testdata }),
    );
    assert.equal(got.manifestDigest, local.manifestDigest, 'repackaged exactly as a local chart');
    const byVersion = await unpackLayout(
      await input({ type: 'helm/v1', helmRepository: `oci://${plain}/${repo}`, version: '0.1.0' }, ctx()),
    );
    assert.equal(byVersion.manifestDigest, got.manifestDigest);
    await assert.rejects(
      input({ type: 'helm/v1', helmRepository: `oci://${plain}/${repo}:0.1.0`, version: '0.2.0' }, ctx()),
      /does not match version/,
    );
    await assert.rejects(
      input({ type: 'helm/v1', helmRepository: `oci://${plain}/${repo}` }, ctx()),
      /either a tag in the oci reference or version/,
    );
    await assert.rejects(input({ type: 'helm/v1', helmRepository: `oci://${plain}/${repo}:9.9.9` }, ctx()), (e) =>
      isLadingError(e, 'NOT_FOUND'),
    );
    // Without the option the registry is spoken to over HTTPS, which a plain registry does not answer.
    await assert.rejects(helmInput({ type: 'helm/v1', helmRepository: `oci://${plain}/${repo}:0.1.0` }, ctx()), (e) =>
      isLadingError(e, 'NETWORK_ERROR'),
    );
  });

  test('transfer --copy-resources of an oci:// Helm/v1 access (library): local blob, ociArtifact, digest checked', async () => {
    const dir = join(work.path, `oci-access-${++n}`);
    const chartRepo = `oci://${plain}/${repo.slice(0, repo.lastIndexOf('/'))}`;
    const helm = { registryOptions: () => ({ plainHttp: true }) };
    const recorded = (
      await helmAccessDigest({ type: 'Helm/v1', helmRepository: chartRepo, helmChart: 'mychart:0.1.0' }, helm)
    ).value;
    const registry = new Registry(plain, { plainHttp: true });
    assert.equal(`sha256:${recorded}`, (await registry.repository(repo).resolve('0.1.0')).digest);
    const digest = (value: string) =>
      `{hashAlgorithm: SHA-256, normalisationAlgorithm: genericBlobDigest/v1, value: "${value}"}`;
    await writeFile(
      join(work.path, `oci-access-${n}.yaml`),
      `components:
  - name: acme.org/helm/oci
    version: 1.0.0
    provider: {name: acme.org}
    resources:
      - name: chart
        type: helmChart
        version: 0.1.0
        relation: external
        digest: ${digest(recorded)}
        access:
          type: helm
          helmRepository: ${chartRepo}
          helmChart: mychart
          version: 0.1.0
  - name: acme.org/helm/tampered
    version: 1.0.0
    provider: {name: acme.org}
    resources:
      - name: tampered
        type: helmChart
        version: 0.1.0
        relation: external
        digest: ${digest('0'.repeat(64))}
        access: {type: Helm/v1, helmRepository: "${chartRepo}", helmChart: "mychart:0.1.0"}
`,
    );
    // The digest processor resolves the oci:// chart (plain HTTP: the user's choice) and checks the given digests.
    const tampered = await lading(['add', 'cv', '-c', `oci-access-${n}.yaml`, '-r', dir, '--plain-http'], {
      cwd: work.path,
    });
    assertOneLineError(tampered, /resources\[0\]\.digest: 0{64} does not match what the access resolves to/);
    await ladingOk(
      ['add', 'cv', '-c', `oci-access-${n}.yaml`, '-r', dir, '--plain-http', '--skip-reference-digest-processing'],
      { cwd: work.path },
    );
    // download resource fetches the chart through its Helm/v1 access.
    const chartFile = join(work.path, `downloaded-${n}.tgz`);
    const dl = await ladingOk(
      [
        'download',
        'resource',
        `${dir}//acme.org/helm/oci:1.0.0`,
        '--identity',
        'name=chart',
        '--output',
        chartFile,
        '--plain-http',
      ],
      { cwd: work.path },
    );
    assert.match(dl.stderr, /chart mychart:0\.1\.0/);
    const listing = execFileSync('tar', ['-tzf', chartFile], { encoding: 'utf8' });
    assert.match(listing, /^mychart\/Chart\.yaml$/m);
    const ctf = (filePath: string) => ({
      kind: 'CommonTransportFormat' as const,
      type: 'CommonTransportFormat/v1',
      filePath,
    });
    const src = await openComponentRepository(ctf(dir));
    const dst = await openComponentRepository(ctf(`${dir}-target`), { mode: 'create' });
    const sub = `ocm-helm-oci-${process.pid}-${n}`;
    const oci = await openComponentRepository(
      { kind: 'OCIRepository', type: 'OCIRepository/v1', baseUrl: `http://${plain}`, subPath: sub },
      { mode: 'create', registryOptions: () => ({ plainHttp: true }) },
    );
    try {
      const local = await transferComponentVersion(src.repository, dst.repository, 'acme.org/helm/oci', '1.0.0', {
        copyResources: true,
        helm,
      });
      const resource = local.descriptors[0]?.component.resources?.[0];
      assert.ok(resource);
      const access = resource.access as unknown as { type: string; localReference: string; referenceName?: string };
      assert.equal(access.type, 'LocalBlob/v1');
      assert.equal(access.referenceName, 'mychart:0.1.0');
      assert.deepEqual(resource.digest?.value, recorded, 'the recorded digest is kept');
      const stored = await dst.repository.getComponentVersion('acme.org/helm/oci', '1.0.0');
      const target = await dst.repository.target('acme.org/helm/oci');
      const top = await target.resolve(access.localReference);
      assert.equal(top.mediaType, MediaType.ImageManifest);
      assert.equal(stored.root.mediaType, MediaType.ImageIndex, 'the chart is a native manifest of the version');

      const standalone = await transferComponentVersion(src.repository, oci.repository, 'acme.org/helm/oci', '1.0.0', {
        copyResources: true,
        uploadAs: 'ociArtifact',
        helm,
        artifactDestination: async (referenceName) => {
          const [name, tag] = referenceName.split(':') as [string, string];
          return {
            target: registry.repository(`${sub}/${name}`, { push: true }),
            reference: tag,
            imageReference: `${plain}/${sub}/${referenceName}`,
          };
        },
      });
      assert.deepEqual(standalone.descriptors[0]?.component.resources?.[0]?.access, {
        type: 'ociArtifact/v1',
        imageReference: `${plain}/${sub}/mychart:0.1.0`,
      });
      const pushed = await registry.repository(`${sub}/mychart`).resolve('0.1.0');
      assert.equal(pushed.digest, top.digest, 'the standalone copy is the same artifact');

      await assert.rejects(
        transferComponentVersion(src.repository, dst.repository, 'acme.org/helm/tampered', '1.0.0', {
          copyResources: true,
          helm,
        }),
        (e) => isLadingError(e, 'DIGEST_MISMATCH') && /resource tampered/.test((e as Error).message),
      );
    } finally {
      await dst.close({ commit: false });
      await src.close();
      await oci.close();
      await registry.close();
    }
  });
});

describe('Helm/v1 access: lading add cv, then transfer cv --copy-resources to the real registry', () => {
  test('the chart becomes a local blob (Helm OCI manifest), natively pullable with skopeo by its localReference', async () => {
    const dir = join(work.path, `cli-${++n}`);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'component-constructor.yaml'),
      `name: acme.org/helm/demo
version: 1.0.0
provider:
  name: acme.org
resources:
  - name: chart
    type: helmChart
    version: 0.1.0
    relation: external
    labels:
      - name: purpose
        value: demo
    access:
      type: Helm/v1
      helmRepository: ${http.url}/charts
      helmChart: mychart:0.1.0
  - name: chart-input
    type: helmChart
    input:
      type: helm/v1
      helmRepository: ${http.url}/charts/mychart-0.1.0.tgz
`,
    );
    await ladingOk(['add', 'cv'], { cwd: dir });
    const ref = './transport-archive//acme.org/helm/demo:1.0.0';
    // The digest processor records the chart's index.yaml digest, as upstream's does.
    const [built] = JSON.parse((await ladingOk(['get', 'cv', ref, '-o', 'json'], { cwd: dir })).stdout);
    assert.deepEqual(built.component.resources[0].digest, {
      hashAlgorithm: 'SHA-256',
      normalisationAlgorithm: 'genericBlobDigest/v1',
      value: sha256(chart010),
    });
    const sub = `ocm-helm-${process.pid}-${n}`;
    const target = `http://${plain}/${sub}`;

    const plan = await ladingOk(['transfer', 'cv', '--copy-resources', '--dry-run', '-o', 'json', ref, target], {
      cwd: dir,
    });
    // The dry run prints upstream's transfer spec: the chart by its Get/Convert/Add nodes, the local blob by Get/Add.
    assert.deepEqual(
      JSON.parse(plan.stdout).transformations.map((t: { type: string }) => t.type),
      [
        'GetHelmChart/v1alpha1',
        'ConvertHelmToOCI/v1alpha1',
        'OCIAddLocalResource/v1alpha1',
        'CTFGetLocalResource/v1alpha1',
        'OCIAddLocalResource/v1alpha1',
        'OCIAddComponentVersion/v1alpha1',
        'FileCleanup/v1alpha1',
      ],
    );
    // Both resources are the same artifact. Copied at the same time, docker-registry 2.8 can lose the
    // race between two identical blob uploads to one repository (it truncates and rewrites the blob
    // link), so this transfer copies one resource at a time.
    await ladingOk(['transfer', 'cv', '--copy-resources', '--concurrency', '1', ref, target], { cwd: dir });
    const got = await ladingOk(['get', 'cv', `${target}//acme.org/helm/demo:1.0.0`, '-o', 'json'], { cwd: dir });
    const [descriptor] = JSON.parse(got.stdout);
    const [chart, input] = descriptor.component.resources;
    assert.deepEqual(chart.access, {
      type: 'LocalBlob/v1',
      localReference: chart.access.localReference,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      referenceName: 'mychart:0.1.0',
    });
    assert.equal(chart.relation, 'external');
    assert.equal(chart.digest.value, sha256(chart010), 'the digest travels with the chart');
    assert.deepEqual(chart.labels, [{ name: 'purpose', value: 'demo' }]);
    // The access-copied chart and the input-built one are the same artifact.
    assert.equal(chart.access.localReference, input.access.localReference);

    const native = `${plain}/${sub}/component-descriptors/acme.org/helm/demo@${chart.access.localReference}`;
    const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${native}`], {
      encoding: 'buffer',
    });
    assert.equal(`sha256:${sha256(raw.stdout as Buffer)}`, chart.access.localReference);
    const manifest = JSON.parse(String(raw.stdout));
    assert.equal(manifest.config.mediaType, 'application/vnd.cncf.helm.config.v1+json');
    const layout = join(dir, 'pulled');
    await run('skopeo', ['copy', '--src-tls-verify=false', `docker://${native}`, `oci:${layout}:0.1.0`]);
    const pulledChart = await readFile(join(layout, 'blobs', 'sha256', manifest.layers[0].digest.slice(7)));
    assert.ok(pulledChart.equals(chart010), 'skopeo pulled the chart archive that was served');

    // Without --copy-resources the access stays as it is.
    const kept = `http://${plain}/${sub}-kept`;
    await ladingOk(['transfer', 'cv', ref, kept], { cwd: dir });
    const [keptDescriptor] = JSON.parse(
      (await ladingOk(['get', 'cv', `${kept}//acme.org/helm/demo:1.0.0`, '-o', 'json'], { cwd: dir })).stdout,
    );
    assert.equal(keptDescriptor.component.resources[0].access.type, 'Helm/v1');
  });

  test('a chart the repository does not have: add cv and transfer cv each fail in one clear line, nothing written', async () => {
    const dir = join(work.path, `cli-${++n}`);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'component-constructor.yaml'),
      `name: acme.org/helm/missing
version: 1.0.0
provider: {name: acme.org}
resources:
  - name: chart
    type: helmChart
    version: 9.9.9
    access: {type: Helm/v1, helmRepository: "${http.url}/charts", helmChart: "mychart:9.9.9"}
`,
    );
    // The digest processor looks the chart up while the component is built.
    const add = await lading(['add', 'cv'], { cwd: dir });
    assertOneLineError(
      add,
      /component-constructor\.yaml:5: resources\[0\]\.access: chart mychart version 9\.9\.9 not found in http:\/\/127\.0\.0\.1:\d+\/charts\/index\.yaml/,
    );
    await assert.rejects(readdir(join(dir, 'transport-archive')), 'an archive was left behind');
    await ladingOk(['add', 'cv', '--skip-reference-digest-processing'], { cwd: dir });
    const r = await lading(
      ['transfer', 'cv', '--copy-resources', './transport-archive//acme.org/helm/missing:1.0.0', './target-archive'],
      { cwd: dir },
    );
    assertOneLineError(r, /chart mychart version 9\.9\.9 not found in http:\/\/127\.0\.0\.1:\d+\/charts\/index\.yaml/);
    await assert.rejects(readdir(join(dir, 'target-archive')), 'a target archive was left behind');
  });
});
