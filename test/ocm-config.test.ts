import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { assertOneLineError, lading, ladingOk } from './support/cli.js';
import { tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

// lading add cv / get cv against the REAL TLS registry with htpasswd basic auth, with the
// credentials coming from an .ocmconfig (or a DockerConfig/v1 entry in one), never from flags.
const peers = loadPeers();
const tls = peers.tls;
const [tlsHostname, tlsPort] = tls.host.split(':') as [string, string];
let n = 0;

interface Sandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  repo: string;
  component: string;
}

/**
 * A working folder with a constructor, and an environment in which no docker config and no OCM
 * config is found unless the test puts one there: HOME, DOCKER_CONFIG and XDG_CONFIG_HOME point
 * into the folder, OCM_CONFIG is unset.
 */
async function withSandbox(fn: (s: Sandbox) => Promise<void>) {
  const t = await tempDir('lading-ocmconfig-e2e-');
  try {
    const dir = t.path;
    const home = join(dir, 'home');
    await mkdir(join(dir, 'work'), { recursive: true });
    await mkdir(home, { recursive: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      DOCKER_CONFIG: join(home, '.docker'),
      XDG_CONFIG_HOME: join(home, '.config'),
    };
    delete env.OCM_CONFIG;
    const component = `acme.org/ocmconfig/c${process.pid}x${++n}`;
    await writeFile(
      join(dir, 'work', 'component-constructor.yaml'),
      `name: ${component}\nversion: 1.0.0\nprovider:\n  name: acme.org\nresources:\n  - name: note\n    type: blob\n    input:\n      type: utf8/v1\n      text: hello from the TLS registry\n`,
    );
    await fn({ dir: join(dir, 'work'), env, repo: `https://${tls.host}/ocm-config-${process.pid}-${n}`, component });
  } finally {
    await t.cleanup();
  }
}

function consumerConfig(identity: Record<string, string>, username = tls.username, password = tls.password): string {
  const id = Object.entries(identity)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(', ');
  return `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  consumers:
  - identity: {type: OCIRegistry, ${id}}
    credentials:
    - type: Credentials/v1
      properties:
        username: ${JSON.stringify(username)}
        password: ${JSON.stringify(password)}
`;
}

/** What lading says when a registry wants credentials and none reached it. */
const noCredentials = /requires a user name and password, and none is configured$/;
const wrongPassword =
  /: 401 Unauthorized: (credentials missing or rejected|unauthorized: authentication required) \(log in with lading login, or pass --username and --password\)$/;
const caArgs = () => ['--ca-file', tls.caFile];

async function addAndGet(s: Sandbox, extra: string[], env: NodeJS.ProcessEnv = s.env) {
  const add = await ladingOk(['add', 'cv', '-r', s.repo, ...caArgs(), ...extra], { cwd: s.dir, env });
  assert.match(add.stdout, new RegExp(s.component.replaceAll('/', '\\/')));
  const get = await ladingOk(['get', 'cv', `${s.repo}//${s.component}:1.0.0`, '-o', 'json', ...caArgs(), ...extra], {
    cwd: s.dir,
    env,
  });
  const [descriptor] = JSON.parse(get.stdout);
  assert.equal(descriptor.component.name, s.component);
  assert.equal(descriptor.component.resources[0].access.type, 'LocalBlob/v1');
}

describe('.ocmconfig credentials against the TLS+basic-auth registry', () => {
  test('an OCIRegistry consumer for the host and port (--config): add cv and get cv succeed', () =>
    withSandbox(async (s) => {
      await writeFile(join(s.dir, 'ocm.yaml'), consumerConfig({ hostname: tlsHostname, port: tlsPort }));
      await addAndGet(s, ['--config', 'ocm.yaml']);
      // Scoped by scheme and sub path glob as well.
      const sub = s.repo.slice(`https://${tls.host}/`.length);
      await writeFile(
        join(s.dir, 'scoped.yaml'),
        consumerConfig({ hostname: tlsHostname, port: tlsPort, scheme: 'https', path: `${sub.slice(0, 10)}*` }),
      );
      await ladingOk(['get', 'cv', `${s.repo}//${s.component}:1.0.0`, ...caArgs(), '--config', 'scoped.yaml'], {
        cwd: s.dir,
        env: s.env,
      });
    }));

  test('without credentials, or with a consumer naming another port, path or password: one clear line', () =>
    withSandbox(async (s) => {
      await writeFile(join(s.dir, 'ok.yaml'), consumerConfig({ hostname: tlsHostname, port: tlsPort }));
      await ladingOk(['add', 'cv', '-r', s.repo, ...caArgs(), '--config', 'ok.yaml'], { cwd: s.dir, env: s.env });
      const ref = `${s.repo}//${s.component}:1.0.0`;
      const otherPort = String(Number(tlsPort) === 65535 ? 1 : Number(tlsPort) + 1);
      const wrong: [string, string, RegExp][] = [
        ['port.yaml', consumerConfig({ hostname: tlsHostname, port: otherPort }), noCredentials],
        ['no-port.yaml', consumerConfig({ hostname: tlsHostname }), noCredentials],
        ['path.yaml', consumerConfig({ hostname: tlsHostname, port: tlsPort, path: 'elsewhere/*' }), noCredentials],
        ['http.yaml', consumerConfig({ hostname: tlsHostname, port: tlsPort, scheme: 'http' }), noCredentials],
        [
          'password.yaml',
          consumerConfig({ hostname: tlsHostname, port: tlsPort }, tls.username, 'wrong'),
          wrongPassword,
        ],
      ];
      for (const [file, text, pattern] of wrong) {
        await writeFile(join(s.dir, file), text);
        const r = await lading(['get', 'cv', ref, ...caArgs(), '--config', file], { cwd: s.dir, env: s.env });
        assertOneLineError(r, pattern);
        assert.doesNotMatch(r.stderr, new RegExp(tls.password), `${file}: the password leaked`);
      }
      assertOneLineError(await lading(['get', 'cv', ref, ...caArgs()], { cwd: s.dir, env: s.env }), noCredentials);
      // A --config file that does not exist or does not parse is an error of its own.
      assertOneLineError(
        await lading(['get', 'cv', ref, ...caArgs(), '--config', 'missing.yaml'], { cwd: s.dir, env: s.env }),
        /OCM config file missing\.yaml not found/,
      );
      await writeFile(join(s.dir, 'bad.yaml'), 'type: generic.config.ocm.software/v1\nconfigurations: [\n');
      assertOneLineError(
        await lading(['get', 'cv', ref, ...caArgs(), '--config', 'bad.yaml'], { cwd: s.dir, env: s.env }),
        /bad\.yaml:\d+: not valid YAML/,
      );
      // Flags win over the configuration.
      await ladingOk(
        [
          'get',
          'cv',
          ref,
          ...caArgs(),
          '--config',
          'port.yaml',
          '--username',
          tls.username,
          '--password',
          tls.password,
        ],
        { cwd: s.dir, env: s.env },
      );
    }));

  test('a DockerConfig/v1 repository entry pointing at a docker config.json with the credentials', () =>
    withSandbox(async (s) => {
      const dockerConfig = join(s.dir, 'creds', 'config.json');
      await mkdir(join(s.dir, 'creds'));
      await writeFile(
        dockerConfig,
        JSON.stringify({
          auths: { [tls.host]: { auth: Buffer.from(`${tls.username}:${tls.password}`).toString('base64') } },
        }),
      );
      await writeFile(
        join(s.dir, 'docker.yaml'),
        `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  repositories:
  - repository:
      type: DockerConfig/v1
      dockerConfigFile: ${JSON.stringify(dockerConfig)}
`,
      );
      await addAndGet(s, ['--config', 'docker.yaml']);
      // Inline JSON works the same.
      await writeFile(
        join(s.dir, 'inline.yaml'),
        `type: generic.config.ocm.software/v1
configurations:
- type: credentials.config.ocm.software
  repositories:
  - repository:
      type: DockerConfig/v1
      dockerConfig: ${JSON.stringify(JSON.stringify({ auths: { [tls.host]: { username: tls.username, password: tls.password } } }))}
`,
      );
      await ladingOk(['get', 'cv', `${s.repo}//${s.component}:1.0.0`, ...caArgs(), '--config', 'inline.yaml'], {
        cwd: s.dir,
        env: s.env,
      });
    }));

  test('discovery: $OCM_CONFIG, $XDG_CONFIG_HOME/ocm/config and ./.ocmconfig; --config replaces discovery', () =>
    withSandbox(async (s) => {
      const good = consumerConfig({ hostname: tlsHostname, port: tlsPort });
      const viaEnv = join(s.dir, '..', 'env-config.yaml');
      await writeFile(viaEnv, good);
      await addAndGet(s, [], { ...s.env, OCM_CONFIG: viaEnv });
      const ref = `${s.repo}//${s.component}:1.0.0`;
      // --config replaces discovery: the consumer from $OCM_CONFIG is not used.
      await writeFile(join(s.dir, 'empty.yaml'), 'type: generic.config.ocm.software/v1\nconfigurations: []\n');
      assertOneLineError(
        await lading(['get', 'cv', ref, ...caArgs(), '--config', 'empty.yaml'], {
          cwd: s.dir,
          env: { ...s.env, OCM_CONFIG: viaEnv },
        }),
        noCredentials,
      );
      const xdg = s.env.XDG_CONFIG_HOME as string;
      await mkdir(join(xdg, 'ocm'), { recursive: true });
      await writeFile(join(xdg, 'ocm', 'config'), good);
      await ladingOk(['get', 'cv', ref, ...caArgs()], { cwd: s.dir, env: s.env });
      // A later file wins: ./.ocmconfig with a wrong password overrides the XDG one.
      await writeFile(
        join(s.dir, '.ocmconfig'),
        consumerConfig({ hostname: tlsHostname, port: tlsPort }, tls.username, 'nope'),
      );
      assertOneLineError(await lading(['get', 'cv', ref, ...caArgs()], { cwd: s.dir, env: s.env }), wrongPassword);
      await writeFile(join(s.dir, '.ocmconfig'), good);
      await ladingOk(['get', 'cv', ref, ...caArgs()], {
        cwd: s.dir,
        env: { ...s.env, XDG_CONFIG_HOME: join(s.dir, 'none') },
      });
    }));
});
