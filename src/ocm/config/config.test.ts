import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ocmVectors } from '../../../test/support/vectors.js';
import { isLadingError } from '../../oci/index.js';
import {
  credentialProviderFromConfig,
  findCredentials,
  helmCredentialsFromConfig,
  loadOcmConfig,
  matchIdentity,
  mergeOcmConfigs,
  ociRegistryIdentity,
  ocmConfigPaths,
  parseOcmConfig,
  signingConfigFromConfig,
  signingKeyFromConfig,
} from './index.js';

const vectors = join(ocmVectors, 'cli/cmd/configuration/testdata');

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'lading-ocmconfig-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('.ocmconfig parsing (upstream vectors)', () => {
  test('.ocmconfig-1: V1-only entry types are tolerated; consumers and the DockerConfig repository are read', async () => {
    const path = join(vectors, '.ocmconfig-1');
    const config = parseOcmConfig(await readFile(path, 'utf8'), { source: path });
    assert.deepEqual(
      config.configurations.map((c) => c.type),
      [
        'credentials.config.ocm.software',
        'attributes.config.ocm.software',
        'credentials.config.ocm.software',
        'credentials.config.ocm.software',
        'uploader.ocm.config.ocm.software',
      ],
    );
    assert.equal(config.repositories.length, 1);
    assert.equal(config.repositories[0]?.type, 'DockerConfig/v1');
    assert.equal(config.repositories[0]?.dockerConfigFile, '~/.docker/config.json');
    assert.deepEqual(
      config.consumers.map((c) => [c.identities, c.properties]),
      [
        [
          [{ type: 'HelmChartRepository', hostname: 'common.repositories.cloud.sap' }],
          { username: 'username', password: 'password' },
        ],
        [
          [{ type: 'JFrogHelm', hostname: 'common.repositories.cloud.sap' }],
          { username: 'username', password: 'password' },
        ],
      ],
    );
    assert.deepEqual(await helmCredentialsFromConfig(config)(new URL('https://common.repositories.cloud.sap/charts')), {
      username: 'username',
      password: 'password',
    });
    assert.equal(
      await helmCredentialsFromConfig(config)(new URL('https://common.repositories.cloud.sap:8443/c')),
      undefined,
    );
    assert.equal(await helmCredentialsFromConfig(config)(new URL('https://example.com/charts')), undefined);
    const helm = findCredentials(config, { type: 'HelmChartRepository', hostname: 'common.repositories.cloud.sap' });
    assert.deepEqual(helm?.properties, { username: 'username', password: 'password' });
    assert.match(helm?.sources[0] ?? '', /\.ocmconfig-1: configurations\[2\]\.consumers\[0\]$/);
  });

  test('.ocmconfig-2: an OCIRegistry consumer for ghcr.io answers ghcr.io only', async () => {
    const config = parseOcmConfig(await readFile(join(vectors, '.ocmconfig-2'), 'utf8'));
    const provider = credentialProviderFromConfig(config);
    assert.deepEqual(await provider('ghcr.io'), { username: 'ghcr-user', password: 'ghcr-token' });
    assert.deepEqual(await credentialProviderFromConfig(config, { scheme: 'https' })('ghcr.io'), {
      username: 'ghcr-user',
      password: 'ghcr-token',
    });
    assert.equal(await provider('ghcr.io:5000'), undefined);
    assert.equal(await provider('docker.io'), undefined);
  });

  test('payload types: OCICredentials/v1 fields, identities lists, token mapping, merged consumers (later wins)', async () => {
    const config = parseOcmConfig(
      [
        'type: generic.config.ocm.software/v1',
        'configurations:',
        '- type: generic.config.ocm.software/v1', // nested generic configs are flattened
        '  configurations:',
        '  - type: credentials.config.ocm.software/v1',
        '    consumers:',
        '    - identities:',
        '      - {type: OCIRegistry/v1, hostname: a.example, port: 5000}',
        '      - {type: OCIRegistry, hostname: b.example}',
        '      credentials:',
        '      - {type: OCICredentials/v1, accessToken: at, refreshToken: rt}',
        '- type: credentials.config.ocm.software',
        '  consumers:',
        '  - identity: {type: OCIRegistry, hostname: a.example, port: "5000"}',
        '    credentials:',
        '    - type: DirectCredentials/v1',
        '      properties: {username: u, password: p}',
        '    - {type: HashiCorpVault/v1alpha1, serverURL: "https://vault"}',
      ].join('\n'),
      { source: 'mem' },
    );
    assert.equal(config.consumers.length, 2);
    assert.deepEqual(config.consumers[1]?.unsupported, ['HashiCorpVault/v1alpha1']);
    const provider = credentialProviderFromConfig(config);
    assert.deepEqual(await provider('a.example:5000'), {
      username: 'u',
      password: 'p',
      registryToken: 'at',
      identityToken: 'rt',
    });
    assert.deepEqual(await provider('b.example'), { registryToken: 'at', identityToken: 'rt' });
  });

  test('bad documents: one error naming the file, the line or the field', () => {
    const bad: [string, RegExp][] = [
      ['type: generic.config.ocm.software/v1\nconfigurations: [\n', /^f\.yaml:\d+: not valid YAML: [^\n]*[^:\n]$/],
      ['type: something/v1\n', /^f\.yaml: type: must be generic\.config\.ocm\.software\/v1, got "something\/v1"/],
      // A type the message cannot quote whole: by its kind, or cut.
      ['type: [[[x]]]\n', /^f\.yaml: type: must be generic\.config\.ocm\.software\/v1, got an array$/],
      [`type: ${'x'.repeat(5000)}\n`, /, got "x{80}…" \(5000 characters\)$/],
      // Nested past the stack of the YAML reader: said in words, not the engine's.
      [`type: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, /^f\.yaml:1: not valid YAML: nested too deeply/],
      [
        'type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  consumers:\n  - credentials: []\n',
        /configurations\[0\]\.consumers\[0\]: a consumer needs an identity/,
      ],
      [
        'type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  consumers:\n  - identity: {type: OCIRegistry}\n    credentials:\n    - type: Credentials/v1\n      properties: {password: [1]}\n',
        /configurations\[0\]\.consumers\[0\]\.credentials\[0\]\.properties\.password: must be a string/,
      ],
      [
        'type: generic.config.ocm.software/v1\nconfigurations:\n- {}\n',
        /configurations\[0\]\.type: must be a non-empty string/,
      ],
      // Aliases of aliases, 10 per level: refused by the parser, and the message names the file.
      [
        `type: generic.config.ocm.software/v1\na0: &a0 [x,x,x,x,x,x,x,x,x,x]\n${Array.from(
          { length: 8 },
          (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(',')}]\n`,
        ).join('')}configurations: []\n`,
        /^f\.yaml: not usable YAML: .*alias/i,
      ],
    ];
    for (const [text, pattern] of bad) {
      assert.throws(
        () => parseOcmConfig(text, { source: 'f.yaml' }),
        (e) => isLadingError(e, 'INVALID_ARGUMENT') && pattern.test((e as Error).message),
        text,
      );
    }
    assert.deepEqual(parseOcmConfig('', { source: 'empty' }).consumers, []);
  });
});

