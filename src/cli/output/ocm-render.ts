import type { ComponentTree } from '../../ocm/component-tree.js';
import { identityOf } from '../../ocm/descriptor/identity.js';
import type { ComponentDescriptor, Resource } from '../../ocm/descriptor/model.js';
import { interruptSignal } from '../interrupt.js';
import type { CliIO } from '../io.js';
import { jsonText, safeText } from './safe-text.js';

/**
 * A box-drawn table as the OCM CLI prints it (go-pretty's light style without a border). Cells are
 * data (names from descriptors): escaped. In the columns of `merge` (upstream's AutoMerge: the
 * component and provider columns of `get cv` and `add cv`), a cell equal to the one above is left
 * blank.
 */
export function renderTable(headers: string[], dataRows: string[][], merge: readonly number[] = []): string {
  const rows = dataRows.map((r, i) =>
    r.map((cell, col) => (i > 0 && merge.includes(col) && dataRows[i - 1]?.[col] === cell ? '' : safeText(cell))),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `${cells.map((c, i) => ` ${c.padEnd(widths[i] ?? 0)} `).join('│')}\n`;
  const rule = `${widths.map((w) => '─'.repeat(w + 2)).join('┼')}\n`;
  return line(headers) + rule + rows.map(line).join('');
}

/**
 * `-o tree` as upstream draws it: go-pretty's default style without borders or separators (each
 * cell padded by a space on both sides), the nesting column built from `├─`/`└─`, `│  ` for an
 * ancestor with siblings still to come, and ` ●` on a version that has children.
 */
function renderTree(roots: ComponentTree[]): string {
  const rows: string[][] = [];
  const visit = (n: ComponentTree, ancestorsHaveMore: boolean[], last: boolean) => {
    const c = n.descriptor.component;
    const [name, version, provider] = [c.name, c.version, c.provider.name].map(safeText);
    const nesting = `${ancestorsHaveMore.map((more) => (more ? '│  ' : '   ')).join('')}${last ? '└─' : '├─'}${n.children.length > 0 ? ' ●' : ''}`;
    rows.push([nesting, name ?? '', version ?? '', provider ?? '', `name=${name},version=${version}`]);
    for (const [i, child] of n.children.entries())
      visit(child, [...ancestorsHaveMore, !last], i === n.children.length - 1);
  };
  for (const [i, r] of roots.entries()) visit(r, [], i === roots.length - 1);
  const headers = ['NESTING', 'COMPONENT', 'VERSION', 'PROVIDER', 'IDENTITY'];
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const fmt = (cells: string[]) =>
    `${cells.map((c, i) => ` ${c}${' '.repeat((widths[i] ?? 0) - [...c].length)} `).join('')}\n`;
  return fmt(headers) + rows.map(fmt).join('');
}

export type OcmFormat = 'table' | 'yaml' | 'json' | 'ndjson' | 'tree';

/** Text gathered before a write to stdout (see writeDescriptors). */
const WriteChars = 64 * 1024;

/**
 * The descriptors as one JSON array (`json`), one JSON value a line (`ndjson`) or one YAML list
 * (`yaml`), written as each is made: the text of thousands of descriptors (an `add cv` of a large
 * constructor) is never held whole, nor is a second, wire-form copy of every descriptor. The bytes
 * are those of the whole list made at once: an element of a JSON array indented by 2 is the
 * element's own text indented by 2 more (no string holds a raw line break), and a YAML block list
 * is its items' one-item lists one after another.
 */
async function writeDescriptors(io: CliIO, format: 'json' | 'ndjson' | 'yaml', flat: ComponentDescriptor[]) {
  const { toWire } = await import('../../ocm/descriptor/wire.js');
  const { goYaml } = await import('../../ocm/descriptor/go-yaml.js');
  if (flat.length === 0) {
    if (format !== 'ndjson') io.stdout.write(format === 'json' ? `${jsonText([], 2)}\n` : goYaml([]));
    return;
  }
  const item =
    format === 'json'
      ? (w: unknown, last: boolean) => `  ${jsonText(w, 2).replaceAll('\n', '\n  ')}${last ? '\n]\n' : ',\n'}`
      : format === 'ndjson'
        ? (w: unknown) => `${jsonText(w)}\n`
        : (w: unknown) => goYaml([w]);
  let text = format === 'json' ? '[\n' : '';
  const flush = async () => {
    const ok = io.stdout.write(text);
    text = '';
    if (!ok) await io.stdout.drained(interruptSignal());
  };
  for (const [i, d] of flat.entries()) {
    text += item(toWire(d), i === flat.length - 1);
    if (text.length >= WriteChars) await flush();
  }
  if (text !== '') await flush();
}

export async function renderDescriptors(io: CliIO, format: OcmFormat, roots: ComponentTree[]): Promise<void> {
  const flat: ComponentDescriptor[] = [];
  const walk = (n: ComponentTree) => {
    flat.push(n.descriptor);
    n.children.forEach(walk);
  };
  roots.forEach(walk);
  switch (format) {
    case 'json':
    case 'ndjson':
    case 'yaml':
      await writeDescriptors(io, format, flat);
      return;
    case 'tree':
      io.stdout.write(renderTree(roots));
      return;
    default:
      io.stdout.write(
        renderTable(
          ['COMPONENT', 'VERSION', 'PROVIDER'],
          flat.map((d) => [d.component.name, d.component.version, d.component.provider.name]),
          [0, 2],
        ),
      );
  }
}

/**
 * The identity as the resource is selected by (name and version first): a descriptor from elsewhere
 * may repeat `name` or `version` in its extra identity (upstream's schema lets it), and the
 * element's own win there, so they are shown once.
 */
function identityText(r: Resource): string {
  const { name, version, ...extra } = identityOf(r);
  return [
    ...(name !== undefined ? [`name=${name}`] : []),
    ...(version !== undefined ? [`version=${version}`] : []),
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
  ].join(',');
}

export async function renderResources(io: CliIO, format: OcmFormat, descriptor: ComponentDescriptor): Promise<void> {
  const resources = descriptor.component.resources ?? [];
  if (format === 'json' || format === 'yaml' || format === 'ndjson') {
    const { toWire } = await import('../../ocm/descriptor/wire.js');
    const list = (toWire(descriptor).component as { resources: unknown[] | null }).resources ?? [];
    if (format === 'json') io.stdout.write(`${jsonText(list, 2)}\n`);
    else if (format === 'ndjson') for (const r of list) io.stdout.write(`${jsonText(r)}\n`);
    else io.stdout.write((await import('../../ocm/descriptor/go-yaml.js')).goYaml(list));
    return;
  }
  io.stdout.write(
    renderTable(
      ['NAME', 'VERSION', 'TYPE', 'RELATION', 'ACCESS', 'IDENTITY'],
      resources.map((r) => [r.name, r.version, r.type, r.relation, r.access.type, identityText(r)]),
    ),
  );
}
