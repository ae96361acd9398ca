// Hostile OCM inputs: configuration files (also one found in the working folder of a cloned
// repository), the key and certificate files of sign and verify, the files a configuration names,
// and certificate chains stored in signatures. Each ends in one Error line naming what and where,
// a non-zero exit, and no hang.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertErrorWithin, ladingOk, ladingWithin } from './support/cli.js';
import { withDir } from './support/fixtures.js';

const constructorYaml = `components:
- name: acme.org/hostile
  version: 1.0.0
  provider:
    name: acme.org
  resources:
  - name: note
    type: blob
    input:
      type: utf8
      text: hi
`;

/** A folder with a CTF holding acme.org/hostile:1.0.0 and an RSA key pair (key.pem, pub.pem). */
async function withComponent(fn: (dir: string, ref: string) => Promise<void>): Promise<void> {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'component-constructor.yaml'), constructorYaml);
    await ladingOk(['add', 'cv', '-r', 'ctf'], { cwd: dir });
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'pub.pem'), publicKey.export({ type: 'spki', format: 'pem' }));
    await fn(dir, 'ctf//acme.org/hostile:1.0.0');
  });
}

describe('sign and verify key files', () => {
  test('a FIFO or /dev/zero as --public-key, --private-key, --certificate or in the config: one Error line, no hang', async () => {
    await withComponent(async (dir, ref) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      for (const args of [
        ['verify', 'cv', ref, '--public-key', 'fifo'],
        ['verify', 'cv', ref, '--root-certificate', 'fifo'],
        ['sign', 'cv', ref, '--private-key', 'fifo'],
        ['sign', 'cv', ref, '--private-key', 'key.pem', '--certificate', 'fifo', '--encoding', 'pem'],
      ]) {
        const r = await ladingWithin(20, args, { cwd: dir });
        assertErrorWithin(r, /fifo is not a regular file/, args.join(' '));
      }
      const zero = await ladingWithin(20, ['verify', 'cv', ref, '--public-key', '/dev/zero'], { cwd: dir });
      assertErrorWithin(zero, /--public-key \/dev\/zero is not a regular file/, '--public-key /dev/zero');
      await writeFile(join(dir, 'huge.pem'), Buffer.alloc(5 * 1024 * 1024, 0x41));
      const huge = await ladingWithin(20, ['verify', 'cv', ref, '--public-key', 'huge.pem'], { cwd: dir });
      assertErrorWithin(huge, /--public-key huge\.pem is 5242880 bytes, over the 4194304-byte limit/, 'huge key');
      for (const file of ['fifo', '/dev/zero']) {
        await writeFile(
          join(dir, 'keys.yaml'),
          `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}
    credentials:
    - type: Credentials/v1
      properties: {privateKeyPEMFile: ${file}}
`,
        );
        const r = await ladingWithin(20, ['sign', 'cv', ref, '--config', 'keys.yaml'], { cwd: dir });
        assertErrorWithin(r, new RegExp(`key file ${file} is not a regular file`), `privateKeyPEMFile ${file}`);
      }
    });
  });
});

describe('OCM configuration files', () => {
  test('--config a FIFO, /dev/zero or a huge file: one Error line; a ./.ocmconfig linking to them is skipped with a warning', async () => {
    await withComponent(async (dir, ref) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      await writeFile(join(dir, 'huge.yaml'), `# ${'x'.repeat(5 * 1024 * 1024)}\n`);
      for (const [file, why] of [
        ['fifo', /OCM config fifo is not a regular file/],
        ['/dev/zero', /OCM config \/dev\/zero is not a regular file/],
        ['huge.yaml', /OCM config huge\.yaml is \d+ bytes, over the 4194304-byte limit/],
      ] as const) {
        const r = await ladingWithin(20, ['get', 'cv', ref, '--config', file], { cwd: dir });
        assertErrorWithin(r, why, `--config ${file}`);
      }
      // A cloned repository cannot hold a FIFO, but it can hold links to one or to /dev/zero.
      for (const target of [join(dir, 'fifo'), '/dev/zero']) {
        const clone = join(dir, `clone-${target === '/dev/zero' ? 'zero' : 'fifo'}`);
        await mkdir(clone);
        await symlink(target, join(clone, '.ocmconfig'));
        const env = { ...process.env, HOME: clone, XDG_CONFIG_HOME: '', OCM_CONFIG: '' };
        const args = ['sign', 'cv', `../${ref}`, '--private-key', '../key.pem', '--signature', clone.slice(-4)];
        const r = await ladingWithin(20, args, { cwd: clone, env });
        assert.equal(r.killed, false, `.ocmconfig → ${target}: hung`);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stderr,
          /^warning: OCM config .*\.ocmconfig skipped: OCM config .*\.ocmconfig is not a regular file\n/,
        );
      }
    });
  });
});

