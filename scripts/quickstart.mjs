// `npm start`: the main job on an embedded example, with no server needed. It packs
// examples/hello into an OCI image layout (the ORAS job), builds the example component from
// examples/component-constructor.yaml into a CTF archive (the OCM job), shows it, and gets the
// embedded OCI artifact back out of the archive, checking every byte.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
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
lading('download the embedded OCI artifact as an OCI layout tar', [
  'download',
  'resource',
  ref,
  '--identity',
  'name=hello-artifact',
  '--output',
  'quickstart-out/hello-artifact.tar',
]);
lading('pull its files out of the downloaded layout', [
  'pull',
  '--oci-layout',
  'quickstart-out/hello-artifact.tar:1.0.0',
  '-o',
  'quickstart-out/files',
]);
for (const name of ['README.md', 'config.yaml']) {
  const original = await readFile(join(root, 'examples', 'hello', name));
  const back = await readFile(join(out, 'files', 'examples', 'hello', name));
  if (!original.equals(back)) throw new Error(`${name} changed on its way through the archive`);
}
console.log('\nDone: the files made the round trip OCI layout → component version (CTF) → OCI layout unchanged.');
console.log(`Next: lading get cv ${ref} -o yaml`);
