import { type Document, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, visit } from 'yaml';
import { LadingError } from '../../oci/index.js';
import { valueText } from '../../oci/value-text.js';
import { accessFieldProblems } from '../access-fields.js';
import { goYamlReadOptions, yamlErrorText } from '../descriptor/go-yaml-read.js';
import { canonicalIdentity, formatIdentity, identityOf } from '../descriptor/identity.js';
import type { DigestSpec, Label, Provider, SourceRef, TypedSpec } from '../descriptor/model.js';
import { absentList } from '../descriptor/null-lists.js';
import { formatPath, type SchemaProblem } from '../descriptor/schema.js';
import { isTaggableVersion, MaxTagLength, versionToTag } from '../descriptor/version-tag.js';
import { aliasExpansionProblem, MaxDescriptorBytes } from '../descriptor/yaml-expansion.js';
import { canonicalInputType } from '../types.js';
import { envLookup, expandEnv } from './env-expand.js';
import { lineOf, nodeAt } from './locate.js';
import type {
  ComponentConstructor,
  ConstructorComponent,
  ConstructorReference,
  ConstructorResource,
  ConstructorSource,
  SourceLocation,
} from './model.js';
import { validateConstructorDocument, validateInputSpec } from './schema.js';

/** Options of {@link parseConstructor}. */
export interface ParseConstructorOptions {
  /** Name used in messages; usually the path given by the user. */
  file?: string;
  /**
   * Variables for `$NAME`/`${NAME}` expansion (upstream expands the whole file with the process
   * environment before parsing). Pass `false` to leave the text as it is.
   */
  env?: Readonly<Record<string, string | undefined>> | false;
}

type Path = (string | number)[];

/** Schema problems named in one error; the rest are counted. */
const MaxProblems = 10;
type Obj = Record<string, unknown>;

/**
 * Where a document parsed on its own sits in the constructor file: it holds `components[first]`
 * onwards (as its root sequence), and starts after `lineBase` lines of the file.
 */
interface ChunkPlace {
  first: number;
  lineBase: number;
}

class Context {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly chunk: ChunkPlace | undefined;
  readonly warnings: string[] = [];

  constructor(file: string, doc: Document, lines: LineCounter, chunk?: ChunkPlace) {
    this.file = file;
    this.doc = doc;
    this.lines = lines;
    this.chunk = chunk;
  }