describe('consumer identity matching (upstream Identity.Match)', () => {
  const reg = (attrs: Record<string, string>) => ({ type: 'OCIRegistry', ...attrs });
  const cases: [string, Record<string, string>, Record<string, string>, boolean][] = [
    // requested identity, configured identity, match
    ['same host, no port on either side', reg({ hostname: 'ghcr.io' }), reg({ hostname: 'ghcr.io' }), true],
    ['other host', reg({ hostname: 'quay.io' }), reg({ hostname: 'ghcr.io' }), false],
    ['type alias OCIRegistry/v1', reg({ hostname: 'h' }), { type: 'OCIRegistry/v1', hostname: 'h' }, true],
    ['other type', reg({ hostname: 'h' }), { type: 'HelmChartRepository', hostname: 'h' }, false],
    ['explicit port equal', reg({ hostname: 'h', port: '5000' }), reg({ hostname: 'h', port: '5000' }), true],
    ['explicit port differs', reg({ hostname: 'h', port: '5000' }), reg({ hostname: 'h', port: '5001' }), false],
    [
      'configured without port names the default port only',
      reg({ hostname: 'h', port: '5000' }),
      reg({ hostname: 'h' }),
      false,
    ],
    ['https default 443', reg({ scheme: 'https', hostname: 'h' }), reg({ hostname: 'h', port: '443' }), true],
    [
      'https default 443 (configured scheme)',
      reg({ hostname: 'h', port: '443' }),
      reg({ scheme: 'https', hostname: 'h' }),
      true,
    ],
    [
      'oci scheme counts as https',
      reg({ scheme: 'https', hostname: 'h' }),
      reg({ scheme: 'oci', hostname: 'h', port: '443' }),
      true,
    ],
    ['http default 80', reg({ scheme: 'http', hostname: 'h' }), reg({ hostname: 'h', port: '80' }), true],
    [
      'http is not https',
      reg({ scheme: 'http', hostname: 'h', port: '5000' }),
      reg({ scheme: 'https', hostname: 'h', port: '5000' }),
      false,
    ],
    [
      'scheme given on one side only',
      reg({ scheme: 'http', hostname: 'h', port: '5000' }),
      reg({ hostname: 'h', port: '5000' }),
      true,
    ],
    ['no configured path matches every path', reg({ hostname: 'h', path: 'a/b' }), reg({ hostname: 'h' }), true],
    ['path glob, one segment', reg({ hostname: 'h', path: 'org/repo' }), reg({ hostname: 'h', path: 'org/*' }), true],
    [
      'path glob does not cross /',
      reg({ hostname: 'h', path: 'org/team/repo' }),
      reg({ hostname: 'h', path: 'org/*' }),
      false,
    ],
    ['path exact', reg({ hostname: 'h', path: 'org' }), reg({ hostname: 'h', path: '/org' }), true],
    ['configured path, none requested', reg({ hostname: 'h' }), reg({ hostname: 'h', path: 'org' }), false],
    ['path ?', reg({ hostname: 'h', path: 'org1' }), reg({ hostname: 'h', path: 'org?' }), true],
    [
      'path with - and .',
      reg({ hostname: 'h', path: 'my-org/app.v1' }),
      reg({ hostname: 'h', path: 'my-org/app.*' }),
      true,
    ],
    ['path class', reg({ hostname: 'h', path: 'team-b/x' }), reg({ hostname: 'h', path: 'team-[a-c]/*' }), true],
    [
      'path negated class',
      reg({ hostname: 'h', path: 'team-b/x' }),
      reg({ hostname: 'h', path: 'team-[^b]/*' }),
      false,
    ],
    ['bad glob never matches', reg({ hostname: 'h', path: 'org' }), reg({ hostname: 'h', path: 'org[' }), false],
    ['extra attribute must be equal', reg({ hostname: 'h' }), reg({ hostname: 'h', team: 'x' }), false],
  ];
  for (const [name, requested, configured, expected] of cases) {
    test(`${name}: ${expected ? 'match' : 'no match'}`, () => {
      assert.equal(matchIdentity(requested, configured), expected);
    });
  }

  test('registry identities: host, port, scheme only when written, sub path without slashes', () => {
    assert.deepEqual(ociRegistryIdentity('127.0.0.1:5000', { scheme: 'HTTP', subPath: '/sub/path' }), {
      type: 'OCIRegistry/v1',
      hostname: '127.0.0.1',
      port: '5000',
      scheme: 'http',
      path: 'sub/path',
    });
    assert.deepEqual(ociRegistryIdentity('[::1]:5000'), { type: 'OCIRegistry/v1', hostname: '::1', port: '5000' });
    assert.deepEqual(ociRegistryIdentity('ghcr.io'), { type: 'OCIRegistry/v1', hostname: 'ghcr.io' });
  });

  test('the most specific consumer wins; among equals the one configured last', async () => {
    const config = parseOcmConfig(
      [
        'type: generic.config.ocm.software/v1',
        'configurations:',
        '- type: credentials.config.ocm.software',
        '  consumers:',
        '  - identity: {type: OCIRegistry, hostname: h, port: 5000, path: "team-a/*"}',
        '    credentials: [{type: Credentials/v1, properties: {username: team-a, password: a}}]',
        '  - identity: {type: OCIRegistry, hostname: h, port: 5000}',
        '    credentials: [{type: Credentials/v1, properties: {username: host, password: h}}]',
        '  - identity: {type: OCIRegistry, hostname: h, port: 5000, scheme: https}',
        '    credentials: [{type: Credentials/v1, properties: {username: host-https, password: h}}]',
        '  - identity: {type: OCIRegistry, hostname: h, port: 5000, scheme: http}',
        '    credentials: [{type: Credentials/v1, properties: {username: host-http, password: h}}]',
      ].join('\n'),
    );
    const user = async (options: { subPath?: string; scheme?: string }) =>
      (await credentialProviderFromConfig(config, options)('h:5000'))?.username;
    assert.equal(await user({ subPath: 'team-a/x' }), 'team-a');
    assert.equal(await user({ subPath: 'team-b/x' }), 'host-http');
    assert.equal(await user({ scheme: 'https' }), 'host-https');
    assert.equal(await user({ scheme: 'http', subPath: 'team-a/x' }), 'team-a');
    assert.equal(await user({ scheme: 'http' }), 'host-http');
  });
});