describe('certificate chains stored in a signature', () => {
  test('a dozen CA certificates that all issue each other: verify cv ends in one Error line within seconds', async () => {
    await withComponent(async (dir, ref) => {
      const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      openssl('genrsa', '-out', 'ca.key', '2048');
      const cas: string[] = [];
      // Same subject, same key, different serials: each one verifies as the issuer of every other.
      for (let i = 1; i <= 12; i++) {
        openssl(
          'req',
          '-x509',
          '-new',
          '-key',
          'ca.key',
          '-subj',
          '/CN=Loop CA',
          '-days',
          '30',
          '-set_serial',
          String(i),
          '-addext',
          'basicConstraints=critical,CA:true',
          '-addext',
          'keyUsage=critical,keyCertSign',
          '-out',
          `ca${i}.pem`,
        );
        cas.push(`ca${i}.pem`);
      }
      openssl('req', '-new', '-key', 'key.pem', '-subj', '/CN=leaf', '-out', 'leaf.csr');
      openssl(
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        'ca1.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        '100',
        '-days',
        '30',
        '-out',
        'leaf.pem',
      );
      openssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'root.key',
        '-subj',
        '/CN=Other root',
        '-days',
        '30',
        '-out',
        'root.pem',
      );
      const chain = ['leaf.pem', ...cas].map((f) => execFileSync('cat', [f], { cwd: dir, encoding: 'utf8' })).join('');
      await writeFile(join(dir, 'chain.pem'), chain);
      await ladingOk(
        [
          'sign',
          'cv',
          ref,
          '--private-key',
          'key.pem',
          '--certificate',
          'chain.pem',
          '--encoding',
          'pem',
          '--signature',
          'loop',
        ],
        { cwd: dir },
      );
      const started = Date.now();
      const r = await ladingWithin(60, ['verify', 'cv', ref, '--signature', 'loop', '--root-certificate', 'root.pem'], {
        cwd: dir,
      });
      assertErrorWithin(r, /certificate chain: more than 100 signature checks to find a path from "CN=leaf"/, 'loop');
      assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    });
  });
});

describe('files an OCM configuration names', () => {
  test('a DockerConfig/v1 dockerConfigFile that is a FIFO or /dev/zero: one error naming the file, no hang', async () => {
    const { credentialProviderFromConfig, parseOcmConfig } = await import('../src/ocm/config/index.js');
    await withDir(async (dir) => {
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      for (const file of [join(dir, 'fifo'), '/dev/zero']) {
        const config = parseOcmConfig(
          `type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  repositories:\n  - repository: {type: DockerConfig/v1, dockerConfigFile: ${file}}\n`,
          { source: 'cfg' },
        );
        const provider = credentialProviderFromConfig(config);
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          provider('registry.example:5000').then(
            () => 'resolved',
            (e: Error) => e.message,
          ),
          new Promise<string>((resolve) => {
            timer = setTimeout(() => resolve('hung'), 10_000);
          }),
        ]);
        clearTimeout(timer);
        assert.equal(outcome, `${file} is not a regular file`);
      }
    });
  });
});
