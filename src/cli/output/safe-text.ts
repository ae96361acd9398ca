/**
 * Text that comes from an artifact, a registry or a component (titles, annotations, tags,
 * repository and component names, a server's error text) is data. Printed as it is, an escape
 * sequence in it drives the terminal (recolours, moves the cursor, erases lines, sets the window
 * title, plants OSC 8 links) and a newline or carriage return forges lines of our own output. So
 * every such character is shown as an escape instead: `\n`, `\r`, `\t`, `\u001b`, `\u202e`.
 *
 * The `\uXXXX` spelling is chosen because it is also a valid JSON string escape: the last-line
 * defence (`terminalText`) can run over JSON output without changing what the JSON means.
 * Backslashes are left alone: a title that spells `\n` itself reads the same as an escaped
 * newline, which is ambiguous to a reader but cannot drive the terminal or split a line.
 */

/** Characters that reorder or hide text without being controls: bidi marks, embeddings, overrides and isolates, zero width space, BOM, line and paragraph separators. (ZWJ and ZWNJ stay: scripts need them.) */
function isInvisibleFormat(code: number): boolean {
  return (
    code === 0x061c ||
    code === 0x200b ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x2028 && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    code === 0xfeff
  );
}

/** C0 controls, DEL and C1 controls. */
function isControl(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f);
}

/**
 * What a terminal must not get raw from data: every control but the newline and tab our output
 * is made of, and every invisible formatting character (bidi overrides and isolates, zero width
 * space, BOM, line separators).
 */
export function isUnsafeOnTerminal(code: number): boolean {
  return (isControl(code) && code !== 0x0a && code !== 0x09) || isInvisibleFormat(code);
}

/** Every character `isControl` or `isInvisibleFormat` flags (the predicates below are subsets). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching controls is the point
const mayNeedEscape = /[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;

/** The escape `safeText` writes for a character: `\n`, `\r`, `\t`, else `\uXXXX`. */
export function escapeOf(code: number): string {
  if (code === 0x0a) return '\\n';
  if (code === 0x0d) return '\\r';
  if (code === 0x09) return '\\t';
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

function escapeWhere(text: string, unsafe: (code: number) => boolean): string {
  // Most text has none of the characters any predicate here flags: one native scan says so.
  if (!mayNeedEscape.test(text)) return text;
  let out: string | undefined;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (!unsafe(code)) continue;
    out = (out ?? '') + text.slice(from, i) + escapeOf(code);
    from = i + 1;
  }
  return out === undefined ? text : out + text.slice(from);
}

/**
 * A value from data, ready to be put into a line of text output: every control character
 * (newline, tab and carriage return included) and every invisible formatting character escaped.
 */
export function safeText(value: unknown): string {
  return escapeWhere(String(value), (code) => isControl(code) || isInvisibleFormat(code));
}

/**
 * The last-line defence, applied to everything the CLI writes as text: control characters other
 * than the newline and tab that our own output is made of are escaped. The terminal sequences the
 * progress display draws with go through a separate channel (`CliStream.writeControl`).
 */
export function terminalText(text: string): string {
  return escapeWhere(text, (code) => isControl(code) && code !== 0x0a && code !== 0x09);
}

/**
 * Text for a terminal: `terminalText`, and the invisible formatting characters escaped too. Only
 * where stdout or stderr is a terminal: JSON stays JSON (an escape inside a string means the same
 * character), and text into a pipe or a file is left as it is.
 */
export function ttyText(text: string): string {
  return escapeWhere(text, isUnsafeOnTerminal);
}

/**
 * JSON text with the invisible formatting characters of `safeText` written as `\uXXXX` escapes.
 * They can only stand inside strings there, where the escape means the same character: the JSON
 * parses to exactly the same value. (Controls are escaped by JSON.stringify or, for DEL and C1,
 * by `terminalText`.) A lone surrogate in a string (from a `\ud800` escape in what was read) is
 * written as U+FFFD, as Go writes invalid text: strict JSON readers refuse a lone surrogate.
 */
export function jsonText(value: unknown, indent?: number): string {
  return escapeInvisible(JSON.stringify(value, wellFormed, indent));
}

function wellFormed(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replace(loneSurrogate, '\ufffd') : value;
}

/** A high surrogate not followed by a low one, or a low one not after a high one (code units: no `u` flag). */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A JSON string literal (or any JSON text) with its invisible formatting characters escaped, as `jsonText`. */
export function escapeInvisible(json: string): string {
  return escapeWhere(json, isInvisibleFormat);
}
