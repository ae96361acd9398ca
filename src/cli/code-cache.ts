import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { cacheFolder, cacheHome } from './cache-folder.js';

/** What the CommonJS body (body.ts, bundled as dist/bin/lading.cjs) exports. */
export interface Body {
  start(argv: string[]): Promise<void>;
  isCommandWord(word: string): boolean;
}

/** The bundled body's identity, written into main.js by scripts/bundle.mjs. */
export interface BodyId {
  /** The body's file name beside main.js. */
  file: string;
  /** sha256 of the body's text (hex). */
  hash: string;
  /** lading's version when it was built. */
  version: string;
}

const extension = '.v8cache';
/** Cache files nobody has rewritten for this long go when another one is written. */
const maxAge = 30 * 24 * 3600 * 1000;

/**
 * The cache file for this body, Node and command: one per top-level command word (`cp`, `push`,
 * …), so that each holds the functions its command compiled. The name carries the body's hash, so
 * a rebuilt or upgraded lading never reads another build's cache; V8 itself rejects a cache of
 * another V8 version or other flags.
 */
export function cacheKey(
  id: BodyId,
  args: readonly string[],
  nodeFlags: string = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join('\0'),
): { key: string; word: string } {
  const first = args.find((a) => !a.startsWith('-')) ?? '';
  const word = /^[a-z][a-z0-9-]{0,31}$/.test(first) ? first : '';
  const version = id.version.replace(/[^\w.+-]/g, '_').slice(0, 40);
  // A command run on OCI layouts only compiles none of the registry client: its cache would leave a
  // later pull to compile all of that (measured: a 4 MiB pull 3–4 ms slower). Such runs keep their
  // own, and so do a copy into a layout and one out of a layout (a pull with a push's cache: +2.6 ms).
  const suffix = word ? sidesOf(word, args) : '';
  // V8 refuses a cache made under other V8 flags (`--max-old-space-size` in NODE_OPTIONS, a
  // profiler's flags): runs with and without them, in turn, would each reject and rewrite the
  // other's file. Node's flags, as given, name their own file.
  const flags = nodeFlags.replace(/\0/g, '')
    ? `-f${createHash('sha256').update(nodeFlags).digest('hex').slice(0, 8)}`
    : '';
  const key = `lading-${version}-${id.hash.slice(0, 16)}-node${process.version}-${process.arch}${flags}-${word || 'none'}${suffix}`;
  return { key, word };
}

/**
 * Which of an ORAS command's sides are OCI layouts, as a key suffix: `-local` for layouts only,
 * `-to-local` / `-from-local` for a copy into / out of a layout, nothing for registries only.
 */
function sidesOf(word: string, args: readonly string[]): string {
  const has = (flag: string) => args.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (word === 'cp' || word === 'copy') {
    const from = has('--from-oci-layout') || has('--from-oci-layout-path');
    const to = has('--to-oci-layout') || has('--to-oci-layout-path');
    return from && to ? '-local' : to ? '-to-local' : from ? '-from-local' : '';
  }
  return has('--oci-layout') || has('--oci-layout-path') ? '-local' : '';
}

/**
 * Compiles and runs the body with lading's own V8 code cache, kept in the user's cache folder
 * (`cacheFolder()`), never in the package: V8 then skips parsing and compiling the ~1.1 MB file and
 * every function the command ran when the cache was made. Missing, rejected (another V8, other
 * flags), truncated, corrupt or foreign: the body compiles as usual and the cache is (re)written at
 * exit, atomically (temp file + rename). Any failure (read-only or missing home) only means no
 * cache. NODE_DISABLE_COMPILE_CACHE=1 (Node's switch) or LADING_CODE_CACHE=0 turn it off;
 * LADING_DEBUG_CODE_CACHE=1 says on stderr what happened.
 */
