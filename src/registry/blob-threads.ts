import type { Worker } from 'node:worker_threads';
import { threadsFromEnv } from '../content/index.js';
import type { DigestAlgorithm } from '../oci/index.js';
import { BlobThreadSource } from './blob-thread-source.js';

/**
 * Blob downloads on other threads. A pull of many blobs spent most of the main thread's time
 * moving bytes: socket reads, stream machinery, hashing batches, file writes (1.2–1.4 s of CPU
 * per GB, measured), so that one thread bounded it whatever the core count. A blob the pull
 * stores into a file can instead be fetched whole by a thread that owns its connection, hashes
 * and writes there, while the main thread only hands out jobs. The threads take the plain case
 * (see blob-thread-source.ts); the main thread does everything else as before, so its checks,
 * retries and messages stay the one place they are.
 *
 * A thread takes ~30–40 ms to start, so the threads start only once a process has 64 MiB to fetch
 * this way, or a blob that big; until then blobs are fetched on the main thread as they arrive
 * (see {@link blobFillWay}): measured on 2 cores, a 16 MiB pull 131 → 88 ms (skopeo 112 ms) and a
 * 32 MiB one 162 → 118 ms against the 8 MiB this bound was before. LADING_FETCH_THREADS sets how
 * many (0: none) and sends every blob their way (for tests).
 */

/** A connection a thread may open: where to, and the TLS settings the main thread would use. */
export interface DirectConnection {
  /**
   * Idle connections are shared by jobs with the same route: one HTTP client's (its TLS settings,
   * its --resolve) connections to one `scheme://host:port`.
   */
  route: string;
  secure: boolean;
  /** The address and port to connect to (`--resolve` applied). */
  address: string;
  port: number;
  /** The host name the certificate must be valid for. */
  name: string;
  /** The TLS server name (none for an IP address). */
  servername?: string;
  ca?: (string | Buffer)[];
  cert?: string | Buffer;
  /** The client certificate's key. */
  clientKey?: string | Buffer;
  rejectUnauthorized: boolean;
  connectTimeoutMs: number;
  replyTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveMs: number;
}

/** A GET a thread may send as it is: the connection and the request head, fields checked. */
export interface DirectGet {
  connection: DirectConnection;
  head: string;
}

/** How a job ended: the hex digest of what was written, or why the main thread must fetch it. */
export type ThreadResult =
  | { kind: 'written'; hex: string }
  | { kind: 'fallback'; reason: string; written: number }
  | { kind: 'cancelled' };

interface Job {
  onProgress: ((bytes: number) => void) | undefined;
  written: number;
  settle: (result: ThreadResult) => void;
}

interface Answer {
  id: number;
  p?: number;
  hex?: string;
  fallback?: string;
  cancelled?: boolean;
}

/**
 * Bytes fetched this way before the threads are worth starting (or one blob that big), and what a
 * process fetches on the main thread until then.
 */
const StartAfterBytes = 64 * 1024 * 1024;
/** Blobs smaller than this go the usual way: a thread's round trip costs more than it saves. */
const MinBlobBytes = 256 * 1024;

class BlobThread {
  readonly worker: Worker;
  readonly jobs = new Map<number, Job>();
  failed = false;

