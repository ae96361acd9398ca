// Bounded everything: a hostile registry (test/support/hostile-registry.ts) serves pagination
// that loops or never ends, referrer chains without bottom, documents and headers crafted to
// exhaust or fool the client. Each case runs through the library and, where a command reaches it,
// through the real CLI; what is asserted is what the attacker controls: how many requests the
// client made, how much memory it held, the one error line and its code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fetchAll, listReferrers } from '../src/content/index.js';
import { type Descriptor, digestBytes, isLadingError, MediaType } from '../src/oci/index.js';
import { Registry, type RegistryOptions } from '../src/registry/index.js';
import { type CliRun, startCli } from './reliability-support.js';
import { assertOneLineError } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { endless, fakeDigest, HostileRegistry, indexBody, json, sha256 } from './support/hostile-registry.js';
import { loadPeers } from './support/peers.mjs';

const fast = { minWaitMs: 1, maxWaitMs: 5 };
/** Peak RSS allowed to a command fed an endless or huge answer. */
const MaxRss = 400 * 1024 * 1024;

let server: HostileRegistry;
const clients: Registry[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await server?.close();
});

async function start(): Promise<HostileRegistry> {
  await server?.close();
  server = await HostileRegistry.start();
  return server;
}

function client(options: RegistryOptions = {}): Registry {
  const r = new Registry(server.host, { plainHttp: true, retry: fast, ...options });
  clients.push(r);
  return r;
}

function codeOf(error: unknown): string | undefined {
  return isLadingError(error) ? error.code : undefined;
}

/**
 * Drains a paginated listing, but never past `cap` pages: code from before a bound existed would
 * otherwise run forever, and the test is meant to fail, not hang.
 */
async function drain(pages: AsyncIterable<unknown[]>, cap = 300): Promise<{ pages: number; error?: unknown }> {
  let n = 0;
  try {
    for await (const _ of pages) if (++n >= cap) return { pages: n };
  } catch (error) {
    return { pages: n, error };
  }
  return { pages: n };
}

let home: { path: string; cleanup: () => Promise<void> } | undefined;
after(() => home?.cleanup());

/** The CLI with an empty HOME (no credentials of the user), killed if it outlives `killAfterMs`. */
async function cli(
  args: string[],
  options: { killAfterMs?: number; onStart?: (pid: number) => void } = {},
): Promise<CliRun & { killed: boolean }> {
  home ??= await tempDir('bounds-home-');
  const env = { ...process.env, HOME: home.path, DOCKER_CONFIG: join(home.path, '.docker') };
  const run = startCli(args, { env });
  options.onStart?.(run.pid);
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      process.kill(run.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }, options.killAfterMs ?? 30_000);
  const result = await run.done;
  clearTimeout(timer);
  return { ...result, killed };
}

function assertCliError(r: CliRun & { killed: boolean }, pattern: RegExp): void {
  assert.equal(r.killed, false, `the command had to be killed:\n${r.stderr.slice(0, 500)}`);
  assertOneLineError(r, pattern);
}

const manifestType = MediaType.ImageManifest;

/** A small valid image manifest (its blobs need not exist: nothing here pulls them). */
function manifestBytes(note = 'x'): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestType,
      config: { mediaType: MediaType.Empty, digest: sha256('{}'), size: 2 },
      layers: [],
      annotations: { note },
    }),
  );
}

/** The route of a manifest answered by tag and by digest, with `headers` over the honest ones. */
function serveManifest(repo: string, tag: string, bytes: Buffer, headers: Record<string, string> = {}) {
  const digest = sha256(bytes);
  server.on('*', new RegExp(`^/v2/${repo}/manifests/(${tag}|${digest})$`), ({ res }) =>
    json(res, 200, bytes, {
      'content-type': manifestType,
      'docker-content-digest': digest,
      ...headers,
    }),
  );
  return digest;
}

// ---------------------------------------------------------------------------------------------

