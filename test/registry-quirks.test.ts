// Registries other than distribution, as users meet them: each quirk emulated by the in-process
// fault server (docker-registry cannot be made to answer this way), driven through the command line
// as a user would, and compared with what oras-go, go-containerregistry and containerd accept.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { FaultServer, type FaultServerOptions } from './support/fault-server.js';
import { tempDir } from './support/fixtures.js';

let dir: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let server: FaultServer | undefined;

before(async () => {
  dir = await tempDir('lading-quirks-');
  const home = join(dir.path, 'home');
  await mkdir(home);
  // No docker config of the user's: only what a test passes.
  env = { ...process.env, HOME: home, DOCKER_CONFIG: join(home, '.docker'), XDG_CONFIG_HOME: join(home, '.config') };
  await writeFile(join(dir.path, 'a.txt'), 'hello quirks\n');
  await writeFile(join(dir.path, 'sig.txt'), 'a signature\n');
});

after(async () => {
  await dir.cleanup();
});

afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: FaultServerOptions = {}): Promise<FaultServer> {
  server = await FaultServer.start(options);
  return server;
}

const run = (args: string[]) => lading(args, { cwd: dir.path, env });
const ok = (args: string[]) => ladingOk(args, { cwd: dir.path, env });

function count(s: FaultServer, method: string, pattern: RegExp): number {
  return s.requests.filter((r) => r.method === method && pattern.test(r.url)).length;
}

function specError(status: number, code: string, message: string) {
  return (res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message }] }));
  };
}