  constructor() {
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    this.worker = new Worker(BlobThreadSource, {
      eval: true,
      execArgv: [],
      stdout: false,
      stderr: false,
      // A job holds a connection's read buffer and a hash; a small heap keeps the thread small.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    this.worker.on('message', (m: Answer) => this.#answer(m));
    this.worker.on('error', () => this.#fail());
    this.worker.on('exit', () => this.#fail());
    // After the listeners: a 'message' listener refs the thread's port again.
    this.worker.unref();
  }

  run(id: number, message: object, job: Job): void {
    if (this.jobs.size === 0) this.worker.ref();
    this.jobs.set(id, job);
    this.worker.postMessage(message);
  }

  cancel(id: number): void {
    if (this.jobs.has(id) && !this.failed) this.worker.postMessage({ t: 'x', id });
  }

  /** Closes the thread's idle connections of the routes starting with `prefix` (a closed client's). */
  drop(prefix: string): void {
    if (!this.failed) this.worker.postMessage({ t: 'drop', prefix });
  }

  #answer(m: Answer): void {
    const job = this.jobs.get(m.id);
    if (!job) return;
    if (m.p) {
      job.written += m.p;
      job.onProgress?.(m.p);
    }
    let result: ThreadResult | undefined;
    if (m.hex !== undefined) result = { kind: 'written', hex: m.hex };
    else if (m.fallback !== undefined) result = { kind: 'fallback', reason: m.fallback, written: job.written };
    else if (m.cancelled) result = { kind: 'cancelled' };
    if (!result) return;
    this.#done(m.id);
    job.settle(result);
  }

  #done(id: number): void {
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.worker.unref();
  }

  /** A thread that died writes nothing more: its jobs fall back to the main thread. */
  #fail(): void {
    this.failed = true;
    // A thread that could not start or died (a sandbox, memory): no more are started.
    unavailable = true;
    const jobs = [...this.jobs.entries()];
    this.jobs.clear();
    this.worker.unref();
    for (const [, job] of jobs) job.settle({ kind: 'fallback', reason: 'the thread stopped', written: job.written });
  }
}

let threads: BlobThread[] | undefined;
/** Threads could not be started here, or one died (a sandbox, resource limits): no new ones. */
let unavailable = false;
/**
 * Routes the threads no longer take: one answered a blob GET with a status that asks to wait (429,
 * 5xx), another 3xx than a redirect, or not at all in time, or a redirect target a thread could not
 * take. Each such answer costs a second request on the main thread's path (which honours
 * Retry-After, retries, follows what it must), so a registry that answers that way once goes that
 * way only.
 */
const mainThreadRoutes = new Set<string>();
/**
 * Routes whose blob GETs a thread answered with a redirect (to an object store or a CDN, as Docker
 * Hub, GHCR, ECR and most clouds answer every blob): the main thread asks such a registry where a
 * blob is, and a thread fetches it from there (see Repository's fill). A redirect target a thread
 * cannot take leaves the registry's route to the main thread.
 */
const redirectingRoutes = new Set<string>();

/** Whether the registry of `route` answers blob GETs with a redirect the threads can follow. */
export function routeRedirects(route: string): boolean {
  return redirectingRoutes.has(route) && !mainThreadRoutes.has(route);
}
/** How the jobs of this process ended (for tests and --debug-like checks). */
const counts = { written: 0, fallback: 0, cancelled: 0 };

/** How many blobs the threads wrote, left to the main thread, or stopped on cancellation. */
export function blobThreadCounts(): Readonly<typeof counts> {
  return { ...counts };
}
let requested = 0;
let jobIds = 0;

function configured(): number | undefined {
  return threadsFromEnv('LADING_FETCH_THREADS');
}

/**
 * At most one thread per core beside the main thread's, two even on two cores (measured there:
 * 200 × 5 MiB 1.45×, 1 GiB 1.29× faster than the main thread alone), six at most: six transfers
 * are in flight from eight cores (copy/limits.ts), three below.
 */
function threadCount(): number {
  const cores = process.getBuiltinModule('node:os').availableParallelism();
  return configured() ?? Math.max(2, Math.min(6, cores - 1));
}

/** How a blob bound for a file is fetched: see {@link blobFillWay}. */
export type BlobFillWay = 'thread' | 'here' | 'stream';

/** Bytes this process fetched on the main thread with direct writes (see {@link blobFillWay}). */
let hereBytes = 0;

/**
 * How a blob of `size` bytes bound for a file should be fetched, counting what it is asked about
 * (so that many blobs start the threads too):
 * - `thread`: by a blob thread, when it is big enough and the threads are up or worth starting;
 * - `here`: on the main thread, its body hashed and written with direct calls as it arrives (see
 *   Repository's fill), for the first {@link StartAfterBytes} a process fetches this way: the
 *   blobs of a small artifact, and those before the threads are worth starting. A direct write
 *   blocks the main thread while the disk is slower than the network (measured: 200 × 5 MiB all
 *   fetched that way on 2 cores, 1.85 → 2.74 s, the main thread waiting on the kernel's
 *   dirty-page throttling), so no more than that (200 × 5 MiB with the first 64 MiB so and the
 *   rest on threads: 1.53 → 1.48 s against the first 8 MiB);
 * - `stream`: the main thread's stream (writes on libuv's pool) for the rest.
 */
export function blobFillWay(size: number): BlobFillWay {
  const forced = configured();
  const live = !unavailable || !!threads?.some((t) => !t.failed);
  if (forced !== undefined && forced > 0 && live) return 'thread';
  if (forced === undefined && size >= MinBlobBytes && live) {
    requested += size;
    if (threads !== undefined || size >= StartAfterBytes || requested >= StartAfterBytes) return 'thread';
  }
  hereBytes += size;
  return hereBytes <= StartAfterBytes ? 'here' : 'stream';
}

/**
 * The thread for the next job: an idle one, else a new one while there are fewer than
 * {@link threadCount}, else the one with the fewest jobs. Threads start as jobs need them (each
 * costs ~9 MB): a pull of three blobs at a time never starts a fourth.
 */
function pickThread(): BlobThread | undefined {
  threads ??= [];
  const live = threads.filter((t) => !t.failed);
  const idle = live.find((t) => t.jobs.size === 0);
  if (idle) return idle;
  if (!unavailable && live.length < threadCount()) {
    try {
      const thread = new BlobThread();
      threads.push(thread);
      return thread;
    } catch {
      unavailable = true;
    }
  }
  return live.length === 0 ? undefined : live.reduce((a, b) => (b.jobs.size < a.jobs.size ? b : a));
}

/** Forgets the idle connections of the routes starting with `prefix`, on every thread (a client closed). */
export function dropThreadRoutes(prefix: string): void {
  for (const thread of threads ?? []) thread.drop(prefix);
  for (const route of mainThreadRoutes) if (route.startsWith(prefix)) mainThreadRoutes.delete(route);
  for (const route of redirectingRoutes) if (route.startsWith(prefix)) redirectingRoutes.delete(route);
}

/** Whether a fallback's reason says the route is better left to the main thread. */
function leavesRoute(reason: string): boolean {
  return /^status HTTP\/1\.[01] (3\d\d|429|5\d\d)\b/.test(reason) || reason === 'timed out';
}

/** Whether a redirect target's answer is one a thread never takes: a redirect again, or its framing or fields. */
function unfitTarget(reason: string): boolean {
  return /^status HTTP\/1\.[01] 3\d\d\b/.test(reason) || UnfitAnswers.has(reason);
}
const UnfitAnswers = new Set([
  'header line',
  'header value',
  'content-length',
  'transfer-encoding',
  'content-encoding',
  'docker-content-digest',
  'response head too long',
]);

/** Leaves the registry of `route` to the main thread (its redirects lead where a thread cannot go). */
export function leaveToMainThread(route: string): void {
  mainThreadRoutes.add(route);
}

/** Whether a fallback's reason is a redirect (which the main thread may resolve for the threads). */
function isRedirect(reason: string): boolean {
  return /^status HTTP\/1\.[01] (301|302|303|307|308)\b/.test(reason);
}

/** What a thread needs for one blob: the GET, the file descriptor to write to, what to expect. */
export interface ThreadFetch {
  get: DirectGet;
  /** An open file the blob is written into from offset 0; it must stay open until the promise settles. */
  fd: number;
  size: number;
  algorithm: DigestAlgorithm;
  digest: string;
  signal?: AbortSignal | undefined;
  onProgress?: ((bytes: number) => void) | undefined;
  /**
   * The route of the registry whose redirect `get` follows: if the thread cannot take the redirect
   * target, that registry's blobs go the main thread's way from then on.
   */
  redirectOf?: string | undefined;
}

/**
 * Fetches a blob on a thread. Settles only once the thread has stopped writing to `fd`: with the
 * digest of what it wrote, `fallback` (the caller fetches the blob itself), or `cancelled` when
 * the signal fired.
 */
export function fetchOnThread(f: ThreadFetch): Promise<ThreadResult> {
  if (mainThreadRoutes.has(f.get.connection.route)) {
    return Promise.resolve({ kind: 'fallback', reason: 'left to the main thread', written: 0 });
  }
  const thread = pickThread();
  if (!thread) return Promise.resolve({ kind: 'fallback', reason: 'no threads', written: 0 });
  const id = ++jobIds;
  const connection = f.get.connection;
  return new Promise<ThreadResult>((resolve) => {
    const onAbort = () => thread.cancel(id);
    const settle = (result: ThreadResult) => {
      f.signal?.removeEventListener('abort', onAbort);
      counts[result.kind]++;
      if (result.kind === 'fallback') {
        const reason = result.reason;
        if (f.redirectOf !== undefined) {
          // A redirect target that answers in a way a thread never takes ends the threads' part for
          // its registry; a passing failure (a reset, a 5xx, an expired signature) does not.
          if (unfitTarget(reason)) mainThreadRoutes.add(f.redirectOf);
        } else if (isRedirect(reason)) redirectingRoutes.add(connection.route);
        else if (leavesRoute(reason)) mainThreadRoutes.add(connection.route);
      }
      resolve(result);
    };
    thread.run(
      id,
      {
        t: 'get',
        id,
        fd: f.fd,
        size: f.size,
        alg: f.algorithm,
        digest: f.digest,
        key: connection.route,
        conn: connection,
        head: f.get.head,
      },
      { onProgress: f.onProgress, written: 0, settle },
    );
    if (f.signal?.aborted) onAbort();
    else f.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
