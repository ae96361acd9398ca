// A CTF edited by hand after it was built (what an attacker, a bad copy or a full disk does): a
// transfer that fails leaves the target as it was, a target blob of the wrong size is replaced
// rather than trusted, and an OCI artifact whose index entry is gone is still copied and checked
// as the graph it is. Real CLI runs against CTF folders; no registry needed.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, lstat, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { OciLayout } from '../src/layout/index.js';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { overwriteStored, pushImage, withDir } from './support/fixtures.js';

const blobFile = (ctf: string, digest: string) => join(ctf, 'blobs', `sha256.${digest.slice('sha256:'.length)}`);

async function digestsIn(ctf: string, component: string): Promise<Map<string, string>> {
  const got = await ladingOk(['get', 'cv', `${ctf}//${component}:1.0.0`, '-o', 'json']);
  const parsed = JSON.parse(got.stdout);
  const descriptor = Array.isArray(parsed) ? parsed[0] : parsed;
  const out = new Map<string, string>();
  for (const r of descriptor.component.resources) out.set(r.name, r.access.localReference);
  return out;
}

describe('OCM: a tampered CTF', () => {
  test('a transfer that fails on one resource leaves no blob of another behind, and no new target folder', () =>
    withDir(async (dir) => {
      // One big resource still moving when the small one is found to be wrong.
      await writeFile(join(dir, 'big.bin'), randomBytes(40 * 1024 * 1024));
      await writeFile(join(dir, 'small.txt'), 'small text\n');
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        'components:\n- name: acme.org/race\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n' +
          '  - name: big\n    type: blob\n    input: {type: file/v1, path: ./big.bin}\n' +
          '  - name: small\n    type: blob\n    input: {type: file/v1, path: ./small.txt}\n',
      );
      await ladingOk(['add', 'cv', '-r', 'ctf'], { cwd: dir });
      const refs = await digestsIn(join(dir, 'ctf'), 'acme.org/race');
      await overwriteStored(blobFile(join(dir, 'ctf'), refs.get('small') as string), Buffer.from('SMALL TEXT\n'));
      for (let round = 0; round < 3; round++) {
        const target = join(dir, `target-${round}`);
        const r = await lading(['transfer', 'cv', `${join(dir, 'ctf')}//acme.org/race:1.0.0`, target]);
        assert.notEqual(r.code, 0);
        assert.match(r.stderr, /digest/);
        await assert.rejects(lstat(target), { code: 'ENOENT' }, `round ${round}: the new target folder is gone`);
      }
    }));

  test('a target blob of the right name and the wrong size is replaced by the verified one, not taken as there', () =>
    withDir(async (dir) => {
      await writeFile(join(dir, 'note.txt'), 'the real note\n');
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        'components:\n- name: acme.org/sized\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n' +
          '  - name: note\n    type: blob\n    input: {type: file/v1, path: ./note.txt}\n',
      );
      await ladingOk(['add', 'cv', '-r', 'ctf'], { cwd: dir });
      const target = join(dir, 'target');
      await ladingOk(['transfer', 'cv', `${join(dir, 'ctf')}//acme.org/sized:1.0.0`, target]);
      const note = blobFile(target, (await digestsIn(target, 'acme.org/sized')).get('note') as string);
      await overwriteStored(note, Buffer.from('garbage of another length'));
      await ladingOk(['transfer', 'cv', `${join(dir, 'ctf')}//acme.org/sized:1.0.0`, target]);
      assert.equal(await readFile(note, 'utf8'), 'the real note\n');
      await ladingOk([
        'download',
        'resource',
        `${target}//acme.org/sized:1.0.0`,
        '--identity',
        'name=note',
        '--output',
        join(dir, 'out.txt'),
      ]);
      assert.equal(await readFile(join(dir, 'out.txt'), 'utf8'), 'the real note\n');
    }));

  test('verify cv -r --verify-digests reads the local resources of the referenced versions too', () =>
    withDir(async (dir) => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      await writeFile(join(dir, 'note.txt'), 'the library note\n');
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        'components:\n- name: acme.org/lib\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n' +
          '  - name: note\n    type: blob\n    input: {type: file/v1, path: ./note.txt}\n' +
          '- name: acme.org/app\n  version: 1.0.0\n  provider:\n    name: acme.org\n  componentReferences:\n' +
          '  - name: lib\n    componentName: acme.org/lib\n    version: 1.0.0\n',
      );
      await ladingOk(['add', 'cv', '-r', 'ctf'], { cwd: dir });
      const ctf = join(dir, 'ctf');
      const app = `${ctf}//acme.org/app:1.0.0`;
      await ladingOk(['sign', 'cv', '--private-key', join(dir, 'k.pem'), app]);
      const verify = ['verify', 'cv', '-r', '--verify-digests', '--public-key', join(dir, 'pub.pem'), app];
      const good = await ladingOk(verify);
      assert.match(good.stderr, /verified the content digest of 1 local resource of acme\.org\/lib:1\.0\.0/);
      // The library's note changes at rest (same size): the app's signature still holds, its content does not.
      const note = blobFile(ctf, (await digestsIn(ctf, 'acme.org/lib')).get('note') as string);
      await overwriteStored(note, Buffer.from('THE LIBRARY NOTE\n'));
      const bad = await lading(verify);
      assertOneLineError(
        bad,
        /acme\.org\/lib:1\.0\.0 \(referenced by acme\.org\/app:1\.0\.0\): resource name=note.*digest mismatch/,
      );
    }));

  test('an OCI artifact whose index entry is gone is still read as a manifest: a missing layer fails the transfer', () =>
    withDir(async (dir) => {
      const layout = await OciLayout.open(join(dir, 'layout'), { mode: 'create' });
      const image = await pushImage(layout, { 'app.txt': 'from the image\n' });
      await layout.tag(image.manifest, '1.0.0');
      await layout.close();
      await writeFile(
        join(dir, 'component-constructor.yaml'),
        'components:\n- name: acme.org/indexed\n  version: 1.0.0\n  provider:\n    name: acme.org\n  resources:\n' +
          '  - name: image\n    type: ociImage\n    input:\n      type: dir/v1\n      path: ./layout\n' +
          '      mediaType: application/vnd.ocm.software.oci.layout.v1+tar\n',
      );
      await ladingOk(['add', 'cv', '-r', 'ctf'], { cwd: dir });
      const ctf = join(dir, 'ctf');
      const indexFile = join(ctf, 'artifact-index.json');
      const index = JSON.parse(await readFile(indexFile, 'utf8'));
      const entries = index.artifacts.length;
      index.artifacts = index.artifacts.filter((a: { digest: string }) => a.digest !== image.manifest.digest);
      assert.equal(index.artifacts.length, entries - 1, "the artifact's own entry was in the index");
      await writeFile(indexFile, JSON.stringify(index));
      // Read as the manifest it is, the artifact is copied whole: layers and config arrive.
      const whole = join(dir, 'whole');
      await ladingOk(['transfer', 'cv', `${ctf}//acme.org/indexed:1.0.0`, whole]);
      await lstat(blobFile(whole, image.layer.digest));
      // With a layer gone too, the transfer fails instead of copying the manifest alone.
      await chmod(blobFile(ctf, image.layer.digest), 0o644);
      await writeFile(blobFile(ctf, image.layer.digest), 'x');
      const cut = join(dir, 'cut');
      const r = await lading(['transfer', 'cv', `${ctf}//acme.org/indexed:1.0.0`, cut]);
      assert.notEqual(r.code, 0, r.stdout);
      await assert.rejects(lstat(cut), { code: 'ENOENT' });
    }));
});
