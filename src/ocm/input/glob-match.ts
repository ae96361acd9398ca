import { LadingError } from '../../oci/index.js';

const cache = new Map<string, RegExp>();

/**
 * Go's filepath.Match on `/`-separated paths: `*` is any run of non-`/` characters, `?` one
 * non-`/` character, `[...]`/`[^...]` a character class (which, as in Go, may match `/`), `\x`
 * the character x. A malformed pattern is an INVALID_ARGUMENT error, as Go reports ErrBadPattern.
 */
export function goPathMatch(pattern: string, name: string): boolean {
  let regex = cache.get(pattern);
  if (!regex) {
    regex = compile(pattern);
    cache.set(pattern, regex);
  }
  return regex.test(name);
}

function bad(pattern: string): never {
  throw new LadingError('INVALID_ARGUMENT', `syntax error in pattern ${JSON.stringify(pattern)}`);
}

function escapeClassChar(c: string): string {
  return /[\\\]^-]/.test(c) ? `\\${c}` : c;
}

function compile(pattern: string): RegExp {
  const chars = [...pattern];
  let out = '^';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\') {
      const next = chars[++i];
      if (next === undefined) bad(pattern);
      out += escapeRegex(next);
    } else if (c === '[') {
      let j = i + 1;
      let negated = false;
      if (chars[j] === '^') {
        negated = true;
        j++;
      }
      let cls = '';
      let ranges = 0;
      for (;;) {
        const ch = chars[j];
        if (ch === undefined) bad(pattern);
        if (ch === ']' && ranges > 0) break;
        const lo = classChar(chars, j, pattern);
        j = lo.next;
        let part = escapeClassChar(lo.char);
        if (chars[j] === '-') {
          const hi = classChar(chars, j + 1, pattern);
          j = hi.next;
          if ((hi.char.codePointAt(0) as number) < (lo.char.codePointAt(0) as number)) bad(pattern);
          part += `-${escapeClassChar(hi.char)}`;
        }
        cls += part;
        ranges++;
      }
      out += negated ? `[^${cls}]` : `[${cls}]`;
      i = j;
    } else {
      out += escapeRegex(c);
    }
  }
  return new RegExp(`${out}$`, 'u');
}

/** One character of a class: not `-` or `]` unescaped, `\x` for x. */
function classChar(chars: string[], at: number, pattern: string): { char: string; next: number } {
  const c = chars[at];
  if (c === undefined || c === '-' || c === ']') bad(pattern);
  if (c === '\\') {
    const next = chars[at + 1];
    if (next === undefined) bad(pattern);
    return { char: next, next: at + 2 };
  }
  return { char: c, next: at + 1 };
}

function escapeRegex(c: string): string {
  // Outside a character class `-` needs no escape, and under the `u` flag escaping it is an error.
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
