// The OCM side: build a component version into a CTF archive, sign and verify it, transfer it
// with its resources to a registry, and read a resource back as a stream.
// Run: REGISTRY=localhost:5000 node --import tsx examples/components.ts
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { text } from 'node:stream/consumers';
import {
  constructComponentVersions,
  type LocalBlobAccess,
  openComponentRepository,
  parseConstructor,
  signComponentVersion,
  transferComponentVersion,
  verifyComponentVersion,
} from 'lading/ocm';

const host = process.env.REGISTRY ?? 'localhost:5000';
const name = 'example.com/guide/hello';

// 1. A component constructor (what `lading add cv` reads), here with a file and inline text.
await writeFile('notes.txt', 'notes that ship with the component\n');
const ctor = parseConstructor(`
components:
  - name: ${name}
    version: 1.0.0
    provider:
      name: example.com
    resources:
      - name: notes
        type: blob
        input:
          type: file/v1
          path: notes.txt
      - name: settings
        type: blob
        input:
          type: utf8/v1
          text: replicas=2
`);

// 2. Build it into a CTF archive (a .tgz here; a folder or .tar works the same). `mode: 'create'`
//    makes the archive; closing writes the tgz back.
const ctf = await openComponentRepository('guide.tgz', { mode: 'create' });
await constructComponentVersions(ctor, ctf.repository, { workingDirectory: process.cwd() });
await ctf.close();

// 3. Sign it (RSASSA-PSS over the normalised descriptor) and verify with the public key.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signing = await openComponentRepository('guide.tgz', { mode: 'readwrite' });
await signComponentVersion(signing.repository, name, '1.0.0', { privateKey, signatureName: 'guide' });
const verified = await verifyComponentVersion(signing.repository, name, '1.0.0', { publicKey });
console.log(`verified ${verified.signatures.map((s) => s.name).join(', ')}`);
await signing.close();

// 4. Transfer to an OCI registry, resources by value; a second transfer would move nothing.
const source = await openComponentRepository('guide.tgz');
const target = await openComponentRepository(`http://${host}/guide`, { mode: 'readwrite' });
await transferComponentVersion(source.repository, target.repository, name, '1.0.0', { copyResources: true });
await source.close();

// 5. Read a resource's local blob from the registry as a stream, verified as it is read.
const stored = await target.repository.getComponentVersion(name, '1.0.0');
const notes = stored.descriptor.component.resources.find((r) => r.name === 'notes');
if (!notes || !('localReference' in notes.access)) throw new Error('notes is not a local blob');
const blob = await target.repository.openLocalBlob(stored, notes.access as LocalBlobAccess);
console.log(`notes (${blob.mediaType}): ${(await text(blob.stream)).trim()}`);
await target.close();
