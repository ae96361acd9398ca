// Credentials stay with their origin and out of every output; files written by login are 0600.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fetchAll, listReferrers } from '../src/content/index.js';
import { type Descriptor, digestBytes, MediaType } from '../src/oci/index.js';
import { Registry } from '../src/registry/index.js';
import { type CliRun, runCli } from './reliability-support.js';
import { FaultServer, SecondOrigin } from './support/fault-server.js';
import { tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();
const fast = { minWaitMs: 1, maxWaitMs: 5 };

function blob(bytes: Buffer): Descriptor {
  return { mediaType: MediaType.ImageLayer, digest: digestBytes(bytes), size: bytes.length };
}

describe('credentials go only to their origin', () => {
  test('basic auth: a blob redirect to another origin carries no Authorization', async () => {
    const server = await FaultServer.start();
    const cdn = await SecondOrigin.start();
    const registry = new Registry(server.host, {
      plainHttp: true,
      retry: fast,
      credentials: async (h) => (h === server.host ? { username: 'alice', password: 's3cret-basic' } : undefined),
    });
    try {
      const data = randomBytes(4000);
      const digest = server.putBlob(data);
      cdn.files.set('/object', data);
      server.intercept((req, res) => {
        if (!req.url?.startsWith('/v2/')) return false;
        if (!req.headers.authorization) {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="fault"' }).end();
          return true;
        }
        if (req.method === 'GET' && req.url.includes('/blobs/')) {
          res.writeHead(302, { location: `${cdn.url}/object` }).end();
          return true;
        }
        return false;
      });
      assert.deepEqual(await fetchAll(registry.repository('sec/basic'), blob(data)), data);
      const basic = `Basic ${Buffer.from('alice:s3cret-basic').toString('base64')}`;
      assert.ok(server.requests.some((r) => r.url.includes(digest) && r.headers.authorization === basic));
      assert.equal(cdn.requests.length, 1);
      assert.equal(cdn.requests[0]?.headers.authorization, undefined, 'the credential left its origin');
    } finally {
      await registry.close();
      await cdn.close();
      await server.close();
    }
  });

  test('a referrers page whose Link points at another origin is refused before it is fetched', async () => {
    const server = await FaultServer.start({ referrersApi: true, tokenAuth: true });
    const other = await SecondOrigin.start();
    const registry = new Registry(server.host, { plainHttp: true, retry: fast });
    try {
      server.intercept((req, res) => {
        if (req.url?.includes('/referrers/') && req.headers.authorization) {
          res.writeHead(200, {
            'content-type': MediaType.ImageIndex,
            link: `<${other.url}/v2/sec/ref/referrers/x?page=2>; rel="next"`,
          });
          res.end(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ImageIndex, manifests: [] }));
          return true;
        }
        return false;
      });
      const repo = registry.repository('sec/ref');
      await assert.rejects(listReferrers(repo, blob(Buffer.from('subject'))), /another origin/);
      assert.equal(other.requests.length, 0, 'nothing was sent to the other origin');
    } finally {
      await registry.close();
      await other.close();
      await server.close();
    }
  });

  test('a manifest redirect to another origin carries no bearer token', async () => {
    const server = await FaultServer.start({ tokenAuth: true });
    const cdn = await SecondOrigin.start();
    const registry = new Registry(server.host, { plainHttp: true, retry: fast });
    try {
      const bytes = Buffer.from(
        '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
      );
      server.putManifest('sec/manifest', MediaType.ImageIndex, bytes, 'v1');
      cdn.files.set('/manifest', bytes);
      server.intercept((req, res) => {
        if (req.method === 'GET' && req.url?.endsWith('/manifests/v1') && req.headers.authorization) {
          res.writeHead(307, { location: `${cdn.url}/manifest` }).end();
          return true;
        }
        return false;
      });
      const got = await registry.repository('sec/manifest').fetchManifest('v1');
      assert.ok(Buffer.from(got.bytes).equals(bytes));
      assert.ok(cdn.requests.length >= 1);
      for (const r of cdn.requests) assert.equal(r.headers.authorization, undefined);
    } finally {
      await registry.close();
      await cdn.close();
      await server.close();
    }
  });
});