describe('Link pagination is bounded', () => {
  test('a tags Link back to a page already read ends the listing (library and CLI)', async () => {
    await start();
    // Page 1 links to page 2, page 2 back to page 1: the shortest loop that is not a self-link.
    server.on('GET', /^\/v2\/loop\/tags\/list$/, ({ res, url }) => {
      const second = url.searchParams.get('last') === 'a';
      json(
        res,
        200,
        { name: 'loop', tags: [second ? 'b' : 'a'] },
        {
          link: second ? '</v2/loop/tags/list>; rel="next"' : '</v2/loop/tags/list?last=a>; rel="next"',
        },
      );
    });
    const { error } = await drain(client().repository('loop').tags());
    assert.equal(codeOf(error), 'REGISTRY_ERROR', String(error));
    assert.match((error as Error).message, /tags of .*loop: page 2 links back to a page already read.*loops/);
    assert.equal(server.count('GET', /tags\/list/), 2);

    const before = server.requests.length;
    const r = await cli(['repo', 'tags', '--plain-http', `${server.host}/loop`]);
    assertCliError(r, /links back to a page already read/);
    assert.equal(server.count('GET', /tags\/list/), 4, 'two more pages, then the loop is seen');
    assert.ok(server.requests.length - before <= 3, `${server.requests.length - before} requests`);
  });

  test('endless distinct pages stop at the page limit, with the limit named', async () => {
    await start();
    server.on('GET', /^\/v2\/endless\/tags\/list$/, ({ res, url }) => {
      const n = Number(url.searchParams.get('last')?.slice(1) ?? 0) + 1;
      json(res, 200, { name: 'endless', tags: [`t${n}`] }, { link: `</v2/endless/tags/list?last=t${n}>; rel="next"` });
    });
    const { pages, error } = await drain(
      client({ pageLimits: { maxPages: 50 } })
        .repository('endless')
        .tags(),
    );
    assert.equal(codeOf(error), 'SIZE_EXCEEDS_LIMIT', String(error));
    assert.match((error as Error).message, /more than 50 pages; stopped before .*last=t50/);
    assert.equal(pages, 50);
    assert.equal(server.count('GET'), 50, 'the 51st page is never requested');
  });

  test('pages up to the total byte limit: the catalog stops at 32 MiB, memory stays bounded (CLI)', async () => {
    await start();
    // ~1.9 MiB pages (each under the per-page limit), every one linking to a new page.
    const names = Array.from({ length: 40_000 }, (_, i) => `repository-name-padding-padding-padding-${i}`);
    const body = Buffer.from(JSON.stringify({ repositories: names }));
    assert.ok(body.length < 4 * 1024 * 1024 && body.length > 1.5 * 1024 * 1024, `${body.length}`);
    server.on('GET', /^\/v2\/_catalog$/, ({ res, url }) => {
      const n = Number(url.searchParams.get('page') ?? 0) + 1;
      json(res, 200, body, { link: `</v2/_catalog?page=${n}>; rel="next"` });
    });
    const limit = Math.ceil((32 * 1024 * 1024) / body.length);

    const { error } = await drain(client().repositories());
    assert.equal(codeOf(error), 'SIZE_EXCEEDS_LIMIT', String(error));
    assert.match((error as Error).message, /repositories of .*: the listing runs to more than 33554432 bytes/);
    assert.equal(server.count('GET', /_catalog/), limit);

    // JSON output: the names are held until the end, the heaviest way to run it.
    const r = await cli(['repo', 'ls', '--format', 'json', '--plain-http', server.host]);
    assertCliError(r, /more than 33554432 bytes/);
    assert.equal(server.count('GET', /_catalog/), 2 * limit);
    assert.ok(r.maxRss < MaxRss, `peak RSS ${r.maxRss}`);
  });

  test('a referrers Link to itself ends discover at once (CLI), and the library says where', async () => {
    await start();
    const subject = serveManifest('refs', 'v1', manifestBytes());
    const entry = { mediaType: manifestType, digest: fakeDigest('r1'), size: 10, artifactType: 'application/x-sig' };
    server.on('GET', /^\/v2\/refs\/referrers\/(sha256:[0-9a-f]{64})$/, ({ res, match }) => {
      if (match[1] !== subject) return json(res, 200, indexBody([]), { 'content-type': MediaType.ImageIndex });
      json(res, 200, indexBody([entry]), {
        'content-type': MediaType.ImageIndex,
        link: `</v2/refs/referrers/${subject}#again>; rel="next"`,
      });
    });
    const desc: Descriptor = { mediaType: manifestType, digest: subject, size: manifestBytes().length };
    const { error } = await drain(client().repository('refs').referrers(desc));
    assert.equal(codeOf(error), 'REGISTRY_ERROR', String(error));
    assert.match((error as Error).message, /referrers of .*refs@sha256:.*: page 1 links back/);
    assert.equal(server.count('GET', /referrers/), 1);

    const r = await cli(['discover', '--plain-http', `${server.host}/refs:v1`]);
    assertCliError(r, /links back to a page already read/);
    assert.equal(server.count('GET', /referrers/), 2);
  });

  test('referrers pages stop at the page limit', async () => {
    await start();
    const subject = fakeDigest('subject');
    server.on('GET', /^\/v2\/refs\/referrers\/(sha256:[0-9a-f]{64})$/, ({ res, url }) => {
      const n = Number(url.searchParams.get('page') ?? 0) + 1;
      const entry = { mediaType: manifestType, digest: fakeDigest(`p${n}`), size: 10 };
      json(res, 200, indexBody([entry]), {
        'content-type': MediaType.ImageIndex,
        link: `</v2/refs/referrers/${subject}?page=${n}>; rel="next"`,
      });
    });
    const repo = client({ pageLimits: { maxPages: 20 } }).repository('refs');
    const desc: Descriptor = { mediaType: manifestType, digest: subject, size: 10 };
    const { pages, error } = await drain(repo.referrers(desc));
    assert.equal(codeOf(error), 'SIZE_EXCEEDS_LIMIT', String(error));
    assert.equal(pages, 20);
    assert.equal(server.count('GET', /referrers/), 20);
  });

  test('Ctrl-C during an endless listing: the command stops at once (CLI)', async () => {
    await start();
    server.on('GET', /^\/v2\/slow\/tags\/list$/, async ({ res, url }) => {
      const n = Number(url.searchParams.get('last')?.slice(1) ?? 0) + 1;
      await sleep(20);
      json(res, 200, { name: 'slow', tags: [`t${n}`] }, { link: `</v2/slow/tags/list?last=t${n}>; rel="next"` });
    });
    let pid = -1;
    const running = cli(['repo', 'tags', '--plain-http', `${server.host}/slow`], {
      onStart: (p) => {
        pid = p;
      },
    });
    while (server.count('GET') < 10) await sleep(10);
    const atSignal = server.count('GET');
    process.kill(pid, 'SIGINT');
    const r = await running;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.stderr.trim(), 'Error: interrupted');
    assert.ok(server.count('GET') - atSignal <= 1, `${server.count('GET') - atSignal} requests after Ctrl-C`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('discover walks a bounded referrer tree', () => {
  /** referrers/<d_i> lists d_{i+1}: a chain `length` deep below the subject (d_0). */
  function chain(repo: string, subject: string, length: number, next: (i: number) => string) {
    const position = new Map<string, number>([[subject, 0]]);
    for (let i = 1; i <= length; i++) position.set(next(i), i);
    server.on('GET', new RegExp(`^/v2/${repo}/referrers/(sha256:[0-9a-f]{64})$`), ({ res, match }) => {
      const i = position.get(match[1] ?? '');
      const below =
        i === undefined || i >= length
          ? []
          : [{ mediaType: manifestType, digest: next(i + 1), size: 100, artifactType: 'application/x-chain' }];
      json(res, 200, indexBody(below), { 'content-type': MediaType.ImageIndex });
    });
  }

  test('a chain 5000 deep stops at the depth bound with one line (CLI)', async () => {
    await start();
    const subject = serveManifest('deep', 'v1', manifestBytes());
    chain('deep', subject, 5000, (i) => fakeDigest(`deep-${i}`));
    const r = await cli(['discover', '--plain-http', `${server.host}/deep:v1`]);
    assertCliError(r, /referrers of .*deep@sha256:[0-9a-f]{64} nest deeper than 64 levels .*--depth/);
    assert.ok(server.count('GET', /referrers/) <= 65, `${server.count('GET', /referrers/)} listings`);
    assert.equal(r.stdout, '');

    // The same chain, shown as deep as the user asked: no error.
    const shallow = await cli(['discover', '--plain-http', '--depth', '3', `${server.host}/deep:v1`]);
    assert.equal(shallow.code, 0, shallow.stderr);
    assert.equal(shallow.stdout.split('\n').filter((l) => l.includes('application/x-chain')).length, 3);
  });

  test('a cycle is shown once and not followed again (CLI, held before)', async () => {
    await start();
    const subject = serveManifest('cycle', 'v1', manifestBytes());
    // subject <- d1 <- d2 <- subject: the subject refers to its own referrer's referrer.
    const [d1, d2] = [fakeDigest('cycle-1'), fakeDigest('cycle-2')];
    const below = new Map([
      [subject, d1],
      [d1, d2],
      [d2, subject],
    ]);
    server.on('GET', /^\/v2\/cycle\/referrers\/(sha256:[0-9a-f]{64})$/, ({ res, match }) => {
      const child = below.get(match[1] ?? '');
      const list = child
        ? [{ mediaType: manifestType, digest: child, size: 100, artifactType: 'application/x-c' }]
        : [];
      json(res, 200, indexBody(list), { 'content-type': MediaType.ImageIndex });
    });
    const r = await cli(['discover', '--plain-http', '--format', 'json', `${server.host}/cycle:v1`]);
    assert.equal(r.code, 0, r.stderr);
    const tree = JSON.parse(r.stdout) as { referrers: { digest: string; referrers: { referrers: unknown[] }[] }[] };
    assert.equal(tree.referrers[0]?.digest, d1);
    assert.equal(tree.referrers[0]?.referrers.length, 1);
    assert.equal(tree.referrers[0]?.referrers[0]?.referrers.length, 0, 'the subject is not shown below itself');
    assert.equal(server.count('GET', /referrers/), 3);
  });

  test('a referrer fan-out stops at the node bound instead of listing 40,000 (CLI)', async () => {
    await start();
    serveManifest('wide', 'v1', manifestBytes());
    server.on('GET', /^\/v2\/wide\/referrers\/(sha256:[0-9a-f]{64})$/, ({ res, match }) => {
      const children = Array.from({ length: 200 }, (_, k) => ({
        mediaType: manifestType,
        digest: fakeDigest(`${match[1]}-${k}`),
        size: 100,
        artifactType: 'application/x-wide',
      }));
      json(res, 200, indexBody(children), { 'content-type': MediaType.ImageIndex });
    });
    const r = await cli(['discover', '--plain-http', '--depth', '2', `${server.host}/wide:v1`]);
    assertCliError(r, /referrers of .*wide@sha256:[0-9a-f]{64} number more than 10000/);
    assert.ok(server.count('GET', /referrers/) <= 52, `${server.count('GET', /referrers/)} listings`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('documents from the registry are bounded', () => {
  test('manifest fetch --pretty of a 4 MiB document nested 2 million deep is refused, not built (CLI)', async () => {
    await start();
    const depth = 2 * 1024 * 1024 - 8;
    const bytes = Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);
    serveManifest('nested', 'v1', bytes);
    const r = await cli(['manifest', 'fetch', '--pretty', '--plain-http', `${server.host}/nested:v1`]);
    assertCliError(r, /indented, the document would exceed 67108864 characters \(nested too deeply\)/);
    assert.equal(r.stdout, '');
    assert.ok(r.maxRss < MaxRss, `peak RSS ${r.maxRss}`);
  });

  test('Ctrl-C while a registry holds a manifest fetch silent: the command stops at once (CLI)', async () => {
    await start();
    server.on('GET', /^\/v2\/silent\/manifests\/v1$/, () => new Promise<void>(() => {}));
    let pid = -1;
    const running = cli(['manifest', 'fetch', '--plain-http', `${server.host}/silent:v1`], {
      onStart: (p) => {
        pid = p;
      },
    });
    while (server.count('GET', /manifests/) < 1) await sleep(10);
    process.kill(pid, 'SIGINT');
    const r = await running;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(r.stderr.trim(), 'Error: interrupted');
  });

  test('endless bodies: a manifest, a tags page and a token answer are cut at their limits (held before)', async () => {
    await start();
    server.on('GET', /^\/v2\/big\/manifests\/v1$/, ({ res, server: s }) =>
      endless(res, s, { 'content-type': manifestType }),
    );
    server.on('GET', /^\/v2\/big\/tags\/list$/, ({ res, server: s }) =>
      endless(res, s, { 'content-type': 'application/json' }),
    );
    const repo = client().repository('big');
    await assert.rejects(repo.fetchManifest('v1'), (e: unknown) => codeOf(e) === 'SIZE_EXCEEDS_LIMIT');
    assert.equal(codeOf((await drain(repo.tags())).error), 'SIZE_EXCEEDS_LIMIT');

    const auth = await start();
    auth.on('*', /^\/v2\//, ({ res }) =>
      json(
        res,
        401,
        { errors: [{ code: 'UNAUTHORIZED', message: 'no' }] },
        {
          'www-authenticate': `Bearer realm="${auth.url}/token",service="x"`,
        },
      ),
    );
    auth.on('GET', /^\/token$/, ({ res, server: s }) => endless(res, s, { 'content-type': 'application/json' }));
    await assert.rejects(client().repository('big').resolve('v1'), (e: unknown) => {
      assert.match((e as Error).message, /token response .* exceeds 131072 bytes/);
      return true;
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('graphs a registry can precompute without end are bounded', () => {
  const emptyConfig = Buffer.from('{}');

  /** Serves `docs` by digest (and `tag` for the first), plus the empty config blob. */
  function serveDocs(repo: string, docs: { type: string; bytes: Buffer }[], tag: string) {
    const byDigest = new Map(docs.map((d) => [sha256(d.bytes), d]));
    const root = docs[0];
    server.on('*', new RegExp(`^/v2/${repo}/manifests/([^/]+)$`), ({ res, match }) => {
      const doc = match[1] === tag ? root : byDigest.get(match[1] ?? '');
      if (!doc) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN', message: 'unknown' }] });
      json(res, 200, doc.bytes, { 'content-type': doc.type, 'docker-content-digest': sha256(doc.bytes) });
    });
    server.on('*', new RegExp(`^/v2/${repo}/blobs/${sha256(emptyConfig)}$`), ({ res }) =>
      json(res, 200, emptyConfig, {
        'content-type': 'application/octet-stream',
        'docker-content-digest': sha256(emptyConfig),
      }),
    );
  }

  function imageManifest(extra: object = {}): Buffer {
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestType,
        config: { mediaType: MediaType.Empty, digest: sha256(emptyConfig), size: 2 },
        layers: [],
        ...extra,
      }),
    );
  }

  const descOf = (type: string, bytes: Buffer) => ({ mediaType: type, digest: sha256(bytes), size: bytes.length });

  test('cp of an index nested 80 deep stops at the depth bound; the destination gets no tag (CLI)', async () => {
    await start();
    const docs: { type: string; bytes: Buffer }[] = [{ type: manifestType, bytes: imageManifest() }];
    for (let k = 0; k < 80; k++) {
      const child = docs[0] as { type: string; bytes: Buffer };
      const index = indexBody([descOf(child.type, child.bytes)]);
      docs.unshift({ type: MediaType.ImageIndex, bytes: index });
    }
    serveDocs('nest', docs, 'v1');
    const dir = await tempDir('bounds-cp-');
    try {
      const r = await cli([
        'cp',
        '--from-plain-http',
        `${server.host}/nest:v1`,
        '--to-oci-layout',
        `${dir.path}/out:v1`,
      ]);
      assertCliError(r, /manifests above sha256:[0-9a-f]{64} nest deeper than 64 levels; not copied/);
      assert.ok(server.count('GET', /manifests/) <= 66, `${server.count('GET', /manifests/)} manifests fetched`);
      const index = await readFile(join(dir.path, 'out', 'index.json'), 'utf8').catch(() => '{"manifests":[]}');
      assert.doesNotMatch(index, /"v1"/, 'nothing was tagged');
    } finally {
      await dir.cleanup();
    }
  });

  test('cp -r of a referrer chain 80 deep stops at the depth bound (CLI)', async () => {
    await start();
    const subjectBytes = imageManifest();
    const docs: { type: string; bytes: Buffer }[] = [{ type: manifestType, bytes: subjectBytes }];
    const referrerOf = new Map<string, object>();
    let below = descOf(manifestType, subjectBytes);
    for (let k = 1; k <= 80; k++) {
      const bytes = imageManifest({ artifactType: 'application/x-chain', subject: below, annotations: { k: `${k}` } });
      docs.push({ type: manifestType, bytes });
      referrerOf.set(below.digest, { ...descOf(manifestType, bytes), artifactType: 'application/x-chain' });
      below = descOf(manifestType, bytes);
    }
    serveDocs('rchain', docs, 'v1');
    server.on('GET', /^\/v2\/rchain\/referrers\/(sha256:[0-9a-f]{64})$/, ({ res, match }) => {
      const entry = referrerOf.get(match[1] ?? '');
      json(res, 200, indexBody(entry ? [entry] : []), { 'content-type': MediaType.ImageIndex });
    });
    const dir = await tempDir('bounds-cpr-');
    try {
      const r = await cli([
        'cp',
        '-r',
        '--from-plain-http',
        `${server.host}/rchain:v1`,
        '--to-oci-layout',
        `${dir.path}/out:v1`,
      ]);
      assertCliError(r, /referrers of sha256:[0-9a-f]{64} nest deeper than 64 levels; not copied/);
      assert.ok(server.count('GET', /referrers/) <= 65, `${server.count('GET', /referrers/)} listings`);
    } finally {
      await dir.cleanup();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('response headers are validated before they are used or printed', () => {
  test('resolve: a Docker-Content-Digest that is not a digest is refused, never printed (library and CLI)', async () => {
    await start();
    const bytes = manifestBytes();
    // A C1 CSI (0x9b, sent as a raw byte; Node's parser lets it through) and text after it.
    const forged = `sha256:${'a'.repeat(64)}\u009b2K\u009b1GVerified: all good`;
    server.on('HEAD', /^\/v2\/forged\/manifests\/v1$/, ({ res }) => {
      // Node writes header strings as latin1: U+009B goes out as the single byte 0x9b.
      res.writeHead(200, {
        'content-type': manifestType,
        'content-length': bytes.length,
        'docker-content-digest': forged,
      });
      res.end();
    });
    await assert.rejects(client().repository('forged').resolve('v1'), (e: unknown) => {
      assert.equal(codeOf(e), 'REGISTRY_ERROR');
      assert.match(
        (e as Error).message,
        /Docker-Content-Digest header "sha256:a{64}\\u\{9b\}2K\\u\{9b\}1GVer"… is not a digest/,
      );
      return true;
    });
    const r = await cli(['resolve', '--plain-http', `${server.host}/forged:v1`]);
    assertCliError(r, /Docker-Content-Digest header .* is not a digest/);
    assert.equal(r.stdout, '');
    assert.doesNotMatch(r.stderr, /\u009b|Verified: all good"?$/);

    server.on('HEAD', /^\/v2\/plain\/manifests\/v1$/, ({ res }) =>
      json(res, 200, bytes, { 'content-type': manifestType, 'docker-content-digest': 'sha256:not-a-digest' }),
    );
    const plain = await cli(['resolve', '--plain-http', `${server.host}/plain:v1`]);
    assertCliError(plain, /"sha256:not-a-digest" is not a digest/);
    assert.equal(plain.stdout, '');
  });

  test('a manifest GET and a blob GET with a malformed digest header fail before the body is used', async () => {
    await start();
    const bytes = manifestBytes();
    serveManifest('m', 'v1', bytes, { 'docker-content-digest': `${sha256(bytes)}, ${sha256('other')}` });
    await assert.rejects(client().repository('m').fetchManifest('v1'), (e: unknown) => {
      assert.equal(codeOf(e), 'REGISTRY_ERROR');
      assert.match((e as Error).message, /GET .*m:v1: the registry's Docker-Content-Digest header .* is not a digest/);
      return true;
    });
    const data = randomBytes(1000);
    server.on('GET', /^\/v2\/m\/blobs\//, ({ res }) =>
      json(res, 200, data, { 'content-type': 'application/octet-stream', 'docker-content-digest': 'md5:abc' }),
    );
    const desc: Descriptor = { mediaType: MediaType.ImageLayer, digest: digestBytes(data), size: data.length };
    await assert.rejects(fetchAll(client().repository('m'), desc, { limit: 1 << 20 }), (e: unknown) => {
      assert.equal(codeOf(e), 'REGISTRY_ERROR');
      assert.match((e as Error).message, /"md5:abc" is not a digest/);
      return true;
    });
  });

  test('a Content-Type that is not a media type is not taken for one: resolve falls back to the manifest', async () => {
    await start();
    const bytes = manifestBytes();
    const digest = sha256(bytes);
    const junk = 'application/vnd.oci.image.manifest.v1+json\u009b31m';
    server.on('*', /^\/v2\/ct\/manifests\/(v1|sha256:[0-9a-f]{64})$/, ({ res }) => {
      res.writeHead(200, { 'content-type': junk, 'content-length': bytes.length, 'docker-content-digest': digest });
      res.end(res.req.method === 'HEAD' ? undefined : bytes);
    });
    const desc = await client().repository('ct').resolve('v1');
    assert.deepEqual(desc, { mediaType: manifestType, digest, size: bytes.length });
    assert.equal(server.count('GET', /manifests/), 1, 'the media type came from the manifest itself');
  });

  test('OCI-Subject is believed only for the subject the pushed manifest names', async () => {
    await start();
    const subject = { mediaType: manifestType, digest: fakeDigest('subject'), size: 100 };
    const bytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: manifestType,
        artifactType: 'application/x-sig',
        config: { mediaType: MediaType.Empty, digest: sha256('{}'), size: 2 },
        layers: [],
        subject,
      }),
    );
    const digest = sha256(bytes);
    const stored = new Map<string, Buffer>();
    server.on('PUT', /^\/v2\/sub\/manifests\/(.+)$/, ({ res, match, body }) => {
      stored.set(match[1] ?? '', body);
      res.writeHead(201, { 'docker-content-digest': sha256(body), 'oci-subject': fakeDigest('someone-else') });
      res.end();
    });
    const repo = client().repository('sub');
    await repo.push({ mediaType: manifestType, digest, size: bytes.length }, bytes);
    // The registry did not index this referrer under its subject: the tag-schema index must hold it.
    const fallback = stored.get(`sha256-${subject.digest.slice(7)}`);
    assert.ok(fallback, `no fallback index was written (PUTs: ${[...stored.keys()].join(', ')})`);
    const index = JSON.parse(fallback.toString()) as { manifests: Descriptor[] };
    assert.deepEqual(
      index.manifests.map((m) => m.digest),
      [digest],
    );

    server.on('PUT', /^\/v2\/bad\/manifests\/(.+)$/, ({ res }) => {
      res.writeHead(201, { 'docker-content-digest': digest, 'oci-subject': 'sha256:short' });
      res.end();
    });
    await assert.rejects(
      client().repository('bad').push({ mediaType: manifestType, digest, size: bytes.length }, bytes),
      (e: unknown) => codeOf(e) === 'REGISTRY_ERROR' && /OCI-Subject header "sha256:short"/.test((e as Error).message),
    );
  });

  test('OCI-Filters-Applied is not taken on trust: other artifact types stay out of the list (library and CLI)', async () => {
    await start();
    const subject = serveManifest('filter', 'v1', manifestBytes());
    const sig = { mediaType: manifestType, digest: fakeDigest('sig'), size: 10, artifactType: 'application/x-sig' };
    const sbom = { mediaType: manifestType, digest: fakeDigest('sbom'), size: 10, artifactType: 'application/x-sbom' };
    server.on('GET', /^\/v2\/filter\/referrers\/(sha256:[0-9a-f]{64})$/, ({ res, match }) =>
      json(res, 200, indexBody(match[1] === subject ? [sig, sbom] : []), {
        'content-type': MediaType.ImageIndex,
        'oci-filters-applied': 'artifactType',
      }),
    );
    const desc: Descriptor = { mediaType: manifestType, digest: subject, size: manifestBytes().length };
    const listed = await listReferrers(client().repository('filter'), desc, { artifactType: 'application/x-sig' });
    assert.deepEqual(
      listed.map((d) => d.digest),
      [sig.digest],
    );
    const r = await cli([
      'discover',
      '--plain-http',
      '--artifact-type',
      'application/x-sig',
      '--format',
      'json',
      `${server.host}/filter:v1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const tree = JSON.parse(r.stdout) as { referrers: { digest: string }[] };
    assert.deepEqual(
      tree.referrers.map((d) => d.digest),
      [sig.digest],
    );
  });

  test('an error body cannot end the error line: line breaks, escapes and bidi controls become spaces', async () => {
    await start();
    const message = 'manifest gone\n\u001b[32mVerified: all good\u001b[0m\r\u202eevil\u2028more';
    server.on('*', /^\/v2\/err\/manifests\/v1$/, ({ res }) =>
      json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN\nFORGED', message, detail: 'x\u001b]52;c;AAAA\u0007' }] }),
    );
    server.on('*', /^\/v2\/text\/manifests\/v1$/, ({ res }) =>
      json(res, 500, 'boom\u001b[2K\rVerified\n', { 'content-type': 'text/plain' }),
    );
    for (const repo of ['err', 'text']) {
      await assert.rejects(
        client({ retry: { maxRetries: 0 } })
          .repository(repo)
          .fetchManifest('v1'),
        (e: unknown) => {
          // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them
          assert.doesNotMatch((e as Error).message, /[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
          return true;
        },
      );
    }
    const r = await cli(['manifest', 'fetch', '--plain-http', `${server.host}/err:v1`]);
    assertCliError(r, /404 Not Found: manifest unknown forged: manifest gone \[32mVerified: all good \[0m evil more/);
  });

  test('Location headers that are not URLs fail with a registry error, not a TypeError', async () => {
    await start();
    server.on('POST', /^\/v2\/loc\/blobs\/uploads\/$/, ({ res }) => {
      res.writeHead(202, { location: 'http://[not-a-host/upload' });
      res.end();
    });
    const data = randomBytes(100);
    const desc: Descriptor = { mediaType: MediaType.ImageLayer, digest: digestBytes(data), size: data.length };
    await assert.rejects(client().repository('loc').push(desc, data), (e: unknown) => {
      assert.equal(codeOf(e), 'REGISTRY_ERROR', String(e));
      assert.match((e as Error).message, /Location header "http:\/\/\[not-a-host\/upload" is not a URL/);
      return true;
    });
    server.on('GET', /^\/v2\/loc\/blobs\//, ({ res }) => {
      res.writeHead(302, { location: 'http://[::1' });
      res.end();
    });
    await assert.rejects(fetchAll(client().repository('loc'), desc), (e: unknown) => {
      assert.equal(codeOf(e), 'REGISTRY_ERROR', String(e));
      assert.match((e as Error).message, /GET .*: the Location header "http:\/\/\[::1" is not a URL/);
      return true;
    });
    assert.equal(server.count('PUT') + server.count('PATCH'), 0);
  });

  test('a redirect from HTTPS to plain HTTP is refused: a tag is never resolved over an open channel', async () => {
    const peers = loadPeers();
    const tlsDir = dirname(peers.tls.caFile);
    const tls = {
      key: await readFile(join(tlsDir, 'registry.key')),
      cert: await readFile(join(tlsDir, 'registry.crt')),
    };
    server = await HostileRegistry.start({ tls });
    const open = await HostileRegistry.start();
    try {
      const bytes = manifestBytes('from the open channel');
      open.on('*', /^\/v2\/r\/manifests\/v1$/, ({ res }) =>
        json(res, 200, bytes, { 'content-type': manifestType, 'docker-content-digest': sha256(bytes) }),
      );
      server.on('*', /^\/v2\/r\/manifests\/v1$/, ({ res }) => {
        res.writeHead(307, { location: `${open.url}/v2/r/manifests/v1` });
        res.end();
      });
      const registry = new Registry(server.host, { caFile: peers.tls.caFile, retry: fast });
      clients.push(registry);
      await assert.rejects(registry.repository('r').fetchManifest('v1'), (e: unknown) => {
        assert.equal(codeOf(e), 'REGISTRY_ERROR', String(e));
        assert.match((e as Error).message, /redirect to plain HTTP \(http:\/\/127\.0\.0\.1:\d+\) refused/);
        return true;
      });
      assert.equal(open.requests.length, 0, 'nothing was asked of the plain-HTTP origin');
    } finally {
      await open.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('other sizes a registry dictates', () => {
  test('an OCI-Chunk-Min-Length beyond our buffer bound turns a chunked upload into one streamed PUT', async () => {
    await start();
    const data = randomBytes(300_000);
    const digest = digestBytes(data);
    let received = Buffer.alloc(0);
    server.on('POST', /^\/v2\/up\/blobs\/uploads\/$/, ({ res }) => {
      res.writeHead(202, { location: '/v2/up/blobs/uploads/1', 'oci-chunk-min-length': String(2 ** 40) });
      res.end();
    });
    server.on('*', /^\/v2\/up\/blobs\/uploads\/1$/, ({ req, res, body }) => {
      received = Buffer.concat([received, body]);
      if (req.method === 'PATCH') {
        res.writeHead(202, { location: '/v2/up/blobs/uploads/1', range: `0-${received.length - 1}` });
        return void res.end();
      }
      res.writeHead(201, { 'docker-content-digest': sha256(received) });
      res.end();
    });
    await client({ chunkSize: 64 * 1024 })
      .repository('up')
      .push({ mediaType: MediaType.ImageLayer, digest, size: data.length }, data);
    assert.equal(server.count('PATCH'), 0, 'no chunk of a terabyte was assembled');
    assert.equal(server.count('PUT'), 1);
    assert.deepEqual(received, data);
  });

  test('a HEAD 200 whose Content-Length or digest contradicts the blob does not make a push skip it', async () => {
    await start();
    const data = randomBytes(5000);
    const desc: Descriptor = { mediaType: MediaType.ImageLayer, digest: digestBytes(data), size: data.length };
    server.on('HEAD', /^\/v2\/lie\/blobs\//, ({ res }) =>
      json(res, 200, Buffer.alloc(7), { 'docker-content-digest': desc.digest }),
    );
    assert.equal(await client().repository('lie').exists(desc), false);
    server.on('HEAD', /^\/v2\/lie\/blobs\//, ({ res }) =>
      json(res, 200, Buffer.alloc(data.length), { 'docker-content-digest': fakeDigest('other') }),
    );
    assert.equal(await client().repository('lie').exists(desc), false);
    server.on('HEAD', /^\/v2\/lie\/blobs\//, ({ res }) =>
      json(res, 200, Buffer.alloc(data.length), { 'docker-content-digest': desc.digest }),
    );
    assert.equal(await client().repository('lie').exists(desc), true);
  });
});
