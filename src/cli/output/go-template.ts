import { LadingError } from '../../oci/index.js';
import * as sprig from './go-sprig.js';
import { GoTime, goFormat, goNow, goTimeJson, goTimeString, goUnix } from './go-time.js';

/**
 * Go's text/template, for the templates ORAS users write with `--format go-template`. ORAS
 * executes its template over the JSON-decoded output model, so data here is plain JSON: objects,
 * arrays, strings, numbers (Go float64), booleans and null.
 *
 * Supported: text and `{{…}}` actions with `{{-`/`-}}` trimming and `{{/* comments *\/}}`;
 * fields (`.a.b`, `$x.a`, `(pipeline).a`), variables (`$`, `$x := …`, `$x = …`), pipelines
 * (`a | b`), literals (strings, raw strings, numbers, true/false/nil); `if`/`else if`/`else`,
 * `range` (lists, maps in key order, integers; `$i, $e :=`; `else`; `break`/`continue`), `with`
 * (`else with`, `else`), `define`/`template`/`block`; Go's functions (and, or, not, len, index,
 * slice, eq, ne, lt, le, gt, ge, print, printf, println, html, js, urlquery) and the sprig
 * functions ORAS users reach for (json/toJson, toPrettyJson, toRawJson, upper, lower, trim,
 * trimPrefix, trimSuffix, replace, contains, hasPrefix, hasSuffix, join, split, default, empty,
 * quote, squote, keys, first, last, add, sub, base, trunc, substr, repeat, indent, nindent, title,
 * b64enc, b64dec, now, date, dateInZone, htmlDate, htmlDateInZone, unixEpoch). A time (from `now`)
 * prints as Go's time.Time does; `date` formats one, or Unix seconds given as a template integer,
 * with Go's reference-time layouts.
 *
 * Values print as Go's `%v` prints them: numbers as float64 (`1.2345678e+07`), a missing key as
 * `<no value>`, null as `<nil>`, lists as `[a b]`, maps as `map[k:v]`.
 */

type Value = unknown;
/** A missing map key: Go's invalid reflect.Value, printed as `<no value>`. */
const NoValue: unique symbol = Symbol('no value');

class TemplateError extends Error {}

// ---------- lexing ----------

type Tok =
  | { k: 'field'; v: string; joined: boolean } // .a (v = 'a'), joined: right after the previous token
  | { k: 'dot' }
  | { k: 'var'; v: string } // $ or $x
  | { k: 'ident'; v: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: number; int: boolean }
  | { k: 'bool'; v: boolean }
  | { k: 'nil' }
  | { k: 'pipe' }
  | { k: 'lparen' }
  | { k: 'rparen' }
  | { k: 'declare' } // :=
  | { k: 'assign' } // =
  | { k: 'comma' };

function lexAction(src: string, line: number): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const err = (m: string) => new TemplateError(`${line}: ${m}`);
  const identChar = (c: string) => /[A-Za-z0-9_]/.test(c);
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '|') {
      out.push({ k: 'pipe' });
      i++;
    } else if (c === '(') {
      out.push({ k: 'lparen' });
      i++;
    } else if (c === ')') {
      out.push({ k: 'rparen' });
      i++;
    } else if (c === ',') {
      out.push({ k: 'comma' });
      i++;
    } else if (c === ':' && src[i + 1] === '=') {
      out.push({ k: 'declare' });
      i += 2;
    } else if (c === '=') {
      out.push({ k: 'assign' });
      i++;
    } else if (c === '"') {
      let j = i + 1;
      let s = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const e = src[j + 1];
          const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", '0': '\0' };
          if (e === 'x' || e === 'u') {
            const len = e === 'x' ? 2 : 4;
            const hex = src.slice(j + 2, j + 2 + len);
            if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== len) throw err('invalid escape in string');
            s += String.fromCharCode(Number.parseInt(hex, 16));
            j += 2 + len;
            continue;
          }
          if (e === undefined || !(e in map)) throw err('invalid escape in string');
          s += map[e];
          j += 2;
          continue;
        }
        if (src[j] === '\n') throw err('unterminated quoted string');
        s += src[j];
        j++;
      }
      if (j >= src.length) throw err('unterminated quoted string');
      out.push({ k: 'str', v: s });
      i = j + 1;
    } else if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) throw err('unterminated raw quoted string');
      out.push({ k: 'str', v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === "'") {
      const m = /^'(\\.|[^'\\])'/.exec(src.slice(i));
      if (!m) throw err('invalid character constant');
      const body = m[1] as string;
      const ch = body.startsWith('\\')
        ? ({ n: '\n', t: '\t', '\\': '\\', "'": "'" }[body[1] as string] ?? body[1])
        : body;
      out.push({ k: 'num', v: (ch as string).codePointAt(0) as number, int: true });
      i += m[0].length;
    } else if (c === '.' && !/[0-9]/.test(src[i + 1] ?? '')) {
      let j = i + 1;
      while (j < src.length && identChar(src[j] as string)) j++;
      if (j === i + 1) out.push({ k: 'dot' });
      else out.push({ k: 'field', v: src.slice(i + 1, j), joined: i > 0 && !/\s/.test(src[i - 1] as string) });
      i = j;
    } else if (c === '$') {
      let j = i + 1;
      while (j < src.length && identChar(src[j] as string)) j++;
      out.push({ k: 'var', v: src.slice(i, j) });
      i = j;
    } else if (/[0-9+\-.]/.test(c)) {
      const m = /^[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d*([eE][+-]?\d+)?)/.exec(
        src.slice(i),
      );
      const text = m?.[0] ?? '';
      if (!text || text === '+' || text === '-' || text === '.')
        throw err(`bad number syntax: "${src.slice(i, i + 10)}"`);
      const clean = text.replace(/_/g, '');
      const sign = clean.startsWith('-') ? -1 : 1;
      const body = clean.replace(/^[+-]/, '');
      let v: number;
      let int = true;
      if (/^0[xX]/.test(body)) v = Number.parseInt(body.slice(2), 16);
      else if (/^0[oO]/.test(body)) v = Number.parseInt(body.slice(2), 8);
      else if (/^0[bB]/.test(body)) v = Number.parseInt(body.slice(2), 2);
      else {
        v = Number(body);
        int = !/[.eE]/.test(body);
      }
      if (Number.isNaN(v)) throw err(`bad number syntax: "${text}"`);
      out.push({ k: 'num', v: sign * v, int });
      i += text.length;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i;
      while (j < src.length && identChar(src[j] as string)) j++;
      const word = src.slice(i, j);
      if (word === 'true' || word === 'false') out.push({ k: 'bool', v: word === 'true' });
      else if (word === 'nil') out.push({ k: 'nil' });
      else out.push({ k: 'ident', v: word });
      i = j;
    } else {
      throw err(`unexpected "${c}" in command`);
    }
    // A field chain continues right after an operand: `$x.a`, `(…).a`.
  }
  return out;
}

