import { createHash, type Hash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open, readFile, rm } from 'node:fs/promises';
import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { writeFileAtomic } from '../archive/index.js';
import { LadingError, parseDigest } from '../oci/index.js';
import { ServerBusy } from './busy.js';
import type { RegistryStore } from './storage.js';

const { O_RDONLY, O_NOFOLLOW } = constants;
const idPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A chunk that does not start where the upload ends (the client must ask for the status and resume). */
export class RangeMismatch extends LadingError {
  readonly size: number;
  constructor(id: string, start: number, size: number) {
    super('INVALID_ARGUMENT', `upload ${id}: chunk starts at ${start}, the upload holds ${size} bytes`);
    this.size = size;
    this.name = 'RangeMismatch';
  }
}

/** Thrown by #appendNow for an upload whose file turned out to be a stored blob: the upload is unknown. */
const uploadGone = new Error('upload gone');

interface Session {
  id: string;
  repository: string;
  /** Who started it (a user, or a client address), when known: see `maxPerOwner`. */
  owner?: string | undefined;
  /** Bytes received and kept. */
  size: number;
  /** sha256 over those bytes, kept while the chunks arrive; absent after a restart (hashed again at the end). */
  hash: Hash | undefined;
  /** Operations on one upload run one at a time. */
  queue: Promise<unknown>;
  /** When a request last touched it (ms since the epoch). */
  used: number;
  /** Requests on it under way. */
  busy: number;
}

/** Uploads open at once; past it, those idle longest go first, and with none idle a new one waits its turn (429). */
const MaxOpenUploads = 1024;
/** Uploads one owner (a user, or a client address) may have open at once. */
const MaxUploadsPerOwner = 128;
/** An upload no request touched for this long may be ended to make room for a new one. */
const IdleUploadMs = 10 * 60 * 1000;

/** Too many uploads are open: the client is to try again later. */
export class TooManyUploads extends ServerBusy {
  constructor(limit: number, o: { perClient?: boolean } = {}) {
    super(`${limit} uploads ${o.perClient ? 'of this client ' : ''}are open, none of them idle; try again later`);
  }
}

/**
 * Blob uploads in progress: each one a file in `<root>/_lading/uploads/` (with a `.json` naming its
 * repository), appended to chunk by chunk with the running hash kept in memory. A chunk that
 * fails is cut off again, so the file holds exactly the bytes acknowledged. An upload survives a
 * restart (the hash is then computed again from the file); a blob is committed only when the
 * bytes hash to the digest the client names.
 */
export class Uploads {
  readonly #store: RegistryStore;
  readonly #sessions = new Map<string, Session>();
  readonly #maxBytes: number;

  readonly #maxOpen: number;
  readonly #maxPerOwner: number;
  readonly #idleMs: number;
  /** Uploads being started (their files made, not yet in #sessions). */
  #starting = 0;

  constructor(
    store: RegistryStore,
    o: { maxUploadBytes?: number; maxOpen?: number; maxPerOwner?: number; idleMs?: number } = {},
  ) {
    this.#store = store;
    this.#maxBytes = o.maxUploadBytes ?? Number.POSITIVE_INFINITY;
    this.#maxOpen = o.maxOpen ?? MaxOpenUploads;
    this.#maxPerOwner = o.maxPerOwner ?? MaxUploadsPerOwner;
    this.#idleMs = o.idleMs ?? IdleUploadMs;
  }

  /**
   * Starts an upload. Uploads a client abandons would otherwise pile up (two files and a running
   * hash each): with `maxOpen` open, the one idle longest (past `idleMs`) is ended first; with
   * none idle that long, TooManyUploads. One `owner` (a user, or a client address) may hold at most
   * `maxPerOwner` of them, so that one client cannot take every slot.
   */
  async start(repository: string, o: { owner?: string } = {}): Promise<{ id: string; size: number }> {
    const owner = o.owner;
    if (owner !== undefined) {
      // The owner's own uploads idle longest make room first, as for the limit of all uploads.
      while (this.#heldBy(owner) >= this.#maxPerOwner) await this.#makeRoom({ owner });
    }
    // The count includes uploads being started: checked and reserved with no wait in between, so
    // a burst of POSTs cannot all pass the check before any of them is counted.
    while (this.#sessions.size + this.#starting >= this.#maxOpen) await this.#makeRoom();
    this.#starting++;
    if (o.owner !== undefined) this.#startingBy.set(o.owner, (this.#startingBy.get(o.owner) ?? 0) + 1);
    try {
      return await this.#start(repository, o.owner);
    } finally {
      this.#starting--;
      if (o.owner !== undefined) {
        const left = (this.#startingBy.get(o.owner) ?? 1) - 1;
        if (left > 0) this.#startingBy.set(o.owner, left);
        else this.#startingBy.delete(o.owner);
      }
    }
  }

  /** Uploads `owner` has open or is starting. */
  #heldBy(owner: string): number {
    let held = this.#startingBy.get(owner) ?? 0;
    for (const session of this.#sessions.values()) if (session.owner === owner) held++;
    return held;
  }

  /** Uploads being started, by owner. */
  readonly #startingBy = new Map<string, number>();

  async #start(repository: string, owner: string | undefined): Promise<{ id: string; size: number }> {
    const id = randomUUID();
    const dir = await this.#store.internal(['uploads']);
    try {
      await writeFileAtomic(dir.at(`${id}.json`), Buffer.from(JSON.stringify({ repository, started: Date.now() })));
      const handle = await open(dir.at(id), 'wx', 0o644);
      await handle.close();
    } finally {
      await dir.close();
    }
    this.#sessions.set(id, {
      id,
      repository,
      owner,
      size: 0,
      hash: createHash('sha256'),
      queue: Promise.resolve(),
      used: Date.now(),
      busy: 0,
    });
    return { id, size: 0 };
  }

