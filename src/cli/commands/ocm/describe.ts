import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { CliIO } from '../../io.js';
import { addOcmOptions } from '../../options.js';
import { safeText } from '../../output/safe-text.js';
import { ocmConfigFor } from './common.js';

function checkChoice(flag: string, value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value))
    throw new LadingError('INVALID_ARGUMENT', `${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value;
}

/** Rows under a header, columns padded to their widest cell. */
function table(io: CliIO, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `${cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()}\n`;
  io.stdout.write(line(header));
  for (const r of rows) io.stdout.write(line(r.map((c) => safeText(c))));
}

async function describeTypes(io: CliIO, subsystem: string | undefined, type: string | undefined, output: string) {
  const { typeCatalog, findSubsystem, findCatalogType } = await import('../../../ocm/type-catalog.js');
  const { goYaml } = await import('../../../ocm/descriptor/go-yaml.js');
  const print = (value: unknown) =>
    io.stdout.write(output === 'json' ? `${JSON.stringify(value, null, 2)}\n` : goYaml(value));
  if (!subsystem) {
    if (output !== 'text') return print(typeCatalog);
    return table(
      io,
      ['SUBSYSTEM', 'TYPES', 'DESCRIPTION'],
      typeCatalog.map((s) => [s.name, String(s.types.length), s.description]),
    );
  }
  const found = findSubsystem(subsystem);
  if (!found)
    throw new LadingError(
      'NOT_FOUND',
      `unknown subsystem "${subsystem}" (known: ${typeCatalog.map((s) => s.name).join(', ')})`,
    );
  if (!type) {
    if (output !== 'text') return print(found.types);
    return table(
      io,
      ['TYPE', 'ALIASES', 'DESCRIPTION'],
      found.types.map((t) => [t.name, t.aliases.join(', '), t.description]),
    );
  }
  const t = findCatalogType(found, type);
  if (!t)
    throw new LadingError(
      'NOT_FOUND',
      `unknown ${found.name} type "${type}" (known: ${found.types.map((x) => x.name).join(', ')})`,
    );
  if (output !== 'text') return print(t);
  io.stdout.write(`Type:        ${t.name}\n`);
  if (t.aliases.length > 0) io.stdout.write(`Aliases:     ${t.aliases.join(', ')}\n`);
  io.stdout.write(`Description: ${t.description}\n\n`);
  table(
    io,
    ['FIELD', 'TYPE', 'REQUIRED', 'DESCRIPTION'],
    t.fields.map((f) => [f.name, f.type, f.required ? 'yes' : 'no', f.description]),
  );
}

/** Keys whose values are secrets: shown masked by `get config`. */
const secretKey = /password|secret|token|privatekey|auth$|^key$|credential/i;

function masked(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => masked(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, masked(v, k)]));
  if (typeof value === 'string' && secretKey.test(key) && value !== '') return '***';
  return value;
}

/**
 * `describe types` and `get types` (the same listing), and `get config`: the effective merged OCM
 * configuration as one generic config, secrets masked.
 */
export function registerDescribe(program: Command, get: Command, io: CliIO): void {
  const describe =
    program.commands.find((c) => c.name() === 'describe') ??
    program.command('describe').description('describe OCM types and their fields');
  const help = `
Subsystems: ocm-repository, access, input, credential-repository, signing.

Examples:
  lading describe types
  lading describe types access
  lading describe types input dir/v1
  lading get types ocm-repository -o json`;
  for (const parent of [describe, get]) {
    const cmd = parent
      .command('types')
      .alias('type')
      .description('list the OCM types lading supports by subsystem, and the fields of each')
      .argument('[subsystem]', 'ocm-repository, access, input, credential-repository or signing')
      .argument('[type]', 'a type of the subsystem, in any accepted spelling (e.g. oci, dir/v1)')
      .option('-o, --output <format>', 'text, yaml or json', 'text');
    addOcmOptions(cmd, { remote: false });
    cmd.addHelpText('after', help);
    cmd.action(async (subsystem: string | undefined, type: string | undefined, opts) => {
      await describeTypes(io, subsystem, type, checkChoice('-o/--output', opts.output, ['text', 'yaml', 'json']));
    });
  }

  const config = get
    .command('config')
    .aliases(['configuration', 'cfg'])
    .description('print the effective merged OCM configuration (secret values masked)')
    .option('-o, --output <format>', 'yaml, json or ndjson', 'yaml');
  addOcmOptions(config, { remote: false });
  config.addHelpText(
    'after',
    `
Examples:
  lading get config
  lading get config -o json
  lading get config --config ./my-ocm-config.yaml`,
  );
  config.action(async (opts) => {
    const output = checkChoice('-o/--output', opts.output, ['yaml', 'json', 'ndjson']);
    const loaded = await ocmConfigFor(opts);
    const { ConfigType } = await import('../../../ocm/config/index.js');
    const effective = {
      type: ConfigType.Generic,
      configurations: masked(loaded.configurations.filter((c) => c.type !== ConfigType.Generic)),
    };
    if (output === 'json') io.stdout.write(`${JSON.stringify(effective, null, 2)}\n`);
    else if (output === 'ndjson') io.stdout.write(`${JSON.stringify(effective)}\n`);
    else io.stdout.write((await import('../../../ocm/descriptor/go-yaml.js')).goYaml(effective));
  });
}
