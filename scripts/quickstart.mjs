// `npm start`: the main job on an embedded example, with nothing but Node. It packs
// examples/hello into an OCI image layout (the ORAS job), builds the example component from
// examples/component-constructor.yaml into a CTF archive (the OCM job), shows it, and gets the
// embedded OCI artifact back out of the archive, checking every byte. Then it starts `lading serve`
// on a free local port and runs the seeds' registry flows against it: the component transferred
// with --copy-resources and its embedded image pulled by digest (seed 000), and the ORAS flows of
// seeds 003/004 (push, attach, discover through the referrers API, cp from a layout, pull),
// checking every byte again, and stops it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'dist', 'bin', 'main.js');
if (!existsSync(cli)) {
  console.error('lading is not built yet: run `npm ci` (or `npm run build`) first.');
  process.exit(1);
}
const out = join(root, 'quickstart-out');
await rm(out, { recursive: true, force: true });

function lading(title, args) {
  console.log(`\n$ lading ${args.join(' ')}    # ${title}`);
  const text = execFileSync(process.execPath, [cli, ...args], { cwd: root, encoding: 'utf8' });
  process.stdout.write(text.replace(/^/gm, '  '));
  return text;
}

lading('pack two files into an OCI image layout, as oras push does', [
  'push',
  '--oci-layout',
  'quickstart-out/hello-layout:1.0.0',
  '--artifact-type',
  'application/vnd.example.hello.v1',
  'examples/hello/README.md:text/markdown',
  'examples/hello/config.yaml:application/yaml',
]);
lading('build the component version into a CTF archive', [
  'add',
  'cv',
  '-c',
  'examples/component-constructor.yaml',
  '--working-directory',
  '.',
  '-r',
  'quickstart-out/transport-archive',
]);
const ref = 'quickstart-out/transport-archive//example.com/lading/hello:1.0.0';
lading('list its resources', ['get', 'resources', ref]);
lading('download the embedded OCI artifact, unpacked into an OCI layout folder (--extraction-policy auto)', [
  'download',
  'resource',
  ref,
  '--identity',
  'name=hello-artifact',
  '--output',
  'quickstart-out/hello-artifact',
]);
lading('pull its files out of the downloaded layout', [
  'pull',
  '--oci-layout',
  'quickstart-out/hello-artifact:1.0.0',
  '-o',
  'quickstart-out/files',
]);
for (const name of ['README.md', 'config.yaml']) {
  const original = await readFile(join(root, 'examples', 'hello', name));
  const back = await readFile(join(out, 'files', 'examples', 'hello', name));
  if (!original.equals(back)) throw new Error(`${name} changed on its way through the archive`);
}
console.log('\nThe files made the round trip OCI layout → component version (CTF) → OCI layout unchanged.');

async function same(a, b, what) {
  const [x, y] = await Promise.all([readFile(a), readFile(b)]);
  if (!x.equals(y)) throw new Error(`${what}: ${b} differs from ${a}`);
}

