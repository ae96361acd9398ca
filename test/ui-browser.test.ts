// The browser view (lading ui) in a real browser: Debian's chromium, headless, driven by
// puppeteer-core. A CTF filled by `lading add cv` and `lading sign cv`, and the plain registry peer
// filled with an image index (two platforms, layers, a hostile annotation) and a referrer.
// LADING_UI_SCREENSHOTS=<dir> also saves the main pages as PNG (docs/ holds the committed ones).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { CtfArchive } from '../src/ctf/index.js';
import { encodeIndex, encodeManifest, MediaType } from '../src/oci/index.js';
import { Registry } from '../src/registry/index.js';
import { ctfStore, registryStore, startUiServer, type UiServer } from '../src/server/ui/index.js';
import { ladingOk } from './support/cli.js';
import { pushArtifact, pushBytes, tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
// The peer harness (loadPeers) installs chromium or fails; find it where it put it, on PATH.
const chromium = (process.env.PATH ?? '')
  .split(delimiter)
  .flatMap((dir) => (dir ? [join(dir, 'chromium'), join(dir, 'chromium-browser')] : []))
  .find((p) => existsSync(p));
const peers = loadPeers();
const shots = process.env.LADING_UI_SCREENSHOTS;
/** Browser-side code is passed as text: the tests compile without the DOM's types. */
const rendered = "document.querySelector('main')?.dataset.rendered !== undefined";

/** Markup and terminal escapes in annotations and labels: must show as text, never act. */
const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>\u001b[31mred\u202eevil';

const constructorYaml = `components:
  - name: acme.org/lib
    version: 0.9.0
    provider:
      name: acme.org
    resources:
      - name: libdata
        type: blob
        input:
          type: utf8/v1
          text: lib content
  - name: acme.org/app
    version: 1.0.0
    provider:
      name: acme.org
    labels:
      - name: note
        value: ${JSON.stringify(hostile)}
    resources:
      - name: data
        type: blob
        input:
          type: file/v1
          path: ./data.txt
          mediaType: text/plain
    sources:
      - name: src
        type: git
        version: 1.0.0
        access:
          type: gitHub/v1
          repoUrl: github.com/acme/app
          commit: 0123456789abcdef0123456789abcdef01234567
    componentReferences:
      - name: lib
        componentName: acme.org/lib
        version: 0.9.0
`;

describe('the browser view', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let browser: Browser;
  let ctfServer: UiServer;
  let regServer: UiServer;
  let archive: CtfArchive;
  let registry: Registry;
  // The view sees only this test's part of the shared registry (a sub path), whatever else is there.
  const subPath = `ui-${process.pid}`;
  const repoName = 'acme/app';
  const layerText = 'layer one: the bytes a download must give back\n';
  let indexDigest = '';
  // Each page saves its downloads into a folder of its own.
  let pages = 0;
  const downloadDirs = new Map<Page, string>();

  before(async () => {
    work = await tempDir('lading-ui-');
    const dir = work.path;
    await writeFile(join(dir, 'data.txt'), 'hello data\n');
    await writeFile(join(dir, 'component-constructor.yaml'), constructorYaml);
    await run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'key.pem'], {
      cwd: dir,
    });
    await run('openssl', ['pkey', '-in', 'key.pem', '-pubout', '-out', 'pub.pem'], { cwd: dir });
    await ladingOk(['add', 'cv', '-r', './ctf'], { cwd: dir });
    await ladingOk(['sign', 'cv', './ctf//acme.org/app:1.0.0', '--private-key', 'key.pem'], { cwd: dir });

    // The registry: an index of two platform images (two layers each), one with a hostile
    // annotation, and an SBOM referring to the index.
    registry = new Registry(peers.plain.host, { plainHttp: true });
    const repo = registry.repository(`${subPath}/${repoName}`, { push: true });
    const manifests = [];
    for (const arch of ['amd64', 'arm64']) {
      const config = await pushBytes(
        repo,
        Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })),
        MediaType.ImageConfig,
      );
      const l1 = await pushBytes(
        repo,
        Buffer.from(arch === 'amd64' ? layerText : `other ${arch}\n`),
        MediaType.ImageLayer,
        {
          'org.opencontainers.image.title': `one-${arch}.txt`,
        },
      );
      const l2 = await pushBytes(repo, Buffer.from(`second layer ${arch}\n`), MediaType.ImageLayer, {
        'org.opencontainers.image.title': `two-${arch}.txt`,
        'org.example.hostile': hostile,
      });
      const m = await pushBytes(
        repo,
        encodeManifest({ schemaVersion: 2, mediaType: MediaType.ImageManifest, config, layers: [l1, l2] }),
        MediaType.ImageManifest,
      );
      manifests.push({ ...m, platform: { architecture: arch, os: 'linux' } });
    }
    const index = await pushBytes(
      repo,
      encodeIndex({
        schemaVersion: 2,
        mediaType: MediaType.ImageIndex,
        manifests,
        annotations: { 'org.example.hostile': hostile },
      }),
      MediaType.ImageIndex,
    );
    indexDigest = index.digest;
    await repo.tag(index, 'v1');
    await pushArtifact(
      repo,
      { 'sbom.json': '{"spdxVersion":"SPDX-2.3"}' },
      {
        subject: index,
        artifactType: 'application/spdx+json',
      },
    );

    archive = await CtfArchive.open(join(dir, 'ctf'), { mode: 'readonly' });
    const publicKey = await readFile(join(dir, 'pub.pem'));
    ctfServer = await startUiServer({
      store: ctfStore(archive, './ctf'),
      keys: () => ({ publicKey }),
      version: 'test',
    });
    // The signed component versions, transferred into the same part of the registry.
    await ladingOk(['transfer', 'cv', '-r', './ctf//acme.org/app:1.0.0', `${peers.plain.url}/${subPath}`], {
      cwd: dir,
    });
    const tools = registry.repository(`${subPath}/acme/tools`, { push: true });
    const tool = await pushArtifact(tools, { 'tool.sh': 'echo hi\n' }, { artifactType: 'application/vnd.acme.tool' });
    await tools.tag(tool.manifest, '2.1.0');
    regServer = await startUiServer({
      store: registryStore(registry, `${peers.plain.url}/${subPath}`, { subPath }),
      version: 'test',
    });
    browser = await puppeteer.launch({
      executablePath: chromium ?? assert.fail('chromium is not on PATH (apt-get install chromium)'),
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
  });

  after(async () => {
    await browser?.close();
    await ctfServer?.close();
    await regServer?.close();
    await archive?.close({ commit: false });
    await registry?.close();
    await work?.cleanup();
  });

  /** A page that records CSP violations and script errors, and saves downloads into a folder of its own. */
  async function newPage(width = 1280, height = 800): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    await page.setViewport({ width, height });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(String(e)));
    const cdp = await page.createCDPSession();
    const downloadPath = join(work.path, `downloads-${++pages}`);
    downloadDirs.set(page, downloadPath);
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath });
    return { page, problems };
  }

  async function shot(page: Page, name: string, fullPage = false): Promise<void> {
    if (!shots) return;
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: join(shots, `${name}.png`) as `${string}.png`, fullPage });
  }

  /** Runs `action` and waits until the view has rendered the page it leads to. */
  async function navigation(page: Page, action: () => Promise<unknown>): Promise<void> {
    const before = Number(await page.evaluate("document.querySelector('main').dataset.rendered ?? 0"));
    await action();
    await page.waitForFunction(`Number(document.querySelector('main').dataset.rendered ?? 0) > ${before}`);
  }

  async function loaded(page: Page, url: string): Promise<void> {
    await page.goto(url);
    await page.waitForFunction(rendered);
  }

  async function clickLink(page: Page, text: string): Promise<void> {
    const link = await page.waitForSelector(`::-p-xpath(//main//a[normalize-space(.)=${JSON.stringify(text)}])`);
    assert.ok(link, `a link "${text}"`);
    await navigation(page, () => link.click());
  }

  const mainText = (page: Page) => page.evaluate("document.querySelector('main').innerText") as Promise<string>;

  async function downloaded(page: Page, name: string): Promise<Buffer> {
    const dir = downloadDirs.get(page) as string;
    const file = join(dir, name);
    for (let i = 0; i < 100; i++) {
      const names = await readdir(dir).catch(() => [] as string[]);
      if (names.includes(name) && !names.some((n) => n.endsWith('.crdownload'))) return readFile(file);
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no download ${name} in ${dir}`);
  }

  test('a CTF: component version, resources, references, signatures (verified), descriptor; hostile text stays text', async () => {
    const { page, problems } = await newPage();
    const res = await page.goto(`${ctfServer.url}components`);
    await page.waitForFunction(rendered);
    const csp = res?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(await mainText(page), /acme\.org\/app[\s\S]*acme\.org\/lib/);
    await clickLink(page, 'acme.org/app');
    await clickLink(page, '1.0.0');
    assert.equal(new URL(page.url()).pathname, '/ui/version');
    assert.equal(new URL(page.url()).searchParams.get('component'), 'acme.org/app');
    const text = await mainText(page);
    assert.match(text, /Component version acme\.org\/app:1\.0\.0/);
    assert.match(text, /Provider\s+acme\.org/);
    assert.match(text, /data\s+1\.0\.0\s+blob\s+local\s+LocalBlob\/v1/);
    assert.match(text, /Sources \(1\)[\s\S]*gitHub\/v1[\s\S]*repoUrl: github\.com\/acme\/app/);
    assert.match(text, /Signatures \(1\)[\s\S]*default\s+RSASSA-PSS\s+none \(plain signature\)/);
    // The hostile label: its markup is text, its escape and bidi characters are spelled out.
    assert.ok(text.includes('<img src=x onerror="window.__pwned=1"><script>'), 'the markup shows as text');
    assert.ok(text.includes('\\u{001b}[31mred\\u{202e}evil'), 'escapes are spelled out');
    assert.equal(await page.$$eval('main img, main script', (l) => l.length), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);

    // Verify with the server's key.
    await page.click('#verify');
    await page.waitForFunction(
      "/signature.* verified\\./.test(document.querySelector('.verify-result')?.textContent ?? '')",
    );
    assert.match(await mainText(page), /✓ verified: signature "default" verified \(RSASSA-PSS\)/);
    assert.match(await mainText(page), /1 of 1 signature verified\./);
    await shot(page, 'ui-component-version', true);

    // The descriptor as YAML.
    await page.click('details.raw summary');
    const yaml = await page.$eval('details.raw pre', (p) => p.textContent ?? '');
    assert.match(yaml, /^component:\n/m);
    assert.match(yaml, /componentName: acme\.org\/lib/);

    // The resource downloads with its bytes.
    await page.click('a.download');
    assert.equal((await downloaded(page, 'data')).toString(), 'hello data\n');

    // The reference leads to the other component version.
    await clickLink(page, 'acme.org/lib:0.9.0');
    assert.match(await mainText(page), /Component version acme\.org\/lib:0\.9\.0[\s\S]*libdata/);
    assert.equal(new URL(page.url()).searchParams.get('version'), '0.9.0');
    // Back goes back.
    await navigation(page, () => page.goBack());
    assert.match(await page.$eval('h1', (e) => e.textContent ?? ''), /acme\.org\/app:1\.0\.0/);
    assert.deepEqual(problems, []);
    await page.close();
  });

  test("a page the view does not have shows the not-found view, also for Object.prototype's names", async () => {
    const { page, problems } = await newPage();
    for (const name of ['no-such-page', 'constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      await loaded(page, `${ctfServer.url}${name}`);
      const text = await mainText(page);
      assert.match(text, /Could not show this/, name);
      assert.match(text, new RegExp(`no page "${name}" in this view`), name);
    }
    assert.deepEqual(
      problems.filter((p) => !/status of 404/.test(p)),
      [],
    );
    await page.close();
  });

  test('a registry: an index, its platform manifests and layers, a referrer; a layer downloads; deep links', async () => {
    const { page, problems } = await newPage();
    await loaded(page, regServer.url);
    assert.match(await mainText(page), /acme\/app\s+acme\/tools\s+OCM components\s+acme\.org\/app\s+acme\.org\/lib/);
    await shot(page, 'ui-repositories');
    await clickLink(page, repoName);
    await clickLink(page, 'v1');
    let text = await mainText(page);
    assert.match(text, new RegExp(`Artifact ${repoName}:v1`));
    assert.ok(text.includes(indexDigest));
    assert.match(
      text,
      /\[index\][\s\S]*\[manifest\][\s\S]*platform linux\/amd64[\s\S]*\[config\][\s\S]*\[layer\] one-amd64\.txt[\s\S]*\[layer\] two-amd64\.txt/,
    );
    assert.match(text, /platform linux\/arm64/);
    assert.match(text, /Referrers \(1\)[\s\S]*\[referrer\] application\/spdx\+json/);
    assert.ok(text.includes('<img src=x onerror="window.__pwned=1">'), 'a hostile annotation shows as text');
    assert.equal(await page.$$eval('main img, main script', (l) => l.length), 0);
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    await shot(page, 'ui-artifact', true);

    // Download a layer: the bytes that were pushed.
    const layerLink = await page.waitForSelector('::-p-xpath(//a[contains(., "one-amd64.txt")])');
    await layerLink?.click();
    assert.equal((await downloaded(page, 'one-amd64.txt')).toString(), layerText);

    // Open the referrer: its own page says what it refers to.
    const referrer = await page.waitForSelector(
      '::-p-xpath(//section[.//h2[starts-with(., "Referrers")]]//a[starts-with(normalize-space(.), "Open")])',
    );
    await navigation(page, async () => referrer?.click());
    text = await mainText(page);
    assert.match(text, /Artifact type\s+application\/spdx\+json/);
    assert.ok(text.includes(indexDigest), 'the subject is the index');
    assert.match(text, /\[layer\] sbom\.json/);
    const referrerHref = await (page.evaluate('location.href') as Promise<string>);

    // The component versions in the registry: the same view as from the CTF, the reference followed.
    await loaded(page, regServer.url);
    await clickLink(page, 'acme.org/app');
    await clickLink(page, '1.0.0');
    assert.match(await mainText(page), /Signatures \(1\)[\s\S]*default\s+RSASSA-PSS/);
    await page.click('a.download');
    assert.equal((await downloaded(page, 'data')).toString(), 'hello data\n');
    await clickLink(page, 'acme.org/lib:0.9.0');
    assert.match(await mainText(page), /Component version acme\.org\/lib:0\.9\.0/);

    // A deep link to the referrer, pasted into a fresh page.
    const { page: fresh } = await newPage();
    await loaded(fresh, referrerHref);
    assert.match(await mainText(fresh), /Artifact type\s+application\/spdx\+json/);
    await fresh.close();
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('keyboard: / focuses the search, Enter searches, results are links; a phone-width page does not scroll sideways', async () => {
    const { page, problems } = await newPage(390, 844);
    await loaded(page, regServer.url);
    await page.keyboard.press('/');
    assert.equal(await page.evaluate('document.activeElement?.id'), 'q');
    await page.keyboard.type('v1');
    await navigation(page, () => page.keyboard.press('Enter'));
    assert.match(await mainText(page), new RegExp(`Tags \\(\\d+\\)[\\s\\S]*${repoName}:v1`));
    assert.equal(new URL(page.url()).searchParams.get('q'), 'v1');
    // Search by digest finds the index.
    await loaded(page, `${regServer.url}search?q=${indexDigest}`);
    assert.ok((await mainText(page)).includes(`${repoName}@${indexDigest}`));
    // On a phone, the artifact page wraps instead of overflowing.
    await loaded(page, `${regServer.url}artifact?repository=${encodeURIComponent(repoName)}&reference=v1`);
    const overflow = await (page.evaluate(
      'document.documentElement.scrollWidth - window.innerWidth',
    ) as Promise<number>);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
    await shot(page, 'ui-artifact-phone');
    assert.deepEqual(problems, []);
    await page.close();
  });
});

describe('the view is read-only and sends its policy', () => {
  test('every method but GET and HEAD is refused; verify only from the view; unknown hosts refused', async () => {
    const work = await tempDir('lading-ui-');
    const archive = await CtfArchive.open(join(work.path, 'ctf'), { mode: 'create' });
    const server = await startUiServer({ store: ctfStore(archive, 'ctf'), keys: () => undefined });
    try {
      for (const method of ['PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS']) {
        const r = await fetch(`${server.url}api/repositories`, { method });
        assert.equal(r.status, 405, method);
        assert.equal(r.headers.get('allow'), 'GET, HEAD');
      }
      const page = await fetch(server.url);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /^default-src 'none'; script-src 'self';/);
      assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
      // The page loads no inline script or style that the policy would have to allow.
      const html = await page.text();
      assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i);
      const verify = await fetch(`${server.url}api/verify?component=a&version=1`, { method: 'POST' });
      assert.equal(verify.status, 403);
      // A name that rebinds to 127.0.0.1 reaches the port, but the Host it sends is not the server's.
      const rebound = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(server.url, { headers: { host: 'attacker.example' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(rebound, 403);
    } finally {
      await server.close();
      await archive.close({ commit: false });
      await work.cleanup();
    }
  });
});
