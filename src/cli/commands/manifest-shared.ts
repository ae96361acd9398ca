import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  Annotation,
  type Descriptor,
  goDescriptor,
  goStringify,
  isLadingError,
  isValidDigest,
  LadingError,
} from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { escapeInvisible, safeText } from '../output/safe-text.js';
import type { OpenedTarget } from '../targets.js';

/** ORAS status prompts, padded as ORAS pads them so columns line up. */
export const Prompt = {
  Uploading: 'Uploading',
  Uploaded: 'Uploaded ',
  Exists: 'Exists   ',
  Fetching: 'Fetching ',
  Fetched: 'Fetched  ',
  Added: 'Added    ',
  Merged: 'Merged   ',
  Removed: 'Removed  ',
  Packed: 'Packed   ',
  Pushed: 'Pushed   ',
  Updated: 'Updated  ',
} as const;

export function shortDigest(desc: Descriptor): string {
  const i = desc.digest.indexOf(':');
  return desc.digest.slice(i + 1, i + 13);
}

/** `Uploading 1a2b3c4d5e6f application/vnd…` as ORAS prints transfer states. */
export function statusLine(io: CliIO, prompt: string, desc: Descriptor): void {
  io.stdout.write(
    `${prompt} ${safeText(shortDigest(desc))} ${safeText(desc.annotations?.[Annotation.Title] ?? desc.mediaType)}\n`,
  );
}

/** The longest indented JSON printed (16 times the largest manifest). */
const MaxIndentedChars = 64 * 1024 * 1024;

/**
 * Go's `json.Indent` with two spaces, plus a newline, which is what ORAS's `--pretty` does: key
 * order, number spelling and string escapes stay as they were; only whitespace changes.
 */
