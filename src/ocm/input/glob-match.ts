import { LadingError } from '../../oci/index.js';

/** One element of a pattern: a literal character, `?`, or a character class. */
type Token =
  | { kind: 'char'; char: number }
  | { kind: 'any' }
  | { kind: 'class'; negated: boolean; ranges: [number, number][] };

/** A run of tokens, after a `*` or not (Go's "chunk"). */
interface Chunk {
  star: boolean;
  tokens: Token[];
}

const cache = new Map<string, Chunk[]>();
const Slash = 0x2f;

/**
 * Go's filepath.Match on `/`-separated paths: `*` is any run of non-`/` characters, `?` one
 * non-`/` character, `[...]`/`[^...]` a character class (which, as in Go, may match `/`), `\x`
 * the character x. A malformed pattern is an INVALID_ARGUMENT error, as Go reports ErrBadPattern
 * (here for the whole pattern, before anything is matched).
 *
 * Matched as Go matches, chunk by chunk with no backtracking into earlier stars: time in
 * proportion to the pattern's length times the name's, whatever the pattern (a regular expression
 * of many `*` backtracks exponentially: `*a*a*…*b` against a name of 40 `a`s ran for minutes).
 */
export function goPathMatch(pattern: string, name: string): boolean {
  let chunks = cache.get(pattern);
  if (!chunks) {
    chunks = compile(pattern);
    cache.set(pattern, chunks);
  }
  const text = codePoints(name);
  let at = 0;
  for (let c = 0; c < chunks.length; c++) {
    const { star, tokens } = chunks[c] as Chunk;
    const last = c === chunks.length - 1;
    if (star && tokens.length === 0) {
      // A trailing `*` takes the rest of the name, unless the rest holds a `/`.
      return !text.slice(at).includes(Slash);
    }
    const here = matchChunk(tokens, text, at);
    if (here >= 0 && (!last || here === text.length)) {
      at = here;
      continue;
    }
    let matched = false;
    if (star) {
      // The `*` takes one character more at a time, never a `/`.
      for (let i = at; i < text.length && text[i] !== Slash; i++) {
        const next = matchChunk(tokens, text, i + 1);
        if (next < 0 || (last && next !== text.length)) continue;
        at = next;
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return at === text.length;
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0) as number);
  return out;
}

/** Where `tokens` matched from `at` end, or -1. */
function matchChunk(tokens: Token[], text: number[], at: number): number {
  let i = at;
  for (const token of tokens) {
    const c = text[i];
    if (c === undefined) return -1;
    if (token.kind === 'char') {
      if (c !== token.char) return -1;
    } else if (token.kind === 'any') {
      if (c === Slash) return -1;
    } else {
      const inside = token.ranges.some(([lo, hi]) => lo <= c && c <= hi);
      if (inside === token.negated) return -1;
    }
    i++;
  }
  return i;
}

function bad(pattern: string): never {
  throw new LadingError('INVALID_ARGUMENT', `syntax error in pattern ${JSON.stringify(pattern)}`);
}

function compile(pattern: string): Chunk[] {
  const chars = [...pattern];
  const chunks: Chunk[] = [];
  let current: Chunk = { star: false, tokens: [] };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') {
      // A star starts the next chunk; stars in a row are one star.
      if (current.tokens.length > 0) {
        chunks.push(current);
        current = { star: true, tokens: [] };
      } else current.star = true;
    } else if (c === '?') current.tokens.push({ kind: 'any' });
    else if (c === '\\') {
      const next = chars[++i];
      if (next === undefined) bad(pattern);
      current.tokens.push({ kind: 'char', char: next.codePointAt(0) as number });
    } else if (c === '[') {
      let j = i + 1;
      let negated = false;
      if (chars[j] === '^') {
        negated = true;
        j++;
      }
      const ranges: [number, number][] = [];
      for (;;) {
        const ch = chars[j];
        if (ch === undefined) bad(pattern);
        if (ch === ']' && ranges.length > 0) break;
        const lo = classChar(chars, j, pattern);
        j = lo.next;
        let hi = lo;
        if (chars[j] === '-') {
          hi = classChar(chars, j + 1, pattern);
          j = hi.next;
          if (hi.char < lo.char) bad(pattern);
        }
        ranges.push([lo.char, hi.char]);
      }
      current.tokens.push({ kind: 'class', negated, ranges });
      i = j;
    } else {
      current.tokens.push({ kind: 'char', char: c.codePointAt(0) as number });
    }
  }
  if (current.tokens.length > 0 || current.star || chunks.length === 0) chunks.push(current);
  return chunks;
}

/** One character of a class: not `-` or `]` unescaped, `\x` for x. */
function classChar(chars: string[], at: number, pattern: string): { char: number; next: number } {
  const c = chars[at];
  if (c === undefined || c === '-' || c === ']') bad(pattern);
  if (c === '\\') {
    const next = chars[at + 1];
    if (next === undefined) bad(pattern);
    return { char: next.codePointAt(0) as number, next: at + 2 };
  }
  return { char: c.codePointAt(0) as number, next: at + 1 };
}
