// The browser view over a folder (an OCI layout, a CTF) never follows a symbolic link planted in it:
// a blob that is a link to a file outside shows neither that file's size nor its bytes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CtfArchive } from '../src/ctf/index.js';
import { OciLayout } from '../src/layout/index.js';
import { startRegistry } from '../src/server/index.js';
import { ctfStore, layoutStore, startUiServer } from '../src/server/ui/index.js';
import { cliArgs } from './support/cli.js';
import { tempDir } from './support/fixtures.js';

const hex = 'a'.repeat(64);
// Over one read chunk (1 MiB), so that a followed link would stream all but its last chunk.
const secret = Buffer.alloc(3 * 1024 * 1024 + 17, 's');
secret.write('TOP-SECRET', 0);

/** What the view tells about the blob `hex`: the error or the bytes, for a wrong and the right size. */
async function probe(base: string, repository: string): Promise<string[]> {
  const out: string[] = [];
  const blob = `${base}api/blob?repository=${encodeURIComponent(repository)}&digest=sha256:${hex}`;
  const wrong = await fetch(`${blob}&size=1`);
  out.push(`${wrong.status} ${await wrong.text()}`);
  const head = await fetch(`${blob}&size=${secret.length}`, { method: 'HEAD' });
  out.push(`${head.status} ${head.headers.get('content-length')}`);
  const right = await fetch(`${blob}&size=${secret.length}`);
  let bytes = '';
  try {
    for await (const c of right.body as unknown as AsyncIterable<Uint8Array>) bytes += Buffer.from(c).toString();
  } catch {
    // cut short
  }
  out.push(`${right.status} ${bytes.slice(0, 200)}`);
  return out;
}

function assertNothingLeaks(answers: string[]): void {
  for (const a of answers) {
    assert.match(a, /^404 /, a.slice(0, 300));
    assert.doesNotMatch(a, new RegExp(String(secret.length)), 'the size of the linked file');
    assert.doesNotMatch(a, /TOP-SECRET|sss/, 'the bytes of the linked file');
  }
}

