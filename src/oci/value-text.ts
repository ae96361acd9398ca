/** The most characters of a string value an error message quotes. */
const MaxQuoted = 80;

/**
 * A value read from a document, as an error message shows it: `nothing` for a missing field, a
 * scalar as JSON writes it, a string quoted and cut after 80 characters, an array or an object by
 * its kind only. Never walks into the value: a field nested 100,000 deep would overflow the stack
 * of `JSON.stringify`, and a 4 MiB string would make a 4 MiB error line.
 */
export function valueText(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    if (value.length <= MaxQuoted) return JSON.stringify(value);
    // Cut on a code point, so that no lone surrogate is left at the end.
    const cut = Array.from(value.slice(0, MaxQuoted + 1))
      .slice(0, -1)
      .join('');
    return `${JSON.stringify(cut).slice(0, -1)}…" (${value.length} characters)`;
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/**
 * What `JSON.parse` found wrong, without the excerpt of the text V8 quotes after an unexpected
 * token (`Unexpected token 'c', ..."auth":c2VjcmV0On"... is not valid JSON`): the text may be a
 * docker config.json, and the excerpt a piece of a credential.
 */
export function jsonProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
}
