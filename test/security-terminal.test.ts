// What reaches the terminal, closed pipes, and the files `-o` names (issue 14, part D):
// - text from an artifact, a registry or a component is printed with its control characters
//   escaped, in status lines, tables, JSON and the one `Error:` line;
// - a reader that leaves (`lading push … | head -1`) silences the output, not the work;
// - `-o /dev/stdout`, a fifo, a symlink are written to, never renamed over;
// - `login` keeps a symlinked docker config a symlink.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { digestBytes } from '../src/oci/index.js';
import { cliArgs, lading, ladingOk } from './support/cli.js';
import { FaultServer } from './support/fault-server.js';
import { withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();
const reg = peers.plain.host;
const ns = `terminal-${process.pid}`;
let counter = 0;
const repo = (name: string) => `${reg}/${ns}/${name}-${++counter}`;

/** A title that tries everything: an OSC window title, a screen clear, a forged line, CR, C1 CSI, DEL, a bidi override. */
const hostile = 'ev\u001b]0;pwned\u0007il\u001b[2J\nPulled fake\rover\u009b31m\u007f\u202etxt.exe';

/** Characters that must never reach a terminal from data (newline and tab are ours). */
function rawControls(text: string): string[] {
  return [...text].filter((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return (c < 0x20 && c !== 0x0a && c !== 0x09) || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e);
  });
}

function assertClean(text: string, where: string): void {
  assert.deepEqual(rawControls(text), [], `${where} printed raw control characters:\n${JSON.stringify(text)}`);
}

