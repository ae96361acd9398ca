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

/**
 * How deep and how wide a referrer tree is walked. A registry can serve a chain without end (each
 * referrer referred to by a new one) or a cycle; every node costs a listing request, and the tree
 * is printed recursively, so both are bounded: generous for signatures of signatures, far below
 * what would exhaust the stack or the registry.
 */
const MaxDepth = 64;
const MaxNodes = 10_000;

interface Walk {
  store: ReadOnlyStorage;
  /** Levels to show; 0 for all (up to MaxDepth). */
  depth: number;
  artifactType?: string;
  signal: AbortSignal;
  /** `host/repo@digest` of the subject, for messages. */
  where: string;
  seen: Set<string>;
}

async function discoverTree(walk: Walk, subject: Descriptor, level = 1): Promise<Node[]> {
  const { listReferrers } = await import('../../content/index.js');
  walk.seen.add(subject.digest);
  const found = await listReferrers(walk.store, subject, {
    signal: walk.signal,
    ...(walk.artifactType ? { artifactType: walk.artifactType } : {}),
  });
  const wanted = walk.depth === 0 ? Number.POSITIVE_INFINITY : walk.depth;
  const out: Node[] = [];
  for (const desc of found) {
    if (walk.seen.has(desc.digest)) continue; // a referrer cycle, or a node shared by two: show each once
    if (level > MaxDepth) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `referrers of ${walk.where} nest deeper than ${MaxDepth} levels (${desc.digest} at level ${level}); show fewer with --depth`,
      );
    }
    if (walk.seen.size > MaxNodes) {
      throw new LadingError(
        'SIZE_EXCEEDS_LIMIT',
        `referrers of ${walk.where} number more than ${MaxNodes}; show fewer with --depth or --artifact-type`,
      );
    }
    walk.seen.add(desc.digest);
    const below = level < wanted ? await discoverTree(walk, desc, level + 1) : [];
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
      const signal = (await import('../interrupt.js')).interruptSignal();
      let subject = await opened.target.resolve(await requireReference(opened, name), { signal });
      if (opts.platform) subject = await selectPlatform(opened.target, subject, parsePlatform(opts.platform));
      const tree = await discoverTree(
        {
          store: opened.target,
          depth,
          signal,
          where: `${opened.base}@${subject.digest}`,
          seen: new Set(),
          ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
        },
        subject,
      );
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
