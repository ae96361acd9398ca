import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { withDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const peers = loadPeers();
const reg = peers.plain.host;
let counter = 0;

/**
 * A library component in a registry and an application referencing it alone in a CTF: the
 * reference is only reachable through the OCM configuration's resolvers.
 */
async function split(dir: string): Promise<{ app: string; lib: string; registry: string; ref: string }> {
  const lib = `acme.org/transfer/lib${process.pid}`;
  const app = `acme.org/transfer/app${process.pid}`;
  const registry = `http://${reg}/transfer/resolvers-${process.pid}-${++counter}`;
  await writeFile(
    join(dir, 'lib.yaml'),
    `name: ${lib}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input: {type: utf8/v1, text: lib-content}\n`,
  );
  await writeFile(
    join(dir, 'app.yaml'),
    `name: ${app}\nversion: 1.0.0\nprovider:\n  name: acme.org\ncomponentReferences:\n  - name: lib\n    componentName: ${lib}\n    version: 1.0.0\n`,
  );
  await ladingOk(['add', 'cv', '-c', 'lib.yaml', '-r', 'both'], { cwd: dir });
  await ladingOk(['add', 'cv', '-c', 'app.yaml', '-r', 'both'], { cwd: dir });
  await ladingOk(['transfer', 'cv', `${join(dir, 'both')}//${lib}:1.0.0`, registry]);
  await ladingOk(['transfer', 'cv', `${join(dir, 'both')}//${app}:1.0.0`, join(dir, 'ctf')]);
  await writeFile(
    join(dir, 'resolvers.yaml'),
    `type: generic.config.ocm.software/v1\nconfigurations:\n- type: resolvers.config.ocm.software/v1alpha1\n  resolvers:\n  - repository: {type: OCIRepository/v1, baseUrl: ${registry}}\n    componentNamePattern: acme.org/transfer/lib*\n`,
  );
  await writeFile(join(dir, 'none.yaml'), 'type: generic.config.ocm.software/v1\nconfigurations: []\n');
  return { app, lib, registry, ref: `${join(dir, 'ctf')}//${app}:1.0.0` };
}

describe('OCM: transfer cv -r and verify cv -r find references through the configuration resolvers', () => {
  test('transfer cv -r copies a reference that only a resolver knows, local blobs included', () =>
    withDir(async (dir) => {
      const { app, lib, ref } = await split(dir);
      const failed = await lading(['--config', join(dir, 'none.yaml'), 'transfer', 'cv', '-r', ref, join(dir, 'out1')]);
      assertOneLineError(failed, new RegExp(lib.replaceAll('.', '\\.')));
      await ladingOk(['--config', join(dir, 'resolvers.yaml'), 'transfer', 'cv', '-r', ref, join(dir, 'out')]);
      // The target holds both, and the library's local blob was copied from the registry.
      for (const name of [app, lib]) {
        const r = await ladingOk(['get', 'cv', '-o', 'json', `${join(dir, 'out')}//${name}:1.0.0`]);
        assert.equal(JSON.parse(r.stdout)[0].component.name, name);
      }
      await ladingOk([
        'download',
        'resource',
        `${join(dir, 'out')}//${lib}:1.0.0`,
        '--identity',
        'name=note',
        '--output',
        join(dir, 'note'),
      ]);
      const { readFile } = await import('node:fs/promises');
      assert.equal(await readFile(join(dir, 'note'), 'utf8'), 'lib-content');
    }));

  test('verify cv -r checks each referenced digest, finding the reference through a resolver', () =>
    withDir(async (dir) => {
      const { lib, ref, registry } = await split(dir);
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      await writeFile(join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
      await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
      await ladingOk(['sign', 'cv', '--private-key', join(dir, 'k.pem'), ref]);
      const plain = await ladingOk(['verify', 'cv', '--public-key', join(dir, 'pub.pem'), ref]);
      assert.doesNotMatch(plain.stdout, /referenced/);
      const cfg = ['--config', join(dir, 'resolvers.yaml')];
      const r = await ladingOk([...cfg, 'verify', 'cv', '-r', '--public-key', join(dir, 'pub.pem'), ref]);
      assert.match(r.stdout, new RegExp(`Verified the digest of referenced ${lib.replaceAll('.', '\\.')}:1\\.0\\.0`));
      const none = await lading([
        '--config',
        join(dir, 'none.yaml'),
        'verify',
        'cv',
        '-r',
        '--public-key',
        join(dir, 'pub.pem'),
        ref,
      ]);
      assertOneLineError(none, /lib/);
      // The library changes in the registry after the app pinned it: the reference no longer verifies.
      await writeFile(
        join(dir, 'lib2.yaml'),
        `name: ${lib}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input: {type: utf8/v1, text: swapped}\n`,
      );
      await ladingOk(['add', 'cv', '-c', 'lib2.yaml', '-r', 'swap', '--component-version-conflict-policy', 'replace'], {
        cwd: dir,
      });
      await ladingOk(['transfer', 'cv', `${join(dir, 'swap')}//${lib}:1.0.0`, registry]);
      const bad = await lading([...cfg, 'verify', 'cv', '-r', '--public-key', join(dir, 'pub.pem'), ref]);
      assertOneLineError(bad, /component reference lib .*hashes to/);
    }));
});
