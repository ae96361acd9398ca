import { randomBytes } from 'node:crypto';
import { chmod, lstat, readlink, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { readRegularFile } from '../../content/index.js';
import { makeDirectory } from '../../content/make-directory.js';
import { isLadingError, LadingError } from '../../oci/index.js';
import { jsonProblem } from '../../oci/value-text.js';
import type { Credential } from '../auth/credential.js';

/** One `auths` entry as docker writes it. */
interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
  username?: string;
  password?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `https://host/v1/` and `http://host` style keys (docker's legacy) name `host`. */
export function hostOfKey(key: string): string {
  const stripped = key.replace(/^https?:\/\//, '');
  const slash = stripped.indexOf('/');
  return slash < 0 ? stripped : stripped.slice(0, slash);
}

function decodeAuth(auth: string, where: string): { username: string; password: string } {
  const invalid = () => new LadingError('INVALID_ARGUMENT', `${where}: "auth" is not base64 of user:password`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(auth) || auth.length % 4 !== 0) throw invalid();
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) throw invalid();
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The most a docker config file may hold. */
const MaxDockerConfigBytes = 16 * 1024 * 1024;

/** Links followed at most, as the kernel's own limit. */
const MaxLinks = 40;

/**
 * The file `path` names after following its links, also a link that points at a file not there
 * yet (written then); refuses a folder, a device, a fifo or a socket.
 */
async function linkTarget(path: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops <= MaxLinks; hops++) {
    let info: Awaited<ReturnType<typeof lstat>> | undefined;
    try {
      info = await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return current;
      throw new LadingError('IO_ERROR', `cannot write ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (info.isFile()) return current;
    if (!info.isSymbolicLink()) throw new LadingError('IO_ERROR', `cannot write ${path}: not a regular file`);
    current = resolve(dirname(current), await readlink(current));
  }
  throw new LadingError('IO_ERROR', `cannot write ${path}: more than ${MaxLinks} links to follow`);
}

/**
 * A docker `config.json`: credentials in `auths`, and which credential helper serves a host.
 * Unknown top-level fields survive a rewrite, which is atomic and private (0600).
 */
export class DockerConfig {
  /** The config file's path (it need not exist until saved). */
  readonly path: string;
  #content: Record<string, unknown>;

  private constructor(path: string, content: Record<string, unknown>) {
    this.path = path;
    this.#content = content;
  }

  /** Reads the file; a missing, empty or blank file is an empty config. */
  static async load(path: string): Promise<DockerConfig> {
    let text: string;
    try {
      // Only a regular file, bounded: an OCM config's dockerConfigFile may name a FIFO or /dev/zero.
      text = (await readRegularFile(path, { limit: MaxDockerConfigBytes })).toString('utf8');
    } catch (error) {
      if (isLadingError(error, 'NOT_FOUND')) return new DockerConfig(path, {});
      if (isLadingError(error)) throw error;
      throw new LadingError('IO_ERROR', `cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
    if (text.trim() === '') return new DockerConfig(path, {});
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      // No cause: the parser's message quotes the text, which holds credentials (--debug prints causes).
      throw new LadingError('INVALID_ARGUMENT', `${path}: not valid JSON (${jsonProblem(error)})`);
    }
    if (!isRecord(value)) throw new LadingError('INVALID_ARGUMENT', `${path}: must hold a JSON object`);
    if (value.auths !== undefined && value.auths !== null && !isRecord(value.auths)) {
      throw new LadingError('INVALID_ARGUMENT', `${path}: "auths" must be an object`);
    }
    return new DockerConfig(path, value);
  }

  get #auths(): Record<string, unknown> {
    return isRecord(this.#content.auths) ? this.#content.auths : {};
  }

  /** The helper named for `host` in `credHelpers`, else `credsStore`; an empty name means none. */
  helperFor(host: string): string | undefined {
    const helpers = this.#content.credHelpers;
    const specific = isRecord(helpers) ? helpers[host] : undefined;
    if (typeof specific === 'string' && specific) return specific;
    const store = this.#content.credsStore;
    return typeof store === 'string' && store ? store : undefined;
  }

  /** The `auths` credential for `host`: the exact key first, then any legacy key naming the host. */
  credential(host: string): Credential | undefined {
    const auths = this.#auths;
    let key: string | undefined = host in auths ? host : undefined;
    key ??= Object.keys(auths).find((k) => hostOfKey(k) === host);
    if (key === undefined) return undefined;
    const where = `${this.path}: auths["${key}"]`;
    const entry = auths[key];
    if (!isRecord(entry)) throw new LadingError('INVALID_ARGUMENT', `${where} must be an object`);
    for (const field of ['auth', 'identitytoken', 'registrytoken', 'username', 'password']) {
      if (entry[field] !== undefined && typeof entry[field] !== 'string') {
        throw new LadingError('INVALID_ARGUMENT', `${where}.${field} must be a string`);
      }
    }
    const e = entry as AuthEntry;
    const cred: Credential = {};
    if (e.username) cred.username = e.username;
    if (e.password) cred.password = e.password;
    if (e.auth) Object.assign(cred, decodeAuth(e.auth, where));
    if (e.identitytoken) cred.identityToken = e.identitytoken;
    if (e.registrytoken) cred.registryToken = e.registrytoken;
    return cred;
  }

  /** Records a credential for `host` in the file's `auths` (written by `save()`); a user name may not contain `:`. */
  setCredential(host: string, cred: Credential): void {
    if (cred.username?.includes(':')) {
      // Not quoted: what follows the ':' is likely a password typed in the wrong place.
      throw new LadingError('INVALID_ARGUMENT', 'a user name must not contain ":"');
    }
    const entry: AuthEntry = {};
    if (cred.username || cred.password) {
      entry.auth = Buffer.from(`${cred.username ?? ''}:${cred.password ?? ''}`).toString('base64');
    }
    if (cred.identityToken) entry.identitytoken = cred.identityToken;
    if (cred.registryToken) entry.registrytoken = cred.registryToken;
    this.#content.auths = { ...this.#auths, [host]: entry };
  }

  /** Removes `host` (and legacy keys naming it); false when nothing was there. */
  deleteCredential(host: string): boolean {
    const auths = { ...this.#auths };
    const keys = Object.keys(auths).filter((k) => k === host || hostOfKey(k) === host);
    for (const k of keys) delete auths[k];
    this.#content.auths = auths;
    return keys.length > 0;
  }

  /**
   * Writes the file atomically (temp file + rename), readable by the owner only. A config that is
   * a symlink (`~/.docker/config.json -> dotfiles/docker.json`) stays one: the file it points at
   * is replaced, beside itself, as docker does. Anything but a regular file there is refused: a
   * rename would replace the device or fifo itself.
   */
  async save(): Promise<void> {
    const target = await linkTarget(this.path);
    const dir = dirname(target);
    await makeDirectory(dir, 0o700);
    let text: string;
    try {
      text = `${JSON.stringify(this.#content, null, '\t')}\n`;
    } catch {
      // JSON.parse took a key nested past the stack of JSON.stringify.
      throw new LadingError('INVALID_ARGUMENT', `${this.path}: nested too deeply to write back; left as it was`);
    }
    const temp = join(dir, `.${randomBytes(6).toString('hex')}.config.json.tmp`);
    try {
      await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
      await chmod(temp, 0o600);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw new LadingError('IO_ERROR', `cannot write ${this.path}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The parsed JSON, for inspection. */
  toJSON(): Record<string, unknown> {
    return structuredClone(this.#content);
  }
}