describe('DockerConfig/v1 credential repositories', () => {
  test('a docker config file, inline JSON, ~ expansion; exact host:port only; consumers win', async () => {
    const dockerFile = join(work, 'docker-config.json');
    await writeFile(
      dockerFile,
      JSON.stringify({
        auths: {
          'reg.example:5000': { auth: Buffer.from('file-user:file-pass').toString('base64') },
          'reg.example': { auth: Buffer.from('bare-user:bare-pass').toString('base64') },
        },
      }),
    );
    const inline = JSON.stringify({ auths: { 'https://inline.example/v1/': { username: 'iu', password: 'ip' } } });
    const config = parseOcmConfig(
      [
        'type: generic.config.ocm.software/v1',
        'configurations:',
        '- type: credentials.config.ocm.software',
        '  repositories:',
        `  - repository: {type: DockerConfig/v1, dockerConfigFile: ${JSON.stringify(dockerFile)}}`,
        `  - repository: {type: DockerConfig, dockerConfig: ${JSON.stringify(inline)}}`,
        '  - repository: {type: SomePlugin/v1}',
        '  consumers:',
        '  - identity: {type: OCIRegistry, hostname: consumer.example}',
        '    credentials: [{type: Credentials/v1, properties: {username: cu, password: cp}}]',
      ].join('\n'),
    );
    assert.equal(config.repositories.length, 2);
    const provider = credentialProviderFromConfig(config);
    assert.deepEqual(await provider('reg.example:5000'), { username: 'file-user', password: 'file-pass' });
    assert.deepEqual(await provider('reg.example'), { username: 'bare-user', password: 'bare-pass' });
    assert.equal(await provider('reg.example:5001'), undefined);
    assert.deepEqual(await provider('inline.example'), { username: 'iu', password: 'ip' });
    assert.deepEqual(await provider('consumer.example'), { username: 'cu', password: 'cp' });
    assert.equal(await provider('other.example'), undefined);
  });

  test('inline JSON that does not parse: refused without quoting it (it holds credentials)', async () => {
    const secret = 'c2VjcmV0OnBhc3N3b3Jk';
    const config = parseOcmConfig(
      [
        'type: generic.config.ocm.software/v1',
        'configurations:',
        '- type: credentials.config.ocm.software',
        '  repositories:',
        `  - repository: {type: DockerConfig, dockerConfig: ${JSON.stringify(`{"auths":{"r.example":{"auth":${secret}}}}`)}}`,
      ].join('\n'),
    );
    await assert.rejects(credentialProviderFromConfig(config)('r.example'), (e) => {
      const all = `${(e as Error).message}\n${String((e as Error).cause ?? '')}`;
      return /dockerConfig: not valid JSON \(Unexpected token/.test(all) && !all.includes(secret.slice(0, 6));
    });
  });
});

describe('discovery and loading', () => {
  test('upstream order; later files win; OCM_CONFIG only when it exists; XDG and ~/.config listed once', async () => {
    const home = join(work, 'home');
    const xdg = join(work, 'xdg');
    const cwd = join(work, 'cwd');
    const env = join(work, 'env.yaml');
    const files = [
      env,
      join(xdg, 'ocm/config'),
      join(xdg, '.ocmconfig'),
      join(home, '.config/ocm/config'),
      join(home, '.config/.ocmconfig'),
      join(home, '.ocm/config'),
      join(home, '.ocmconfig'),
      join(cwd, '.ocm/config'),
      join(cwd, '.ocmconfig'),
    ];
    for (const [i, f] of files.entries()) {
      await mkdir(join(f, '..'), { recursive: true });
      await writeFile(
        f,
        `type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  consumers:\n  - identity: {type: OCIRegistry, hostname: h}\n    credentials: [{type: Credentials/v1, properties: {username: "u${i}", password: "p${i}"}}]\n`,
      );
    }
    const options = { env: { OCM_CONFIG: env, XDG_CONFIG_HOME: xdg }, home, cwd };
    assert.deepEqual(ocmConfigPaths(options), files);
    const loaded = await loadOcmConfig(options);
    assert.deepEqual(loaded.warnings, []);
    assert.equal((await credentialProviderFromConfig(loaded.config)('h'))?.username, 'u8');
    assert.deepEqual(
      ocmConfigPaths({ env: { OCM_CONFIG: join(work, 'missing') }, home: join(work, 'none'), cwd: work }),
      [],
    );
    assert.deepEqual(
      ocmConfigPaths({ env: { XDG_CONFIG_HOME: join(home, '.config') }, home, cwd: work }),
      files.slice(3, 7),
    );
    // Explicit files replace discovery and keep their order.
    const explicit = await loadOcmConfig({ ...options, files: [files[8] as string, files[0] as string] });
    assert.deepEqual(explicit.config.files, [files[8], files[0]]);
    assert.equal((await credentialProviderFromConfig(explicit.config)('h'))?.username, 'u0');
  });

  test('a broken discovered file is skipped with a warning; a broken or missing explicit file is an error', async () => {
    const cwd = join(work, 'broken');
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, '.ocmconfig'), 'type: nope\n');
    const loaded = await loadOcmConfig({ env: {}, home: join(work, 'none'), cwd });
    assert.equal(loaded.warnings.length, 1);
    assert.match(loaded.warnings[0] ?? '', /\.ocmconfig skipped: .*must be generic\.config\.ocm\.software\/v1/);
    await assert.rejects(loadOcmConfig({ files: [join(cwd, '.ocmconfig')] }), (e) =>
      isLadingError(e, 'INVALID_ARGUMENT'),
    );
    await assert.rejects(
      loadOcmConfig({ files: [join(cwd, 'missing')] }),
      (e) => isLadingError(e, 'NOT_FOUND') && /OCM config file .*missing not found/.test((e as Error).message),
    );
    assert.deepEqual(mergeOcmConfigs().consumers, []);
  });
});