  /** The path in `doc` of a path in the file's document. */
  #docPath(path: Path): Path {
    if (this.chunk === undefined) return path;
    const [top, index] = path;
    // Only the components of a chunk are in it: anything else is found in the whole document.
    if (top !== 'components' || typeof index !== 'number') throw new ChunkFallback();
    return [index - this.chunk.first, ...path.slice(2)];
  }

  /** The 1-based line in the file of a path (of its key's, with `key`). */
  line(path: Path, key?: string): number {
    const line = lineOf(this.doc, this.lines, this.#docPath(path), key === undefined ? {} : { key });
    return line + (this.chunk?.lineBase ?? 0);
  }

  location(path: Path, key?: string): SourceLocation {
    return { file: this.file, line: this.line(path, key), path: formatPath(path) };
  }

  where(path: Path, key?: string): string {
    const loc = this.location(path, key);
    return `${loc.file}:${loc.line}: ${key === undefined ? loc.path || '(root)' : formatPath([...path, key])}`;
  }

  fail(
    path: Path,
    message: string,
    code: 'INVALID_CONSTRUCTOR' | 'DUPLICATE_IDENTITY' | 'UNKNOWN_TYPE' = 'INVALID_CONSTRUCTOR',
  ): never {
    throw new LadingError(code, `${this.where(path)}: ${message}`);
  }

  /**
   * The problems in document order, on one line (an error message is one line: the CLI escapes any
   * line break in it), separated by `; `: the first {@link MaxProblems}, then how many more.
   */
  failProblems(problems: SchemaProblem[], base: Path = []): never {
    const lines = problems
      .map((p) => {
        const path = [...base, ...p.path];
        const key = p.keyword === 'additionalProperties' ? /"(.*)"/.exec(p.message)?.[1] : undefined;
        const loc = this.location(path, key);
        return { line: loc.line, text: `${this.where(path, key)}: ${p.message}${this.hint(path, p)}` };
      })
      .sort((a, b) => a.line - b.line);
    const shown = lines.slice(0, MaxProblems).map((l) => l.text);
    if (lines.length > MaxProblems) shown.push(`and ${lines.length - MaxProblems} more`);
    throw new LadingError('INVALID_CONSTRUCTOR', shown.length > 0 ? shown.join('; ') : this.file);
  }

  /** The `version: 1.0` trap: YAML reads it as a number, and the schema wants a string. */
  hint(path: Path, problem: SchemaProblem): string {
    if (problem.keyword !== 'type' || !problem.message.includes('string')) return '';
    const node = nodeAt(this.doc, this.#docPath(path));
    if (!isScalar(node) || typeof node.value === 'string') return '';
    const source = node.source ?? String(node.value);
    return ` (the YAML value ${source} is read as a ${node.value === null ? 'null' : typeof node.value}; quote it: "${source}")`;
  }
}

/**
 * Parses a `component-constructor.yaml` as upstream's `ocm add cv` does — environment expansion
 * first, then YAML (go-yaml v2 scalar rules), then the upstream schema, then the rules upstream
 * enforces in code — and returns the defaulted model. Every error names the file, the line and
 * the path (`component-constructor.yaml:14: components[0].resources[2].input.path: must be string`).
 */
export function parseConstructor(
  text: string | Uint8Array,
  options: ParseConstructorOptions = {},
): ComponentConstructor {
  const file = options.file ?? 'component-constructor.yaml';
  let source =
    typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  if (options.env !== false) source = expandEnv(source, envLookup(options.env ?? process.env));
  return parseInChunks(source, file) ?? parseWhole(source, file);
}

/** How long {@link parseConstructorAsync} holds the event loop before it lets it turn. */
const LoopTurnMs = 20;

/**
 * {@link parseConstructor} that lets the event loop turn every 20 ms or so (between the pieces
 * {@link parseInChunks} reads): a constructor of thousands of components takes seconds to read,
 * and a Ctrl-C (or any timer) would wait for the end. With `signal`, it stops at the next turn
 * after the signal is aborted, rejecting with the signal's reason.
 */
export async function parseConstructorAsync(
  text: string | Uint8Array,
  options: ParseConstructorOptions & { signal?: AbortSignal } = {},
): Promise<ComponentConstructor> {
  const file = options.file ?? 'component-constructor.yaml';
  let source =
    typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  if (options.env !== false) source = expandEnv(source, envLookup(options.env ?? process.env));
  const steps = chunkSteps(source, file, ChunkChars);
  let turned = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value ?? parseWhole(source, file);
    if (performance.now() - turned < LoopTurnMs) continue;
    await new Promise<void>((resolve) => setImmediate(resolve));
    options.signal?.throwIfAborted();
    turned = performance.now();
  }
}

