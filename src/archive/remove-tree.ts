import { lstatSync, opendirSync, rmdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** How long {@link removeTree} holds the event loop before it lets it turn. */
const LoopTurnMs = 20;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/**
 * Removes a folder and everything in it (links themselves, never what they lead to); a missing
 * one is fine, as `fs.rm(path, { recursive: true, force: true })`. One entry at a time, by direct
 * calls, the folder read a few entries at a time: Node's own recursive `rm` asks to remove every
 * entry of a folder at once, and for the tens of thousands of blobs of a CTF kept unpacked (a tar or
 * tgz being written) that took some 100 MB of memory for a moment. Lets the event loop turn every
 * 20 ms or so.
 */
export async function removeTree(path: string): Promise<void> {
  let turned = performance.now();
  const turn = async () => {
    if (performance.now() - turned < LoopTurnMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    turned = performance.now();
  };
  const removeFile = async (file: string): Promise<void> => {
    try {
      unlinkSync(file);
    } catch (error) {
      if (code(error) === 'ENOENT') return;
      // A folder the listing did not say was one (a file system that gives no entry types).
      const folder = (code(error) === 'EISDIR' || code(error) === 'EPERM') && lstatSync(file).isDirectory();
      if (!folder) throw error;
      await removeFolder(file);
    }
  };
  const removeFolder = async (dir: string): Promise<void> => {
    // Removing entries while the folder is read may leave one unlisted: read it again then.
    for (let pass = 0; ; pass++) {
      let handle: ReturnType<typeof opendirSync>;
      try {
        handle = opendirSync(dir);
      } catch (error) {
        if (code(error) === 'ENOENT') return;
        if (code(error) === 'ENOTDIR') return removeFile(dir);
        throw error;
      }
      try {
        for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
          const at = join(dir, entry.name);
          if (entry.isDirectory()) await removeFolder(at);
          else await removeFile(at);
          await turn();
        }
      } finally {
        handle.closeSync();
      }
      try {
        rmdirSync(dir);
        return;
      } catch (error) {
        if (code(error) === 'ENOENT') return;
        if (code(error) !== 'ENOTEMPTY' || pass >= 2) throw error;
      }
    }
  };
  await removeFolder(path);
}