export function indentJson(bytes: Uint8Array | string, where: string): string {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  try {
    JSON.parse(text);
  } catch (error) {
    throw new LadingError('INVALID_ARGUMENT', `${where}: failed to prettify: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let out = '';
  let depth = 0;
  // An opened container defers its newline, so that `{}` and `[]` stay on one line as in Go.
  let pending = false;
  const newline = () => {
    // Indentation grows with depth: a 4 MiB document nested a million deep would be terabytes.
    if (out.length > MaxIndentedChars) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `${where}: indented, the document would exceed ${MaxIndentedChars} characters (nested too deeply); not printed`,
      );
    }
    return `\n${'  '.repeat(depth)}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (c === '}' || c === ']') {
      depth--;
      out += pending ? c : `${newline()}${c}`;
      pending = false;
      continue;
    }
    if (pending) {
      out += newline();
      pending = false;
    }
    if (c === '{' || c === '[') {
      out += c;
      depth++;
      pending = true;
    } else if (c === ',') {
      out += `,${newline()}`;
    } else if (c === ':') {
      out += ': ';
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      // A bidi override inside a string would reorder the terminal's line: the same string, escaped.
      out += escapeInvisible(text.slice(i, j + 1));
      i = j;
    } else {
      out += c;
    }
  }
  return `${out}\n`;
}

/** JSON written as ORAS writes it: raw bytes, or indented with `--pretty`. */
export function jsonOutput(bytes: Uint8Array, pretty: boolean, where: string): Uint8Array | string {
  return pretty ? indentJson(bytes, where) : bytes;
}

/**
 * The descriptor ORAS shows for what `reference` names in `opened`: oras-go resolves a tag of an OCI
 * layout directory to its index.json entry, `org.opencontainers.image.ref.name` included (a digest,
 * a layout tar and a registry give the descriptor as it is). For `manifest fetch`/`delete
 * --descriptor`, `manifest fetch --format` and `discover --format`; never written into a manifest.
 */
export function shownDescriptor(opened: OpenedTarget, reference: string, desc: Descriptor): Descriptor {
  if (opened.kind !== 'oci-layout' || isValidDigest(reference) || !isDirectory(opened.base)) return desc;
  return { ...desc, annotations: { ...(desc.annotations ?? {}), [Annotation.RefName]: reference } };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** `json.Marshal(ocispec.Descriptor)`: Go field order, sorted annotations, HTML escaping. */
export function descriptorBytes(desc: Descriptor): Uint8Array {
  return Buffer.from(goStringify(goDescriptor(desc)));
}

export function printDescriptor(io: CliIO, desc: Descriptor, pretty: boolean): void {
  io.stdout.write(jsonOutput(descriptorBytes(desc), Boolean(pretty), 'descriptor'));
}

/** How deep a value goValue re-encodes may be nested: no manifest comes near, a hostile one could overflow the stack. */
const MaxNesting = 1000;

/** A parsed JSON value as Go's `map[string]any` re-encodes it: object keys sorted. */
export function goValue(value: unknown, depth = 0): unknown {
  if (depth > MaxNesting) {
    throw new LadingError('INVALID_MANIFEST', `JSON nested more than ${MaxNesting} levels deep: refusing to show it`);
  }
  if (Array.isArray(value)) return value.map((v) => goValue(v, depth + 1));
  if (value && typeof value === 'object') {
    return new Map(Object.entries(value).map(([k, v]) => [k, goValue(v, depth + 1)]));
  }
  return value;
}

/** Writes a whole output file: atomically for a regular file, in place for /dev/stdout or a fifo. */
export async function writeOutputFile(path: string, data: Uint8Array | string, option = '--output'): Promise<void> {
  await (await import('../output-file.js')).writeOutputFile(path, data, option);
}

/**
 * Streams verified content into `path`: for a regular file through a temp file beside it, renamed
 * only after the stream ended without a digest or size error, so a bad download leaves no file.
 */
export async function writeOutputStream(path: string, stream: Readable, option = '--output'): Promise<void> {
  await (await import('../output-file.js')).writeOutputStream(stream, path, option);
}

/**
 * Copies a stream to stdout without ending it; the verifying stream throws at its end on a
 * mismatch. A reader that went away (`| head -c 100`) ends the copy quietly.
 */
export async function writeStdout(io: CliIO, stream: Readable): Promise<void> {
  await (await import('../output-file.js')).copyToStream(stream, io.stdout);
}

/** The ORAS confirmation: `<prompt> [y/N] ` on stdout, `y` or `yes` on stdin goes ahead. */
export async function confirm(io: CliIO, prompt: string): Promise<boolean> {
  const { ask } = await import('../prompt.js');
  const answer = (await ask(io, `${prompt} [y/N] `, false)).trim().toLowerCase();
  if (answer === 'y' || answer === 'yes') return true;
  io.stdout.write('Operation cancelled.\n');
  return false;
}

/** Reads a file, or stdin for `-`, refusing more than `limit` bytes. */
export async function readInput(file: string, limit: number): Promise<Buffer> {
  if (file === '') throw new LadingError('INVALID_ARGUMENT', 'missing file name');
  let bytes: Buffer;
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of process.stdin) {
        total += (chunk as Buffer).length;
        if (total > limit) throw new LadingError('SIZE_EXCEEDS_LIMIT', `stdin: more than ${limit} bytes`);
        chunks.push(chunk as Buffer);
      }
      bytes = Buffer.concat(chunks, total);
    } else {
      // Bounded as stdin is: the file may be a device (/dev/zero) or a pipe (`<(jq …)`, which is
      // why a FIFO is read too, as ORAS does; its open waits for a writer, and a second Ctrl-C
      // still ends the process, see endBySignal).
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 })) {
        total += (chunk as Buffer).length;
        if (total > limit) throw new LadingError('SIZE_EXCEEDS_LIMIT', `${file}: more than ${limit} bytes`);
        chunks.push(chunk as Buffer);
      }
      bytes = Buffer.concat(chunks, total);
    }
  } catch (error) {
    if (isLadingError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LadingError('NOT_FOUND', `${file}: no such file or directory`, { cause: error });
    if (code === 'EISDIR')
      throw new LadingError('INVALID_ARGUMENT', `${file}: a directory, not a file`, { cause: error });
    throw new LadingError('IO_ERROR', `failed to read ${file}: ${(error as Error).message}`, { cause: error });
  }
  if (bytes.length > limit) {
    throw new LadingError('SIZE_EXCEEDS_LIMIT', `${file}: ${bytes.length} bytes exceeds the ${limit}-byte limit`);
  }
  return bytes;
}

/** Content read from stdin and a credential read from stdin cannot share it. */
export function checkStdinConflict(flags: { passwordStdin?: boolean; identityTokenStdin?: boolean }): void {
  if (flags.passwordStdin || flags.identityTokenStdin) {
    const flag = flags.passwordStdin ? '--password-stdin' : '--identity-token-stdin';
    throw new LadingError('INVALID_ARGUMENT', `\`-\` (content from stdin) and \`${flag}\` cannot be used together`);
  }
}

/** Fails when two flags that exclude each other were both given. */
export function exclusive(flags: Record<string, boolean>): void {
  const given = Object.entries(flags)
    .filter(([, on]) => on)
    .map(([name]) => name);
  if (given.length >= 2)
    throw new LadingError('INVALID_ARGUMENT', `${given.join(', ')} cannot be used at the same time`);
}

/** True for a NOT_FOUND from any backend: a registry 404, a missing layout entry. */
export function isNotFound(error: unknown): boolean {
  return isLadingError(error, 'NOT_FOUND');
}
