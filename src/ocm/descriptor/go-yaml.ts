import { LadingError } from '../../oci/index.js';

/**
 * YAML text of a JSON value exactly as upstream produces it: sigs.k8s.io/yaml turns JSON into
 * YAML with go-yaml v2, whose emitter sorts map keys in its own "natural" order, picks a scalar
 * style per string, and folds long scalars at 80 columns. Descriptors stored as `+yaml` and the
 * UTF8 input's `yaml` field depend on these bytes, so the emitter below follows go-yaml v2.4's
 * rules for the subset of YAML a JSON value can produce (block mappings and sequences, `{}`/`[]`
 * for empty ones, scalars).
 */
export function goYaml(value: unknown): string {
  const emitter = new Emitter();
  emitter.node(value, { root: true, sequence: false, mapping: false, simpleKey: false });
  emitter.documentEnd();
  return emitter.text();
}

const bestIndent = 2;
const bestWidth = 80;

interface Context {
  root: boolean;
  sequence: boolean;
  mapping: boolean;
  simpleKey: boolean;
}

type Style = 'plain' | 'single' | 'double' | 'literal';

interface Analysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  singleQuoted: boolean;
  block: boolean;
}

class Emitter {
  #out: string[] = [];
  #column = 0;
  #whitespace = true;
  #indention = true;
  #indent = -1;
  #indents: number[] = [];
  #mappingContext = false;

  text(): string {
    return this.#out.join('');
  }

  documentEnd(): void {
    this.#writeIndent();
  }

  node(value: unknown, context: Context): void {
    this.#mappingContext = context.mapping;
    if (Array.isArray(value)) {
      if (value.length === 0) this.#flowEmpty('[', ']');
      else this.#blockSequence(value);
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
      if (entries.length === 0) this.#flowEmpty('{', '}');
      else this.#blockMapping(entries.sort(([a], [b]) => (goYamlKeyLess(a, b) ? -1 : goYamlKeyLess(b, a) ? 1 : 0)));
    } else {
      const { text, style } = scalarOf(value);
      this.#scalar(text, style, context);
    }
  }

  #increaseIndent(flow: boolean, indentless: boolean): void {
    this.#indents.push(this.#indent);
    if (this.#indent < 0) this.#indent = flow ? bestIndent : 0;
    else if (!indentless) this.#indent += bestIndent;
  }