interface Spawned {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs the CLI with stdout a pipe. With `closeStdout`, the pipe's read end is closed after the
 * first byte, as `| head -c 1` does; `closed` resolves then.
 */
function spawnCli(
  args: string[],
  options: { cwd?: string; closeStdout?: boolean } = {},
): { done: Promise<Spawned>; closed: Promise<void> } {
  const child = spawn(process.execPath, cliArgs(args), {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let stderr = '';
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    if (options.closeStdout) {
      child.stdout.destroy();
      markClosed();
    }
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const done = new Promise<Spawned>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
  return { done, closed };
}

describe('text from artifacts and servers is printed escaped', () => {
  test('push, pull and manifest fetch of an artifact whose title and annotation carry escape sequences', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, hostile), 'hostile title');
      const ref = `${repo('title')}:v1`;
      const push = await ladingOk(
        ['push', '--plain-http', ref, hostile, '--annotation', `note=x\u001b[31mred\nDigest: forged`],
        {
          cwd: dir,
        },
      );
      assertClean(push.stdout + push.stderr, 'push');
      // Each status line is one line: the forged `Pulled fake` stays inside the title.
      assert.match(
        push.stdout,
        /^Uploading [0-9a-f]{12} ev\\u001b\]0;pwned\\u0007il\\u001b\[2J\\nPulled fake\\rover\\u009b31m\\u007f\\u202etxt\.exe$/m,
      );
      assert.doesNotMatch(push.stdout, /^Pulled fake/m);

      const pull = await lading(['pull', '--plain-http', ref, '-o', 'out'], { cwd: dir });
      assertClean(pull.stdout + pull.stderr, 'pull');
      assert.doesNotMatch(pull.stdout, /^Pulled fake/m);
      for (const line of pull.stdout.trim().split('\n')) {
        assert.match(
          line,
          /^(Downloading|Downloaded|Skipped|Pulled|Digest:|Downloaded empty) /,
          `unexpected line ${line}`,
        );
      }

      // JSON stays exact: escaped where needed, and it parses back to the very same strings.
      const pretty = await ladingOk(['manifest', 'fetch', '--plain-http', '--pretty', ref], { cwd: dir });
      assertClean(pretty.stdout, 'manifest fetch --pretty');
      const manifest = JSON.parse(pretty.stdout) as {
        layers: { annotations: Record<string, string> }[];
        annotations: Record<string, string>;
      };
      assert.equal(manifest.layers[0]?.annotations['org.opencontainers.image.title'], hostile);
      assert.equal(manifest.annotations.note, 'x\u001b[31mred\nDigest: forged');
      // A referrer's annotations, shown by discover's tree.
      await ladingOk(
        [
          'attach',
          '--plain-http',
          '--artifact-type',
          'application/vnd.test.note',
          ref,
          '--annotation',
          `note=${hostile}`,
        ],
        { cwd: dir },
      );
      const tree = await ladingOk(['discover', '--plain-http', ref], { cwd: dir });
      assertClean(tree.stdout, 'discover');
      assert.doesNotMatch(tree.stdout, /^Pulled fake/m);
      assert.match(tree.stdout, /note: ev\\u001b\]0;pwned/);
      const json = await ladingOk(['push', '--plain-http', '--format', 'json', `${repo('json')}:v1`, hostile], {
        cwd: dir,
      });
      assertClean(json.stdout, 'push --format json');
    });
  });

  test("a registry's error text is one escaped Error line, also its --debug cause chain", async () => {
    const server = await FaultServer.start();
    try {
      const message = 'denied\u001b]0;owned\u0007\u001b[1A\u001b[2K\nError: nothing happened\r\u009b2J';
      server.intercept((req, res) => {
        if (!req.url?.includes('/manifests/')) return false;
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'DENIED', message, detail: message }] }));
        return true;
      });
      const ref = `${server.host}/evil/repo:v1`;
      const r = await lading(['manifest', 'fetch', '--plain-http', ref]);
      assert.equal(r.code, 1);
      assertClean(r.stderr, 'the error line');
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line, got:\n${r.stderr}`);
      // The registry client already makes a server's text one line (its controls become spaces),
      // for library users who print it; what is left of the text still shows.
      assert.match(lines[0] as string, /^Error: .*denied.*owned.*Error: nothing happened/);
      const debug = await lading(['manifest', 'fetch', '-d', '--plain-http', ref]);
      assert.equal(debug.code, 1);
      assertClean(debug.stderr, 'the --debug output');
      assert.doesNotMatch(debug.stderr, /^Error: nothing happened/m);
    } finally {
      await server.close();
    }
  });

  test('discover --format table: an artifact type with escapes is one escaped row, not a crash', async () => {
    const server = await FaultServer.start({ referrersApi: true });
    try {
      const empty = server.putBlob(Buffer.from('{}'));
      const config = { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 };
      const subjectBytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config,
          layers: [],
        }),
      );
      const mediaType = 'application/vnd.oci.image.manifest.v1+json';
      const subject = server.putManifest('evil/table', mediaType, subjectBytes, 'v1');
      // A registry may list any artifact type; lading would refuse to push this one.
      const type = `application/x${'\u001b[2K\u202e'.repeat(8)}\nDigest: forged`;
      const referrer = { schemaVersion: 2, mediaType, artifactType: type, config, layers: [] as unknown[] };
      const withSubject = { ...referrer, subject: { mediaType, digest: subject, size: subjectBytes.length } };
      server.putManifest('evil/table', mediaType, Buffer.from(JSON.stringify(withSubject)));
      const r = await lading(['discover', '--plain-http', '--format', 'table', `${server.host}/evil/table:v1`]);
      assert.equal(r.code, 0, r.stderr);
      assertClean(r.stdout, 'discover --format table');
      assert.doesNotMatch(r.stdout, /^Digest: forged/m);
      assert.match(r.stdout, /^application\/x(\\u001b\[2K\\u202e){8}\\nDigest: forged +sha256:[0-9a-f]{64}$/m);
    } finally {
      await server.close();
    }
  });

  test('raw bytes from a registry are exact into a pipe and escaped into a terminal', async () => {
    const server = await FaultServer.start();
    try {
      // Not JSON at all (raw controls in a string): served with a content type, nothing parses it.
      const bytes = Buffer.from(
        // A bidi override (U+202E) and a first strong isolate (U+2068), UTF-8 encoded, too.
        '{"schemaVersion":2,"x":"\u001b]52;c;ZWNobyBoaQ==\u0007\u001b[2J\u00c2\u009b","y":"\u00e2\u0080\u00aeexe.txt\u00e2\u0081\u00a8"}\n',
        'latin1',
      );
      server.putManifest('evil/raw', 'application/vnd.oci.image.manifest.v1+json', bytes, 'v1');
      const args = ['manifest', 'fetch', '--plain-http', `${server.host}/evil/raw:v1`];
      const piped = await spawnCli(args).done;
      assert.equal(piped.code, 0, piped.stderr);
      assert.deepEqual(piped.stdout, bytes, 'into a pipe: the exact bytes');
      // `script` (util-linux) runs the command on a pseudo-terminal, as a user at a shell would.
      const command = [process.execPath, ...cliArgs(args)].map((a) => `'${a}'`).join(' ');
      const tty = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { encoding: 'buffer' });
      const shown = (tty.stdout as Buffer).toString('latin1');
      assert.ok(
        !shown.includes('\u001b') && !shown.includes('\u0007'),
        `raw escapes reached the terminal: ${JSON.stringify(shown)}`,
      );
      assert.ok(!shown.includes('\u00c2\u009b'), 'a UTF-8 C1 control reached the terminal');
      assert.match(shown, /\\u001b\]52;c;ZWNobyBoaQ==\\u0007\\u001b\[2J\\u009b/);
      assert.ok(!shown.includes('\u00e2\u0080\u00ae'), 'a bidi override reached the terminal');
      assert.ok(!shown.includes('\u00e2\u0081\u00a8'), 'a bidi isolate reached the terminal');
      assert.match(shown, /"y":"\\u202eexe\.txt\\u2068"/);
    } finally {
      await server.close();
    }
  });

  test('OCM tables escape names from descriptors; JSON keeps them exact', async () => {
    await withDir(async (dir) => {
      const provider = 'acme\u001b[2J\nCOMPONENT fake\u009b';
      const type = 'blob\u001b]8;;http://evil/\u0007click';
      await writeFile(
        join(dir, 'c.yaml'),
        `name: acme.org/term\nversion: 1.0.0\nprovider:\n  name: ${JSON.stringify(provider)}\nresources:\n  - name: note\n    type: ${JSON.stringify(type)}\n    input:\n      type: utf8/v1\n      text: hi\n`,
      );
      const add = await ladingOk(['add', 'cv', '-c', 'c.yaml', '-r', 'ctf'], { cwd: dir });
      assertClean(add.stdout + add.stderr, 'add cv');
      const cv = await ladingOk(['get', 'cv', 'ctf//acme.org/term:1.0.0'], { cwd: dir });
      assertClean(cv.stdout, 'get cv');
      assert.equal(cv.stdout.trim().split('\n').length, 3, `header, rule and one row:\n${cv.stdout}`);
      assert.match(cv.stdout, /acme\\u001b\[2J\\nCOMPONENT fake\\u009b/);
      const tree = await ladingOk(['get', 'cv', '-o', 'tree', 'ctf//acme.org/term:1.0.0'], { cwd: dir });
      assertClean(tree.stdout, 'get cv -o tree');
      assert.equal(tree.stdout.trim().split('\n').length, 2);
      const res = await ladingOk(['get', 'resources', 'ctf//acme.org/term:1.0.0'], { cwd: dir });
      assertClean(res.stdout, 'get resources');
      assert.match(res.stdout, /blob\\u001b\]8;;http:\/\/evil\/\\u0007click/);
      const json = await ladingOk(['get', 'cv', '-o', 'json', 'ctf//acme.org/term:1.0.0'], { cwd: dir });
      assertClean(json.stdout, 'get cv -o json');
      const parsed = JSON.parse(json.stdout) as { component: { provider: string } }[];
      assert.equal(parsed[0]?.component.provider, provider);
      const yaml = await ladingOk(['get', 'cv', '-o', 'yaml', 'ctf//acme.org/term:1.0.0'], { cwd: dir });
      assertClean(yaml.stdout, 'get cv -o yaml');
    });
  });
});

describe('a reader that goes away silences the output, not the work', () => {
  test('push | head -c 1: every blob and the tag arrive, exit 0', async () => {
    await withDir(async (dir) => {
      const files = ['a.bin', 'b.bin', 'c.bin', 'd.bin', 'e.bin', 'f.bin'];
      const contents = files.map(() => randomBytes(2 * 1024 * 1024));
      for (const [i, f] of files.entries()) await writeFile(join(dir, f), contents[i] as Buffer);
      const ref = `${repo('pipe')}:v1`;
      const run = spawnCli(['push', '--plain-http', '--concurrency', '1', ref, ...files], {
        cwd: dir,
        closeStdout: true,
      });
      const r = await run.done;
      assert.equal(r.code, 0, `push exited ${r.code}:\n${r.stderr}`);
      assert.equal(r.stderr, '');
      // Before, the first write after the reader left ended the process with 0: nothing was tagged.
      await ladingOk(['resolve', '--plain-http', ref]);
      await ladingOk(['pull', '--plain-http', ref, '-o', 'back'], { cwd: dir });
      for (const [i, f] of files.entries()) assert.deepEqual(await readFile(join(dir, 'back', f)), contents[i]);
    });
  });

  test('a push that fails after its reader left exits 1 with its Error line', async () => {
    const server = await FaultServer.start();
    try {
      let readerGone: Promise<void> = Promise.resolve();
      // Uploads wait until the reader has left, so the failure surely comes after it.
      server.intercept(async (req) => {
        if (req.method === 'POST' && req.url?.includes('/blobs/uploads/')) await readerGone;
        return false;
      });
      server.intercept((req, res) => {
        if (req.method !== 'PUT' || !req.url?.includes('/manifests/')) return false;
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'MANIFEST_INVALID', message: 'refused by the test' }] }));
        return true;
      });
      await withDir(async (dir) => {
        await writeFile(join(dir, 'a.txt'), 'a');
        const run = spawnCli(['push', '--plain-http', `${server.host}/pipe/fail:v1`, 'a.txt'], {
          cwd: dir,
          closeStdout: true,
        });
        // (Bounded: should the first line ever come after the first upload, the test fails instead of hanging.)
        readerGone = Promise.race([run.closed, new Promise<void>((resolve) => setTimeout(resolve, 10_000).unref())]);
        const r = await run.done;
        assert.equal(r.code, 1, `exit code, stderr:\n${r.stderr}`);
        assert.match(r.stderr, /^Error: .*refused by the test/m);
        assert.ok(
          server.requests.some((q) => q.method === 'PUT' && q.url.includes('/manifests/')),
          'the push went on to its manifest',
        );
      });
    } finally {
      await server.close();
    }
  });
  test('stdout on a full disk (/dev/full) is one Error line and exit 1, not a crash or a success', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'a');
      await ladingOk(['push', '--oci-layout', 'lay:v1', 'a.txt'], { cwd: dir });
      const r = await runIntoFullDisk(['resolve', '--oci-layout', 'lay:v1'], dir);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, 'Error: writing the output failed: ENOSPC: no space left on device, write\n');
    });
  });
  test('--version on a full disk fails too (it answers before the body loads)', async () => {
    const r = await runIntoFullDisk(['--version']);
    // Before: exit 0 with the version lost.
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, 'Error: writing the output failed: ENOSPC: no space left on device, write\n');
  });
});

describe('output files are written to, never renamed over', () => {
  /** A layout holding one blob; returns its reference. */
  async function layoutBlob(dir: string, bytes: Buffer): Promise<string> {
    await writeFile(join(dir, 'blob.src'), bytes);
    await ladingOk(['blob', 'push', '--oci-layout', 'lay', 'blob.src'], { cwd: dir });
    return `lay@${digestBytes(bytes)}`;
  }

  test('-o through a symlink to /dev/stdout writes stdout and leaves the link', async () => {
    await withDir(async (dir) => {
      const bytes = Buffer.from(`blob to stdout ${randomBytes(8).toString('hex')}\n`);
      const ref = await layoutBlob(dir, bytes);
      await mkdir(join(dir, 'o'));
      await symlink('/dev/stdout', join(dir, 'o', 'out'));
      const r = await spawnCli(['blob', 'fetch', '--oci-layout', ref, '-o', 'o/out'], { cwd: dir }).done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout, bytes, 'the blob went to stdout');
      assert.equal(await readlink(join(dir, 'o', 'out')), '/dev/stdout', 'the link is still a link');
      assert.deepEqual(await readdir(join(dir, 'o')), ['out'], 'no temp file left beside it');
      // The same for a manifest, and followed by the descriptor: order kept on the one stdout.
      const m = await spawnCli(['blob', 'fetch', '--oci-layout', ref, '-o', 'o/out', '--descriptor'], { cwd: dir })
        .done;
      assert.equal(m.code, 0, m.stderr);
      assert.deepEqual(m.stdout.subarray(0, bytes.length), bytes);
      assert.equal(JSON.parse(m.stdout.subarray(bytes.length).toString()).digest, digestBytes(bytes));
    });
  });

  test('-o a fifo writes into the fifo', async () => {
    await withDir(async (dir) => {
      const bytes = randomBytes(300_000);
      const ref = await layoutBlob(dir, bytes);
      await promisify(execFile)('mkfifo', [join(dir, 'fifo')]);
      const reader = spawn('cat', ['fifo'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      reader.stdout.on('data', (c: Buffer) => chunks.push(c));
      const read = new Promise<void>((resolve) => reader.on('close', () => resolve()));
      try {
        const r = await lading(['blob', 'fetch', '--oci-layout', ref, '-o', 'fifo'], { cwd: dir });
        assert.equal(r.code, 0, r.stderr);
        assert.ok((await lstat(join(dir, 'fifo'))).isFIFO(), 'the fifo is still a fifo');
        // Before, the fifo was replaced by a regular file and its reader waited for ever.
        await Promise.race([read, new Promise((resolve) => setTimeout(resolve, 5000))]);
        assert.deepEqual(Buffer.concat(chunks), bytes);
      } finally {
        reader.kill();
      }
    });
  });

  test('-o a symlink to a private file replaces the file, keeps the link and the mode', async () => {
    await withDir(async (dir) => {
      const bytes = Buffer.from('new content');
      const ref = await layoutBlob(dir, bytes);
      await mkdir(join(dir, 'real'));
      await writeFile(join(dir, 'real', 'target.bin'), 'old content');
      await chmod(join(dir, 'real', 'target.bin'), 0o600);
      await symlink('real/target.bin', join(dir, 'link.bin'));
      await ladingOk(['blob', 'fetch', '--oci-layout', ref, '-o', 'link.bin'], { cwd: dir });
      assert.equal(await readlink(join(dir, 'link.bin')), 'real/target.bin');
      assert.deepEqual(await readFile(join(dir, 'real', 'target.bin')), bytes);
      assert.equal((await stat(join(dir, 'real', 'target.bin'))).mode & 0o777, 0o600, 'the mode was kept');
      assert.deepEqual(await readdir(join(dir, 'real')), ['target.bin']);
      // A blob that fails verification leaves the target as it was.
      await writeFile(join(dir, 'lay', 'blobs', 'sha256', digestBytes(bytes).slice(7)), 'new contenT');
      const bad = await lading(['blob', 'fetch', '--oci-layout', ref, '-o', 'link.bin'], { cwd: dir });
      assert.equal(bad.code, 1);
      assert.deepEqual(await readFile(join(dir, 'real', 'target.bin')), bytes);
      assert.deepEqual(await readdir(join(dir, 'real')), ['target.bin']);
    });
  });
});

describe('login keeps a symlinked docker config a symlink', () => {
  test('the link stays, its target gets the credential (0600), other fields survive; logout too', async () => {
    await withDir(async (dir) => {
      await mkdir(join(dir, 'dotfiles'));
      await mkdir(join(dir, 'docker'));
      await writeFile(join(dir, 'dotfiles', 'docker.json'), JSON.stringify({ psFormat: 'table {{.ID}}', auths: {} }));
      await chmod(join(dir, 'dotfiles', 'docker.json'), 0o644);
      await symlink('../dotfiles/docker.json', join(dir, 'docker', 'config.json'));
      const config = join(dir, 'docker', 'config.json');
      await ladingOk(['login', '--plain-http', '--registry-config', config, '-u', 'u', '--password-stdin', reg], {
        input: 'pw\n',
      });
      assert.equal(await readlink(config), '../dotfiles/docker.json', 'the config is still a link');
      const target = join(dir, 'dotfiles', 'docker.json');
      const saved = JSON.parse(await readFile(target, 'utf8')) as { psFormat: string; auths: Record<string, unknown> };
      assert.equal(saved.psFormat, 'table {{.ID}}');
      assert.deepEqual(saved.auths[reg], { auth: Buffer.from('u:pw').toString('base64') });
      assert.equal((await stat(target)).mode & 0o777, 0o600);
      assert.deepEqual(await readdir(join(dir, 'dotfiles')), ['docker.json'], 'no temp file left');
      await ladingOk(['logout', '--registry-config', config, reg]);
      assert.equal(await readlink(config), '../dotfiles/docker.json');
      assert.deepEqual(JSON.parse(await readFile(target, 'utf8')).auths, {});

      // A link to a file not there yet: the file is created where the link points.
      await symlink('../dotfiles/new.json', join(dir, 'docker', 'other.json'));
      await ladingOk([
        'login',
        '--plain-http',
        '--registry-config',
        join(dir, 'docker', 'other.json'),
        '-u',
        'u',
        '-p',
        'pw',
        reg,
      ]);
      assert.ok((await lstat(join(dir, 'docker', 'other.json'))).isSymbolicLink());
      assert.equal((await stat(join(dir, 'dotfiles', 'new.json'))).mode & 0o777, 0o600);
    });
  });
});

describe("login's prompts on a terminal", () => {
  test('Ctrl-C at the hidden password prompt is an interrupt: status 130, the terminal echoes again', async () => {
    await withDir(async (dir) => {
      const config = join(dir, 'config.json');
      const login = [process.execPath, ...cliArgs(['login', '--registry-config', config, '127.0.0.1:9'])]
        .map((a) => `'${a}'`)
        .join(' ');
      // `script` gives the command a pseudo-terminal; after it, `stty` says whether echo is back on.
      const command = `${login}; echo "status=$?"; stty -a`;
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let shown = '';
      const seen = (text: string) =>
        new Promise<void>((resolve) => {
          const check = () => {
            if (!shown.includes(text)) return;
            child.stdout.off('data', check);
            resolve();
          };
          child.stdout.on('data', check);
          check();
        });
      child.stdout.on('data', (c: Buffer) => {
        shown += c.toString('utf8');
      });
      await seen('Username: ');
      child.stdin.write('user\r');
      await seen('Password: ');
      child.stdin.write('\x03');
      await seen('status=');
      await seen(' ixon');
      child.stdin.end();
      await new Promise((resolve) => child.on('close', resolve));
      // Before: status 1 (the prompt failed before the interrupt was known).
      assert.match(shown, /Password: \r?\nError: interrupted\r?\nstatus=130\r?\n/, shown);
      assert.match(shown, /(^|\s)echo(\s|$)/m, 'echo is on again');
      assert.match(shown, /(^|\s)icanon(\s|$)/m, 'line editing is on again');
      await assert.rejects(stat(config), 'nothing stored');
    });
  });
});

/** Runs the CLI with its stdout on /dev/full (every write fails with ENOSPC): its exit code and stderr. */
async function runIntoFullDisk(args: string[], cwd?: string): Promise<{ code: number | null; stderr: string }> {
  const full = await open('/dev/full', 'w');
  try {
    const child = spawn(process.execPath, cliArgs(args), {
      ...(cwd ? { cwd } : {}),
      stdio: ['ignore', full.fd, 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (c) => {
      stderr += c;
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stderr };
  } finally {
    await full.close();
  }
}
