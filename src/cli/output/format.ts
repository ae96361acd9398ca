import { type Command, Option } from 'commander';
import { type Descriptor, goStringify, LadingError } from '../../oci/index.js';
import { indentJson } from '../commands/manifest-shared.js';
import type { CliIO } from '../io.js';
import { escapeInvisible } from './safe-text.js';

/**
 * `--format` and `--template` as ORAS has them: `text` (or the command's own default), `json`,
 * `go-template` with `--template TPL` or as `--format go-template=TPL`, and per command `tree` or
 * `table`. After parsing, the command sees `opts.format` as the bare type and `opts.template` as
 * the template. With any format but the default, the status lines (Uploading…, Downloaded…) are
 * dropped and stdout holds the model only, as ORAS does.
 */

const usage: Record<string, string> = {
  text: 'print in text format',
  json: 'print in JSON format',
  'go-template': 'print output using the given Go template',
  tree: 'get referrers and print in tree format',
  table: '[Deprecated] get referrers and print in table format',
};

export function addFormatOptions(cmd: Command, types: readonly [string, ...string[]]): Command {
  const [first] = types;
  const lines = types.map((t) => `'${t}': ${usage[t] ?? t}`).join('; ');
  cmd.addOption(new Option('--format <format>', `output format (${lines})`).default(first));
  cmd.option('--template <template>', 'Go template used with --format go-template');
  cmd.hook('preAction', async (_program, action) => {
    const opts = action.opts() as { format?: string; template?: string };
    const parsed = parseFormat(opts.format ?? first, opts.template, types);
    // The source stays what it was: commands tell a --format given from the default.
    action.setOptionValueWithSource('format', parsed.type, action.getOptionValueSource('format'));
    action.setOptionValueWithSource('template', parsed.template, action.getOptionValueSource('template'));
    // A template with a syntax error fails before any work is done.
    await checkTemplate(parsed.template);
  });
  return cmd;
}

export function parseFormat(
  flag: string,
  template: string | undefined,
  allowed: readonly string[],
): { type: string; template?: string } {
  let type = flag;
  let tpl = template;
  if (template !== undefined && template !== '') {
    if (flag !== 'go-template')
      throw new LadingError('INVALID_ARGUMENT', '--template must be used with --format go-template');
  } else if (flag.startsWith('go-template=')) {
    type = 'go-template';
    tpl = flag.slice('go-template='.length);
  }
  if (type === 'go-template' && !allowed.includes(type))
    throw new LadingError(
      'INVALID_ARGUMENT',
      `invalid format type: "${type}" (supported types: ${allowed.join(', ')})`,
    );
  if (type === 'go-template' && !tpl)
    throw new LadingError(
      'INVALID_ARGUMENT',
      '"go-template" format specified but no template given: use `--format go-template=TEMPLATE` to specify the template',
    );
  if (!allowed.includes(type))
    throw new LadingError(
      'INVALID_ARGUMENT',
      `invalid format type: "${type}" (supported types: ${allowed.join(', ')})`,
    );
  return type === 'go-template' && tpl ? { type, template: tpl } : { type };
}

/** Checks a template's syntax before the command starts its work. */
export async function checkTemplate(template: string | undefined): Promise<void> {
  if (template === undefined) return;
  const { GoTemplate } = await import('./go-template.js');
  new GoTemplate(template);
}

/** A model as ORAS prints it: indented JSON (Go's encoder, two spaces), or through the template. */
export async function printModel(
  io: CliIO,
  opts: { format?: string; template?: string },
  model: unknown,
): Promise<void> {
  if (opts.format === 'go-template') {
    const { renderGoTemplate } = await import('./go-template.js');
    io.stdout.write(renderGoTemplate(opts.template ?? '', plainModel(model)));
    return;
  }
  io.stdout.write(escapeInvisible(indentGo(goStringify(goModel(model)))));
}

/** A value as Go's JSON encoder with a two-space indent writes it. */
export function descriptorText(value: unknown): string {
  return escapeInvisible(indentGo(goStringify(goModel(value))));
}

/** Whether the command prints a model (json or go-template) rather than text. */
export function isModelFormat(format: string | undefined): boolean {
  return format === 'json' || format === 'go-template';
}

/** Annotations and other string maps are Go maps in ORAS's models: their keys come out sorted. */
function goModel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(goModel);
  if (value instanceof GoMap) return new Map(Object.entries(value.entries).map(([k, v]) => [k, goModel(v)]));
  if (value && typeof value === 'object' && !(value instanceof Map)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = goModel(v);
    return out;
  }
  return value;
}

function plainModel(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainModel);
  if (value instanceof GoMap) return plainModel(value.entries);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, plainModel(v)]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = plainModel(v);
    return out;
  }
  return value;
}

/** A Go map in a model (keys sorted when encoded). */
export class GoMap {
  readonly entries: Record<string, unknown>;
  constructor(entries: Record<string, unknown>) {
    this.entries = entries;
  }
}

/** ORAS's descriptor model: `reference`, then the descriptor fields it keeps. */
export function descriptorModel(reference: string, desc: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { reference, mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
  if (desc.annotations && Object.keys(desc.annotations).length > 0) out.annotations = new GoMap(desc.annotations);
  if (desc.artifactType) out.artifactType = desc.artifactType;
  return out;
}

function indentGo(json: string): string {
  return indentJson(json, 'output');
}