describe('RSA signing keys and signing settings', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();

  test('inline and file keys, snake_case spellings, RSACredentials/v1, type aliases, derived public key', async () => {
    const keyFile = join(work, 'key.pem');
    const pubFile = join(work, 'pub.pem');
    await writeFile(keyFile, privatePem);
    await writeFile(pubFile, publicPem);
    const config = parseOcmConfig(
      [
        'type: generic.config.ocm.software/v1',
        'configurations:',
        '- type: credentials.config.ocm.software',
        '  consumers:',
        '  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: default}',
        '    credentials:',
        `    - {type: Credentials/v1, properties: {private_key_pem_file: ${JSON.stringify(keyFile)}}}`,
        '  - identity: {type: RSA/v1, algorithm: RSASSA-PKCS1-V1_5, signature: release}',
        '    credentials:',
        `    - {type: RSACredentials/v1, privateKeyPEM: ${JSON.stringify(privatePem)}, publicKeyPEMFile: ${JSON.stringify(pubFile)}}`,
        '  - identity: {type: RSA, algorithm: RSASSA-PSS, signature: verify-only}',
        '    credentials:',
        `    - {type: Credentials/v1, properties: {publicKeyPEM: ${JSON.stringify(publicPem)}}}`,
        '- type: signing.config.ocm.software/v1alpha1',
        '  signer: {type: RSASigningConfiguration/v1alpha1, signatureAlgorithm: RSASSA-PSS}',
        '- type: signing.config.ocm.software/v1alpha1',
        '  signature: release',
        '  signer: {type: RSASigningConfiguration/v1alpha1, signatureAlgorithm: RSASSA-PKCS1-V1_5, signatureEncodingPolicy: PEM}',
      ].join('\n'),
    );
    const def = await signingKeyFromConfig(config, 'default');
    assert.equal(def?.privateKeyPem, privatePem);
    assert.equal(def?.publicKeyPem, publicPem);
    assert.equal(def?.publicKeyDerived, true);
    const release = await signingKeyFromConfig(config, 'release', { algorithm: 'RSASSA-PKCS1-V1_5' });
    assert.equal(release?.privateKeyPem, privatePem);
    assert.equal(release?.publicKeyPem, publicPem);
    assert.equal(release?.publicKeyDerived, undefined);
    assert.equal(await signingKeyFromConfig(config, 'release'), undefined, 'the algorithm is part of the identity');
    const verifyOnly = await signingKeyFromConfig(config, 'verify-only');
    assert.equal(verifyOnly?.privateKeyPem, undefined);
    assert.equal(verifyOnly?.publicKeyPem, publicPem);
    assert.equal(await signingKeyFromConfig(config, 'unknown'), undefined);
    assert.deepEqual(signingConfigFromConfig(config, 'release').signer?.signatureEncodingPolicy, 'PEM');
    assert.deepEqual(signingConfigFromConfig(config, 'default').signer?.signatureAlgorithm, 'RSASSA-PSS');
    assert.deepEqual(signingConfigFromConfig(parseOcmConfig(''), 'x'), {});
  });

  test('a missing key file is one error naming the consumer and the file', async () => {
    const config = parseOcmConfig(
      'type: generic.config.ocm.software/v1\nconfigurations:\n- type: credentials.config.ocm.software\n  consumers:\n  - identity: {type: RSA/v1alpha1, algorithm: RSASSA-PSS, signature: s}\n    credentials: [{type: Credentials/v1, properties: {privateKeyPEMFile: /nonexistent/key.pem}}]\n',
      { source: 'cfg' },
    );
    await assert.rejects(
      signingKeyFromConfig(config, 's'),
      (e) =>
        isLadingError(e, 'NOT_FOUND') &&
        /^cfg: configurations\[0\]\.consumers\[0\]: key file \/nonexistent\/key\.pem: no such file/.test(
          (e as Error).message,
        ),
    );
  });
});
