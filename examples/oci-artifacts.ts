// Registries, credentials, progress, cancellation, layouts and tars: the ORAS side of lading.
// Run: REGISTRY=localhost:5000 node --import tsx examples/oci-artifacts.ts
// (test/examples.test.ts runs it against a real registry; the folder it works in is its cwd).
import { mkdir, writeFile } from 'node:fs/promises';
import { copy, digestBytes, isLadingError, MemoryStore, packManifest } from 'lading';
import { pullFiles, pushFiles } from 'lading/files';
import { LayoutTarWriter, OciLayout } from 'lading/layout';
import { Registry, staticCredential } from 'lading/registry';

const host = process.env.REGISTRY ?? 'localhost:5000';

// 1. A registry and a repository from one reference. Credentials come from a provider (here a
//    fixed one; DockerCredentialStore reads docker's config.json and its helpers). Plain HTTP is
//    only the default for localhost: say so for other hosts.
const target = Registry.fromReference(`${host}/examples/hello:v1`, {
  plainHttp: true,
  credentials: staticCredential(host, { username: 'demo', password: 'demo' }),
});

// 2. Pack an artifact in memory: every descriptor names the digest and size of its bytes.
const store = new MemoryStore();
const bytes = Buffer.from('hello from the library guide\n');
const layer = {
  mediaType: 'text/plain',
  digest: digestBytes(bytes),
  size: bytes.length,
  annotations: { 'org.opencontainers.image.title': 'hello.txt' },
};
await store.push(layer, bytes);
const manifest = await packManifest(store, [layer], { artifactType: 'application/vnd.example.hello.v1' });
await store.tag(manifest, 'v1');

// 3. Copy it to the registry, with progress: copy verifies every byte and skips what is there.
let moved = 0;
await copy(store, 'v1', target.repository, target.reference, { onProgress: (_desc, n) => (moved += n) });
console.log(`pushed ${manifest.digest} (${moved} bytes moved)`);

// 4. Into an OCI image layout directory (created), and as a layout tar file.
const layout = await OciLayout.open('hello-layout', { mode: 'create' });
await copy(target.repository, 'v1', layout, 'v1');
const tar = await LayoutTarWriter.create('hello-layout.tar');
await copy(layout, 'v1', tar, 'v1', { concurrency: 1 });
await tar.close(); // writes index.json and puts the tar in place
await layout.close();
const fromTar = await OciLayout.open('hello-layout.tar'); // a tar layout is read-only
console.log(`the tar holds ${(await fromTar.resolve('v1')).digest}`);
await fromTar.close();

// 5. Files and folders as an artifact (ORAS push/pull), relative to a folder of your choice.
await mkdir('site/docs', { recursive: true });
await writeFile('site/docs/index.md', '# Docs\n');
await pushFiles(target.repository, [{ path: 'docs' }, { path: 'docs/index.md', title: 'README.md' }], {
  cwd: 'site',
  tags: ['files'],
});
const pulled = await pullFiles(target.repository, 'files', { output: 'pulled' });
console.log(`pulled ${pulled.files.length} files`);

// 6. Cancellation: whenever the signal fires, the call rejects with a LadingError of code
//    ABORTED whose cause is the signal's reason.
const controller = new AbortController();
controller.abort(new Error('user pressed stop'));
try {
  await copy(target.repository, 'v1', new MemoryStore(), 'v1', { signal: controller.signal });
} catch (error) {
  if (!isLadingError(error, 'ABORTED')) throw error;
  console.log(`aborted: ${(error.cause as Error).message}`);
}

await target.close(); // releases the registry's connections