/** {@link parseConstructor} of the text after expansion, as one YAML document. */
export function parseWhole(source: string, file: string): ComponentConstructor {
  const lines = new LineCounter();
  const docs = parseAllDocuments(source, { ...goYamlReadOptions, lineCounter: lines, prettyErrors: false });
  if (!Array.isArray(docs)) {
    throw new LadingError('INVALID_CONSTRUCTOR', `${file}: empty document`);
  }
  const doc = docs[0];
  if (!doc) throw new LadingError('INVALID_CONSTRUCTOR', `${file}: empty document`);
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = yamlError.linePos?.[0].line ?? lines.linePos(yamlError.pos[0]).line;
    throw new LadingError('INVALID_CONSTRUCTOR', `${file}:${line}: not valid YAML: ${yamlErrorText(yamlError)}`, {
      cause: yamlError,
    });
  }
  const ctx = new Context(file, doc, lines);
  if (docs.length > 1) ctx.warnings.push(`${file}: only the first of ${docs.length} YAML documents is used`);
  let document: unknown;
  try {
    // The data becomes a descriptor: aliases may not expand it past what one can be.
    const expansion = aliasExpansionProblem(doc, source.length);
    if (expansion) {
      const line = lines.linePos(expansion.offset).line;
      const path = formatPath(expansion.path);
      throw new LadingError('INVALID_CONSTRUCTOR', `${file}:${line}: ${path || '(root)'}: ${expansion.message}`);
    }
    document = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof LadingError) throw error;
    // An alias bomb (too many alias expansions) or a document too deep to convert.
    throw new LadingError('INVALID_CONSTRUCTOR', `${file}: not valid YAML: ${yamlErrorText(error as Error)}`, {
      cause: error,
    });
  }

  const proto = firstPath(document, (v) => isObject(v) && Object.hasOwn(v, '__proto__'));
  if (proto) throw new LadingError('INVALID_CONSTRUCTOR', `${ctx.where(proto, '__proto__')}: ${ProtoKeyRefused}`);
  // YAML's .nan and .inf: no JSON holds them, so no descriptor could (upstream's YAML-to-JSON
  // step refuses them too). Said here, with the place, rather than by the encoder later.
  const nonFinite = firstPath(document, (v) => typeof v === 'number' && !Number.isFinite(v));
  if (nonFinite) ctx.fail(nonFinite, 'not a number JSON can hold (.nan or .inf); quote it to make it a string');

  const multi =
    document !== null && typeof document === 'object' && !Array.isArray(document) && 'components' in document;
  const rawComponents: unknown[] = multi ? (((document as Obj).components as unknown[]) ?? []) : [document];
  const base: Path = multi ? ['components'] : [];

  if (Array.isArray(rawComponents)) {
    for (const [i, c] of rawComponents.entries()) {
      checkAccessXorInput(ctx, c, multi ? [...base, i] : base);
      defaultAccessVersions(ctx, c, multi ? [...base, i] : base);
    }
  }
  const problems = validateConstructorDocument(document);
  if (problems.length > 0) ctx.failProblems(problems);
  if (multi && rawComponents.length === 0) ctx.fail(['components'], 'must list at least one component');

  const components = rawComponents.map((c, i) => component(ctx, c as Obj, multi ? [...base, i] : base));
  checkDuplicateComponents(ctx, components);
  return { file, components, warnings: ctx.warnings };
}

/** Thrown inside {@link parseInChunks} where it leaves the file to {@link parseWhole}. */
class ChunkFallback extends Error {}

/**
 * Text parsed at once by {@link parseInChunks}: components are added to a piece until it has this
 * many characters. A piece's syntax tree and document (some 70 times its text) live while it is
 * read: at 16 KiB they outlived young-generation collections and were promoted, and the heap grew
 * to 120 MB for 15,000 components; at 4 KiB 74 MB, in the same time.
 */
export const ChunkChars = 4 * 1024;

/**
 * Where the components of a constructor of the usual shape are in its text: a root map with
 * `components:` on a line of its own at column 0, and below it a block sequence, each item
 * starting a line with the same indentation and `-`. `items` are the offsets of the line starts
 * of the items, `end` where the sequence ends (the next line less indented, or another root key);
 * `header` is the text without the items. Undefined for any other shape (directives, document
 * markers, a flow sequence, tabs at the start of a line).
 */
