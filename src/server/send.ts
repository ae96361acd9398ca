import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

/** Bytes read from a blob file per chunk written to the connection. */
export const SendChunkBytes = 256 * 1024;
/** Chunks per response in flight at once: one being written while the next is read. */
const Depth = 2;
/** Idle chunks kept for the next response; more are left to the garbage collector. */
const PoolMax = 32;

const pool: Buffer[] = [];

function take(): Buffer {
  return pool.pop() ?? Buffer.allocUnsafeSlow(SendChunkBytes);
}

function give(buffer: Buffer): void {
  if (pool.length < PoolMax) pool.push(buffer);
}

/**
 * Streams bytes `start`..`end` (inclusive) of an open file into a response whose headers are set,
 * then ends it; closes the file. At most two chunks of SendChunkBytes per response are in flight
 * (one being read while the other is written), and a chunk goes back to a shared pool once the
 * connection has taken it: a download allocates nothing per chunk, so many clients pulling
 * gigabytes leave no garbage behind and memory stays flat. Resolves false when the client went
 * away (or the file could not be read) before the last byte.
 */
export async function sendFileRange(
  handle: FileHandle,
  res: ServerResponse,
  start: number,
  end: number,
): Promise<boolean> {
  let position = start;
  let gone = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = true;
    wake?.();
  };
  res.once('close', onClose);
  /** Chunks handed to the connection and not yet written out, oldest first. */
  const inFlight: Promise<Buffer | undefined>[] = [];
  const write = (chunk: Buffer, length: number): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      // The connection holds the chunk until this callback: only then can it be read into again.
      res.write(length === chunk.length ? chunk : chunk.subarray(0, length), (error) =>
        resolve(error ? undefined : chunk),
      );
    });
  const spare: Buffer[] = [];
  try {
    while (position <= end && !gone) {
      let chunk = spare.pop();
      if (!chunk) {
        if (inFlight.length >= Depth) {
          const done = await waitOrGone(inFlight.shift() as Promise<Buffer | undefined>);
          if (!done) break;
          chunk = done;
        } else chunk = take();
      }
      const want = Math.min(chunk.length, end - position + 1);
      const { bytesRead } = await handle.read(chunk, 0, want, position);
      if (bytesRead === 0 || gone) {
        spare.push(chunk);
        break;
      }
      position += bytesRead;
      inFlight.push(write(chunk, bytesRead));
    }
    if (position > end && !gone) {
      for (const pending of inFlight.splice(0)) {
        const chunk = await waitOrGone(pending);
        if (chunk) spare.push(chunk);
      }
      if (!gone) {
        await new Promise<void>((resolve) => {
          res.end(resolve);
          wake = resolve;
        });
      }
    }
  } catch {
    // A read error after the headers went out: the response can only be cut off.
  } finally {
    res.off('close', onClose);
    await handle.close().catch(() => {});
  }
  // Chunks still with a connection that went away are left to the garbage collector.
  for (const chunk of spare) give(chunk);
  const complete = position > end && !gone;
  if (!complete) res.destroy();
  return complete;

  function waitOrGone(pending: Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    if (gone) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      wake = () => resolve(undefined);
      void pending.then((chunk) => {
        wake = undefined;
        resolve(chunk);
      });
    });
  }
}