  /** Ends the upload idle longest (past `idleMs`), of `owner` when given; TooManyUploads when none is. */
  async #makeRoom(o: { owner?: string } = {}): Promise<void> {
    const now = Date.now();
    let oldest: Session | undefined;
    for (const session of this.#sessions.values()) {
      if (o.owner !== undefined && session.owner !== o.owner) continue;
      if (session.busy === 0 && now - session.used >= this.#idleMs && (!oldest || session.used < oldest.used)) {
        oldest = session;
      }
    }
    if (!oldest) {
      throw o.owner === undefined
        ? new TooManyUploads(this.#maxOpen)
        : new TooManyUploads(this.#maxPerOwner, { perClient: true });
    }
    const session = oldest;
    await this.#serial(session, () => this.#discard(session));
  }

  /** The upload's current size, or undefined when `id` is not an upload of `repository`. */
  async status(repository: string, id: string): Promise<number | undefined> {
    const session = await this.#find(repository, id);
    if (!session) return undefined;
    return this.#serial(session, async () => session.size, { touch: false });
  }

  /**
   * Appends `body` to the upload. With `start`, the chunk must begin exactly where the upload
   * ends (RangeMismatch otherwise). Returns the new size, or undefined for an unknown upload.
   */
  async append(
    repository: string,
    id: string,
    body: Readable,
    o: { start?: number; length?: number; signal?: AbortSignal } = {},
  ): Promise<number | undefined> {
    const session = await this.#find(repository, id);
    if (!session) return undefined;
    return this.#serial(session, async () => {
      if (o.start !== undefined && o.start !== session.size) throw new RangeMismatch(id, o.start, session.size);
      try {
        await this.#appendNow(session, body, o);
      } catch (error) {
        if (error === uploadGone) return undefined;
        throw error;
      }
      return session.size;
    });
  }

  async #appendNow(session: Session, body: Readable, o: { length?: number; signal?: AbortSignal }): Promise<void> {
    const before = session.size;
    if (o.length !== undefined && before + o.length > this.#maxBytes) throw this.#tooLarge(session.id);
    const hash = session.hash?.copy();
    let received = 0;
    const max = this.#maxBytes;
    const tooLarge = () => this.#tooLarge(session.id);
    const dir = await this.#store.internal(['uploads']);
    let handle: FileHandle;
    try {
      handle = await open(dir.at(session.id), constants.O_WRONLY | O_NOFOLLOW);
    } finally {
      // The folder is not needed once the file is open: one descriptor less per chunk in flight.
      await dir.close();
    }
    // An upload's file linked anywhere else (the pool, a repository) is a stored blob: never written into.
    if ((await handle.stat()).nlink !== 1) {
      await handle.close();
      await this.#discard(session);
      throw uploadGone;
    }
    try {
      // Chunks are counted, hashed and written at their place before more are taken: memory stays
      // flat. Those that arrive while a write is under way go out together in one writev.
      const put = (chunks: Buffer[], done: (error?: Error | null) => void) => {
        let length = 0;
        for (const chunk of chunks) length += chunk.length;
        if (before + received + length > max) return done(tooLarge());
        for (const chunk of chunks) hash?.update(chunk);
        writeAll(handle, chunks, before + received).then(() => {
          received += length;
          done();
        }, done);
      };
      const sink = new Writable({
        highWaterMark: 1024 * 1024,
        write(chunk: Buffer, _encoding, done) {
          put([chunk], done);
        },
        writev(entries, done) {
          put(
            entries.map((e) => e.chunk as Buffer),
            done,
          );
        },
      });
      await pipeline(body, sink, { ...(o.signal ? { signal: o.signal } : {}) });
      if (o.length !== undefined && received !== o.length) {
        throw new LadingError(
          'SIZE_MISMATCH',
          `upload ${session.id}: the chunk was ${received} bytes, Content-Length said ${o.length}`,
        );
      }
    } catch (error) {
      // Only acknowledged bytes stay: the next chunk starts where the last good one ended.
      await handle.truncate(before).catch(() => {});
      throw error;
    } finally {
      await handle.close();
    }
    session.size = before + received;
    session.hash = hash;
  }

  /**
   * Ends the upload: the bytes must hash to `digest`; they become the blob of the upload's
   * repository and the upload is gone. On a mismatch the upload is discarded too.
   */
  async finish(repository: string, id: string, digest: string): Promise<{ size: number } | undefined> {
    const session = await this.#find(repository, id);
    if (!session) return undefined;
    return this.#serial(session, async () => {
      const { algorithm } = parseDigest(digest);
      let got: string;
      if (algorithm === 'sha256' && session.hash) got = `sha256:${session.hash.copy().digest('hex')}`;
      else got = await this.#hashFile(session, algorithm);
      if (got !== digest) {
        await this.#discard(session);
        throw new LadingError('DIGEST_MISMATCH', `upload ${id}: content digest ${got} does not match ${digest}`);
      }
      const dir = await this.#store.internal(['uploads']);
      try {
        await this.#store.commit(repository, digest, dir, session.id);
      } finally {
        await dir.close();
        // Gone whether the commit worked or not: once linked into the pool the upload's file is the
        // pool's blob, and a later chunk must never write into it.
        await this.#discard(session);
      }
      return { size: session.size };
    });
  }

  /** Cancels an upload; false when there is none. */
  async cancel(repository: string, id: string): Promise<boolean> {
    const session = await this.#find(repository, id);
    if (!session) return false;
    await this.#serial(session, () => this.#discard(session));
    return true;
  }

  async #hashFile(session: Session, algorithm: string): Promise<string> {
    const dir = await this.#store.internal(['uploads']);
    try {
      const hash = createHash(algorithm);
      if (session.size === 0) return `${algorithm}:${hash.digest('hex')}`;
      const handle = await open(dir.at(session.id), O_RDONLY | O_NOFOLLOW);
      try {
        for await (const chunk of handle.createReadStream({ start: 0, end: session.size - 1, autoClose: false })) {
          hash.update(chunk as Buffer);
        }
      } finally {
        await handle.close();
      }
      return `${algorithm}:${hash.digest('hex')}`;
    } finally {
      await dir.close();
    }
  }

  async #discard(session: Session): Promise<void> {
    this.#sessions.delete(session.id);
    const dir = await this.#store.internal(['uploads']);
    try {
      await rm(dir.at(session.id), { force: true });
      await rm(dir.at(`${session.id}.json`), { force: true });
    } finally {
      await dir.close();
    }
  }

  /** The session of `id` in `repository`: from memory, or after a restart from its files. */
  async #find(repository: string, id: string): Promise<Session | undefined> {
    if (!idPattern.test(id)) return undefined;
    const known = this.#sessions.get(id);
    if (known) return known.repository === repository ? known : undefined;
    const dir = await this.#store.internal(['uploads']);
    try {
      let meta: { repository?: unknown };
      try {
        meta = JSON.parse(await readFile(dir.at(`${id}.json`), 'utf8'));
      } catch {
        return undefined;
      }
      if (meta.repository !== repository) return undefined;
      const info = await dir.lstat(id);
      if (!info?.isFile()) return undefined;
      // Another request may have found it meanwhile.
      const again = this.#sessions.get(id);
      if (again) return again;
      const session: Session = {
        id,
        repository,
        size: info.size,
        hash: undefined,
        queue: Promise.resolve(),
        used: Date.now(),
        busy: 0,
      };
      this.#sessions.set(id, session);
      return session;
    } finally {
      await dir.close();
    }
  }

  /** Runs `fn` after the upload's other operations; unless `touch` is false, it counts as the upload's use (for idleness). */
  #serial<T>(session: Session, fn: () => Promise<T>, o: { touch?: boolean } = {}): Promise<T> {
    const touch = o.touch !== false;
    session.busy++;
    if (touch) session.used = Date.now();
    const run = session.queue
      .catch(() => {})
      .then(fn)
      .finally(() => {
        session.busy--;
        if (touch) session.used = Date.now();
      });
    session.queue = run.catch(() => {});
    return run;
  }

  #tooLarge(id: string): LadingError {
    return new LadingError('SIZE_EXCEEDS_LIMIT', `upload ${id}: over the ${this.#maxBytes}-byte upload limit`);
  }
}

async function writeAll(handle: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  let rest = chunks;
  let at = position;
  while (rest.length > 0) {
    const { bytesWritten } =
      rest.length === 1 ? await handle.write(rest[0] as Buffer, 0, undefined, at) : await handle.writev(rest, at);
    if (bytesWritten === 0) throw new LadingError('IO_ERROR', `upload file: no byte written at offset ${at}`);
    at += bytesWritten;
    // A short write: go on from the first byte not written.
    let skip = bytesWritten;
    const next: Buffer[] = [];
    for (const chunk of rest) {
      if (skip >= chunk.length) skip -= chunk.length;
      else {
        next.push(skip > 0 ? chunk.subarray(skip) : chunk);
        skip = 0;
      }
    }
    rest = next;
  }
}
