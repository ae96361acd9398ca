import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliArgs } from '../../test/support/cli.js';
import { orasVectors } from '../../test/support/vectors.js';
import { isLadingError } from '../oci/index.js';
import { helperBounds } from './credentials/helper.js';
import { DockerConfig, DockerCredentialStore, defaultConfigPath, serverAddress } from './credentials/index.js';

const testdata = join(orasVectors, 'oras-project/oras-go/registry/remote/credentials/testdata');
const vector = (name: string) => join(testdata, name);

describe('docker config.json parsing (oras-go vectors)', () => {
  test('valid auths: auth, identity and registry tokens, legacy fields; auth wins over username/password', async () => {
    const c = await DockerConfig.load(vector('valid_auths_config.json'));
    assert.deepEqual(c.credential('registry1.example.com'), { username: 'username', password: 'password' });
    assert.deepEqual(c.credential('registry2.example.com'), { identityToken: 'identity_token' });
    assert.deepEqual(c.credential('registry3.example.com'), { registryToken: 'registry_token' });
    assert.deepEqual(c.credential('registry4.example.com'), {
      username: 'username',
      password: 'password',
      identityToken: 'identity_token',
      registryToken: 'registry_token',
    });
    assert.deepEqual(c.credential('registry5.example.com'), {});
    assert.deepEqual(c.credential('registry6.example.com'), { username: 'username', password: 'password' });
    assert.deepEqual(c.credential('registry7.example.com'), { username: 'username', password: 'password' });
    assert.equal(c.credential('unknown.example.com'), undefined);
  });

  test('legacy keys with scheme and path match their host; an exact key wins', async () => {
    const c = await DockerConfig.load(vector('legacy_auths_config.json'));
    for (let i = 1; i <= 6; i++) {
      assert.deepEqual(c.credential(`registry${i}.example.com`), {
        username: `username${i}`,
        password: `password${i}`,
      });
    }
  });

  test('empty, blank and auth-less files are empty configs; bad JSON and bad auths are errors', async () => {
    for (const name of ['empty.json', 'whitespace.json', 'no_auths_config.json', 'does-not-exist.json']) {
      const c = await DockerConfig.load(vector(name));
      assert.equal(c.credential('registry1.example.com'), undefined, name);
    }
    await assert.rejects(DockerConfig.load(vector('bad_config')), /not valid JSON/);
    await assert.rejects(DockerConfig.load(vector('invalid_auths_config.json')), /"auths" must be an object/);
    const c = await DockerConfig.load(vector('invalid_auths_entry_config.json'));
    assert.throws(() => c.credential('registry1.example.com'), /not base64 of user:password/);
    assert.throws(() => c.credential('registry2.example.com'), /must be an object/);
    assert.throws(() => c.credential('registry3.example.com'), /identitytoken must be a string/);
  });

  test('credHelpers per host (an empty name falls back), then credsStore', async () => {
    const helpers = await DockerConfig.load(vector('credHelpers_config.json'));
    assert.equal(helpers.helperFor('registry1.example.com'), 'registry1-helper');
    assert.equal(helpers.helperFor('registry2.example.com'), 'registry2-helper');
    assert.equal(helpers.helperFor('registry3.example.com'), undefined);
    assert.deepEqual(helpers.credential('registry3.example.com'), { username: 'foo', password: 'bar' });
    const store = await DockerConfig.load(vector('credsStore_config.json'));
    assert.equal(store.helperFor('test.example.com'), 'test-helper');
    assert.equal(store.helperFor('other.example.com'), 'teststore');
  });

  test('default path and Docker Hub server address', () => {
    assert.equal(defaultConfigPath({ DOCKER_CONFIG: '/x/y' }), '/x/y/config.json');
    assert.equal(serverAddress('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(serverAddress('127.0.0.1:5000'), '127.0.0.1:5000');
  });
});

test('a config.json that is not JSON is refused without quoting it: neither the message nor a cause shows a credential', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lading-creds-'));
  try {
    const secret = 'c2VjcmV0OnBhc3N3b3Jk';
    // A value left unquoted, and a byte order mark: V8's message quotes the text around either.
    for (const text of [
      `{"auths":{"r.example.com":{"auth":${secret}}}}`,
      `\ufeff{"auths":{"r.example.com":{"auth":"${secret}"}}}`,
    ]) {
      const path = join(dir, 'config.json');
      await writeFile(path, text);
      await assert.rejects(DockerConfig.load(path), (e) => {
        const all = `${(e as Error).message}\n${String((e as Error).cause ?? '')}`;
        return /config\.json: not valid JSON \(Unexpected token/.test(all) && !all.includes(secret.slice(0, 6));
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('login / logout', () => {
  let dir: string;
  let savedPath: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lading-creds-'));
    // A fake helper keeping its secrets in a file next to it, speaking docker's protocol.
    const helper = join(dir, 'docker-credential-fake');
    await writeFile(
      helper,
      `#!/bin/sh
store="${dir}/fake-store"
input=$(cat)
case "$1" in
  get)
    line=$(grep -F "\\"ServerURL\\":\\"$input\\"" "$store" 2>/dev/null | tail -n 1)
    if [ -z "$line" ]; then echo "credentials not found in native keychain"; exit 1; fi
    echo "$line" ;;
  store) echo "$input" >> "$store" ;;
  erase)
    if [ -f "$store" ]; then grep -vF "\\"ServerURL\\":\\"$input\\"" "$store" > "$store.new"; mv "$store.new" "$store"; fi ;;
  *) echo "unknown action"; exit 2 ;;
esac
`,
    );
    await chmod(helper, 0o755);
    savedPath = process.env.PATH;
    process.env.PATH = `${dir}${delimiter}${process.env.PATH ?? ''}`;
  });
  after(async () => {
    process.env.PATH = savedPath;
    await rm(dir, { recursive: true, force: true });
  });

  test('plaintext: written 0600 with tabs, other keys kept, read back, erased', async () => {
    const path = join(dir, 'plain', 'config.json');
    const store = new DockerCredentialStore([path]);
    assert.equal(await store.get('r.example'), undefined);
    await store.login('r.example', { username: 'u', password: 'p:w' });
    const st = await stat(path);
    assert.equal(st.mode & 0o777, 0o600);
    const text = await readFile(path, 'utf8');
    assert.match(text, /^\{\n\t"auths": \{/);
    assert.deepEqual(await store.get('r.example'), { username: 'u', password: 'p:w' });

    const withExtra = JSON.parse(text) as Record<string, unknown>;
    withExtra.psFormat = 'table';
    await writeFile(path, JSON.stringify(withExtra));
    await store.login('other.example', { identityToken: 'idt' });
    const after = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    assert.equal(after.psFormat, 'table');
    assert.deepEqual(await store.get('other.example'), { identityToken: 'idt' });
    await store.logout('r.example');
    assert.equal(await store.get('r.example'), undefined);
    assert.deepEqual(await store.get('other.example'), { identityToken: 'idt' });
    await assert.rejects(store.login('x', { username: 'a:b', password: 'c' }), /must not contain/);
  });

  test('a config.json with a key nested past the stack is left as it was, with one error that says so', async () => {
    const path = join(dir, 'deep', 'config.json');
    await mkdir(dirname(path), { recursive: true });
    const text = `{"auths":{},"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    await writeFile(path, text);
    const store = new DockerCredentialStore([path]);
    await assert.rejects(
      store.login('r.example', { username: 'u', password: 'p' }),
      (e) =>
        isLadingError(e, 'INVALID_ARGUMENT') &&
        /config\.json: nested too deeply to write back/.test((e as Error).message),
    );
    assert.equal(await readFile(path, 'utf8'), text);
  });

  test('a credential helper from credsStore / credHelpers stores, gets and erases', async () => {
    const path = join(dir, 'helper', 'config.json');
    await seed(path, { credsStore: 'fake', credHelpers: { 'none.example': 'missing-helper' } });
    const store = new DockerCredentialStore([path]);
    assert.equal(await store.get('h.example'), undefined);
    await store.login('h.example', { username: 'hu', password: 'hp' });
    await store.login('t.example', { identityToken: 'tok' });
    assert.deepEqual(await store.get('h.example'), { username: 'hu', password: 'hp' });
    assert.deepEqual(await store.get('t.example'), { identityToken: 'tok' });
    const file = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    assert.equal(file.auths, undefined, 'nothing written to the file');
    await store.logout('h.example');
    assert.equal(await store.get('h.example'), undefined);
    // Which program is missing, and the file that names it (before: `… cannot run: spawn
    // docker-credential-missing-helper ENOENT`).
    await assert.rejects(
      store.get('none.example'),
      // (EACCES rather than ENOENT where PATH holds a folder this user may not search.)
      (error: Error) =>
        error.message.startsWith('credential helper docker-credential-missing-helper is not on PATH') &&
        error.message.endsWith(`(named in ${path})`),
    );
  });

  test('a helper that hangs or floods its output is stopped with a clear error', async () => {
    const saved = { ...helperBounds };
    for (const [name, body] of [
      // Not `exec`: the shell waits on a program that keeps the helper's output open.
      ['hang', 'sleep 30\necho "{}"'],
      ['flood', 'exec yes credential'],
    ] as const) {
      const helper = join(dir, `docker-credential-${name}`);
      await writeFile(helper, `#!/bin/sh\n${body}\n`);
      await chmod(helper, 0o755);
    }
    try {
      helperBounds.timeoutMs = 300;
      const path = join(dir, 'stuck', 'config.json');
      await seed(path, { credHelpers: { 'hang.example': 'hang', 'flood.example': 'flood' } });
      const store = new DockerCredentialStore([path]);
      const started = Date.now();
      await assert.rejects(store.get('hang.example'), /docker-credential-hang get did not answer within 0\.3 s/);
      assert.ok(Date.now() - started < 10_000, 'the helper was stopped, not waited for');
      helperBounds.timeoutMs = 30_000;
      await assert.rejects(
        store.get('flood.example'),
        /docker-credential-flood get: more than 1048576 bytes of output/,
      );
    } finally {
      Object.assign(helperBounds, saved);
    }
  });

  /** Whether the process `pid` has ended (gone, or a zombie no one has reaped yet), within a few seconds. */
  async function ended(pid: number): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      if (stat === '' || stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  test('what a helper started ends with it: at its timeout, and once it has answered', async () => {
    const saved = { ...helperBounds };
    const pids = join(dir, 'spawned');
    // A `sleep 300` in the background, as gpg leaves its pinentry: it inherits the helper's output.
    for (const [name, body] of [
      ['spawn-hang', `sleep 300 & echo $! >> "${pids}"\nwait`],
      ['spawn-answer', `sleep 300 & echo $! >> "${pids}"\necho '{"Username":"u","Secret":"s"}'`],
    ] as const) {
      const helper = join(dir, `docker-credential-${name}`);
      await writeFile(helper, `#!/bin/sh\n${body}\n`);
      await chmod(helper, 0o755);
    }
    const path = join(dir, 'spawner', 'config.json');
    await seed(path, { credHelpers: { 'hang.example': 'spawn-hang', 'answer.example': 'spawn-answer' } });
    const store = new DockerCredentialStore([path]);
    try {
      helperBounds.timeoutMs = 500;
      await assert.rejects(store.get('hang.example'), /docker-credential-spawn-hang get did not answer/);
      // Before: the helper was killed, its sleep left running (and holding the pipes).
      helperBounds.timeoutMs = 20_000;
      assert.deepEqual(await store.get('answer.example'), { username: 'u', password: 's' });
      const spawned = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
      assert.equal(spawned.length, 2);
      for (const pid of spawned) assert.ok(await ended(pid), `sleep ${pid} is left running`);
    } finally {
      Object.assign(helperBounds, saved);
    }
  });

  /**
   * Runs a module's code in a process with a terminal of its own (util-linux script(1), from
   * bsdutils, which Debian always has), calling `each` with all output so far as it arrives.
   */
  async function onTerminal(
    code: string,
    each: (out: string, stdin: NodeJS.WritableStream) => void = () => {},
  ): Promise<{ status: number | null; out: string }> {
    assert.equal(
      spawnSync('script', ['--version'], { encoding: 'utf8' }).status,
      0,
      'util-linux script(1) gives these tests a terminal: install bsdutils',
    );
    const command = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', code]
      .map((w) => `'${w.replaceAll("'", "'\\''")}'`)
      .join(' ');
    const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      each(out, child.stdin);
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.end();
    return { status, out };
  }

  test('on a terminal, a helper prompts there and reads the answer (its group has the terminal), and ends with what it started', async () => {
    const pids = join(dir, 'prompt-spawned');
    const helper = join(dir, 'docker-credential-prompt');
    // What a helper that asks its user does: /dev/tty, echo off, a line read, echo back on.
    await writeFile(
      helper,
      `#!/bin/sh\nsleep 300 & echo $! >> "${pids}"\nexec 3<>/dev/tty\nstty -echo <&3\nprintf 'Password: ' >&3\nread -r pw <&3\nstty echo <&3\nprintf '\\n' >&3\necho "{\\"Username\\":\\"u\\",\\"Secret\\":\\"$pw\\"}"\n`,
    );
    await chmod(helper, 0o755);
    const path = join(dir, 'prompt', 'config.json');
    await seed(path, { credHelpers: { 'prompt.example': 'prompt' } });
    const code = `import { DockerCredentialStore } from ${JSON.stringify(new URL('./credentials/index.ts', import.meta.url).pathname)};
const store = new DockerCredentialStore([${JSON.stringify(path)}]);
console.log('GOT', JSON.stringify(await store.get('prompt.example')));`;
    let typed = false;
    const { status, out } = await onTerminal(code, (out, stdin) => {
      if (!typed && out.includes('Password: ')) {
        typed = true;
        stdin.write('s3cret\n');
      }
    });
    assert.equal(status, 0, out);
    assert.match(out, /GOT \{"username":"u","password":"s3cret"\}/, out);
    assert.doesNotMatch(out, /s3cret\r?\n/, 'the answer was typed with echo off');
    for (const pid of (await readFile(pids, 'utf8')).trim().split('\n').map(Number)) {
      assert.ok(await ended(pid), `sleep ${pid} is left running`);
    }
  });

  // Killing the job-control shell with the helper would leave the terminal with the helper's dead
  // group: lading a background job, out of reach of Ctrl-C and stopped at its next terminal read.
  test('on a terminal, a helper ended at its timeout hands the terminal back to lading', async () => {
    const helper = join(dir, 'docker-credential-stuck');
    await writeFile(helper, '#!/bin/sh\nsleep 300\n');
    await chmod(helper, 0o755);
    const path = join(dir, 'stuck', 'config.json');
    await seed(path, { credHelpers: { 'stuck.example': 'stuck' } });
    const code = `import { readFileSync } from 'node:fs';
import { DockerCredentialStore } from ${JSON.stringify(new URL('./credentials/index.ts', import.meta.url).pathname)};
import { helperBounds } from ${JSON.stringify(new URL('./credentials/helper.ts', import.meta.url).pathname)};
helperBounds.timeoutMs = 500;
const fields = () => { const s = readFileSync('/proc/self/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' '); };
await new DockerCredentialStore([${JSON.stringify(path)}]).get('stuck.example').catch((e) => console.log('ERR', e.code));
const f = fields();
console.log(f[2] === f[5] ? 'FOREGROUND' : 'BACKGROUND');`;
    const { status, out } = await onTerminal(code);
    assert.equal(status, 0, out);
    assert.match(out, /ERR IO_ERROR/, out);
    assert.match(out, /FOREGROUND/, out);
  });

  // Under docker or a Go tool, the terminal's Ctrl-C reaches the tool too, and it dies of it (130
  // from a shell). Here only the helper's group has the terminal: the call ends ABORTED however the
  // helper took the SIGINT, and the terminal comes back to lading's group.
  for (const [name, script] of [
    ['dies', 'sleep 300'],
    ['catches', "trap 'echo cancelled; exit 1' INT\nsleep 300 & wait"],
  ] as const) {
    test(`on a terminal, Ctrl-C to a helper that ${name} of it: ABORTED, the terminal handed back, what it started ended`, async () => {
      const pids = join(dir, `int-${name}-spawned`);
      const helper = join(dir, `docker-credential-int${name}`);
      await writeFile(
        helper,
        `#!/bin/sh\nsleep 301 & echo $! >> "${pids}"\nprintf 'waiting\\n' >/dev/tty\n${script}\n`,
      );
      await chmod(helper, 0o755);
      const path = join(dir, `int-${name}`, 'config.json');
      await seed(path, { credHelpers: { 'int.example': `int${name}` } });
      const code = `import { readFileSync } from 'node:fs';
import { DockerCredentialStore } from ${JSON.stringify(new URL('./credentials/index.ts', import.meta.url).pathname)};
const fields = () => { const s = readFileSync('/proc/self/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' '); };
await new DockerCredentialStore([${JSON.stringify(path)}]).get('int.example').then(
  (c) => console.log('GOT', JSON.stringify(c)),
  (e) => console.log('ERR', e.code, e.message),
);
const f = fields();
console.log(f[2] === f[5] ? 'FOREGROUND' : 'BACKGROUND');`;
      // A Ctrl-C in the moment before the helper's group has the terminal is lost (see OnTerminal):
      // pressed again until the call ends, as a user would.
      let pressing: NodeJS.Timeout | undefined;
      const { status, out } = await onTerminal(code, (out, stdin) => {
        if (!pressing && out.includes('waiting')) {
          stdin.write('\x03');
          pressing = setInterval(() => stdin.write('\x03'), 300);
        }
        if (pressing && /ERR|GOT/.test(out)) clearInterval(pressing);
      });
      clearInterval(pressing);
      assert.equal(status, 0, out);
      assert.match(
        out,
        /ERR ABORTED credential helper docker-credential-int\w+ get: interrupted \(Ctrl-C on the terminal\)/,
        out,
      );
      assert.match(out, /FOREGROUND/, out);
      for (const pid of (await readFile(pids, 'utf8')).trim().split('\n').map(Number)) {
        assert.ok(await ended(pid), `sleep ${pid} is left running`);
      }
    });
  }

  test('on a terminal, the command line interrupted through its helper exits 130 with "Error: interrupted", as a Go tool dies of the Ctrl-C', async () => {
    const helper = join(dir, 'docker-credential-intcli');
    await writeFile(helper, "#!/bin/sh\nprintf 'waiting\\n' >/dev/tty\nsleep 300\n");
    await chmod(helper, 0o755);
    const path = join(dir, 'int-cli', 'config.json');
    await seed(path, { credHelpers: { 'int.example': 'intcli' } });
    const code = `import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
const r = spawnSync(process.execPath, ${JSON.stringify(cliArgs(['logout', '--registry-config', path, 'int.example']))}, { stdio: 'inherit' });
const s = readFileSync('/proc/self/stat', 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
process.stdout.write(\`STATUS \${r.status} \${r.signal} \${f[2] === f[5] ? 'FOREGROUND' : 'BACKGROUND'}\\n\`);`;
    let pressing: NodeJS.Timeout | undefined;
    const { status, out } = await onTerminal(code, (out, stdin) => {
      if (!pressing && out.includes('waiting')) {
        stdin.write('\x03');
        pressing = setInterval(() => stdin.write('\x03'), 300);
      }
      if (pressing && out.includes('STATUS')) clearInterval(pressing);
    });
    clearInterval(pressing);
    assert.equal(status, 0, out);
    // The terminal echoes the Ctrl-C as ^C; the line is lading's one line.
    assert.match(out, /^(\^C)*Error: interrupted\r?$/m, out);
    assert.match(out, /STATUS 130 null FOREGROUND/, out);
  });

  // A timeout in the moment before the shell has reported the helper's group must not kill the
  // shell either: it has had the terminal since its `set -m`.
  test('on a terminal, a timeout before the helper has even started still hands the terminal back', async () => {
    const helper = join(dir, 'docker-credential-early');
    await writeFile(helper, '#!/bin/sh\nsleep 300\n');
    await chmod(helper, 0o755);
    const path = join(dir, 'early', 'config.json');
    await seed(path, { credHelpers: { 'early.example': 'early' } });
    const code = `import { readFileSync } from 'node:fs';
import { DockerCredentialStore } from ${JSON.stringify(new URL('./credentials/index.ts', import.meta.url).pathname)};
import { helperBounds } from ${JSON.stringify(new URL('./credentials/helper.ts', import.meta.url).pathname)};
const fields = () => { const s = readFileSync('/proc/self/stat', 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' '); };
const store = new DockerCredentialStore([${JSON.stringify(path)}]);
for (const ms of [1, 2, 3, 4, 5, 6, 8, 10, 15, 20]) {
  helperBounds.timeoutMs = ms;
  const r = await store.get('early.example').then(() => 'ANSWERED', (e) => e.code);
  const f = fields();
  process.stdout.write(\`\${ms} \${r} \${f[2] === f[5] ? 'FOREGROUND' : 'BACKGROUND'}\\n\`);
}`;
    const { status, out } = await onTerminal(code);
    assert.equal(status, 0, out);
    assert.equal(out.match(/^\d+ IO_ERROR FOREGROUND\r?$/gm)?.length, 10, out);
  });

  test('several files: read in order, the first is written', async () => {
    const first = join(dir, 'multi', 'a.json');
    const second = join(dir, 'multi', 'b.json');
    await seed(second, { auths: { 'm.example': { auth: Buffer.from('x:y').toString('base64') } } });
    const store = new DockerCredentialStore([first, second]);
    assert.deepEqual(await store.get('m.example'), { username: 'x', password: 'y' });
    await store.login('m.example', { username: 'new', password: 'pw' });
    assert.deepEqual(await store.get('m.example'), { username: 'new', password: 'pw' });
    const b = JSON.parse(await readFile(second, 'utf8')) as { auths: Record<string, unknown> };
    assert.ok(b.auths['m.example'], 'second file untouched');
  });
});

/** Writes a seed config file. */
async function seed(path: string, content: object): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, JSON.stringify(content));
}
