// `npm start`: the main job on an embedded example, no server needed. It packs the files of
// examples/hello into an OCI artifact in an OCI image layout, writes the layout as a tar file,
// copies it with the lading CLI into a second layout, and reads the files back, checking digests.
import { execFileSync } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const lib = await import(new URL('../dist/index.js', import.meta.url).href).catch(() => {
  console.error('lading is not built yet: run `npm ci` (or `npm run build`) first.');
  process.exit(1);
});
const { MemoryStore, OciLayout, copy, packManifest, digestBytes, fetchAll, writeDirectoryAsTar } = lib;

const exampleDir = join(root, 'examples', 'hello');
const out = join(root, 'quickstart-out');
await rm(out, { recursive: true, force: true });

const show = (p) => relative(process.cwd(), p) || '.';
console.log(`1. Packing ${show(exampleDir)} into an OCI artifact`);
const store = new MemoryStore();
const layers = [];
for (const name of (await readdir(exampleDir)).sort()) {
  const bytes = await readFile(join(exampleDir, name));
  const desc = {
    mediaType: name.endsWith('.yaml') ? 'application/yaml' : 'text/markdown',
    digest: digestBytes(bytes),
    size: bytes.length,
    annotations: { 'org.opencontainers.image.title': name },
  };
  await store.push(desc, bytes);
  layers.push(desc);
  console.log(`   ${name.padEnd(12)} ${desc.digest}`);
}
const manifest = await packManifest(store, layers, { artifactType: 'application/vnd.lading.example.v1' });
await store.tag(manifest, 'v1');

const layoutDir = join(out, 'hello-layout');
console.log(`2. Writing the OCI image layout ${show(layoutDir)} (tag v1)`);
const layout = await OciLayout.open(layoutDir, { create: true });
await copy(store, 'v1', layout, 'v1');
const tarFile = join(out, 'hello.oci.tar');
await writeDirectoryAsTar(layoutDir, tarFile);
console.log(`   and the same layout as a tar file: ${show(tarFile)}`);

const copyDir = join(out, 'copied-layout');
console.log(`3. lading cp --from-oci-layout ${show(tarFile)}:v1 --to-oci-layout ${show(copyDir)}:v1`);
const cli = join(root, 'dist', 'cli', 'main.js');
const output = execFileSync(
  process.execPath,
  [cli, 'cp', '--from-oci-layout', `${tarFile}:v1`, '--to-oci-layout', `${copyDir}:v1`],
  {
    encoding: 'utf8',
  },
);
for (const line of output.trim().split('\n')) console.log(`   ${line}`);

console.log('4. Reading the copy back');
const copied = await OciLayout.open(copyDir);
const root2 = await copied.resolve('v1');
const parsed = JSON.parse((await fetchAll(copied, root2)).toString());
for (const layer of parsed.layers) {
  const bytes = await fetchAll(copied, layer);
  const original = await readFile(join(exampleDir, layer.annotations['org.opencontainers.image.title']));
  if (!bytes.equals(original))
    throw new Error(`${layer.annotations['org.opencontainers.image.title']} changed in transit`);
  console.log(
    `   ${layer.annotations['org.opencontainers.image.title'].padEnd(12)} ${bytes.length} bytes, digest verified`,
  );
}
console.log(`\nDone: ${root2.digest} (${parsed.artifactType}) round-tripped through an OCI layout tar.`);
console.log(`Inspect it with: skopeo inspect --raw oci:${show(copyDir)}:v1`);