// ---------- parsing ----------

type Operand =
  | { t: 'chain'; head: Operand; fields: string[] }
  | { t: 'field'; fields: string[] } // .a.b
  | { t: 'dot' }
  | { t: 'var'; name: string; fields: string[] }
  | { t: 'lit'; v: Value; int?: boolean }
  | { t: 'nil' }
  | { t: 'ident'; name: string }
  | { t: 'pipe'; pipe: Pipeline };

interface Cmd {
  args: Operand[];
}
interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Cmd[];
}

type Node =
  | { t: 'text'; v: string }
  | { t: 'action'; pipe: Pipeline; line: number }
  | { t: 'if' | 'with'; pipe: Pipeline; then: Node[]; else: Node[] | undefined; line: number }
  | { t: 'range'; pipe: Pipeline; then: Node[]; else: Node[] | undefined; line: number }
  | { t: 'template'; name: string; pipe: Pipeline | undefined; line: number }
  | { t: 'break' | 'continue' };

interface RawItem {
  kind: 'text' | 'action';
  text: string;
  line: number;
}

/** Splits a template into text and actions, applying the `{{- ` / ` -}}` trim markers. */
function split(src: string): RawItem[] {
  const items: RawItem[] = [];
  let i = 0;
  let line = 1;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, '');
    trimNext = false;
    if (open < 0) {
      if (text) items.push({ kind: 'text', text, line });
      break;
    }
    let start = open + 2;
    const trimLeft = src[start] === '-' && /[ \t\r\n]/.test(src[start + 1] ?? '');
    if (trimLeft) {
      text = text.replace(/[ \t\r\n]+$/, '');
      start += 2;
    }
    if (text) items.push({ kind: 'text', text, line });
    line += (src.slice(i, open).match(/\n/g) ?? []).length;
    // A comment may hold "}}"; everything else ends at the first "}}" outside a string.
    let end: number;
    const afterSpace = src.slice(start).match(/^\s*/)?.[0].length ?? 0;
    if (src.startsWith('/*', start + afterSpace)) {
      const close = src.indexOf('*/', start + afterSpace + 2);
      if (close < 0) throw new TemplateError(`${line}: unclosed comment`);
      end = src.indexOf('}}', close + 2);
      if (end < 0) throw new TemplateError(`${line}: unclosed action`);
      const between = src.slice(close + 2, end);
      if (!/^(\s-)?$/.test(between.replace(/^\s+(?=\s-$)/, '')) && between.trim() !== '' && between !== ' -')
        throw new TemplateError(`${line}: comment ends before closing delimiter`);
      const trimRight = / -$/.test(src.slice(close + 2, end));
      line += (src.slice(open, end).match(/\n/g) ?? []).length;
      i = end + 2;
      trimNext = trimRight;
      continue;
    }
    end = findClose(src, start, line);
    let body = src.slice(start, end);
    const trimRight = /[ \t\r\n]-$/.test(body);
    if (trimRight) body = body.slice(0, -2);
    items.push({ kind: 'action', text: body, line });
    line += (src.slice(open, end).match(/\n/g) ?? []).length;
    i = end + 2;
    trimNext = trimRight;
  }
  return items;
}

function findClose(src: string, from: number, line: number): number {
  let quote: string | undefined;
  for (let j = from; j < src.length; j++) {
    const c = src[j];
    if (quote) {
      if (c === '\\' && quote === '"') j++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === '`' || c === "'") quote = c;
    else if (c === '}' && src[j + 1] === '}') return j;
  }
  throw new TemplateError(`${line}: unclosed action`);
}

