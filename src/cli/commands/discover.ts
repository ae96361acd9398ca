import type { Command } from 'commander';
import type { ReadOnlyStorage } from '../../content/index.js';
import { type Descriptor, LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addDistributionSpecOption, addFormatOption, addTargetOptions } from '../options.js';
import { descriptorJson, printJson } from '../output/json.js';
import { safeText } from '../output/safe-text.js';

interface Node {
  desc: Descriptor;
  referrers: Node[];
}

async function discoverTree(
  store: ReadOnlyStorage,
  subject: Descriptor,
  options: { artifactType?: string; depth: number },
  level = 1,
  seen = new Set<string>(),
): Promise<Node[]> {
  const { listReferrers } = await import('../../content/index.js');
  seen.add(subject.digest);
  const found = await listReferrers(store, subject, options.artifactType ? { artifactType: options.artifactType } : {});
  const out: Node[] = [];
  for (const desc of found) {
    if (seen.has(desc.digest)) continue; // a referrer cycle: show each node once
    const below =
      options.depth === 0 || level < options.depth ? await discoverTree(store, desc, options, level + 1, seen) : [];
    out.push({ desc, referrers: below });
  }
  return out;
}

function renderTree(io: CliIO, nodes: Node[], prefix: string): void {
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

function toJson(base: string, node: Node): Record<string, unknown> {
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
  addTargetOptions(cmd);
  addDistributionSpecOption(cmd);
  addFormatOption(cmd, ['tree', 'json'], 'tree');
  cmd.action(async (name: string, opts) => {
    const { openTarget, closeRegistries, requireReference } = await import('../targets.js');
    const { selectPlatform } = await import('../../copy/index.js');
    const { parsePlatform } = await import('../../oci/index.js');
    let depth = 0;
    if (opts.depth !== undefined) {
      depth = Number(opts.depth);
      if (!Number.isInteger(depth) || depth < 1)
        throw new LadingError('INVALID_ARGUMENT', '--depth must be a whole number of at least 1');
    }
    const opened = await openTarget(name, opts);
    try {
      let subject = await opened.target.resolve(await requireReference(opened, name));
      if (opts.platform) subject = await selectPlatform(opened.target, subject, parsePlatform(opts.platform));
      const tree = await discoverTree(opened.target, subject, {
        depth,
        ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
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