// A registry of our own, on a free port, kept in quickstart-out/registry (each repository an OCI layout).
console.log('\n$ lading serve --addr 127.0.0.1:0 --root quickstart-out/registry    # a local OCI registry');
const server = spawn(
  process.execPath,
  [cli, 'serve', '--addr', '127.0.0.1:0', '--root', join(out, 'registry'), '--log-level', 'error'],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
const stopped = new Promise((resolve) => server.once('exit', (code, signal) => resolve(code ?? signal)));
const host = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (chunk) => {
    text += chunk;
    const m = /ready on http:\/\/(\S+)/.exec(text);
    if (m) resolve(m[1]);
  });
  void stopped.then((code) => reject(new Error(`lading serve exited (${code}) before it was ready`)));
});
console.log(`  ready on http://${host}`);
try {
  // Seed 000: constructor → CTF → transfer cv --copy-resources → the embedded image pulled by digest.
  lading('transfer the component version with its resources into the registry', [
    'transfer',
    'cv',
    '--copy-resources',
    ref,
    `http://${host}`,
  ]);
  const remote = JSON.parse(
    lading('read it back from the registry', [
      'get',
      'cv',
      `http://${host}//example.com/lading/hello:1.0.0`,
      '-o',
      'json',
    ]),
  );
  const descriptor = Array.isArray(remote) ? remote[0] : remote;
  const resource = descriptor.component.resources.find((r) => r.name === 'hello-artifact');
  const digest = resource?.access?.localReference;
  if (!digest) throw new Error('the transferred hello-artifact has no localReference');
  lading('pull the embedded artifact natively, by its digest, as any OCI client can', [
    'pull',
    '--plain-http',
    `${host}/component-descriptors/example.com/lading/hello@${digest}`,
    '-o',
    'quickstart-out/from-registry',
  ]);
  for (const name of ['README.md', 'config.yaml']) {
    await same(join(root, 'examples', 'hello', name), join(out, 'from-registry', 'examples', 'hello', name), name);
  }

  // Seed 003: push, attach, discover (the referrers API), pull.
  const work = join(out, 'oras');
  await mkdir(work, { recursive: true });
  await writeFile(join(work, 'artifact.txt'), 'hello world\n');
  await writeFile(join(work, 'sbom.json'), '{"spdxVersion":"SPDX-2.3","name":"hello-artifact"}\n');
  // These run in quickstart-out/oras, where the files they name are; say so once, as a `cd`.
  console.log('\n$ cd quickstart-out/oras    # artifact.txt, sbom.json and data/ are written here');
  const orasIn = (title, args) => {
    console.log(`\n$ lading ${args.join(' ')}    # ${title}`);
    const text = execFileSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8' });
    process.stdout.write(text.replace(/^/gm, '  '));
    return text;
  };
  orasIn('push a file as an artifact', [
    'push',
    '--plain-http',
    `${host}/hello-artifact:v1`,
    'artifact.txt:text/plain',
  ]);
  orasIn('attach an SBOM to it', [
    'attach',
    '--plain-http',
    '--artifact-type',
    'application/spdx+json',
    `${host}/hello-artifact:v1`,
    'sbom.json:application/spdx+json',
  ]);
  const found = JSON.parse(
    orasIn('discover its referrers (the registry answers the referrers API)', [
      'discover',
      '--plain-http',
      '--format',
      'json',
      `${host}/hello-artifact:v1`,
    ]),
  );
  const referrers = found.referrers ?? found.manifests ?? [];
  if (referrers.length !== 1 || referrers[0].artifactType !== 'application/spdx+json') {
    throw new Error(`discover found ${JSON.stringify(referrers)}, expected the one SBOM`);
  }
  orasIn('pull the artifact back', ['pull', '--plain-http', `${host}/hello-artifact:v1`, '-o', 'pulled']);
  await same(join(work, 'artifact.txt'), join(work, 'pulled', 'artifact.txt'), 'artifact.txt');
  orasIn('pull the SBOM by the digest discover named', [
    'pull',
    '--plain-http',
    `${host}/hello-artifact@${referrers[0].digest}`,
    '-o',
    'pulled-sbom',
  ]);
  await same(join(work, 'sbom.json'), join(work, 'pulled-sbom', 'sbom.json'), 'sbom.json');

  // Seed 004: an OCI layout, copied into the registry, pulled back.
  await mkdir(join(work, 'data'), { recursive: true });
  await writeFile(
    join(work, 'data', 'imagery.tif'),
    Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) & 255)),
  );
  await writeFile(join(work, 'data', 'stac_item.json'), '{"type":"Feature","id":"demo"}\n');
  await writeFile(join(work, 'data', 'config.json'), '{}\n');
  orasIn('pack the earth-observation product into an OCI layout', [
    'push',
    '--oci-layout',
    'eo-layout:v1',
    '--artifact-type',
    'application/vnd.my-earth-observation-product.v1',
    '--config',
    'data/config.json:application/vnd.oci.artifact.config.v1+json',
    'data/imagery.tif:image/tiff',
    'data/stac_item.json:application/geo+json',
  ]);
  orasIn('copy the layout into the registry', [
    'cp',
    '--from-oci-layout',
    'eo-layout:v1',
    '--to-plain-http',
    `${host}/eo/products:v1`,
  ]);
  orasIn('pull it back', ['pull', '--plain-http', `${host}/eo/products:v1`, '--output', 'retrieved']);
  for (const name of ['imagery.tif', 'stac_item.json']) {
    await same(join(work, 'data', name), join(work, 'retrieved', 'data', name), name);
  }
} finally {
  server.kill('SIGTERM');
  await stopped;
}
const exitCode = await stopped;
if (exitCode !== 0) throw new Error(`lading serve exited with ${exitCode} on SIGTERM`);
console.log('\nDone: every byte made it through the CTF archive, the registry (lading serve) and back.');
// `lading` is not on the PATH after `npm ci`: the next steps say `npx lading`, which works here.
console.log('Next, in this folder (`npx lading` runs this checkout; `npm install -g .` puts `lading` on your PATH):');
console.log(`  npx lading get cv ${ref} -o yaml`);
console.log(
  '  npx lading serve --root ~/.lading/registry    # keep a registry on localhost:5000 for the README and the seeds',
);
console.log('  npx lading --help');