export function loadBody(
  path: string,
  id: BodyId,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; require?: NodeJS.Require } = {},
): Body {
  const env = options.env ?? process.env;
  // The build checks that the body is ASCII (scripts/bundle.mjs): read as Latin-1 it becomes a
  // one-byte string in a copy, twice as fast as decoding UTF-8.
  const source = readFileSync(path, 'latin1');
  const debug =
    env.LADING_DEBUG_CODE_CACHE === '1' ? (s: string) => process.stderr.write(`code cache: ${s}\n`) : undefined;
  let folder: string | undefined;
  if (!env.NODE_DISABLE_COMPILE_CACHE && env.LADING_CODE_CACHE !== '0') {
    try {
      folder = cacheFolder(env);
    } catch {
      // no home: no cache
    }
  }
  const { key, word } = cacheKey(id, args);
  const file = folder && join(folder, key + extension);
  // Each file starts with this line: a file of another build copied under this name is refused.
  const label = Buffer.from(`${key}\n`);
  let cachedData: Buffer | undefined;
  let damaged = false;
  if (file) {
    try {
      const bytes = readFileSync(file);
      if (bytes.subarray(0, label.length).equals(label)) {
        // V8 checks a cache's version, flags and length, but in release builds not its payload: a
        // damaged file would crash the process. The second line is the payload's SHA-256 (node:crypto
        // is loaded anyway: every command hashes); a cache that does not match is not used.
        const sum = bytes.subarray(label.length, label.length + sumLength);
        const payload = bytes.subarray(label.length + sumLength);
        if (sum.equals(checksum(payload))) cachedData = payload;
        else damaged = true;
      } else debug?.(`foreign ${file}`);
    } catch {
      debug?.(`missing ${file}`);
    }
  }
  // The file is the body already inside its CommonJS wrapper (scripts/bundle.mjs): compiled as read,
  // with no 1.1 MB string to join first.
  const script = new Script(source, { filename: path, cachedData });
  if (damaged || cachedData) debug?.(`${damaged || script.cachedDataRejected ? 'rejected' : 'used'} ${file}`);
  const module = { exports: {} as Body };
  const wrapper = script.runInThisContext() as (...a: unknown[]) => void;
  // The body's require resolves from its own folder: the caller's own require where it sits in the
  // same folder (main.js, which saves loading node:module at every start), else one made for it.
  const bodyRequire = options.require ?? process.getBuiltinModule('node:module').createRequire(path);
  wrapper.call(module.exports, module.exports, bodyRequire, module, path, dirname(path));
  const body = module.exports;
  if (file && folder && (!cachedData || script.cachedDataRejected) && (!word || body.isCommandWord(word))) {
    // At exit, so that the cache holds every function this command compiled.
    process.once('exit', () => {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        const home = cacheHome(env);
        if (home && !statSync(home).isDirectory()) throw new Error(`${home} is not a folder`);
        mkdirSync(folder, { recursive: true, mode: 0o700 });
        const payload = script.createCachedData();
        writeFileSync(tmp, Buffer.concat([label, checksum(payload), payload]), { mode: 0o600 });
        renameSync(tmp, file);
        debug?.(`written ${file}`);
        prune(folder, file);
      } catch {
        debug?.(`not written ${file}`);
        try {
          unlinkSync(tmp);
        } catch {
          // nothing was written
        }
      }
    });
  }
  return body;
}

/** The cache file's second line: the payload's SHA-256, hex, and a newline. */
const sumLength = 65;

function checksum(payload: Uint8Array): Buffer {
  return Buffer.from(`${createHash('sha256').update(payload).digest('hex')}\n`);
}

/** Removes cache files (and left-over temp files) that no run has written for 30 days. */
function prune(folder: string, keep: string): void {
  const now = Date.now();
  for (const name of readdirSync(folder)) {
    const full = join(folder, name);
    if (full === keep || !name.startsWith('lading-') || !(name.endsWith(extension) || name.endsWith('.tmp'))) continue;
    try {
      const age = now - statSync(full).mtimeMs;
      if (age > maxAge || (name.endsWith('.tmp') && age > 24 * 3600 * 1000)) unlinkSync(full);
    } catch {
      // gone already, or not ours to remove
    }
  }
}
