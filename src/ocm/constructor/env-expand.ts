/**
 * Expands `$NAME` and `${NAME}` exactly as Go's os.Expand does, which upstream applies to the
 * whole constructor file before parsing it. There is no escape: `$$` is the (normally empty)
 * variable `$`. The rules, byte by byte:
 * - `${...}` up to the first `}` is a variable of that name, whatever it contains; `${}` and an
 *   unterminated `${` are removed;
 * - `$` followed by one of `*#$@!?-0123456789` is that one-character variable (also `${x}`);
 * - `$` followed by `[A-Za-z0-9_]+` is that variable;
 * - `$` followed by anything else, or at the end, stays as it is.
 * Unset variables expand to the empty string.
 */
export function expandEnv(text: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let start = 0;
  for (let j = 0; j < text.length; j++) {
    if (text[j] !== '$' || j + 1 >= text.length) continue;
    out += text.slice(start, j);
    const [name, width] = shellName(text, j + 1);
    if (name === '' && width > 0) {
      // Bad syntax: the characters are dropped.
    } else if (name === '') {
      out += '$';
    } else {
      out += lookup(name) ?? '';
    }
    j += width;
    start = j + 1;
  }
  return start === 0 ? text : out + text.slice(start);
}

function isSpecial(c: string | undefined): boolean {
  return c !== undefined && '*#$@!?-0123456789'.includes(c);
}

function isAlphaNum(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}

function shellName(text: string, at: number): [string, number] {
  if (text[at] === '{') {
    if (text.length - at > 2 && isSpecial(text[at + 1]) && text[at + 2] === '}') return [text[at + 1] as string, 3];
    for (let i = at + 1; i < text.length; i++) {
      if (text[i] === '}') {
        if (i === at + 1) return ['', 2];
        return [text.slice(at + 1, i), i - at + 1];
      }
    }
    return ['', 1];
  }
  if (isSpecial(text[at])) return [text[at] as string, 1];
  let i = at;
  while (i < text.length && isAlphaNum(text[i])) i++;
  return [text.slice(at, i), i - at];
}

/** A lookup over a plain environment object (for example `process.env`). */
export function envLookup(env: Readonly<Record<string, string | undefined>>): (name: string) => string | undefined {
  return (name) => (Object.hasOwn(env, name) ? env[name] : undefined);
}
