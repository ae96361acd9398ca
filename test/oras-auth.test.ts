import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { rootCertificates } from 'node:tls';
import { assertOneLineError, type CliResult, lading, ladingOk } from './support/cli.js';
import { withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();

function assertNoSecrets(results: CliResult[], secrets: string[]) {
  for (const r of results) {
    const all = r.stdout + r.stderr;
    for (const s of secrets) assert.ok(!all.includes(s), `a secret leaked into the output:\n${all}`);
    assert.doesNotMatch(all, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, 'a bearer token leaked into the output');
  }
}

describe('login, logout and credentials', () => {
  test('TLS + basic auth: login stores 0600 credentials, push and pull use them, logout removes them', () =>
    withDir(async (dir) => {
      const { host, caFile, username, password } = peers.tls;
      const config = join(dir, 'auth.json');
      const basic = Buffer.from(`${username}:${password}`).toString('base64');
      const results: CliResult[] = [];
      const login = await ladingOk(
        ['login', '--ca-file', caFile, '--registry-config', config, '-u', username, '--password-stdin', host],
        {
          input: `${password}\n`,
        },
      );
      results.push(login);
      assert.match(login.stdout, /^Login Succeeded$/m);
      assert.equal((await stat(config)).mode & 0o777, 0o600);
      assert.equal(JSON.parse(await readFile(config, 'utf8')).auths[host].auth, basic);
      await writeFile(join(dir, 'secret.txt'), 'classified');
      const ref = `${host}/auth/tls:v1`;
      results.push(
        await ladingOk(['push', '-d', '--ca-file', caFile, '--registry-config', config, ref, 'secret.txt'], {
          cwd: dir,
        }),
      );
      results.push(
        await ladingOk(['pull', '-d', '--ca-file', caFile, '--registry-config', config, ref, '-o', join(dir, 'out')]),
      );
      assert.equal(await readFile(join(dir, 'out', 'secret.txt'), 'utf8'), 'classified');
      results.push(await ladingOk(['logout', '--registry-config', config, host]));
      assert.equal(JSON.parse(await readFile(config, 'utf8')).auths?.[host], undefined);
      const denied = await lading([
        'pull',
        '--ca-file',
        caFile,
        '--registry-config',
        config,
        ref,
        '-o',
        join(dir, 'out2'),
      ]);
      assertOneLineError(denied, /unauthorized|authentication required|requires a user name and password/i);
      results.push(denied);
      assertNoSecrets(results, [password, basic]);
    }));

  test('login prompts on stdout and reads the answers from a piped stdin, as ORAS does; the password is never shown', () =>
    withDir(async (dir) => {
      const { host, caFile, username, password } = peers.tls;
      const basic = Buffer.from(`${username}:${password}`).toString('base64');
      const forms: Array<{ name: string; args: string[]; input: string; stdout: string }> = [
        // Both prompted; the user name is trimmed, a CRLF line end is dropped from the password.
        {
          name: 'both',
          args: [],
          input: `  ${username} \r\n${password}\r\n`,
          stdout: 'Username: Password: Login Succeeded\n',
        },
        { name: 'password', args: ['-u', username], input: `${password}\n`, stdout: 'Password: Login Succeeded\n' },
        // The last line may lack its newline.
        { name: 'no-newline', args: ['-u', username], input: password, stdout: 'Password: Login Succeeded\n' },
      ];
      for (const form of forms) {
        const config = join(dir, `${form.name}.json`);
        const login = await ladingOk(['login', '--ca-file', caFile, '--registry-config', config, ...form.args, host], {
          input: form.input,
        });
        assert.equal(login.stdout, form.stdout, form.name);
        assert.equal(login.stderr, '', form.name);
        assert.equal(JSON.parse(await readFile(config, 'utf8')).auths[host].auth, basic, form.name);
        // The stored credentials work for a later command.
        await writeFile(join(dir, 'f.txt'), form.name);
        const push = await ladingOk(
          ['push', '--ca-file', caFile, '--registry-config', config, `${host}/auth/prompt:${form.name}`, 'f.txt'],
          { cwd: dir },
        );
        assertNoSecrets([login, push], [password, basic]);
      }
      // Empty answers: ORAS's errors, after the prompt, and nothing stored.
      const empty: Array<[string[], string, RegExp]> = [
        [[], '\n\n', /^Error: token required$/],
        [['-u', username], '', /^Error: password required$/],
        [['-u', username], '\r\n', /^Error: password required$/],
      ];
      for (const [args, input, pattern] of empty) {
        const config = join(dir, 'empty.json');
        const r = await lading(['login', '--ca-file', caFile, '--registry-config', config, ...args, host], { input });
        assert.notEqual(r.code, 0);
        assert.match(r.stderr.trim(), pattern);
        await assert.rejects(() => stat(config), 'nothing stored after a failed login');
      }
      // A wrong prompted password fails as a wrong -p does, and is not printed.
      const wrong = await lading(['login', '--ca-file', caFile, '--registry-config', join(dir, 'w.json'), host], {
        input: `${username}\nwrong-pass-456\n`,
      });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /unauthorized|authentication/i);
      assertNoSecrets([wrong], ['wrong-pass-456']);
    }));

  test('a wrong password fails cleanly and says nothing of the password', () =>
    withDir(async (dir) => {
      const { host, caFile, username } = peers.tls;
      const r = await lading([
        'login',
        '--ca-file',
        caFile,
        '--registry-config',
        join(dir, 'a.json'),
        '-u',
        username,
        '-p',
        'wrong-pass-123',
        host,
      ]);
      assertOneLineError({ ...r, stderr: r.stderr.replace(/^WARNING!.*\n/m, '') }, /unauthorized|authentication/i);
      assertNoSecrets([r], ['wrong-pass-123']);
      await assert.rejects(() => stat(join(dir, 'a.json')), 'nothing stored after a failed login');
    }));

  test('TLS is verified: without the CA the connection is refused, --insecure opts out', () =>
    withDir(async (dir) => {
      const { host, username, password } = peers.tls;
      const r = await lading(['resolve', '-u', username, '-p', password, `${host}/auth/tls:v1`]);
      assertOneLineError({ ...r, stderr: r.stderr.replace(/^WARNING!.*\n/m, '') }, /certificate|TLS/i);
      await writeFile(join(dir, 'f'), 'f');
      await ladingOk(['push', '--insecure', '-u', username, '-p', password, `${host}/auth/insecure:v1`, 'f'], {
        cwd: dir,
      });
    }));

  test('--plain-http=false reaches a TLS registry named localhost over HTTPS, as ORAS; Go-style boolean values are read', () =>
    withDir(async (dir) => {
      const { host, caFile, username, password } = peers.tls;
      const local = host.replace(/^127\.0\.0\.1:/, 'localhost:');
      await writeFile(join(dir, 'f'), 'local');
      const ref = `${local}/auth/localhost:v1`;
      const creds = ['--ca-file', caFile, '-u', username, '-p', password];
      // localhost speaks plain HTTP unless told otherwise: the TLS port refuses it.
      assertOneLineError(
        await lading(['push', ...creds, ref, 'f'], { cwd: dir }),
        /http:\/\/localhost:.*400|HTTPS|TLS/i,
      );
      await ladingOk(['push', '--plain-http=false', ...creds, ref, 'f'], { cwd: dir });
      await ladingOk(['pull', '--plain-http=False', ...creds, ref, '-o', join(dir, 'out')]);
      assert.equal(await readFile(join(dir, 'out', 'f'), 'utf8'), 'local');
      const login = await ladingOk(
        [
          'login',
          '--plain-http=0',
          '--ca-file',
          caFile,
          '--registry-config',
          join(dir, 'a.json'),
          '-u',
          username,
          local,
        ],
        { input: `${password}\n` },
      );
      assert.match(login.stdout, /Login Succeeded/);
      await ladingOk([
        'cp',
        '--from-plain-http=false',
        '--from-ca-file',
        caFile,
        '--from-username',
        username,
        '--from-password',
        password,
        ref,
        '--to-oci-layout',
        `${join(dir, 'layout')}:v1`,
      ]);
      // true is --plain-http itself; anything else is a usage error.
      assertOneLineError(
        await lading(['resolve', '--plain-http=true', '--ca-file', caFile, `${host}/auth/localhost:v1`]),
        /without TLS|400|Bad Request|plain/i,
      );
      const bad = await lading(['resolve', '--plain-http=maybe', ref]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^Error: invalid argument "maybe" for "--plain-http" flag/);
    }));

  test('SSL_CERT_FILE and SSL_CERT_DIR are trusted, as Go reads them; NODE_EXTRA_CA_CERTS still counts beside --ca-file', () =>
    withDir(async (dir) => {
      const { host, caFile, username, password } = peers.tls;
      await writeFile(join(dir, 'f'), 'f');
      const creds = ['-u', username, '--password-stdin'];
      const ref = `${host}/auth/env-ca:v1`;
      const run = (args: string[], env: NodeJS.ProcessEnv) =>
        lading(args, { cwd: dir, input: `${password}\n`, env: { ...process.env, ...env } });
      const ok = async (args: string[], env: NodeJS.ProcessEnv) => {
        const r = await run(args, env);
        assert.equal(r.code, 0, `${JSON.stringify(env)} lading ${args.join(' ')}:\n${r.stderr}`);
      };
      await ok(['push', ...creds, ref, 'f'], { SSL_CERT_FILE: caFile });
      await mkdir(join(dir, 'certs'));
      await writeFile(join(dir, 'certs', 'not-a-cert'), 'nothing here');
      await copyFile(caFile, join(dir, 'certs', 'registry.pem'));
      await ok(['resolve', ...creds, ref], { SSL_CERT_DIR: `${join(dir, 'missing')}:${join(dir, 'certs')}` });
      // Another CA given with --ca-file: the registry's, named by NODE_EXTRA_CA_CERTS, is still trusted.
      const other = join(dir, 'other.pem');
      await writeFile(other, `${rootCertificates[0]}\n`);
      await ok(['resolve', '--ca-file', other, ...creds, ref], { NODE_EXTRA_CA_CERTS: caFile });
      // TLS stays verified: a file that does not hold the registry's CA trusts nothing more.
      assertOneLineError(await run(['resolve', ...creds, ref], { SSL_CERT_FILE: other }), /TLS verification/);
      assertOneLineError(
        await run(['resolve', ...creds, ref], { SSL_CERT_FILE: join(dir, 'missing.pem') }),
        /TLS verification/,
      );
    }));

  test('login --identity-token-stdin stores the identity token, which then pushes through the refresh-token grant', () =>
    withDir(async (dir) => {
      const { host, identityToken } = peers.token;
      const config = join(dir, 'auth.json');
      const login = await ladingOk(
        ['login', '--plain-http', '--registry-config', config, '--identity-token-stdin', host],
        { input: `${identityToken}\n` },
      );
      assert.match(login.stdout, /Login Succeeded/);
      const stored = JSON.parse(await readFile(config, 'utf8')) as {
        auths: Record<string, { identitytoken?: string }>;
      };
      assert.equal(stored.auths[host]?.identitytoken, identityToken);
      await writeFile(join(dir, 'data.bin'), 'pushed with an identity token');
      const push = await ladingOk(
        ['push', '--plain-http', '--registry-config', config, `${host}/auth/identity:v1`, 'data.bin'],
        {
          cwd: dir,
        },
      );
      assertNoSecrets([login, push], [identityToken]);
      const wrong = await lading(
        ['login', '--plain-http', '--registry-config', join(dir, 'b.json'), '--identity-token-stdin', host],
        {
          input: 'not-the-token\n',
        },
      );
      assertOneLineError(wrong, /unauthorized|authentication|invalid_grant/i);
    }));

  test('token auth: login, push, anonymous pull, anonymous push denied, and no token in the debug trace', () =>
    withDir(async (dir) => {
      const { host, username, password } = peers.token;
      const config = join(dir, 'auth.json');
      const results: CliResult[] = [];
      results.push(
        await ladingOk(['login', '--plain-http', '--registry-config', config, '-u', username, '-p', password, host]),
      );
      await writeFile(join(dir, 'data.bin'), Buffer.alloc(10_000, 1));
      const ref = `${host}/auth/token:v1`;
      results.push(
        await ladingOk(['push', '-d', '--plain-http', '--registry-config', config, ref, 'data.bin'], { cwd: dir }),
      );
      const anonConfig = join(dir, 'empty.json');
      await writeFile(anonConfig, '{}');
      results.push(
        await ladingOk(['pull', '-d', '--plain-http', '--registry-config', anonConfig, ref, '-o', join(dir, 'anon')]),
      );
      assert.equal((await readFile(join(dir, 'anon', 'data.bin'))).length, 10_000);
      const denied = await lading(
        ['push', '--plain-http', '--registry-config', anonConfig, `${host}/auth/token:v2`, 'data.bin'],
        { cwd: dir },
      );
      assertOneLineError(denied, /denied|unauthorized/i);
      results.push(denied);
      const debug = results.map((r) => r.stderr).join('');
      assert.match(debug, /\[debug\] > GET http:\/\/127\.0\.0\.1:\d+\/v2\//, 'the trace shows requests');
      assert.match(debug, /authorization: \*\*\*\*\*/, 'the trace masks the Authorization header');
      assertNoSecrets(results, [password, Buffer.from(`${username}:${password}`).toString('base64')]);
    }));
});