describe('a registry without the referrers API that does not answer 404', () => {
  // Artifactory answers 406; routers answer 405 or 501 for a path they do not serve; some answer 400.
  // go-containerregistry (crane, cosign) falls back to the tag schema on 400 and 406 as on 404.
  for (const [status, code] of [
    [405, 'UNSUPPORTED'],
    [406, 'UNSUPPORTED'],
    [501, 'UNSUPPORTED'],
    [400, 'UNSUPPORTED'],
  ] as const) {
    test(`${status}: attach writes the tag-schema index and discover reads it`, async () => {
      const s = await start();
      s.intercept((req, res) => {
        if (!req.url?.includes('/referrers/')) return false;
        specError(status, code, 'no such endpoint')(res);
        return true;
      });
      const ref = `${s.host}/quirks/art:v1`;
      await ok(['push', '--plain-http', ref, 'a.txt']);
      await ok(['attach', '--plain-http', '--artifact-type', 'application/x-sig', ref, 'sig.txt']);
      // The fallback index is there under the subject's tag.
      assert.ok([...s.tags.keys()].some((t) => /^quirks\/art:sha256-[0-9a-f]{64}$/.test(t)));
      const r = await ok(['discover', '--plain-http', '--format', 'json', ref]);
      const listed = JSON.parse(r.stdout) as { referrers?: { artifactType?: string }[]; manifests?: unknown[] };
      const referrers = listed.referrers ?? (listed.manifests as { artifactType?: string }[]);
      assert.equal(referrers.length, 1, r.stdout);
      assert.equal(referrers[0]?.artifactType, 'application/x-sig');
      assert.ok(count(s, 'GET', /\/referrers\//) >= 1, 'the API was asked first');
    });
  }

  test('a forced referrers API still fails on such an answer, in one line', async () => {
    const s = await start();
    s.intercept((req, res) => {
      if (!req.url?.includes('/referrers/')) return false;
      specError(406, 'UNSUPPORTED', 'not acceptable')(res);
      return true;
    });
    const ref = `${s.host}/quirks/forced:v1`;
    await ok(['push', '--plain-http', ref, 'a.txt']);
    const r = await run(['discover', '--plain-http', '--distribution-spec', 'v1.1-referrers-api', ref]);
    assertOneLineError(r, /referrers API/);
  });

  test('other refusals (403, a 404 naming the repository unknown) are errors, not "no referrers"', async () => {
    for (const [status, code] of [
      [403, 'DENIED'],
      [404, 'NAME_UNKNOWN'],
    ] as const) {
      const s = await start();
      s.intercept((req, res) => {
        if (!req.url?.includes('/referrers/')) return false;
        specError(status, code, 'refused')(res);
        return true;
      });
      const ref = `${s.host}/quirks/denied:v1`;
      await ok(['push', '--plain-http', ref, 'a.txt']);
      const r = await run(['discover', '--plain-http', ref]);
      assertOneLineError(r, new RegExp(`${status}`));
      await s.close();
      server = undefined;
    }
  });
});

describe('a registry that serves manifests by GET only (HEAD answers 405 or 501)', () => {
  for (const status of [405, 501]) {
    test(`${status}: resolve and cp ask again with a GET, as containerd does`, async () => {
      const s = await start();
      s.intercept((req, res) => {
        if (req.method !== 'HEAD' || !req.url?.includes('/manifests/')) return false;
        res.writeHead(status).end();
        return true;
      });
      const ref = `${s.host}/quirks/gethead:v1`;
      const pushed = await ok(['push', '--plain-http', '--format', 'json', ref, 'a.txt']);
      const digest = (JSON.parse(pushed.stdout) as { digest: string }).digest;
      const resolved = await ok(['resolve', '--plain-http', ref]);
      assert.equal(resolved.stdout.trim(), digest);
      // The copy's "is it there already?" of the manifest goes the same way.
      await ok(['cp', '--from-plain-http', '--to-plain-http', ref, `${s.host}/quirks/gethead:v2`]);
      assert.equal(s.tags.get('quirks/gethead:v2'), digest);
    });
  }
});

describe('a token server beside a local registry under another loopback name', () => {
  // distribution's auth.token.realm says http://127.0.0.1:<port>/…; the user types localhost:<port>.
  test('the realm is this machine too: anonymous and with a password, over loopback', async () => {
    const s = await start({ tokenAuth: true });
    const port = s.host.split(':')[1];
    await ok(['push', '--plain-http', `localhost:${port}/quirks/realm:v1`, 'a.txt']);
    await ok(['push', '--plain-http', '-u', 'user', '-p', 'secret-pass', `localhost:${port}/quirks/realm:v2`, 'a.txt']);
    assert.ok(s.tokensIssued >= 2);
    const tokenRequests = s.requests.filter((r) => r.url.startsWith('/token'));
    assert.ok(tokenRequests.some((r) => r.headers.authorization?.startsWith('Basic ')));
  });
});

describe('a rate limit that asks for a long pause', () => {
  test('Retry-After past what we wait: one request, one line naming the pause', async () => {
    const s = await start();
    s.intercept((req, res) => {
      if (!req.url?.includes('/tags/list')) return false;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3600' });
      res.end(
        JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] }),
      );
      return true;
    });
    const r = await run(['repo', 'tags', '--plain-http', `${s.host}/quirks/limited`]);
    assertOneLineError(r, /429 Too Many Requests: .*pull rate limit.*retry after 3600 s/);
    // Not asked again within the hour (before: five more times, 30 s apart).
    assert.equal(count(s, 'GET', /\/tags\/list/), 1);
  });

  test('a Retry-After of a hostile size is named as more than a day, not 1e+23 s', async () => {
    const s = await start();
    s.intercept((req, res) => {
      if (!req.url?.includes('/tags/list')) return false;
      res.writeHead(429, { 'retry-after': '99999999999999999999999' }).end();
      return true;
    });
    const r = await run(['repo', 'tags', '--plain-http', `${s.host}/quirks/limited`]);
    assertOneLineError(r, /429 Too Many Requests.*retry after more than a day\)$/);
    assert.equal(count(s, 'GET', /\/tags\/list/), 1);
  });

  test('a short Retry-After is still waited for and the request completes', async () => {
    const s = await start();
    let limited = 1;
    s.intercept((req, res) => {
      if (!req.url?.includes('/tags/list') || limited-- <= 0) return false;
      res.writeHead(429, { 'retry-after': '1' }).end();
      return true;
    });
    s.tags.set(
      'quirks/soon:v1',
      s.putManifest('quirks/soon', 'application/vnd.oci.image.manifest.v1+json', Buffer.from('{}')),
    );
    const r = await ok(['repo', 'tags', '--plain-http', `${s.host}/quirks/soon`]);
    assert.equal(r.stdout.trim(), 'v1');
    assert.equal(count(s, 'GET', /\/tags\/list/), 2);
  });
});

describe('token servers and challenges as registries write them', () => {
  test('Basic and Bearer in two WWW-Authenticate fields, an unquoted realm, a reply with only access_token', async () => {
    const s = await start();
    s.intercept((req, res) => {
      const url = req.url ?? '';
      if (url.startsWith('/oauth2/token')) {
        // ACR's and GAR's shape: access_token, no token, no expires_in.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'quirk-access-token', scope: 'repository:quirks/acr:pull,push' }));
        return true;
      }
      if (url.startsWith('/v2/') && req.headers.authorization !== 'Bearer quirk-access-token') {
        res.setHeader('www-authenticate', [
          'Basic realm="Registry Realm"',
          `Bearer realm=http://${req.headers.host}/oauth2/token,service=quirks,scope="repository:quirks/acr:pull,push"`,
        ]);
        specError(401, 'UNAUTHORIZED', 'authentication required')(res);
        return true;
      }
      return false;
    });
    await ok(['push', '--plain-http', `${s.host}/quirks/acr:v1`, 'a.txt']);
    const r = await ok(['repo', 'tags', '--plain-http', `${s.host}/quirks/acr`]);
    assert.equal(r.stdout.trim(), 'v1');
    const asked = s.requests.find((q) => q.url.startsWith('/oauth2/token'));
    assert.match(asked?.url ?? '', /service=quirks/);
  });
});
