import { homedir } from 'node:os';
import { join } from 'node:path';
import { LadingError } from '../../oci/index.js';
import type { Credential, CredentialProvider } from '../auth/credential.js';
import { isEmptyCredential } from '../auth/credential.js';
import { DockerConfig } from './docker-config.js';
import { CredentialHelper } from './helper.js';

/** Docker Hub's credentials live under its v1 index URL, whatever name the user typed. */
export function serverAddress(host: string): string {
  return host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io'
    ? 'https://index.docker.io/v1/'
    : host;
}

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
}

/**
 * A helper's failure says which config file named the helper: a `credsStore` left behind by another
 * machine's Docker Desktop (`desktop`) is found there, not on PATH.
 */
async function named<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof LadingError)) throw error;
    throw new LadingError(error.code, `${error.message} (named in ${path})`, { cause: error });
  }
}

/**
 * Credentials as docker keeps them: per host, a helper from `credHelpers`, else `credsStore`,
 * else the file's `auths`. Several files may be given: they are read in order (the first that
 * knows a host wins) and the first is the one written.
 */
export class DockerCredentialStore {
  /** The docker config files read, in order; the first is the one written. */
  readonly paths: readonly string[];

  /** Credentials of these docker config files (default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). */
  constructor(paths: readonly string[] = [defaultConfigPath()]) {
    this.paths = paths.length > 0 ? paths : [defaultConfigPath()];
  }

  /**
   * The credential for `host` from the first config file that has one (through its credential helper when it names
   * one).
   */
  async get(host: string): Promise<Credential | undefined> {
    const address = serverAddress(host);
    for (const path of this.paths) {
      const config = await DockerConfig.load(path);
      const helper = config.helperFor(address);
      const cred = helper
        ? await named(path, () => new CredentialHelper(helper).get(address))
        : config.credential(address);
      if (!isEmptyCredential(cred)) return cred;
    }
    return undefined;
  }

  /** Stores a credential for `host`: in the credential helper the first config file names for it, else in that file. */
  async login(host: string, cred: Credential): Promise<void> {
    const address = serverAddress(host);
    const config = await DockerConfig.load(this.#writePath);
    const helper = config.helperFor(address);
    if (helper) {
      await named(this.#writePath, () => new CredentialHelper(helper).store(address, cred));
      return;
    }
    config.setCredential(address, cred);
    await config.save();
  }

  /** Removes the credential for `host` from the helper or the first config file. */
  async logout(host: string): Promise<void> {
    const address = serverAddress(host);
    const config = await DockerConfig.load(this.#writePath);
    const helper = config.helperFor(address);
    if (helper) {
      await named(this.#writePath, () => new CredentialHelper(helper).erase(address));
      return;
    }
    if (config.deleteCredential(address)) await config.save();
  }

  get #writePath(): string {
    return this.paths[0] as string;
  }

  /** A provider for `Registry`: looks the host up on each new registry client. */
  provider(): CredentialProvider {
    return (host) => this.get(host);
  }
}
