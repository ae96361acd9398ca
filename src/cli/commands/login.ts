import type { Command } from 'commander';
import { LadingError } from '../../oci/index.js';
import { type CliIO, rememberSecret } from '../io.js';
import { addOrasOptions, addRegistryConfigOption } from '../options.js';

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
    let username: string = opts.username ?? '';
    // Checked before anything is read or sent: `user:secret` as a user name would go out in the ping
    // as a different user with a password made of its end.
    if (username.includes(':')) throw new LadingError('INVALID_ARGUMENT', 'the user name must not contain ":"');
    const tokenGiven = opts.identityToken !== undefined || Boolean(opts.identityTokenStdin);
    if (opts.username !== undefined && tokenGiven)
      throw new LadingError('INVALID_ARGUMENT', '--username and --identity-token cannot be used together');
    if ((opts.password !== undefined || opts.passwordStdin) && tokenGiven)
      throw new LadingError('INVALID_ARGUMENT', '--password and --identity-token cannot be used together');
    // One secret, as in ORAS: a password with a user name, an identity (refresh) token without.
    let secret: string = opts.identityToken ?? opts.password ?? '';
    if (opts.passwordStdin) secret = readStdinSecret();
    if (opts.identityTokenStdin) secret = readStdinSecret('--identity-token-stdin');
    if (secret === '') {
      // As ORAS: prompts on stdout, answers from stdin whether or not it is a terminal.
      const { ask } = await import('../prompt.js');
      if (username === '') username = (await ask(io, 'Username: ', false)).trim();
      secret = await ask(io, username === '' ? 'Token: ' : 'Password: ', true);
      if (secret === '')
        throw new LadingError('INVALID_ARGUMENT', username === '' ? 'token required' : 'password required');
    }
    if (username.includes(':')) throw new LadingError('INVALID_ARGUMENT', 'the user name must not contain ":"');
    rememberSecret(secret);
    const credential = username ? { username, password: secret } : { identityToken: secret };
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
  logout.addHelpText(
    'after',
    `
Examples:
  lading logout localhost:5000
  lading logout --registry-config ./auth.json localhost:5000`,
  );
  logout.action(async (registryArg: string, opts) => {
    const { DockerCredentialStore, defaultConfigPath } = await import('../../registry/index.js');
    const paths: string[] = opts.registryConfig?.length ? opts.registryConfig : [defaultConfigPath()];
    await new DockerCredentialStore(paths).logout(hostOf(registryArg));
    io.stdout.write(`Removed login credentials for ${hostOf(registryArg)}\n`);
  });
}
