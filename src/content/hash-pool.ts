import type { Worker } from 'node:worker_threads';
import type { DigestAlgorithm } from '../oci/index.js';

/**
 * Hashing off the main thread. A verified stream of a big blob hands its bytes, in 512 KiB batches
 * whose memory moves (not copies) to the worker, to one of a few hashing threads, so that the
 * main thread only moves bytes between sockets and files while other cores hash. A worker takes
 * ~20–30 ms to start, the time to hash ~30 MiB, so the pool starts only once a process has that
 * much to hash, or at the first blob that big; until a worker is up, streams hash on the main
 * thread as before. Bytes in flight to the workers are bounded (a stream waits for its hash to
 * catch up), so memory stays flat. One thread, from four cores; none on fewer: there the thread
 * only competes with the main thread and the registries for the same cores (measured on 2 cores:
 * many small blobs no faster and ~40 MB more peak memory; since pulls into files hash on blob
 * threads or as they arrive, a 1 GiB registry-to-registry copy 4.05 → 3.97 s and a 256 MiB one
 * 1,198 → 1,116 ms without it, a 1 GiB push from a layout the same, each with ~20 % less CPU).
 * LADING_HASH_THREADS sets the count (0: off) and sends every blob the way of four cores.
 */

/** The worker: one hash per job id; answers each batch (flow control) and the final digest. */
const WorkerSource = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.t === 'u') {
    let h = jobs.get(m.id);
    if (!h) { h = createHash(m.a); jobs.set(m.id, h); }
    h.update(new Uint8Array(m.b, 0, m.n));
    parentPort.postMessage({ id: m.id, n: m.n, b: m.b }, [m.b]);
  } else if (m.t === 'd') {
    const h = jobs.get(m.id) ?? createHash(m.a);
    jobs.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  } else if (m.t === 'x') {
    jobs.delete(m.id);
  }
});
`;

const BatchBytes = 512 * 1024;
/** Bytes a job may have sent and not yet had hashed before its stream waits. */
const InFlightBytes = 3 * BatchBytes;
/** Work worth a worker's start: hashed in a process in all, or in one blob. */
const StartAfterBytes = 32 * 1024 * 1024;
/** Batch buffers kept for reuse between blobs (4 MiB). */
const FreeBatches = 8;

/**
 * Batch buffers the workers have handed back, to fill again, shared by every job: a pull of many
 * blobs then reuses a few buffers instead of leaving a few new ones per blob to the garbage
 * collector (which frees memory outside the JavaScript heap late: 200 blobs of 5 MiB peaked ~50 MB
 * higher that way).
 */
const freeBatches: Buffer[] = [];

function takeBatch(): Buffer {
  return freeBatches.pop() ?? Buffer.allocUnsafeSlow(BatchBytes);
}

function giveBatch(batch: Buffer): void {
  if (freeBatches.length < FreeBatches) freeBatches.push(batch);
}

interface Job {
  inFlight: number;
  onDrain: (() => void) | undefined;
  resolve: ((hex: string) => void) | undefined;
  reject: ((error: Error) => void) | undefined;
}

class HashWorker {
  readonly worker: Worker;
  readonly jobs = new Map<number, Job>();
  ready = false;
  failed: Error | undefined;
  /**
   * Messages sent and not yet answered. The worker keeps the process alive only while it owes an
   * answer, never for a job a caller let go of without destroying its stream.
   */
  #owed = 0;

  constructor() {
    // node:worker_threads loads here, with the first worker: ~3 ms a command that never starts one.
    const { Worker } = process.getBuiltinModule('node:worker_threads');
    this.worker = new Worker(WorkerSource, {
      eval: true,
      execArgv: [],
      stdout: false,
      stderr: false,
      // The worker holds a few batches and a hash per job: a small heap keeps its memory small.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    this.worker.once('online', () => {
      this.ready = true;
    });
    this.worker.on('message', (m: { id: number; n?: number; b?: ArrayBuffer; hex?: string }) => {
      if (--this.#owed === 0) this.worker.unref();
      if (m.b) giveBatch(Buffer.from(m.b));
      const job = this.jobs.get(m.id);
      if (!job) return;
      if (m.hex !== undefined) {
        this.#drop(m.id);
        job.resolve?.(m.hex);
        return;
      }
      job.inFlight -= m.n ?? 0;
      if (job.inFlight < InFlightBytes && job.onDrain) {
        const drain = job.onDrain;
        job.onDrain = undefined;
        drain();
      }
    });
    this.worker.on('error', (error) => this.#fail(error));
    this.worker.on('exit', (code) => this.#fail(new Error(`the hashing thread exited (${code})`)));
    // After the listeners: a 'message' listener refs the thread's port again, and a thread that
    // never got a job would keep the process from exiting.
    this.worker.unref();
  }

  add(id: number, job: Job): void {
    this.jobs.set(id, job);
  }

  /** Sends a message the worker answers. */
  ask(message: unknown, transfer: ArrayBuffer[] = []): void {
    if (this.#owed++ === 0) this.worker.ref();
    this.worker.postMessage(message, transfer);
  }

  #drop(id: number): void {
    this.jobs.delete(id);
  }

  drop(id: number): void {
    if (!this.jobs.has(id)) return;
    this.#drop(id);
    if (!this.failed) this.worker.postMessage({ t: 'x', id });
  }

  #fail(error: Error): void {
    this.failed ??= error;
    this.ready = false;
    this.#owed = 0;
    this.worker.unref();
    const jobs = [...this.jobs.values()];
    this.jobs.clear();
    for (const job of jobs) {
      job.reject?.(error);
      job.onDrain?.();
    }
  }
}

let pool: HashWorker[] | undefined;
let next = 0;
let hashedOnMain = 0;
let jobIds = 0;

/** A thread count set in the environment variable `name` (a number, at most 16), or undefined. */
export function threadsFromEnv(name: string): number | undefined {
  const value = process.env[name];
  return value !== undefined && /^\d+$/.test(value) ? Math.min(Number(value), 16) : undefined;
}

function configuredThreads(): number | undefined {
  return threadsFromEnv('LADING_HASH_THREADS');
}

/** One thread hashes ~1.5 GB/s, more than most disks write; none below four cores (see above). */
function threadCount(): number {
  return configuredThreads() ?? (manyCores() ? 1 : 0);
}

function manyCores(): boolean {
  return process.getBuiltinModule('node:os').availableParallelism() >= 4;
}

/** Whether blobs under 32 MiB may use the thread too: from four cores, or when the count is set. */
function smallBlobsToo(): boolean {
  return configuredThreads() !== undefined || manyCores();
}

function startPool(): HashWorker[] {
  if (!pool) {
    const n = threadCount();
    pool = [];
    try {
      for (let i = 0; i < n; i++) pool.push(new HashWorker());
    } catch {
      // No threads (a sandbox, resource limits): hash on the main thread.
    }
  }
  return pool;
}

/** A hash whose updates may run on another thread; `digest` answers once every byte is hashed. */
export interface AsyncDigester {
  /** Hashes `chunk` (not kept: copied or hashed at once); false when the caller should wait for `onDrain`. */
  update(chunk: Buffer): boolean;
  /** Called once when a caller that got false from `update` may go on. */
  onDrain(callback: () => void): void;
  digest(): Promise<string>;
  /** Drops the job (the stream was destroyed). */
  abandon(): void;
}

/**
 * A digester for a blob of `size` bytes: on a hashing thread when one is up (or worth starting
 * for this blob), else on the main thread. Either way the hex digest of every byte given.
 */
export function asyncDigester(
  algorithm: DigestAlgorithm,
  size: number,
  createLocal: () => { update(b: Buffer): unknown; digest(encoding: 'hex'): string },
): AsyncDigester {
  const big = size >= StartAfterBytes;
  const small = smallBlobsToo();
  const wanted = threadCount() > 0 && (big || (small && (hashedOnMain + size >= StartAfterBytes || !!pool)));
  const workers = wanted ? startPool() : [];
  // A blob that big waits for a worker to start; a smaller one takes a worker only when one is up.
  const candidates = workers.filter((w) => !w.failed && (w.ready || big));
  if (candidates.length === 0) {
    hashedOnMain += size;
    const hash = createLocal();
    return {
      update: (chunk) => {
        hash.update(chunk);
        return true;
      },
      onDrain: (callback) => callback(),
      digest: async () => hash.digest('hex'),
      abandon: () => {},
    };
  }
  const worker = candidates[next++ % candidates.length] as HashWorker;
  const id = ++jobIds;
  const job: Job = { inFlight: 0, onDrain: undefined, resolve: undefined, reject: undefined };
  worker.add(id, job);
  let batch: Buffer = takeBatch();
  let filled = 0;
  const send = () => {
    if (filled === 0 || worker.failed) return;
    const bytes = batch.buffer as ArrayBuffer;
    worker.ask({ t: 'u', id, a: algorithm, b: bytes, n: filled }, [bytes]);
    job.inFlight += filled;
    batch = takeBatch();
    filled = 0;
  };
  let released = false;
  /** The job is over: its unsent batch goes back for the next one (once: a buffer listed twice would be filled by two jobs). */
  const release = () => {
    if (released) return;
    released = true;
    filled = 0;
    giveBatch(batch);
  };
  return {
    update(chunk) {
      if (released) throw new Error('internal: a hash updated after its digest was asked for or it was dropped');
      let at = 0;
      while (at < chunk.length) {
        const n = Math.min(chunk.length - at, BatchBytes - filled);
        chunk.copy(batch, filled, at, at + n);
        filled += n;
        at += n;
        if (filled === BatchBytes) send();
      }
      return worker.failed !== undefined || job.inFlight < InFlightBytes;
    },
    onDrain(callback) {
      if (worker.failed || job.inFlight < InFlightBytes) callback();
      else job.onDrain = callback;
    },
    digest() {
      return new Promise<string>((resolve, reject) => {
        if (worker.failed) {
          reject(worker.failed);
          return;
        }
        job.resolve = resolve;
        job.reject = reject;
        send();
        release();
        worker.ask({ t: 'd', id, a: algorithm });
      });
    },
    abandon() {
      worker.drop(id);
      release();
    },
  };
}