export function componentChunks(
  source: string,
): { header: string; keyOffset: number; items: number[]; end: number } | undefined {
  if (/^(?:%|---|\.\.\.)/m.test(source)) return undefined;
  const keys = [...source.matchAll(/^components[ \t]*:[ \t]*(?:#[^\n]*)?\r?$/gm)];
  const key = keys[0];
  if (keys.length !== 1 || key === undefined) return undefined;
  const items: number[] = [];
  let indent = -1;
  let at = source.indexOf('\n', key.index);
  let end = source.length;
  while (at >= 0 && at < source.length) {
    const start = at + 1;
    const next = source.indexOf('\n', start);
    const line = source.slice(start, next < 0 ? source.length : next);
    at = next;
    if (/^[ \t]*(?:#.*)?\r?$/.test(line)) continue;
    const spaces = /^ */.exec(line)?.[0].length ?? 0;
    if (line[spaces] === '\t') return undefined;
    const item = line[spaces] === '-' && (line.length === spaces + 1 || /[ \r]/.test(line[spaces + 1] ?? ''));
    if (indent < 0) {
      if (!item) return undefined;
      indent = spaces;
    }
    if (spaces > indent) continue;
    if (spaces === indent && item) {
      items.push(start);
      continue;
    }
    end = start;
    break;
  }
  const first = items[0];
  if (first === undefined) return undefined;
  return { header: source.slice(0, first) + source.slice(end), keyOffset: key.index, items, end };
}

/** The line breaks in `text` from `start` to `end`. */
function newlines(text: string, start: number, end: number): number {
  let count = 0;
  for (let i = text.indexOf('\n', start); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Whether a parsed document has an alias anywhere (its expansion is measured over the whole file). */
function hasAlias(doc: Document): boolean {
  let found = false;
  visit(doc, {
    Alias: () => {
      found = true;
      return visit.BREAK;
    },
  });
  return found;
}

/** One YAML document of `text`, without errors and aliases; undefined otherwise. */
function plainDocument(text: string, lines: LineCounter): Document | undefined {
  const docs = parseAllDocuments(text, { ...goYamlReadOptions, lineCounter: lines, prettyErrors: false });
  if (!Array.isArray(docs) || docs.length !== 1) return undefined;
  const doc = docs[0];
  if (!doc || doc.errors.length > 0 || hasAlias(doc)) return undefined;
  return doc;
}

/**
 * {@link parseWhole} of a constructor of the usual shape (see {@link componentChunks}), reading
 * its components a piece of about {@link ChunkChars} characters at a time: the YAML parser's
 * syntax tree and document take some 70 times the text they come from, and a constructor of
 * thousands of components held them all at once (and the garbage collector then let the heap
 * grow to a multiple of that). Each piece is parsed, converted, checked against the schema and
 * turned into the model, and its YAML dropped before the next. The result is that of
 * {@link parseWhole}, locations and warnings included; on any problem (an invalid file, an alias,
 * a shape it does not take) it answers undefined, and the file is parsed whole, which finds the
 * problem and words it as always.
 */
export function parseInChunks(
  source: string,
  file: string,
  chunkChars: number = ChunkChars,
): ComponentConstructor | undefined {
  const steps = chunkSteps(source, file, chunkChars);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** {@link parseInChunks}, pausing after each piece: the caller may let the event loop turn there. */
function* chunkSteps(
  source: string,
  file: string,
  chunkChars: number,
): Generator<void, ComponentConstructor | undefined, void> {
  // Alias expansion is measured against the whole file's size: a file near the limit is read whole.
  if (source.length > MaxDescriptorBytes / 2) return undefined;
  const spans = componentChunks(source);
  if (spans === undefined) return undefined;
  try {
    const header = plainDocument(spans.header, new LineCounter());
    const root = header?.contents;
    if (!header || !isMap(root) || root.items.length === 0) return undefined;
    const keyed = root.items.filter((p) => isScalar(p.key) && p.key.value === 'components');
    const pair = keyed[0];
    if (keyed.length !== 1 || !pair || !isScalar(pair.key) || pair.key.range?.[0] !== spans.keyOffset) return undefined;
    const top = header.toJS() as Obj;
    if (top === null || typeof top !== 'object' || top.components !== null || unusualValue(top)) return undefined;
    const defaults: string[] = [];
    const warnings: string[] = [];
    const components: ConstructorComponent[] = [];
    const { items } = spans;
    let lineBase = newlines(source, 0, items[0] as number);
    for (let first = 0; first < items.length; ) {
      const start = items[first] as number;
      let last = first + 1;
      while (last < items.length && (items[last] as number) - start < chunkChars) last++;
      const end = items[last] ?? spans.end;
      const text = source.slice(start, end);
      const lines = new LineCounter();
      const doc = plainDocument(text, lines);
      if (!doc || !isSeq(doc.contents) || doc.contents.items.length !== last - first) return undefined;
      const ctx = new Context(file, doc, lines, { first, lineBase });
      // A copy: the YAML's strings are slices of the whole file's text, which each one kept alive
      // (3.4 MB for 15,000 components) for as long as the model lives.
      const raw = structuredClone(doc.toJS()) as unknown[];
      if (unusualValue(raw)) return undefined;
      raw.forEach((c, k) => {
        checkAccessXorInput(ctx, c, ['components', first + k]);
        defaultAccessVersions(ctx, c, ['components', first + k]);
      });
      defaults.push(...ctx.warnings.splice(0));
      if (validateConstructorDocument({ ...top, components: raw }).length > 0) return undefined;
      raw.forEach((c, k) => {
        components.push(component(ctx, c as Obj, ['components', first + k]));
      });
      warnings.push(...ctx.warnings);
      lineBase += newlines(source, start, end);
      first = last;
      yield;
    }
    const seen = new Set<string>();
    for (const c of components) {
      const key = JSON.stringify([c.name, c.version]);
      if (seen.has(key)) return undefined;
      seen.add(key);
    }
    return { file, components, warnings: [...defaults, ...warnings] };
  } catch {
    // Whatever failed is found again, and worded, by the whole parse.
    return undefined;
  }
}

/**
 * Whether a piece holds what the whole parse refuses before anything else (a `__proto__` key, a
 * number JSON cannot hold): then the file is parsed whole, which words the refusal.
 */
function unusualValue(value: unknown): boolean {
  return (
    firstPath(
      value,
      (v) => (isObject(v) && Object.hasOwn(v, '__proto__')) || (typeof v === 'number' && !Number.isFinite(v)),
    ) !== undefined
  );
}

/** Upstream's AccessOrInput.Validate, run first: the schema's message for this case is obscure. */
function checkAccessXorInput(ctx: Context, raw: unknown, path: Path): void {
  if (raw === null || typeof raw !== 'object') return;
  for (const kind of ['resources', 'sources'] as const) {
    const list = (raw as Obj)[kind];
    if (!Array.isArray(list)) continue;
    list.forEach((el, i) => {
      if (el === null || typeof el !== 'object') return;
      const hasAccess = (el as Obj).access !== undefined && (el as Obj).access !== null;
      const hasInput = (el as Obj).input !== undefined && (el as Obj).input !== null;
      if (hasAccess && hasInput)
        ctx.fail([...path, kind, i], 'only one of access or input may be set, but both are present');
      if (!hasAccess && !hasInput) {
        ctx.fail([...path, kind, i], `either access or input must be set${misspeltAccessOrInput(el as Obj)}`);
      }
    });
  }
}

/** ` (did you mean "input" for "inptu"?)` when a key of the element is a near miss of access or input. */
function misspeltAccessOrInput(el: Obj): string {
  for (const key of Object.keys(el)) {
    for (const wanted of ['input', 'access']) {
      if (key !== wanted && editDistance(key.toLowerCase(), wanted) <= 2) {
        return ` (did you mean ${JSON.stringify(wanted)} for ${JSON.stringify(key)}?)`;
      }
    }
  }
  return '';
}

/** Levenshtein distance of two short strings. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function labels(raw: unknown): Label[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  // Upstream's runtime model keeps only name, value and signing.
  return raw.map((l: Obj) => {
    const label: Label = { name: l.name as string, value: l.value ?? null };
    if (l.signing === true) label.signing = true;
    return label;
  });
}

function digest(raw: unknown): DigestSpec | undefined {
  if (raw === null || raw === undefined) return undefined;
  const d = raw as Obj;
  return {
    hashAlgorithm: d.hashAlgorithm as string,
    normalisationAlgorithm: d.normalisationAlgorithm as string,
    value: d.value as string,
  };
}

function stringMap(raw: unknown): Record<string, string> | undefined {
  if (raw === null || raw === undefined || Object.keys(raw as Obj).length === 0) return undefined;
  return Object.fromEntries(Object.entries(raw as Obj).map(([k, v]) => [k, String(v)]));
}

function meta(ctx: Context, raw: Obj, path: Path, version: string) {
  const out: {
    name: string;
    version: string;
    labels?: Label[];
    extraIdentity?: Record<string, string>;
    location: SourceLocation;
  } = {
    name: raw.name as string,
    version,
    location: ctx.location(path),
  };
  const l = labels(raw.labels);
  if (l && l.length > 0) out.labels = l;
  const extra = stringMap(raw.extraIdentity);
  for (const key of ['name', 'version']) {
    // The element's own name and version are its identity's: an extra one would be shown as a
    // second identity, and be overridden wherever the identity is built.
    if (extra && Object.hasOwn(extra, key)) {
      throw new LadingError(
        'INVALID_CONSTRUCTOR',
        `${ctx.where([...path, 'extraIdentity'], key)}: "${key}" may not be an extra identity attribute (the element's own ${key} is part of its identity)`,
      );
    }
  }
  if (extra) out.extraIdentity = extra;
  return out;
}

/**
 * A resource given by access without a `version` (as seed 001's examples are written): upstream's
 * schema refuses it, and its constructor code would default the version to the component's. Here
 * it gets the component's version before validation, with a warning that says so.
 */
function defaultAccessVersions(ctx: Context, raw: unknown, path: Path): void {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return;
  const c = raw as Obj;
  if (typeof c.version !== 'string' || c.version === '' || !Array.isArray(c.resources)) return;
  for (const [i, r] of c.resources.entries()) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) continue;
    const resource = r as Obj;
    if (resource.access === undefined || resource.input !== undefined || resource.version !== undefined) continue;
    resource.version = c.version;
    ctx.warnings.push(
      `${ctx.where([...path, 'resources', i])}: resource ${JSON.stringify(String(resource.name ?? ''))} given by access has no version; using the component's version ${c.version} (upstream's schema requires one)`,
    );
  }
}

function input(ctx: Context, raw: Obj, path: Path): { input: TypedSpec; inputType: string } {
  const spec = raw.input as TypedSpec;
  let inputType: string;
  try {
    inputType = canonicalInputType(spec.type);
  } catch (error) {
    ctx.fail([...path, 'input', 'type'], (error as Error).message, 'UNKNOWN_TYPE');
  }
  const problems = validateInputSpec(inputType, spec);
  const unknown = problems.filter((p) => p.keyword === 'additionalProperties');
  for (const p of unknown) {
    ctx.warnings.push(
      `${ctx.where([...path, 'input'], /"(.*)"/.exec(p.message)?.[1])}: ${p.message} (ignored, as upstream does)`,
    );
  }
  const real = problems.filter((p) => p.keyword !== 'additionalProperties');
  if (real.length > 0) ctx.failProblems(real, [...path, 'input']);
  return { input: spec, inputType };
}

/**
 * An access given by reference is stored as written, and read only when the resource is
 * downloaded or transferred: the fields of the types lading knows are checked now, so that a
 * constructor with `imageReference: 5` or no `helmChart` fails here, before anything is written.
 */
function access(ctx: Context, raw: Obj, path: Path): TypedSpec {
  const spec = raw.access as TypedSpec;
  const problems = accessFieldProblems(spec);
  if (problems.length > 0) ctx.failProblems(problems, [...path, 'access']);
  return spec;
}

function component(ctx: Context, raw: Obj, path: Path): ConstructorComponent {
  const version = raw.version as string;
  // The version is stored as a tag; one that cannot be would fail only when it is written.
  if (!isTaggableVersion(version)) {
    const tag = versionToTag(version);
    ctx.fail(
      [...path, 'version'],
      tag.length > MaxTagLength
        ? `too long: stored as an OCI tag of ${tag.length} characters, over the ${MaxTagLength} a tag may have`
        : `the version does not make a valid OCI tag (${JSON.stringify(tag)})`,
    );
  }
  const providerRaw = raw.provider as Obj;
  if (typeof providerRaw.name !== 'string' || providerRaw.name === '')
    ctx.fail([...path, 'provider'], 'provider name is empty');
  const provider: Provider = { name: providerRaw.name };
  if (providerRaw.labels !== undefined && providerRaw.labels !== null) {
    // Upstream's schema leaves the provider's fields open; its model (a list of labels, each
    // named by a string) is what decides. Checked as the component's labels' names are.
    if (!Array.isArray(providerRaw.labels)) ctx.fail([...path, 'provider', 'labels'], 'must be a list of labels');
    for (const [i, l] of providerRaw.labels.entries()) {
      if (!isObject(l)) ctx.fail([...path, 'provider', 'labels', i], 'must be a label (an object with name and value)');
      const name = (l as Obj).name;
      if (typeof name !== 'string' || name === '')
        ctx.fail([...path, 'provider', 'labels', i, 'name'], `must be a non-empty string, got ${valueText(name)}`);
    }
    provider.labels = labels(providerRaw.labels) ?? [];
  }

  const out: ConstructorComponent = {
    name: raw.name as string,
    version,
    provider,
    // A list the constructor does not have is stored as `null` (upstream's nil), an empty one as `[]`.
    resources: absentList(),
    sources: absentList(),
    componentReferences: absentList(),
    location: ctx.location(path),
  };
  const l = labels(raw.labels);
  if (l && l.length > 0) out.labels = l;
  if (typeof raw.creationTime === 'string' && raw.creationTime !== '') out.creationTime = raw.creationTime;

  if (Array.isArray(raw.resources)) {
    out.resources = raw.resources.map((r: Obj, i) => resource(ctx, r, [...path, 'resources', i], version));
  }
  if (Array.isArray(raw.sources)) {
    out.sources = raw.sources.map((s: Obj, i) => source(ctx, s, [...path, 'sources', i], version));
  }
  if (Array.isArray(raw.componentReferences)) {
    out.componentReferences = raw.componentReferences.map((r: Obj, i) =>
      reference(ctx, r, [...path, 'componentReferences', i]),
    );
  }
  checkDuplicates(ctx, path, 'resources', out.resources);
  checkDuplicates(ctx, path, 'sources', out.sources);
  checkDuplicates(ctx, path, 'componentReferences', out.componentReferences);
  return out;
}

function resource(ctx: Context, raw: Obj, path: Path, componentVersion: string): ConstructorResource {
  const hasInput = raw.input !== undefined && raw.input !== null;
  // Defaults as upstream's constructor applies them: the component version, and `external` for
  // content referenced by access (`local` for content embedded from an input).
  const version = typeof raw.version === 'string' && raw.version !== '' ? raw.version : componentVersion;
  // Object.assign, not a spread: on Node.js 20 a spread object gets a hidden class of its own
  // (~200 bytes more each, for thousands of elements held through an add).
  const out: ConstructorResource = Object.assign(meta(ctx, raw, path, version), {
    type: raw.type as string,
    relation: (raw.relation as 'local' | 'external' | undefined) ?? (hasInput ? 'local' : 'external'),
  });
  if (Array.isArray(raw.srcRefs) && raw.srcRefs.length > 0) {
    out.srcRefs = raw.srcRefs.map((s: Obj) => {
      const ref: SourceRef = {};
      const selector = stringMap(s.identitySelector);
      if (selector) ref.identitySelector = selector;
      const sl = labels(s.labels);
      if (sl && sl.length > 0) ref.labels = sl;
      return ref;
    });
  }
  const d = digest(raw.digest);
  if (d) out.digest = d;
  if (hasInput) Object.assign(out, input(ctx, raw, path));
  else out.access = access(ctx, raw, path);
  const options = raw.options as Obj | undefined;
  if (options && typeof options === 'object') {
    const policy = options.ownershipPolicy;
    if (policy !== undefined && policy !== 'Never' && policy !== 'Always') {
      ctx.fail([...path, 'options', 'ownershipPolicy'], 'must be "Never" or "Always"');
    }
    if (policy === 'Always') out.ownershipPolicy = 'Always';
  }
  return out;
}

function source(ctx: Context, raw: Obj, path: Path, componentVersion: string): ConstructorSource {
  const hasInput = raw.input !== undefined && raw.input !== null;
  const given = typeof raw.version === 'string' ? raw.version : '';
  // Upstream defaults the version of input sources only.
  const version = given === '' && hasInput ? componentVersion : given;
  const out: ConstructorSource = Object.assign(meta(ctx, raw, path, version), { type: raw.type as string });
  if (hasInput) Object.assign(out, input(ctx, raw, path));
  else out.access = access(ctx, raw, path);
  return out;
}

function reference(ctx: Context, raw: Obj, path: Path): ConstructorReference {
  const out: ConstructorReference = Object.assign(meta(ctx, raw, path, raw.version as string), {
    componentName: raw.componentName as string,
  });
  const d = digest(raw.digest);
  if (d) out.digest = d;
  return out;
}

function checkDuplicates(
  ctx: Context,
  path: Path,
  kind: string,
  elements: readonly { name: string; version: string; extraIdentity?: Record<string, string> }[] | null,
): void {
  const seen = new Map<string, number>();
  elements?.forEach((el, i) => {
    const key = canonicalIdentity(identityOf(el));
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      return;
    }
    ctx.fail(
      [...path, kind, i],
      `duplicate identity "${formatIdentity(identityOf(el))}": ${kind}[${first}] (line ${ctx.line([...path, kind, first])}) has the same identity`,
      'DUPLICATE_IDENTITY',
    );
  });
}

/**
 * One component version built twice from one file: both would be stored under one tag, and which
 * definition won would depend on the order references take them in.
 */
function checkDuplicateComponents(ctx: Context, components: readonly ConstructorComponent[]): void {
  const seen = new Map<string, number>();
  components.forEach((c, i) => {
    const key = JSON.stringify([c.name, c.version]);
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      return;
    }
    ctx.fail(
      ['components', i],
      `duplicate component version ${c.name}:${c.version}: components[${first}] (line ${components[first]?.location.line}) has the same name and version`,
      'DUPLICATE_IDENTITY',
    );
  });
}

/** As the descriptor reader words it (a descriptor with such a key could not be read back). */
const ProtoKeyRefused = 'a key named "__proto__" is not accepted';

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The path of the first value (in document order) that `found` picks, walked without recursion.
 * Used for an object with an own `__proto__` key (the YAML reader keeps one as data, but every
 * object the model is built from by assignment drops it, and the descriptor reader refuses it: a
 * version stored with one could never be read back), and for numbers JSON cannot hold.
 */
function firstPath(document: unknown, found: (value: unknown) => boolean): Path | undefined {
  // Each entry links to its parent: no path is built unless one is found.
  type Entry = { value: unknown; parent?: Entry; seg?: string | number };
  const pending: Entry[] = [{ value: document }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value } = next;
    if (found(value)) {
      const path: Path = [];
      for (let e: Entry | undefined = next; e?.seg !== undefined; e = e.parent) path.unshift(e.seg);
      return path;
    }
    if (typeof value !== 'object' || value === null) continue;
    const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    for (let i = keys.length - 1; i >= 0; i--) {
      const seg = keys[i] as string | number;
      pending.push({ value: (value as Record<string | number, unknown>)[seg], parent: next, seg });
    }
  }
  return undefined;
}
