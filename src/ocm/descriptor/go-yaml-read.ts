import { type DocumentOptions, type ParseOptions, parseDocument, type SchemaOptions } from 'yaml';

/**
 * Options that make the `yaml` package read scalars as go-yaml v2 does (upstream reads every
 * YAML file through sigs.k8s.io/yaml, i.e. go-yaml v2): YAML 1.1 booleans (`yes`, `on`, …) and
 * octal `0777`, but timestamps stay strings and `1:20` is not a base-60 number.
 */
export const goYamlReadOptions: ParseOptions & DocumentOptions & SchemaOptions = {
  version: '1.1',
  customTags: (tags) =>
    tags.filter((tag) => {
      const name = typeof tag === 'string' ? tag : tag.tag;
      const format = typeof tag === 'string' ? undefined : tag.format;
      return format !== 'TIME' && !name.endsWith(':timestamp');
    }),
};

/** Parses one YAML document into plain JSON values with go-yaml v2 scalar rules. */
export function parseGoYaml(text: string): { value: unknown; errors: string[] } {
  const doc = parseDocument(text, goYamlReadOptions);
  const errors = doc.errors.map((e) => e.message);
  return { value: errors.length > 0 ? undefined : doc.toJS({ maxAliasCount: 100 }), errors };
}
