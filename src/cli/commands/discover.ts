import type { Command } from 'commander';
import type { ReferrerNode } from '../../copy/index.js';
import { type Descriptor, LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions } from '../options.js';
import { descriptorModel, descriptorText, GoMap, printModel } from '../output/format.js';
import { safeText } from '../output/safe-text.js';

function renderTree(io: CliIO, nodes: ReferrerNode[], prefix: string): void {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    const branch = last ? '└── ' : '├── ';
    const inner = prefix + (last ? '    ' : '│   ');
    io.stdout.write(`${prefix}${branch}${safeText(node.desc.artifactType ?? '<unknown>')}\n`);
    io.stdout.write(`${inner}└── ${safeText(node.desc.digest)}\n`);
    const below = `${inner}    `;
    const annotations = Object.entries(node.desc.annotations ?? {});
    const children: (() => void)[] = [];
    if (annotations.length > 0) {
      children.push(() => {
        const lastChild = node.referrers.length === 0;
        io.stdout.write(`${below}${lastChild ? '└── ' : '├── '}[annotations]\n`);
        const annPrefix = below + (lastChild ? '    ' : '│   ');
        annotations.forEach(([k, v], j) => {
          io.stdout.write(
            `${annPrefix}${j === annotations.length - 1 ? '└── ' : '├── '}${safeText(k)}: ${safeText(v)}\n`,
          );
        });
      });
    }
    for (const c of children) c();
    renderTree(io, node.referrers, below);
  });
}

function toModel(base: string, node: ReferrerNode): Record<string, unknown> {
  return {
    ...descriptorModel(`${base}@${node.desc.digest}`, node.desc),
    referrers: node.referrers.map((n) => toModel(base, n)),
  };
}

/** ORAS's deprecated table: the direct referrers, one row each, with the descriptor under it. */
function renderTable(io: CliIO, raw: string, subject: Descriptor, referrers: ReferrerNode[]): void {
  const n = referrers.length;
  io.stdout.write(`Discovered ${n} ${n === 1 ? 'artifact' : 'artifacts'} referencing ${safeText(raw)}\n`);
  io.stdout.write(`Digest: ${safeText(subject.digest)}\n`);
  if (n === 0) return;
  io.stdout.write('\n');
  const title = 'Artifact Type';
  // Widths of the text as printed: an escaped artifact type is longer than the one received.
  const types = referrers.map((r) => safeText(r.desc.artifactType ?? ''));
  const width = Math.max(title.length, ...types.map((t) => t.length));
  const row = (key: string, value: string) => `${key} ${' '.repeat(width - key.length + 1)} ${value}\n`;
  io.stdout.write(row(title, 'Digest'));
  for (const [i, r] of referrers.entries()) {
    io.stdout.write(row(types[i] ?? '', safeText(r.desc.digest)));
    // ocispec.Descriptor as Go encodes it, indented.
    const d = r.desc;
    const desc: Record<string, unknown> = { mediaType: d.mediaType, digest: d.digest, size: d.size };
    if (d.annotations && Object.keys(d.annotations).length > 0) desc.annotations = new GoMap(d.annotations);
    if (d.artifactType) desc.artifactType = d.artifactType;
    io.stdout.write(descriptorText(desc));
  }
}

export function registerDiscover(program: Command, io: CliIO): void {
  const cmd = program
    .command('discover')
    .description('show the referrers of an artifact (signatures, SBOMs, attachments) as a tree')
    .argument('<name>', 'the subject: <registry>/<repository>{:<tag>|@<digest>}')
    .option('--artifact-type <type>', 'show only referrers of this artifact type')
    .option('--depth <n>', 'levels of referrers to show (default: all)')
    .option('--platform <platform>', 'discover the manifest for this platform inside an index');
  cmd
    .option('-o, --output <format>', '[Deprecated] format in which to display referrers (table, json, or tree)')
    .option('--no-tty', 'disable colors (lading prints none)');
  // Before the format is parsed: the deprecated -o stands for --format.
  cmd.hook('preAction', (_program, action) => {
    const output = action.getOptionValue('output') as string | undefined;
    if (output === undefined) return;
    if (action.getOptionValueSource('format') === 'cli')
      throw new LadingError('INVALID_ARGUMENT', '--format and --output cannot be used together');
    if (!['tree', 'table', 'json'].includes(output))
      throw new LadingError('INVALID_ARGUMENT', 'output type can only be tree, table or json');
    io.stderr.write(`[DEPRECATED] --output is deprecated, try \`--format ${safeText(output)}\` instead\n`);
    action.setOptionValueWithSource('format', output, 'cli');
  });
  addOrasOptions(cmd, { distributionSpec: true, format: ['tree', 'table', 'json', 'go-template'] });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading discover localhost:5000/hello:v1
  lading discover --artifact-type application/vnd.example.sbom localhost:5000/hello:v1
  lading discover --format json localhost:5000/hello:v1
  lading discover --oci-layout ./layout:v1`,
  );
  cmd.action(async (name: string, opts) => {
    const { openTarget, closeRegistries, requireReference } = await import('../targets.js');
    const { referrerTree, resolveRoot } = await import('../../copy/index.js');
    const { parsePlatform } = await import('../../oci/index.js');
    let depth = 0;
    if (opts.depth !== undefined) {
      depth = Number(opts.depth);
      if (!Number.isInteger(depth) || depth < 1)
        throw new LadingError('INVALID_ARGUMENT', '--depth must be a whole number of at least 1');
    }
    if (opts.format === 'table') {
      io.stderr.write('Format "table" is deprecated and will be removed in a future release.\n');
      depth = 1; // the table shows direct referrers only
    }
    const opened = await openTarget(name, opts);
    try {
      const signal = (await import('../interrupt.js')).interruptSignal();
      const reference = await requireReference(opened, name);
      const subject = await resolveRoot(opened.target, reference, {
        signal,
        ...(opts.platform ? { platform: parsePlatform(opts.platform) } : {}),
      });
      const tree = await referrerTree(opened.target, subject, {
        depth,
        signal,
        where: `${opened.base}@${subject.digest}`,
        ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
        advice: (bound) => `show fewer with ${bound === 'depth' ? '--depth' : '--depth or --artifact-type'}`,
      });
      if (opts.format === 'json' || opts.format === 'go-template') {
        const { shownDescriptor } = await import('./manifest-shared.js');
        const root = opts.platform ? subject : shownDescriptor(opened, reference, subject);
        await printModel(io, opts, toModel(opened.base, { desc: root, referrers: tree }));
        return;
      }
      if (opts.format === 'table') {
        renderTable(io, name, subject, tree);
        return;
      }
      io.stdout.write(`${opened.base}@${subject.digest}\n`);
      renderTree(io, tree, '');
    } finally {
      await closeRegistries();
    }
  });
}