/** Every output of a session, searched for anything that would let a reader act as the user. */
function assertNothingLeaked(results: CliRun[], secrets: string[]): void {
  for (const r of results) {
    const all = r.stdout + r.stderr;
    for (const s of secrets) assert.ok(!all.includes(s), `a secret leaked:\n${all.slice(0, 2000)}`);
    assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, 'a JWT leaked');
    assert.doesNotMatch(all, /authorization: (Basic|Bearer) /i, 'an Authorization header leaked');
  }
}

describe('a full authenticated session prints no secret', () => {
  test('TLS + basic: login, push, pull, resolve, tags, cp, logout with --debug and --format json', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      const { host, caFile, username, password } = peers.tls;
      const config = join(dir, 'auth.json');
      const basic = Buffer.from(`${username}:${password}`).toString('base64');
      const common = ['-d', '--ca-file', caFile, '--registry-config', config];
      const results: CliRun[] = [];
      const run = async (args: string[], input?: string) => {
        const r = await runCli(args, { cwd: dir, ...(input !== undefined ? { input } : {}) });
        assert.equal(r.code, 0, `lading ${args.join(' ')}:\n${r.stderr}`);
        results.push(r);
        return r;
      };
      await run(['login', ...common, '-u', username, '--password-stdin', host], `${password}\n`);
      assert.equal((await stat(config)).mode & 0o777, 0o600, 'login writes its file 0600');
      await writeFile(join(dir, 'a.txt'), 'secret session');
      const ref = `${host}/sec/session:v1`;
      await run(['push', ...common, '--format', 'json', ref, 'a.txt']);
      await run(['pull', ...common, '--format', 'json', ref, '-o', 'out']);
      await run(['resolve', ...common, ref]);
      await run(['repo', 'tags', ...common, '--format', 'json', `${host}/sec/session`]);
      await run([
        'cp',
        '-d',
        '--from-ca-file',
        caFile,
        '--to-ca-file',
        caFile,
        '--from-registry-config',
        config,
        '--to-registry-config',
        config,
        ref,
        `${host}/sec/session-copy:v1`,
      ]);
      await run(['manifest', 'fetch', ...common, '--format', 'json', ref]);
      // A wrong password on the command line: the error must not echo it either.
      const wrong = await runCli(['resolve', '-d', '--ca-file', caFile, '-u', username, '-p', 'wrong-Pa55-xyz', ref], {
        cwd: dir,
      });
      assert.notEqual(wrong.code, 0);
      results.push(wrong);
      await run(['logout', '--registry-config', config, host]);
      assert.equal(await readFile(join(dir, 'out', 'a.txt'), 'utf8'), 'secret session');
      assert.match(results.map((r) => r.stderr).join(''), /\[debug\] > /, 'the debug trace was on');
      assertNothingLeaked(results, [password, basic, 'wrong-Pa55-xyz']);
    } finally {
      await t.cleanup();
    }
  });

  test('token auth: login, push, pull, OCM add and get with --debug and json output', async () => {
    const t = await tempDir();
    try {
      const dir = t.path;
      const { host, username, password } = peers.token;
      const config = join(dir, 'auth.json');
      const common = ['-d', '--plain-http', '--registry-config', config];
      const results: CliRun[] = [];
      const run = async (args: string[]) => {
        const r = await runCli(args, { cwd: dir, env: { ...process.env, HOME: dir } });
        assert.equal(r.code, 0, `lading ${args.join(' ')}:\n${r.stderr}`);
        results.push(r);
        return r;
      };
      await run(['login', ...common, '-u', username, '-p', password, host]);
      assert.equal((await stat(config)).mode & 0o777, 0o600);
      await writeFile(join(dir, 'b.bin'), randomBytes(5000));
      const ref = `${host}/sec/token:v1`;
      await run(['push', ...common, '--format', 'json', ref, 'b.bin']);
      await run(['pull', ...common, '--format', 'json', ref, '-o', 'out']);
      await writeFile(
        join(dir, 'c.yaml'),
        'name: acme.org/sec\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input:\n      type: utf8/v1\n      text: hi\n',
      );
      const ocm = ['-d', '--registry-config', config];
      await run(['add', 'cv', ...ocm, '-c', 'c.yaml', '-r', `http://${host}/sec-ocm-${process.pid}`, '-o', 'json']);
      await run(['get', 'cv', ...ocm, '-o', 'json', `http://${host}/sec-ocm-${process.pid}//acme.org/sec:1.0.0`]);
      assertNothingLeaked(results, [password, Buffer.from(`${username}:${password}`).toString('base64')]);
    } finally {
      await t.cleanup();
    }
  });
});