  #popIndent(): void {
    this.#indent = this.#indents.pop() ?? -1;
  }

  #put(text: string): void {
    this.#out.push(text);
    this.#column += 1;
  }

  #putBreak(): void {
    this.#out.push('\n');
    this.#column = 0;
  }

  #writeIndent(): void {
    const indent = Math.max(this.#indent, 0);
    if (!this.#indention || this.#column > indent || (this.#column === indent && !this.#whitespace)) this.#putBreak();
    while (this.#column < indent) this.#put(' ');
    this.#whitespace = true;
    this.#indention = true;
  }

  #writeIndicator(indicator: string, needWhitespace: boolean, isWhitespace: boolean, isIndention: boolean): void {
    if (needWhitespace && !this.#whitespace) this.#put(' ');
    for (const ch of indicator) this.#put(ch);
    this.#whitespace = isWhitespace;
    this.#indention = this.#indention && isIndention;
  }

  #flowEmpty(open: string, close: string): void {
    this.#writeIndicator(open, true, true, false);
    this.#increaseIndent(true, false);
    this.#popIndent();
    this.#writeIndicator(close, false, false, false);
  }

  #blockSequence(items: unknown[]): void {
    this.#increaseIndent(false, this.#mappingContext && !this.#indention);
    for (const item of items) {
      this.#writeIndent();
      this.#writeIndicator('-', true, false, true);
      this.node(item, { root: false, sequence: true, mapping: false, simpleKey: false });
    }
    this.#popIndent();
  }

  #blockMapping(entries: [string, unknown][]): void {
    this.#increaseIndent(false, false);
    for (const [key, value] of entries) {
      this.#writeIndent();
      const analysis = analyze(key);
      const { style } = scalarOf(key);
      // go-yaml writes a key inline only when it is short and on one line; otherwise `? key`.
      if (!analysis.multiline && Buffer.byteLength(key) <= 128) {
        this.#scalar(key, style, { root: false, sequence: false, mapping: true, simpleKey: true });
        this.#writeIndicator(':', false, false, false);
      } else {
        this.#writeIndicator('?', true, false, true);
        this.#scalar(key, style, { root: false, sequence: false, mapping: true, simpleKey: false });
        this.#writeIndent();
        this.#writeIndicator(':', true, false, true);
      }
      this.node(value, { root: false, sequence: false, mapping: true, simpleKey: false });
    }
    this.#popIndent();
  }

  #scalar(text: string, wanted: Style, context: Context): void {
    const analysis = analyze(text);
    let style = wanted;
    if (context.simpleKey && analysis.multiline) style = 'double';
    if (style === 'plain') {
      if (!analysis.blockPlain) style = 'single';
      if (text.length === 0 && context.simpleKey) style = 'single';
    }
    if (style === 'single' && !analysis.singleQuoted) style = 'double';
    if (style === 'literal' && (!analysis.block || context.simpleKey)) style = 'double';

    this.#increaseIndent(true, false);
    const allowBreaks = !context.simpleKey;
    switch (style) {
      case 'plain':
        this.#plain(text, allowBreaks);
        break;
      case 'single':
        this.#single(text, allowBreaks);
        break;
      case 'double':
        this.#double(text, allowBreaks);
        break;
      case 'literal':
        this.#literal(text);
        break;
    }
    this.#popIndent();
  }

  #plain(text: string, allowBreaks: boolean): void {
    if (!this.#whitespace) this.#put(' ');
    const chars = [...text];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i] as string;
      if (ch === ' ') {
        if (allowBreaks && !spaces && this.#column > bestWidth && chars[i + 1] !== ' ') this.#writeIndent();
        else this.#put(ch);
        spaces = true;
      } else {
        this.#put(ch);
        this.#indention = false;
        spaces = false;
      }
    }
    this.#whitespace = false;
    this.#indention = false;
  }

  #single(text: string, allowBreaks: boolean): void {
    this.#writeIndicator("'", true, false, false);
    const chars = [...text];
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i] as string;
      if (ch === ' ') {
        if (
          allowBreaks &&
          !spaces &&
          this.#column > bestWidth &&
          i > 0 &&
          i < chars.length - 1 &&
          chars[i + 1] !== ' '
        ) {
          this.#writeIndent();
        } else {
          this.#put(ch);
        }
        spaces = true;
      } else if (isBreak(ch)) {
        // A `\n` never gets here: strings with one are written as literal blocks.
        this.#out.push(ch);
        this.#column = 0;
        this.#indention = true;
        breaks = true;
      } else {
        if (breaks) this.#writeIndent();
        if (ch === "'") this.#put("'");
        this.#put(ch);
        this.#indention = false;
        spaces = false;
        breaks = false;
      }
    }
    this.#writeIndicator("'", false, false, false);
    this.#whitespace = false;
    this.#indention = false;
  }

  #double(text: string, allowBreaks: boolean): void {
    this.#writeIndicator('"', true, false, false);
    const chars = [...text];
    let spaces = false;
    for (let i = 0; i < chars.length; i++) {
      const ch = chars[i] as string;
      const cp = ch.codePointAt(0) as number;
      if (!isPrintable(cp) || cp === 0xfeff || isBreak(ch) || ch === '"' || ch === '\\') {
        this.#put('\\');
        for (const c of escapeOf(cp)) this.#put(c);
        spaces = false;
      } else if (ch === ' ') {
        if (allowBreaks && !spaces && this.#column > bestWidth && i > 0 && i < chars.length - 1) {
          this.#writeIndent();
          if (chars[i + 1] === ' ') this.#put('\\');
        } else {
          this.#put(ch);
        }
        spaces = true;
      } else {
        this.#put(ch);
        spaces = false;
      }
    }
    this.#writeIndicator('"', false, false, false);
    this.#whitespace = false;
    this.#indention = false;
  }

  #literal(text: string): void {
    this.#writeIndicator('|', true, false, false);
    const chars = [...text];
    const first = chars[0];
    if (first === ' ' || (first !== undefined && isBreak(first)))
      this.#writeIndicator(String(bestIndent), false, false, false);
    const last = chars[chars.length - 1];
    let chomp = '';
    if (last === undefined || !isBreak(last)) chomp = '-';
    else if (chars.length === 1) chomp = '+';
    else if (isBreak(chars[chars.length - 2] as string)) chomp = '+';
    if (chomp) this.#writeIndicator(chomp, false, false, false);
    this.#putBreak();
    this.#indention = true;
    this.#whitespace = true;
    let breaks = true;
    for (const ch of chars) {
      if (isBreak(ch)) {
        if (ch === '\n') this.#putBreak();
        else {
          this.#out.push(ch);
          this.#column = 0;
        }
        this.#indention = true;
        breaks = true;
      } else {
        if (breaks) this.#writeIndent();
        this.#put(ch);
        this.#indention = false;
        breaks = false;
      }
    }
  }
}