class Parser {
  readonly #items: RawItem[];
  #pos = 0;
  readonly defines = new Map<string, Node[]>();

  constructor(items: RawItem[]) {
    this.#items = items;
  }

  parseAll(): Node[] {
    const { nodes, stop } = this.#list(new Set());
    if (stop) throw new TemplateError(`${stop.line}: unexpected {{${stop.word}}}`);
    return nodes;
  }

  /** Nodes up to one of the `stops` keywords (end, else), which is returned with its action. */
  #list(stops: Set<string>): { nodes: Node[]; stop?: { word: string; rest: Tok[]; line: number } } {
    const nodes: Node[] = [];
    while (this.#pos < this.#items.length) {
      const item = this.#items[this.#pos++] as RawItem;
      if (item.kind === 'text') {
        nodes.push({ t: 'text', v: item.text });
        continue;
      }
      const toks = lexAction(item.text, item.line);
      if (toks.length === 0) throw new TemplateError(`${item.line}: missing value for command`);
      const first = toks[0] as Tok;
      const word = first.k === 'ident' ? first.v : undefined;
      const rest = toks.slice(1);
      if (word === 'end' || word === 'else') {
        if (!stops.has(word)) throw new TemplateError(`${item.line}: unexpected {{${word}}}`);
        if (word === 'end' && rest.length > 0) throw new TemplateError(`${item.line}: unexpected tokens after end`);
        return { nodes, stop: { word, rest, line: item.line } };
      }
      if (word === 'if' || word === 'with' || word === 'range') {
        nodes.push(this.#control(word, rest, item.line));
      } else if (word === 'break' || word === 'continue') {
        if (!stops.has('in-range')) throw new TemplateError(`${item.line}: {{${word}}} outside {{range}}`);
        nodes.push({ t: word });
      } else if (word === 'define' || word === 'block') {
        const name = rest[0];
        if (name?.k !== 'str') throw new TemplateError(`${item.line}: ${word} needs a quoted template name`);
        const saved = new Set(['end']);
        const { nodes: body, stop } = this.#list(saved);
        if (stop?.word !== 'end') throw new TemplateError(`${item.line}: unexpected EOF in ${word}`);
        this.defines.set(name.v, body);
        if (word === 'block')
          nodes.push({
            t: 'template',
            name: name.v,
            pipe: new PipeParser(rest.slice(1), item.line).pipeline(false),
            line: item.line,
          });
      } else if (word === 'template') {
        const name = rest[0];
        if (name?.k !== 'str') throw new TemplateError(`${item.line}: template needs a quoted template name`);
        const pipe = rest.length > 1 ? new PipeParser(rest.slice(1), item.line).pipeline(false) : undefined;
        nodes.push({ t: 'template', name: name.v, pipe, line: item.line });
      } else {
        nodes.push({ t: 'action', pipe: new PipeParser(toks, item.line).pipeline(true), line: item.line });
      }
    }
    if (stops.size > 0) throw new TemplateError(`${this.#items.at(-1)?.line ?? 1}: unexpected EOF`);
    return { nodes };
  }

  #control(word: 'if' | 'with' | 'range', toks: Tok[], line: number): Node {
    const pipe = new PipeParser(toks, line).pipeline(true, word === 'range');
    const stops = new Set(['end', 'else']);
    if (word === 'range') stops.add('in-range');
    else for (const s of this.#rangeContext) stops.add(s);
    this.#rangeStack.push(word === 'range');
    const { nodes: then, stop } = this.#list(stops);
    let elseNodes: Node[] | undefined;
    if (stop?.word === 'else') {
      const r = stop.rest;
      const chained = r[0]?.k === 'ident' && (r[0].v === 'if' || r[0].v === 'with') ? r[0].v : undefined;
      if (chained) {
        // `{{else if …}}` is `{{else}}{{if …}}…{{end}}` sharing this control's `end`.
        elseNodes = [this.#control(chained, r.slice(1), stop.line)];
        this.#rangeStack.pop();
        return { t: word, pipe, then, else: elseNodes, line } as Node;
      }
      if (r.length > 0) throw new TemplateError(`${stop.line}: unexpected tokens after else`);
      const tail = this.#list(new Set(['end', ...(word === 'range' ? [] : this.#rangeContext)]));
      if (tail.stop?.word !== 'end') throw new TemplateError(`${line}: unexpected EOF`);
      elseNodes = tail.nodes;
    } else if (stop?.word !== 'end') {
      throw new TemplateError(`${line}: unexpected EOF`);
    }
    this.#rangeStack.pop();
    return { t: word, pipe, then, else: elseNodes, line } as Node;
  }

  readonly #rangeStack: boolean[] = [];
  get #rangeContext(): string[] {
    return this.#rangeStack.includes(true) ? ['in-range'] : [];
  }
}

class PipeParser {
  readonly #toks: Tok[];
  readonly #line: number;
  #i = 0;

  constructor(toks: Tok[], line: number) {
    this.#toks = toks;
    this.#line = line;
  }

