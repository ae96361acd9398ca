/** One challenge of a `WWW-Authenticate` header (RFC 7235 §4.1). */
export interface Challenge {
  /** Lower-cased: schemes are case-insensitive. */
  scheme: string;
  /** Auth-params with lower-cased names; values unquoted and unescaped. */
  params: Record<string, string>;
  token68?: string;
}

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const token68char = /[A-Za-z0-9\-._~+/]/;

/**
 * Parses every challenge in one or more `WWW-Authenticate` values. Commas separate both
 * challenges and their params, so a bare token not followed by `=` starts the next challenge.
 * Unquoted values are read leniently up to the next comma, since some registries send
 * `realm=https://…` without quotes.
 */
export function parseWwwAuthenticate(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (typeof header !== 'string') return header.flatMap((h) => parseWwwAuthenticate(h));
  const s = header;
  const n = s.length;
  let i = 0;
  const out: Challenge[] = [];

  const skipSpace = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && tchar.test(s[i] as string)) i++;
    return s.slice(start, i);
  };
  const readQuoted = (): string => {
    i++; // opening quote
    let value = '';
    while (i < n && s[i] !== '"') {
      if (s[i] === '\\' && i + 1 < n) i++;
      value += s[i];
      i++;
    }
    i++; // closing quote (or end of a malformed header)
    return value;
  };
  const readBareValue = (): string => {
    const start = i;
    while (i < n && s[i] !== ',' && s[i] !== ' ' && s[i] !== '\t') i++;
    return s.slice(start, i);
  };
  const atEndOfItem = (): boolean => {
    const save = i;
    skipSpace();
    const end = i >= n || s[i] === ',';
    i = save;
    return end;
  };

  while (i < n) {
    while (i < n && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= n) break;
    const scheme = readToken();
    if (!scheme) {
      i++; // not a token: skip the stray character rather than loop forever
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    skipSpace();

    const beforeToken68 = i;
    while (i < n && token68char.test(s[i] as string)) i++;
    if (i > beforeToken68) {
      while (i < n && s[i] === '=') i++;
      // `name=value` continues past the `=`; a token68 (`abc==`) ends the item there.
      if (atEndOfItem()) {
        challenge.token68 = s.slice(beforeToken68, i);
        continue;
      }
    }
    i = beforeToken68;

    for (;;) {
      skipSpace();
      const beforeName = i;
      const name = readToken();
      if (!name) break;
      skipSpace();
      if (s[i] !== '=') {
        i = beforeName; // a token without `=`: the scheme of the next challenge
        break;
      }
      i++;
      skipSpace();
      const value = s[i] === '"' ? readQuoted() : readBareValue();
      const key = name.toLowerCase();
      if (!(key in challenge.params)) challenge.params[key] = value;
      skipSpace();
      if (s[i] === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  return out;
}

/** The challenge a client should answer: Bearer when offered, else Basic. */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic');
}
