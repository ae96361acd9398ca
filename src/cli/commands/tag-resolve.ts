import type { Command } from 'commander';
import { checkTagOrDigest, LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions, parseConcurrency } from '../options.js';
import { safeText } from '../output/safe-text.js';

export function registerTag(program: Command, io: CliIO): void {
  const cmd = program
    .command('tag')
    .description('give an existing artifact one or more new tags')
    .argument('<name>', 'the artifact: <registry>/<repository>{:<tag>|@<digest>}')
    .argument('<tags...>', 'new tags');
  addOrasOptions(cmd, { concurrency: { what: 'tags applied', default: 5 } });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading tag localhost:5000/hello:v1 v1.0.1 latest
  lading tag localhost:5000/hello@sha256:<digest> v2
  lading tag --oci-layout ./layout:v1 stable`,
  );
  cmd.action(async (name: string, tags: string[], opts) => {
    const { openTarget, closeRegistries, requireReference } = await import('../targets.js');
    const { fetchReference, tagAll } = await import('../../copy/index.js');
    const { hasReferenceFetcher } = await import('../../content/index.js');
    if (tags.length === 1 && (tags[0] === 'list' || tags[0] === 'ls')) {
      throw new LadingError('INVALID_ARGUMENT', 'to list tags, use "lading repo tags <name>"');
    }
    // Inside --oci-layout-path a new name may be any non-empty string, as oras-go's layout takes it.
    if (!opts.ociLayoutPath) for (const t of tags) checkTagOrDigest(t);
    const limit = parseConcurrency(opts.concurrency);
    const opened = await openTarget(name, opts, { write: true });
    try {
      const reference = await requireReference(opened, name);
      // A registry answers a GET by tag with the manifest the new tags PUT (oras-go's oras.Tag): one
      // request, where a HEAD would need a GET by digest after it.
      const desc = hasReferenceFetcher(opened.target)
        ? (await fetchReference(opened.target, reference)).desc
        : await opened.target.resolve(reference);
      io.stdout.write(`Tagging [${opened.kind}] ${safeText(opened.base)}@${desc.digest}\n`);
      await tagAll(opened.target, desc, tags, {
        concurrency: limit,
        onTagged: (t) => io.stdout.write(`Tagged ${safeText(t)}\n`),
      });
    } finally {
      await closeRegistries();
    }
  });
}

export function registerResolve(program: Command, io: CliIO): void {
  const cmd = program
    .command('resolve')
    .alias('digest')
    .description('print the digest of an artifact')
    .argument('<name>', 'the artifact: <registry>/<repository>{:<tag>|@<digest>}')
    .option('-l, --full-reference', 'print the full reference <repository>@<digest>')
    .option('--platform <platform>', 'resolve the manifest for this platform inside an index');
  addOrasOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading resolve localhost:5000/hello:v1
  lading resolve --full-reference localhost:5000/hello:v1
  lading resolve --oci-layout ./layout:v1`,
  );
  cmd.action(async (name: string, opts) => {
    const { openTarget, closeRegistries, requireReference } = await import('../targets.js');
    const { resolveRoot } = await import('../../copy/index.js');
    const { parsePlatform } = await import('../../oci/index.js');
    const opened = await openTarget(name, opts);
    try {
      const desc = await resolveRoot(opened.target, await requireReference(opened, name), {
        ...(opts.platform ? { platform: parsePlatform(opts.platform) } : {}),
      });
      io.stdout.write(opts.fullReference ? `${opened.base}@${desc.digest}\n` : `${desc.digest}\n`);
    } finally {
      await closeRegistries();
    }
  });
}