function isBreak(ch: string): boolean {
  return ch === '\n' || ch === '\r' || ch === '\u0085' || ch === '\u2028' || ch === '\u2029';
}

/** go-yaml's printable set: it does not count characters outside the BMP as printable. */
function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

const namedEscapes: Record<number, string> = {
  0: '0',
  7: 'a',
  8: 'b',
  9: 't',
  10: 'n',
  11: 'v',
  12: 'f',
  13: 'r',
  27: 'e',
  34: '"',
  92: '\\',
  133: 'N',
  160: '_',
  8232: 'L',
  8233: 'P',
};

function escapeOf(cp: number): string {
  const named = namedEscapes[cp];
  if (named !== undefined) return named;
  const hex = cp.toString(16).toUpperCase();
  if (cp <= 0xff) return `x${hex.padStart(2, '0')}`;
  if (cp <= 0xffff) return `u${hex.padStart(4, '0')}`;
  return `U${hex.padStart(8, '0')}`;
}

function analyze(value: string): Analysis {
  if (value.length === 0) {
    return { multiline: false, flowPlain: false, blockPlain: true, singleQuoted: true, block: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let previousSpace = false;
  let previousBreak = false;
  if (value.startsWith('---') || value.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  const chars = [...value];
  let precededByWhitespace = true;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const next = chars[i + 1];
    const followedByWhitespace = next === undefined || next === ' ' || next === '\t' || isBreak(next);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      } else if (ch === '?' || ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      } else if (ch === '-' && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else if (',?[]{}'.includes(ch)) {
      flowIndicators = true;
    } else if (ch === ':') {
      flowIndicators = true;
      if (followedByWhitespace) blockIndicators = true;
    } else if (ch === '#' && precededByWhitespace) {
      flowIndicators = true;
      blockIndicators = true;
    }
    const cp = ch.codePointAt(0) as number;
    if (!isPrintable(cp)) special = true;
    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(ch)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = ch === ' ' || ch === '\t' || isBreak(ch) || ch === '\0';
  }
  const result: Analysis = {
    multiline: lineBreaks,
    flowPlain: true,
    blockPlain: true,
    singleQuoted: true,
    block: true,
  };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    result.flowPlain = false;
    result.blockPlain = false;
  }
  if (trailingSpace) result.block = false;
  if (breakSpace) {
    result.flowPlain = false;
    result.blockPlain = false;
    result.singleQuoted = false;
  }
  if (spaceBreak || special) {
    result.flowPlain = false;
    result.blockPlain = false;
    result.singleQuoted = false;
    result.block = false;
  }
  if (lineBreaks) {
    result.flowPlain = false;
    result.blockPlain = false;
  }
  if (flowIndicators) result.flowPlain = false;
  if (blockIndicators) result.blockPlain = false;
  return result;
}

function scalarOf(value: unknown): { text: string; style: Style } {
  if (value === null || value === undefined) return { text: 'null', style: 'plain' };
  if (typeof value === 'boolean') return { text: value ? 'true' : 'false', style: 'plain' };
  if (typeof value === 'number') return { text: formatYamlNumber(value), style: 'plain' };
  if (typeof value === 'string') {
    if (value.includes('\n')) return { text: value, style: 'literal' };
    const plain = !resolvesToNonString(value) && !isBase60Float(value);
    return { text: value, style: plain ? 'plain' : 'double' };
  }
  throw new LadingError('INVALID_DESCRIPTOR', `cannot encode a ${typeof value} as YAML`);
}

/**
 * A number as go-yaml prints it after reading it back from Go's JSON text: integers that fit
 * int64/uint64 stay integers, everything else is a float64 printed with strconv's 'g' format.
 */
export function formatYamlNumber(value: number): string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? '.nan' : value > 0 ? '.inf' : '-.inf';
  const json = String(value);
  if (/^-?\d+$/.test(json) && BigInt(json) >= -(2n ** 63n) && BigInt(json) < 2n ** 64n) return json;
  if (Object.is(value, -0)) return '-0';
  // toExponential() gives the shortest round-trip digits, the same digits Go's 'g', -1 uses.
  const [mantissa = '', exp = '0'] = value.toExponential().split('e');
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? '-' : '+';
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return json;
}