  #err(m: string): TemplateError {
    return new TemplateError(`${this.#line}: ${m}`);
  }

  pipeline(allowDecl: boolean, range = false): Pipeline {
    const decl: string[] = [];
    let assign = false;
    if (allowDecl && this.#toks[0]?.k === 'var') {
      const t1 = this.#toks[1];
      const t2 = this.#toks[2];
      if (t1?.k === 'declare' || t1?.k === 'assign') {
        decl.push((this.#toks[0] as { v: string }).v);
        assign = t1.k === 'assign';
        this.#i = 2;
      } else if (range && t1?.k === 'comma' && t2?.k === 'var' && this.#toks[3]?.k === 'declare') {
        decl.push((this.#toks[0] as { v: string }).v, t2.v);
        this.#i = 4;
      }
    }
    const pipe = this.#pipe(decl, assign);
    if (this.#i < this.#toks.length) throw this.#err('unexpected token in command');
    return pipe;
  }

  #pipe(decl: string[], assign: boolean): Pipeline {
    const cmds: Cmd[] = [];
    for (;;) {
      const args: Operand[] = [];
      while (this.#i < this.#toks.length) {
        const t = this.#toks[this.#i] as Tok;
        if (t.k === 'pipe' || t.k === 'rparen') break;
        args.push(this.#operand());
      }
      if (args.length === 0) throw this.#err('missing value for command');
      cmds.push({ args });
      if (this.#toks[this.#i]?.k === 'pipe') {
        this.#i++;
        continue;
      }
      break;
    }
    return { decl, assign, cmds };
  }

  /** A field right after an operand, with no space between: it continues that operand's chain. */
  #joinedField(): boolean {
    const t = this.#toks[this.#i];
    return t?.k === 'field' && t.joined;
  }

  #operand(): Operand {
    const t = this.#toks[this.#i++] as Tok;
    let op: Operand;
    switch (t.k) {
      case 'dot':
        op = { t: 'dot' };
        break;
      case 'field': {
        const fields = [t.v];
        while (this.#joinedField()) fields.push((this.#toks[this.#i++] as { v: string }).v);
        return { t: 'field', fields };
      }
      case 'var': {
        const fields: string[] = [];
        while (this.#joinedField()) fields.push((this.#toks[this.#i++] as { v: string }).v);
        return { t: 'var', name: t.v, fields };
      }
      case 'str':
        op = { t: 'lit', v: t.v };
        break;
      case 'num':
        op = { t: 'lit', v: t.v, int: t.int };
        break;
      case 'bool':
        op = { t: 'lit', v: t.v };
        break;
      case 'nil':
        op = { t: 'nil' };
        break;
      case 'ident':
        op = { t: 'ident', name: t.v };
        break;
      case 'lparen': {
        const pipe = this.#pipe([], false);
        if (this.#toks[this.#i]?.k !== 'rparen') throw this.#err('unclosed left paren');
        this.#i++;
        op = { t: 'pipe', pipe };
        break;
      }
      default:
        throw this.#err(`unexpected ${t.k} in operand`);
    }
    // Only a parenthesized pipeline takes a field chain: `(index .files 0).path`.
    const fields: string[] = [];
    if (op.t === 'pipe') while (this.#joinedField()) fields.push((this.#toks[this.#i++] as { v: string }).v);
    return fields.length > 0 ? { t: 'chain', head: op, fields } : op;
  }
}

// ---------- values ----------

function isMap(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof IntValue) && !(v instanceof GoTime);
}

/** An integer constant of the template (Go int), as opposed to a JSON number (Go float64). */
class IntValue {
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
}

function num(v: Value): number | undefined {
  if (v instanceof IntValue) return v.n;
  return typeof v === 'number' ? v : undefined;
}

function truth(v: Value): boolean {
  if (v === NoValue || v === null || v === undefined) return false;
  if (v instanceof IntValue) return v.n !== 0;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's %v of a float64 (strconv 'g', shortest digits): exponent form below 1e-4 and from 1e6 up. */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, e] = n.toExponential().split('e') as [string, string];
  const exp = Number(e);
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mantissa}e${exp < 0 ? '-' : '+'}${abs < 10 ? `0${abs}` : abs}`;
  }
  return String(n);
}

function printValue(v: Value): string {
  if (v === NoValue) return '<no value>';
  if (v === null || v === undefined) return '<nil>';
  if (v instanceof IntValue) return String(v.n);
  if (v instanceof GoTime) return goTimeString(v);
  if (typeof v === 'number') return goFloat(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(printValue).join(' ')}]`;
  if (isMap(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${printValue(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

function plain(v: Value): Value {
  if (v === NoValue) return null;
  if (v instanceof IntValue) return v.n;
  if (v instanceof GoTime) return goTimeJson(v);
  if (Array.isArray(v)) return v.map(plain);
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

function typeName(v: Value): string {
  if (v === NoValue) return '<no value>';
  if (v === null || v === undefined) return '<nil>';
  if (v instanceof IntValue) return 'int';
  if (v instanceof GoTime) return 'time.Time';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** Go's fmt.Sprintf for the verbs templates use. */
export function goSprintf(format: string, args: Value[]): string {
  let out = '';
  let ai = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const m = /^([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/.exec(format.slice(i + 1));
    if (!m) {
      out += '%!(NOVERB)';
      break;
    }
    i += m[0].length;
    const [, flags = '', widthText, precText, verb = ''] = m;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (ai >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const arg = args[ai++];
    const n = num(arg);
    const isInt = arg instanceof IntValue;
    let s: string;
    const bad = () => `%!${verb}(${typeName(arg)}=${printValue(arg)})`;
    switch (verb) {
      case 'v':
        s = printValue(arg);
        break;
      case 's':
        s = typeof arg === 'string' ? arg : isInt || typeof arg === 'number' ? bad() : printValue(arg);
        if (precText !== undefined && typeof arg === 'string') s = s.slice(0, Number(precText));
        break;
      case 'q':
        s = typeof arg === 'string' ? JSON.stringify(arg) : bad();
        break;
      case 'd':
        s = isInt && n !== undefined ? String(n) : bad();
        break;
      case 'f':
      case 'F':
        s = n !== undefined && !isInt ? n.toFixed(precText !== undefined ? Number(precText) : 6) : bad();
        break;
      case 'e':
        s =
          n !== undefined && !isInt
            ? n.toExponential(precText !== undefined ? Number(precText) : 6).replace(/e([+-])(\d)$/, 'e$10$2')
            : bad();
        break;
      case 'g':
        s = n !== undefined && !isInt ? goFloat(n) : bad();
        break;
      case 'x':
      case 'X': {
        if (isInt && n !== undefined) s = n.toString(16);
        else if (typeof arg === 'string') s = Buffer.from(arg).toString('hex');
        else s = bad();
        if (verb === 'X') s = s.toUpperCase();
        break;
      }
      case 't':
        s = typeof arg === 'boolean' ? String(arg) : bad();
        break;
      default:
        s = bad();
    }
    if (widthText !== undefined) {
      const width = Number(widthText);
      if (s.length < width)
        s = flags.includes('-')
          ? s.padEnd(width)
          : s.padStart(width, flags.includes('0') && /^[dfex]$/.test(verb) ? '0' : ' ');
    }
    out += s;
  }
  if (ai < args.length)
    out += `%!(EXTRA ${args
      .slice(ai)
      .map((a) => `${typeName(a)}=${printValue(a)}`)
      .join(', ')})`;
  return out;
}

function goJson(v: Value, indent?: string): string {
  // Go's encoding/json escapes <, > and & in HTML-safe mode, which toJson uses.
  const text = JSON.stringify(plain(v), null, indent) ?? 'null';
  return text.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function compare(a: Value, b: Value, op: string): boolean {
  const na = num(a);
  const nb = num(b);
  if (na !== undefined && nb !== undefined) {
    switch (op) {
      case 'eq':
        return na === nb;
      case 'lt':
        return na < nb;
      case 'le':
        return na <= nb;
      case 'gt':
        return na > nb;
      default:
        return na >= nb;
    }
  }
  if (typeof a === 'string' && typeof b === 'string') {
    switch (op) {
      case 'eq':
        return a === b;
      case 'lt':
        return a < b;
      case 'le':
        return a <= b;
      case 'gt':
        return a > b;
      default:
        return a >= b;
    }
  }
  if (op === 'eq') {
    if (typeof a === 'boolean' && typeof b === 'boolean') return a === b;
    if ((a === null || a === NoValue) && (b === null || b === NoValue)) return true;
    if (a === null || b === null || a === NoValue || b === NoValue)
      throw new TemplateError('incompatible types for comparison');
  }
  throw new TemplateError(
    op === 'eq' ? 'incompatible types for comparison' : `invalid type for comparison: ${typeName(a)}, ${typeName(b)}`,
  );
}

function length(v: Value): number {
  if (typeof v === 'string') return Buffer.byteLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMap(v)) return Object.keys(v).length;
  throw new TemplateError(`len of type ${typeName(v)}`);
}

function index(v: Value, ...keys: Value[]): Value {
  let cur = v;
  for (const k of keys) {
    if (Array.isArray(cur) || typeof cur === 'string') {
      const i = num(k);
      if (i === undefined || !Number.isInteger(i))
        throw new TemplateError(`cannot index slice/array with type ${typeName(k)}`);
      if (i < 0 || i >= cur.length) throw new TemplateError(`index out of range: ${i}`);
      cur = typeof cur === 'string' ? new IntValue(Buffer.from(cur)[i] as number) : cur[i];
    } else if (isMap(cur)) {
      if (typeof k !== 'string') throw new TemplateError(`value has type ${typeName(k)}; should be string`);
      cur = Object.hasOwn(cur, k) ? cur[k] : NoValue;
    } else if (cur === null || cur === NoValue) {
      throw new TemplateError('index of untyped nil');
    } else {
      throw new TemplateError(`can't index item of type ${typeName(cur)}`);
    }
  }
  return cur;
}

function str(v: Value): string {
  return typeof v === 'string' ? v : printValue(v);
}

type Fn = (...args: Value[]) => Value;

/** An argument for a Go `int` parameter: a template integer, not a JSON number (float64). */
function int(v: Value): number {
  if (v instanceof IntValue) return v.n;
  throw new TemplateError(`wrong type for value; expected int; got ${typeName(v)}`);
}

/** An argument for a Go `time.Time` parameter. */
function time(v: Value): GoTime {
  if (v instanceof GoTime) return v;
  throw new TemplateError(`wrong type for value; expected time.Time; got ${typeName(v)}`);
}

/** sprig's dateInZone: a time, or Unix seconds as a template integer; anything else is now. */
function dateInZone(layout: Value, t: Value, zone: Value): string {
  // JavaScript's calendar ends ±8.64e12 s from 1970 (about 273,000 years): further out would print NaN.
  if (t instanceof IntValue && Math.abs(t.n) > 8.64e12) {
    throw new TemplateError(`date: ${t.n} seconds is beyond the dates lading can print`);
  }
  const at = t instanceof GoTime ? t : t instanceof IntValue ? goUnix(t.n) : goNow();
  return goFormat(at.in(str(zone)), str(layout));
}

/** The template functions by name; a name is looked up only among these (see functionNamed). */
const functions: Record<string, Fn> = {
  not: (a) => !truth(a),
  len: (a) => new IntValue(length(a)),
  index: (a, ...k) => index(a, ...k),
  slice: (a, ...ix) => {
    const n = ix.map((x) => {
      const v = num(x);
      if (v === undefined) throw new TemplateError('cannot index slice with non-integer');
      return v;
    });
    if (typeof a !== 'string' && !Array.isArray(a)) throw new TemplateError(`can't slice item of type ${typeName(a)}`);
    const end = n[1] ?? a.length;
    if ((n[0] ?? 0) > end || end > a.length) throw new TemplateError('index out of range');
    return a.slice(n[0] ?? 0, end);
  },
  eq: (a, ...bs) => {
    if (bs.length === 0) throw new TemplateError('missing argument for comparison');
    return bs.some((b) => compare(a, b, 'eq'));
  },
  ne: (a, b) => !compare(a, b, 'eq'),
  lt: (a, b) => compare(a, b, 'lt'),
  le: (a, b) => compare(a, b, 'le'),
  gt: (a, b) => compare(a, b, 'gt'),
  ge: (a, b) => compare(a, b, 'ge'),
  print: (...a) => goPrint(a),
  println: (...a) => `${a.map(printValue).join(' ')}\n`,
  printf: (f, ...a) => goSprintf(str(f), a),
  html: (...a) => goPrint(a).replace(/[<>&'"\0]/g, (c) => htmlEscapes[c] as string),
  js: (...a) =>
    goPrint(a).replace(/[\\'"<>&=\n\r\t]/g, (c) =>
      c === '\\' || c === "'" || c === '"'
        ? `\\${c}`
        : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
    ),
  urlquery: (...a) => encodeURIComponent(goPrint(a)).replace(/%20/g, '+'),
  // sprig
  json: (a) => goJson(a),
  toJson: (a) => goJson(a),
  toRawJson: (a) => JSON.stringify(plain(a)) ?? 'null',
  toPrettyJson: (a) => goJson(a, '  '),
  upper: (a) => str(a).toUpperCase(),
  lower: (a) => str(a).toLowerCase(),
  trim: (a) => str(a).trim(),
  trimPrefix: (p, a) => (str(a).startsWith(str(p)) ? str(a).slice(str(p).length) : str(a)),
  trimSuffix: (s, a) => (str(s) && str(a).endsWith(str(s)) ? str(a).slice(0, -str(s).length) : str(a)),
  replace: (o, n, a) => str(a).split(str(o)).join(str(n)),
  contains: (s, a) => str(a).includes(str(s)),
  hasPrefix: (p, a) => str(a).startsWith(str(p)),
  hasSuffix: (s, a) => str(a).endsWith(str(s)),
  join: (sep, list) => (Array.isArray(list) ? list.map(str).join(str(sep)) : str(list)),
  split: (sep, a) =>
    Object.fromEntries(
      str(a)
        .split(str(sep))
        .map((p, i) => [`_${i}`, p]),
    ),
  splitList: (sep, a) => str(a).split(str(sep)),
  default: (d, ...a) => (a.length === 0 || !truth(a[0]) ? d : a[0]),
  empty: (a) => !truth(a),
  quote: (...a) =>
    a
      .filter((x) => x !== null && x !== NoValue)
      .map((x) => JSON.stringify(str(x)))
      .join(' '),
  squote: (...a) =>
    a
      .filter((x) => x !== null && x !== NoValue)
      .map((x) => `'${str(x)}'`)
      .join(' '),
  keys: (...maps) => maps.flatMap((m) => (isMap(m) ? Object.keys(m) : [])),
  first: (a) => (Array.isArray(a) ? (a.length > 0 ? a[0] : null) : null),
  last: (a) => (Array.isArray(a) ? (a.length > 0 ? a[a.length - 1] : null) : null),
  add: (...a) => new IntValue(a.reduce<number>((s, x) => s + Math.trunc(num(x) ?? Number(str(x))), 0)),
  sub: (a, b) => new IntValue(Math.trunc(num(a) ?? 0) - Math.trunc(num(b) ?? 0)),
  trunc: (c, a) => sprig.trunc(int(c), str(a)),
  substr: (start, end, a) => sprig.substr(int(start), int(end), str(a)),
  repeat: (c, a) => sprig.repeat(int(c), str(a), MAX_OUTPUT),
  indent: (c, a) => sprig.indent(int(c), str(a), MAX_OUTPUT),
  nindent: (c, a) => `\n${sprig.indent(int(c), str(a), MAX_OUTPUT)}`,
  title: (a) => sprig.title(str(a)),
  b64enc: (a) => sprig.b64enc(str(a)),
  b64dec: (a) => sprig.b64dec(str(a)),
  now: () => goNow(),
  date: (layout, t) => dateInZone(layout, t, 'Local'),
  dateInZone: (layout, t, zone) => dateInZone(layout, t, zone),
  htmlDate: (t) => dateInZone('2006-01-02', t, 'Local'),
  htmlDateInZone: (t, zone) => dateInZone('2006-01-02', t, zone),
  unixEpoch: (t) => String(time(t).seconds),
  base: (a) => {
    const s = str(a).replace(/\/+$/, '');
    return s === '' ? (str(a) === '' ? '.' : '/') : s.slice(s.lastIndexOf('/') + 1);
  },
};

/** The function `name` when the template language has one: `constructor` or `__proto__` is no function of it. */
function functionNamed(name: string): Fn | undefined {
  return Object.hasOwn(functions, name) ? functions[name] : undefined;
}

const htmlEscapes: Record<string, string> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  "'": '&#39;',
  '"': '&#34;',
  '\0': '\uFFFD',
};

/** fmt.Sprint: a space between operands when neither side is a string. */
function goPrint(args: Value[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(a);
  });
  return out;
}

// ---------- execution ----------

class Break {}
class Continue {}

const MAX_OUTPUT = 64 * 1024 * 1024;
const MAX_DEPTH = 1000;

class Exec {
  #out = '';
  readonly #vars: { name: string; value: Value }[] = [];
  readonly #defines: Map<string, Node[]>;
  #depth = 0;

  constructor(defines: Map<string, Node[]>) {
    this.#defines = defines;
  }

  get output(): string {
    return this.#out;
  }

  #write(s: string): void {
    this.#out += s;
    if (this.#out.length > MAX_OUTPUT) throw new TemplateError('output larger than 64 MiB');
  }

  /** Runs the top-level template with `.` and `$` set to the data. */
  start(nodes: Node[], data: Value): void {
    this.#vars.push({ name: '$', value: data });
    try {
      this.run(nodes, data);
    } catch (e) {
      if (e instanceof Break || e instanceof Continue) throw new TemplateError('break or continue outside range');
      throw e;
    }
  }

  run(nodes: Node[], dot: Value): void {
    for (const node of nodes) this.#node(node, dot);
  }

  #scoped(fn: () => void): void {
    const mark = this.#vars.length;
    try {
      fn();
    } finally {
      this.#vars.length = mark;
    }
  }

  #node(node: Node, dot: Value): void {
    switch (node.t) {
      case 'text':
        this.#write(node.v);
        return;
      case 'action': {
        const v = this.#pipeline(node.pipe, dot, node.line);
        if (node.pipe.decl.length === 0) this.#write(printValue(v));
        return;
      }
      case 'if':
      case 'with':
        this.#scoped(() => {
          const v = this.#pipeline(node.pipe, dot, node.line);
          if (truth(v)) this.#scoped(() => this.run(node.then, node.t === 'with' ? v : dot));
          else if (node.else) this.#scoped(() => this.run(node.else as Node[], dot));
        });
        return;
      case 'range':
        this.#scoped(() => this.#range(node, dot));
        return;
      case 'template': {
        const body = this.#defines.get(node.name);
        if (!body) throw new TemplateError(`${node.line}: no such template "${node.name}"`);
        if (++this.#depth > MAX_DEPTH) throw new TemplateError(`${node.line}: exceeded maximum template depth`);
        const v = node.pipe ? this.#pipeline(node.pipe, dot, node.line) : null;
        const saved = this.#vars.splice(0);
        this.#vars.push({ name: '$', value: v });
        try {
          this.run(body, v);
        } finally {
          this.#vars.splice(0, this.#vars.length, ...saved);
          this.#depth--;
        }
        return;
      }
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
    }
  }

  #range(node: Extract<Node, { t: 'range' }>, dot: Value): void {
    const pipe = { ...node.pipe, decl: [] };
    const v = this.#pipeline(pipe, dot, node.line);
    let entries: [Value, Value][];
    if (Array.isArray(v)) entries = v.map((x, i) => [new IntValue(i), x]);
    else if (isMap(v))
      entries = Object.keys(v)
        .sort()
        .map((k) => [k, v[k]]);
    else if (v === null || v === NoValue) entries = [];
    else if (v instanceof IntValue || (typeof v === 'number' && Number.isInteger(v))) {
      const n = num(v) as number;
      entries = Array.from({ length: Math.max(0, Math.min(n, 1e7)) }, (_, i) => [new IntValue(i), new IntValue(i)]);
    } else throw new TemplateError(`${node.line}: range can't iterate over ${printValue(v)}`);
    if (entries.length === 0) {
      if (node.else) this.#scoped(() => this.run(node.else as Node[], dot));
      return;
    }
    const decl = node.pipe.decl;
    for (const [k, x] of entries) {
      const mark = this.#vars.length;
      if (decl.length === 1) this.#vars.push({ name: decl[0] as string, value: x });
      if (decl.length === 2)
        this.#vars.push({ name: decl[0] as string, value: k }, { name: decl[1] as string, value: x });
      try {
        this.run(node.then, x);
      } catch (e) {
        if (e instanceof Break) break;
        if (!(e instanceof Continue)) throw e;
      } finally {
        this.#vars.length = mark;
      }
    }
  }

  #lookupVar(name: string, line: number): Value {
    for (let i = this.#vars.length - 1; i >= 0; i--) {
      const v = this.#vars[i] as { name: string; value: Value };
      if (v.name === name) return v.value;
    }
    throw new TemplateError(`${line}: undefined variable "${name}"`);
  }

  #pipeline(pipe: Pipeline, dot: Value, line: number): Value {
    let value: Value;
    let first = true;
    for (const cmd of pipe.cmds) {
      value = this.#command(cmd, dot, line, first ? undefined : { v: value });
      first = false;
    }
    if (pipe.decl.length > 0) {
      const name = pipe.decl[0] as string;
      if (pipe.assign) {
        for (let i = this.#vars.length - 1; i >= 0; i--) {
          const v = this.#vars[i] as { name: string; value: Value };
          if (v.name === name) {
            v.value = value;
            return value;
          }
        }
        throw new TemplateError(`${line}: undefined variable "${name}"`);
      }
      this.#vars.push({ name, value });
    }
    return value;
  }

  #command(cmd: Cmd, dot: Value, line: number, piped: { v: Value } | undefined): Value {
    const [head, ...rest] = cmd.args as [Operand, ...Operand[]];
    if (head.t === 'ident') {
      const fn = head.name === 'and' || head.name === 'or' ? undefined : functionNamed(head.name);
      if (head.name === 'and' || head.name === 'or') {
        const operands = [...rest.map((o) => () => this.#operand(o, dot, line)), ...(piped ? [() => piped.v] : [])];
        if (operands.length === 0) throw new TemplateError(`${line}: wrong number of args for ${head.name}`);
        let v: Value;
        for (const op of operands) {
          v = op();
          if (head.name === 'and' ? !truth(v) : truth(v)) return v;
        }
        return v;
      }
      if (!fn) throw new TemplateError(`${line}: function "${head.name}" not defined`);
      const args = rest.map((o) => this.#operand(o, dot, line));
      if (piped) args.push(piped.v);
      try {
        return fn(...args);
      } catch (e) {
        if (e instanceof TemplateError || e instanceof sprig.GoPanic)
          throw new TemplateError(`${line}: error calling ${head.name}: ${e.message}`);
        throw e;
      }
    }
    if (rest.length > 0 || piped) {
      const what = head.t === 'field' || head.t === 'chain' ? 'field' : 'non-function';
      throw new TemplateError(`${line}: can't give argument to ${what} ${describe(head)}`);
    }
    return this.#operand(head, dot, line);
  }

  #operand(op: Operand, dot: Value, line: number): Value {
    switch (op.t) {
      case 'dot':
        return dot;
      case 'lit':
        return op.int ? new IntValue(op.v as number) : op.v;
      case 'nil':
        throw new TemplateError(`${line}: nil is not a command`);
      case 'field':
        return this.#fields(dot, op.fields, line);
      case 'var':
        return this.#fields(this.#lookupVar(op.name, line), op.fields, line);
      case 'pipe':
        return this.#pipeline(op.pipe, dot, line);
      case 'chain':
        return this.#fields(this.#operand(op.head, dot, line), op.fields, line);
      case 'ident': {
        // A function used as an operand without arguments: `{{if not}}` is an error in Go too.
        const fn = functionNamed(op.name);
        if (!fn) throw new TemplateError(`${line}: function "${op.name}" not defined`);
        return fn();
      }
    }
  }

  #fields(value: Value, fields: string[], line: number): Value {
    let cur = value;
    for (const f of fields) {
      if (cur === NoValue) return NoValue;
      if (isMap(cur)) cur = Object.hasOwn(cur, f) ? cur[f] : NoValue;
      else if (cur === null) throw new TemplateError(`${line}: nil pointer evaluating interface {}.${f}`);
      else throw new TemplateError(`${line}: can't evaluate field ${f} in type ${typeName(cur)}`);
    }
    return cur;
  }
}

function describe(op: Operand): string {
  if (op.t === 'field') return `.${op.fields.join('.')}`;
  if (op.t === 'var') return op.name + op.fields.map((f) => `.${f}`).join('');
  if (op.t === 'lit') return JSON.stringify(op.v);
  return op.t;
}

/** A parsed template, ready to run over data. Errors are INVALID_ARGUMENT naming the template. */
export class GoTemplate {
  readonly nodes: Node[];
  readonly defines: Map<string, Node[]>;

  constructor(source: string) {
    try {
      const parser = new Parser(split(source));
      this.nodes = parser.parseAll();
      this.defines = parser.defines;
    } catch (e) {
      if (e instanceof TemplateError) throw new LadingError('INVALID_ARGUMENT', `template: format output:${e.message}`);
      throw e;
    }
  }

  /** Runs the template over data, which goes through a JSON round trip first (as ORAS's does). */
  execute(data: unknown): string {
    const exec = new Exec(this.defines);
    try {
      exec.start(this.nodes, JSON.parse(JSON.stringify(data ?? null)));
    } catch (e) {
      if (e instanceof TemplateError) throw new LadingError('INVALID_ARGUMENT', `template: format output:${e.message}`);
      throw e;
    }
    return exec.output;
  }
}

/** Parses and runs `source` over `data`. */
export function renderGoTemplate(source: string, data: unknown): string {
  return new GoTemplate(source).execute(data);
}
