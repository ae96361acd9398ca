import type { Command } from 'commander';
import { LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions, addRegistryConfigOption } from '../options.js';

/** Asks on the terminal; the password is not echoed. */
async function prompt(question: string, hidden: boolean): Promise<string> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const rlAny = rl as unknown as { _writeToOutput: (s: string) => void };
    rlAny._writeToOutput = (s: string) => {
      if (s.startsWith(question)) process.stderr.write(question);
    };
  }
  try {
    return await new Promise((resolve) => rl.question(question, resolve));
  } finally {
    if (hidden) process.stderr.write('\n');
    rl.close();
  }
}

function hostOf(raw: string): string {
  return raw.replace(/^https?:\/\//i, '').replace(/\/+$/, '');
}

export function registerLogin(program: Command, io: CliIO): void {
  const cmd = program
    .command('login')
    .description('log in to a registry and store the credentials (docker config.json or a credential helper)')
    .argument('<registry>', 'registry host, e.g. localhost:5000');
  addOrasOptions(cmd, { names: 'registry' });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading login -u user --password-stdin registry.example.com < password.txt
  lading login --registry-config ./auth.json -u user -p secret localhost:5000`,
  );
  cmd.action(async (registryArg: string, opts) => {
    const { Registry, DockerCredentialStore, defaultConfigPath } = await import('../../registry/index.js');
    const { registryOptions, readStdinSecret } = await import('../registry-target.js');
    const host = hostOf(registryArg);
    let username: string | undefined = opts.username;
    let password: string | undefined = opts.password;
    let identityToken: string | undefined = opts.identityToken;
    // Checked before anything is sent: `user:secret` as a user name would go out in the ping as a
    // different user with a password made of its end.
    if (username?.includes(':')) throw new LadingError('INVALID_ARGUMENT', 'the user name must not contain ":"');
    if (opts.passwordStdin) password = readStdinSecret();
    if (opts.identityTokenStdin) identityToken = readStdinSecret('--identity-token-stdin');
    if (identityToken === undefined && (username === undefined || password === undefined)) {
      if (!process.stdin.isTTY) {
        throw new LadingError(
          'INVALID_ARGUMENT',
          'no credentials given: use -u with -p or --password-stdin (stdin is not a terminal)',
        );
      }
      if (username === undefined) username = await prompt('Username: ', false);
      if (password === undefined) password = await prompt(username ? 'Password: ' : 'Token: ', true);
    }
    if (username?.includes(':')) throw new LadingError('INVALID_ARGUMENT', 'the user name must not contain ":"');
    const credential = username
      ? { username, password: password ?? '' }
      : { identityToken: identityToken ?? password ?? '' };
    const options = registryOptions(
      {
        ...opts,
        username: undefined,
        password: undefined,
        identityToken: undefined,
        passwordStdin: false,
        identityTokenStdin: false,
      },
      host,
    );
    options.credentials = async (h) => (h === host ? credential : undefined);
    const registry = new Registry(/^https?:\/\//i.test(registryArg) ? registryArg : host, options);
    try {
      await registry.ping();
    } finally {
      await registry.close();
    }
    const paths: string[] = opts.registryConfig?.length ? opts.registryConfig : [defaultConfigPath()];
    await new DockerCredentialStore(paths).login(host, credential);
    io.stdout.write('Login Succeeded\n');
  });

  const logout = program
    .command('logout')
    .description('remove the stored credentials of a registry')
    .argument('<registry>', 'registry host');
  addRegistryConfigOption(logout);
  logout.action(async (registryArg: string, opts) => {
    const { DockerCredentialStore, defaultConfigPath } = await import('../../registry/index.js');
    const paths: string[] = opts.registryConfig?.length ? opts.registryConfig : [defaultConfigPath()];
    await new DockerCredentialStore(paths).logout(hostOf(registryArg));
    io.stdout.write(`Removed login credentials for ${hostOf(registryArg)}\n`);
  });
}