describe('links in a folder the view shows', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    work = await tempDir('lading-ui-links-');
    await writeFile(join(work.path, 'secret.bin'), secret);
    await OciLayout.open(join(work.path, 'layout'), { mode: 'create' });
    await mkdir(join(work.path, 'layout', 'blobs', 'sha256'), { recursive: true });
    await symlink(join(work.path, 'secret.bin'), join(work.path, 'layout', 'blobs', 'sha256', hex));
    const ctf = await CtfArchive.open(join(work.path, 'ctf'), { mode: 'create' });
    await ctf.close();
    await mkdir(join(work.path, 'ctf', 'blobs'), { recursive: true });
    await symlink(join(work.path, 'secret.bin'), join(work.path, 'ctf', 'blobs', `sha256.${hex}`));
  });
  after(() => work.cleanup());

  test('an OCI layout opened without following links', async () => {
    const layout = await OciLayout.open(join(work.path, 'layout'), { followLinks: false });
    const server = await startUiServer({ store: layoutStore(layout, 'layout', 'layout') });
    try {
      assertNothingLeaks(await probe(server.url, 'layout'));
    } finally {
      await server.close();
    }
  });

  /** The view over the CTF folder `name`, opened without following links, tells nothing of the secret. */
  async function assertCtfLeaksNothing(name: string): Promise<void> {
    const archive = await CtfArchive.open(join(work.path, name), { mode: 'readonly', followLinks: false });
    const server = await startUiServer({ store: ctfStore(archive, 'ctf') });
    try {
      assertNothingLeaks(await probe(server.url, 'any/repo'));
    } finally {
      await server.close();
      await archive.close({ commit: false });
    }
  }

  test('a CTF folder opened without following links', () => assertCtfLeaksNothing('ctf'));

  test('a CTF folder whose blobs/ folder is a link, opened without following links', async () => {
    // A folder outside holding a file of the right name: the planted blobs/ would lead reads to it.
    await mkdir(join(work.path, 'elsewhere'), { recursive: true });
    await writeFile(join(work.path, 'elsewhere', `sha256.${hex}`), secret);
    const ctf = await CtfArchive.open(join(work.path, 'ctf-linked'), { mode: 'create' });
    await ctf.close();
    await rm(join(work.path, 'ctf-linked', 'blobs'), { recursive: true, force: true });
    await symlink(join(work.path, 'elsewhere'), join(work.path, 'ctf-linked', 'blobs'));
    await assertCtfLeaksNothing('ctf-linked');
  });

  /**
   * The view over `root`, read once while `folder` (below it) is a real folder, then with `folder`
   * swapped for a link to a folder holding the secret as `file`: the swap is not followed.
   */
  async function assertSwapNotFollowed(
    root: string,
    folder: string,
    file: string,
    open: () => Promise<{ store: Parameters<typeof startUiServer>[0]['store']; close: () => Promise<void> }>,
    repository: string,
  ): Promise<void> {
    const opened = await open();
    const server = await startUiServer({ store: opened.store });
    try {
      // Read through the real folder first (a check remembered from here would be stale below).
      assertNothingLeaks(await probe(server.url, repository));
      const outside = join(work.path, `outside-${folder.replaceAll('/', '-')}-${Date.now()}`);
      await mkdir(outside, { recursive: true });
      await writeFile(join(outside, file), secret);
      await rm(join(root, folder), { recursive: true, force: true });
      await symlink(outside, join(root, folder));
      assertNothingLeaks(await probe(server.url, repository));
    } finally {
      await server.close();
      await opened.close();
    }
  }

  test('an OCI layout whose blobs/sha256/ is swapped for a link while the view runs', async () => {
    const root = join(work.path, 'layout-swap');
    await OciLayout.open(root, { mode: 'create' });
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await assertSwapNotFollowed(
      root,
      'blobs/sha256',
      hex,
      async () => {
        const layout = await OciLayout.open(root, { followLinks: false });
        return { store: layoutStore(layout, 'layout', 'layout'), close: async () => {} };
      },
      'layout',
    );
  });

  test('an OCI layout whose blobs/ is swapped for a link while the view runs', async () => {
    const root = join(work.path, 'layout-swap-blobs');
    await OciLayout.open(root, { mode: 'create' });
    await mkdir(join(root, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(work.path, 'outside-tree', 'sha256'), { recursive: true });
    await writeFile(join(work.path, 'outside-tree', 'sha256', hex), secret);
    const layout = await OciLayout.open(root, { followLinks: false });
    const server = await startUiServer({ store: layoutStore(layout, 'layout', 'layout') });
    try {
      assertNothingLeaks(await probe(server.url, 'layout'));
      await rm(join(root, 'blobs'), { recursive: true, force: true });
      await symlink(join(work.path, 'outside-tree'), join(root, 'blobs'));
      assertNothingLeaks(await probe(server.url, 'layout'));
    } finally {
      await server.close();
    }
  });

  test('a CTF folder whose blobs/ is swapped for a link while the view runs', async () => {
    const root = join(work.path, 'ctf-swap');
    const ctf = await CtfArchive.open(root, { mode: 'create' });
    await ctf.close();
    await mkdir(join(root, 'blobs'), { recursive: true });
    await assertSwapNotFollowed(
      root,
      'blobs',
      `sha256.${hex}`,
      async () => {
        const archive = await CtfArchive.open(root, { mode: 'readonly', followLinks: false });
        return { store: ctfStore(archive, 'ctf'), close: () => archive.close({ commit: false }) };
      },
      'any/repo',
    );
  });

  test("lading serve's view reads its repositories without following links", async () => {
    const root = join(work.path, 'registry');
    const registry = await startRegistry({ root, addr: '127.0.0.1:0' });
    try {
      // A repository made by a push, whose blobs/sha256/ is then a link to a folder with the secret.
      const blob = Buffer.from('real');
      const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
      const pushed = await fetch(`${registry.url}/v2/acme/app/blobs/uploads/?digest=${digest}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: blob,
      });
      assert.equal(pushed.status, 201);
      const folder = join(root, 'acme', 'app', 'blobs', 'sha256');
      await mkdir(join(work.path, 'registry-outside'), { recursive: true });
      await writeFile(join(work.path, 'registry-outside', hex), secret);
      await rm(folder, { recursive: true, force: true });
      await symlink(join(work.path, 'registry-outside'), folder);
      assertNothingLeaks(await probe(`${registry.url}/ui/`, 'acme/app'));
    } finally {
      await registry.close();
    }
  });

  test('lading ui opens the folder that way', async () => {
    const child = spawn(process.execPath, cliArgs(['ui', join(work.path, 'layout')]), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          const m = /http:\/\/\S+\/ui\//.exec(out);
          if (m) resolve(m[0]);
        });
        child.once('exit', (code) => reject(new Error(`lading ui exited ${code}`)));
      });
      assertNothingLeaks(await probe(url, 'layout'));
    } finally {
      child.kill();
    }
  });
});