const resolveMap = new Set([
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'true',
  'True',
  'TRUE',
  'on',
  'On',
  'ON',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'false',
  'False',
  'FALSE',
  'off',
  'Off',
  'OFF',
  '',
  '~',
  'null',
  'Null',
  'NULL',
  '.nan',
  '.NaN',
  '.NAN',
  '.inf',
  '.Inf',
  '.INF',
  '+.inf',
  '+.Inf',
  '+.INF',
  '-.inf',
  '-.Inf',
  '-.INF',
  '<<',
]);

const yamlStyleFloat = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const goInteger = /^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[1-9][0-9]*|0)$/;
const base60Float = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** Whether go-yaml v2 would read `value` unquoted as something other than a string. */
export function resolvesToNonString(value: string): boolean {
  if (resolveMap.has(value)) return true;
  const first = value[0] ?? '';
  if (first === '.') return /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(value) && Number.isFinite(Number(value));
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    if (isTimestamp(value)) return true;
    const plain = value.replaceAll('_', '');
    if (goInteger.test(plain) && fitsGoInteger(plain)) return true;
    // strconv.ParseFloat fails on overflow, and go-yaml then keeps the text as a string.
    return yamlStyleFloat.test(plain) && Number.isFinite(Number(plain));
  }
  return false;
}

/** strconv.ParseInt/ParseUint with base 0: int64 for signed text, uint64 otherwise. */
function fitsGoInteger(text: string): boolean {
  const negative = text.startsWith('-');
  let body = text.replace(/^[-+]/, '');
  if (/^0[oO]/.test(body)) body = `0o${body.slice(2)}`;
  else if (/^0[0-7]/.test(body)) body = `0o${body.slice(1)}`;
  const magnitude = BigInt(body);
  return negative ? magnitude <= 2n ** 63n : magnitude < 2n ** 64n;
}

function isBase60Float(value: string): boolean {
  const c = value[0] ?? '';
  if (!(c === '+' || c === '-' || (c >= '0' && c <= '9')) || !value.includes(':')) return false;
  return base60Float.test(value);
}

const timestampPattern =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))|(?: (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?))?$/;

/** The four timestamp layouts go-yaml v2 tries, with Go's range checks on the fields. */
function isTimestamp(value: string): boolean {
  const m = timestampPattern.exec(value);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) return false;
  const hour = m[4] ?? m[7];
  const minute = m[5] ?? m[8];
  const second = m[6] ?? m[9];
  if (hour !== undefined && (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59)) return false;
  return true;
}

const letter = /\p{L}/u;
const digit = /\p{Nd}/u;

/**
 * go-yaml v2's map key order for string keys (v2.4.0 to v2.4.4, which upstream uses): runs of
 * digits compare by value, letters by code point, and at the first difference a non-letter sorts
 * before a letter. (yaml v3 later changed the letter rule after digits; v2 did not.)
 */
export function goYamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ac = ar[i] as string;
    const bc = br[i] as string;
    if (ac === bc) continue;
    const al = letter.test(ac);
    const bl = letter.test(bc);
    if (al && bl) return (ac.codePointAt(0) as number) < (bc.codePointAt(0) as number);
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ac === '0' || bc === '0') {
      for (let j = i - 1; j >= 0 && digit.test(ar[j] as string); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && digit.test(ar[ai] as string); ai++) an = an * 10n + BigInt(digitValue(ar[ai] as string));
    let bi = i;
    for (; bi < br.length && digit.test(br[bi] as string); bi++) bn = bn * 10n + BigInt(digitValue(br[bi] as string));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return (ac.codePointAt(0) as number) < (bc.codePointAt(0) as number);
  }
  return ar.length < br.length;
}

/** Go subtracts '0' from the rune, so non-ASCII digits give large values; keep that. */
function digitValue(ch: string): number {
  return (ch.codePointAt(0) as number) - 48;
}
