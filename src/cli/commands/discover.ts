import type { Command } from 'commander';
import type { ReferrerNode } from '../../copy/index.js';
import { LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions } from '../options.js';
import { descriptorJson, printJson } from '../output/json.js';
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

function toJson(base: string, node: ReferrerNode): Record<string, unknown> {
  return {
    ...descriptorJson(`${base}@${node.desc.digest}`, node.desc),
    referrers: node.referrers.map((n) => toJson(base, n)),
  };
}

export function registerDiscover(program: Command, io: CliIO): void {
  const cmd = program
    .command('discover')
    .description('show the referrers of an artifact (signatures, SBOMs, attachments) as a tree')
    .argument('<name>', 'the subject: <registry>/<repository>{:<tag>|@<digest>}')
    .option('--artifact-type <type>', 'show only referrers of this artifact type')
    .option('--depth <n>', 'levels of referrers to show (default: all)')
    .option('--platform <platform>', 'discover the manifest for this platform inside an index');
  addOrasOptions(cmd, { distributionSpec: true, format: ['tree', 'json'] });
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
    const opened = await openTarget(name, opts);
    try {
      const signal = (await import('../interrupt.js')).interruptSignal();
      const subject = await resolveRoot(opened.target, await requireReference(opened, name), {
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
      if (opts.format === 'json') {
        printJson(io.stdout, toJson(opened.base, { desc: subject, referrers: tree }));
        return;
      }
      io.stdout.write(`${opened.base}@${subject.digest}\n`);
      renderTree(io, tree, '');
    } finally {
      await closeRegistries();
    }
  });
}
