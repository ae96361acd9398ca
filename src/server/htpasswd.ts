import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import pLimit from 'p-limit';
import { readRegularFile } from '../content/index.js';
import { LadingError } from '../oci/index.js';
import { ServerBusy } from './busy.js';

/** The largest htpasswd file read (a bcrypt entry is some 70 bytes: tens of thousands of users). */
const MaxHtpasswdBytes = 4 * 1024 * 1024;
/** Password checks that may wait for their turn; past this many, a request with a new password gets a 429. */
const MaxWaitingChecks = 64;

/** Basic-auth users from an htpasswd file whose entries are bcrypt hashes (`htpasswd -B`). */
export class Htpasswd {
  readonly #users: Map<string, string>;
  /**
   * The hash of the password last checked good, by user: bcrypt costs tens of milliseconds a check
   * and clients send basic auth on every request.
   */
  readonly #verified = new Map<string, string>();

  /** Checked against for a user the file does not name: a hash of the file's own cost, made on first need. */
  #decoy: Promise<string> | undefined;
  readonly #limit = pLimit(2);

  private constructor(users: Map<string, string>) {
    this.#users = users;
  }

  #decoyHash(): Promise<string> {
    const first = this.#users.values().next().value ?? '';
    const cost = Number(/^\$2[aby]\$(\d\d)\$/.exec(first)?.[1] ?? 10);
    this.#decoy ??= bcrypt.hash(randomBytes(16).toString('hex'), Math.min(Math.max(cost, 4), 31));
    return this.#decoy;
  }

  static parse(text: string, where: string): Htpasswd {
    const users = new Map<string, string>();
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '' || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const hash = line.slice(colon + 1).trim();
      if (colon <= 0 || !/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
        throw new LadingError(
          'INVALID_ARGUMENT',
          `${where}:${i + 1}: not a bcrypt entry (user:$2y$…); create entries with htpasswd -B`,
        );
      }
      users.set(user, hash);
    });
    if (users.size === 0) throw new LadingError('INVALID_ARGUMENT', `${where}: no users`);
    return new Htpasswd(users);
  }

  static async load(path: string): Promise<Htpasswd> {
    const text = (await readRegularFile(path, { limit: MaxHtpasswdBytes, where: `htpasswd file ${path}` })).toString(
      'utf8',
    );
    return Htpasswd.parse(text, path);
  }

  /**
   * Whether `user` and `password` match an entry. An unknown user costs the same bcrypt check as a
   * wrong password (the answer's time does not tell which users exist), and at most two checks run
   * at a time, the rest waiting their turn: bcrypt is CPU work on this thread, and a flood of wrong
   * passwords must not starve the requests of clients whose check is remembered. Past
   * {@link MaxWaitingChecks} waiting, a check is refused ({@link ServerBusy}) instead of queued: the
   * flood would otherwise hold every new login behind it for as long as it lasts.
   */
  async check(user: string, password: string): Promise<boolean> {
    const known = this.#users.get(user);
    const hash = known ?? (await this.#decoyHash());
    const memo = createHash('sha256').update(`${hash}\0${password}`).digest('hex');
    if (known !== undefined && this.#verified.get(user) === memo) return true;
    if (this.#limit.pendingCount >= MaxWaitingChecks) {
      throw new ServerBusy(`${MaxWaitingChecks} password checks are waiting; try again later`);
    }
    // bcryptjs reads $2y$ (Apache's prefix) as $2b$: the algorithms are the same.
    const ok = (await this.#limit(() => bcrypt.compare(password, hash))) && known !== undefined;
    if (ok) this.#verified.set(user, memo);
    return ok;
  }
}
