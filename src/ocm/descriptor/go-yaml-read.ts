import { type DocumentOptions, type ParseOptions, parseDocument, type SchemaOptions } from 'yaml';
import { formatPath } from './schema.js';
import { aliasExpansionProblem } from './yaml-expansion.js';

/**
 * Options that make the `yaml` package read scalars as go-yaml v2 does (upstream reads every
 * YAML file through sigs.k8s.io/yaml, i.e. go-yaml v2): YAML 1.1 booleans (`yes`, `on`, …) and
 * octal `0777`, but timestamps stay strings and `1:20` is not a base-60 number.
 */
export const goYamlReadOptions: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags) =>
    tags
      .filter((tag) => {
        const name = typeof tag === 'string' ? tag : tag.tag;
        const format = typeof tag === 'string' ? undefined : tag.format;
        return format !== 'TIME' && !name.endsWith(':timestamp');
      })
      .map((tag) => {
        if (typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:float' || !tag.test) return tag;
        if (tag.test.source.includes('inf')) return tag; // .inf and .nan read the same in both
        // go-yaml v2 wants a digit in the mantissa: `e5`, `-e0` and `.` are strings there, NaN here.
        return { ...tag, test: new RegExp(`^(?=[-+]?\\.?[0-9])${tag.test.source.replace(/^\^/, '')}`) };
      }),
};

/**
 * Parses one YAML document into plain JSON values with go-yaml v2 scalar rules. Aliases may
 * expand it to the descriptor limit at most (see `aliasExpansionProblem`); past that the error
 * names the line and the path of the alias.
 */
export function parseGoYaml(text: string): { value: unknown; errors: string[] } {
  const doc = parseDocument(text, goYamlReadOptions);
  // One line each: the library's own message quotes an excerpt of the text over several lines.
  const errors = doc.errors.map((e) => {
    const line = e.linePos?.[0].line;
    return line === undefined ? yamlErrorText(e) : `line ${line}: ${yamlErrorText(e)}`;
  });
  if (errors.length > 0) return { value: undefined, errors };
  try {
    const expansion = aliasExpansionProblem(doc, text.length);
    if (expansion) {
      const line = lineAt(text, expansion.offset);
      const path = formatPath(expansion.path);
      return { value: undefined, errors: [`line ${line}${path ? `, ${path}` : ''}: ${expansion.message}`] };
    }
    return { value: doc.toJS({ maxAliasCount: 100 }), errors };
  } catch (error) {
    // An alias bomb (too many alias expansions) or a document too deep to convert.
    return { value: undefined, errors: [yamlErrorText(error as Error)] };
  }
}

/**
 * The first line of a YAML parse error, for a message that already names the line: the parser's
 * own "at line L, column C:" tail (followed by a code excerpt) becomes "(column C)".
 */
export function yamlErrorText(error: { message: string; linePos?: [{ col: number }, ...unknown[]] }): string {
  // The YAML library reports a document nested past the JavaScript stack with the engine's words.
  if (/^Maximum call stack size exceeded/.test(error.message)) return 'nested too deeply';
  const first = error.message.split('\n')[0] ?? '';
  const column = error.linePos?.[0].col;
  const text = first.replace(/\s*at line \d+, column \d+:?\s*$/, '');
  return column === undefined ? text : `${text} (column ${column})`;
}

/** The 1-based line of an offset in `text`. */
function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}
