import type { Command } from 'commander';
import { defaultCopyConcurrency } from '../../copy/limits.js';
import type { CliIO } from '../io.js';
import { addOrasOptions, parseConcurrency } from '../options.js';
import { safeText } from '../output/safe-text.js';

export function registerCp(program: Command, io: CliIO): void {
  const cmd = program
    .command('cp')
    .alias('copy')
    .description('copy an artifact, with everything it references, between registries and OCI layouts')
    .argument(
      '[from]',
      'source: <registry>/<repository>{:<tag>|@<digest>}, or <path>[:<tag>|@<digest>] with --from-oci-layout',
    )
    .argument(
      '[to]',
      'destination: <registry>/<repository>[:<tag>[,<tag>...]], or <path>[:<tag>...] with --to-oci-layout',
    )
    .option('--from <source>', 'the source, as an option instead of the first argument')
    .option('--to <destination>', 'the destination, as an option instead of the second argument')
    .option('-r, --recursive', 'also copy the artifacts that refer to the source (signatures, SBOMs), recursively')
    .option('--platform <platform>', 'copy only the manifest for this platform: os[/arch[/variant]][:os_version]');
  addOrasOptions(cmd, {
    concurrency: { what: 'blobs copied', default: defaultCopyConcurrency() },
    names: 'ends',
    distributionSpec: true,
    progress: true,
  });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading cp localhost:5000/net-monitor:v1 localhost:6000/net-monitor-copy:v1
  lading cp --from-oci-layout ./hello-world.tar:v1 localhost:5000/hello-artifact:v1
  lading cp localhost:5000/hello:v1 --to-oci-layout ./layout:v1,latest
  lading cp -r localhost:5000/app:v1 localhost:5000/mirror/app:v1`,
  );
  cmd.action(async (first: string | undefined, second: string | undefined, opts) => {
    // `--from`/`--to` name the ends as options (seen in published EO workflows); positionals fill the rest.
    const positionals = [first, second].filter((a): a is string => a !== undefined);
    const from = opts.from ?? positionals.shift();
    const to = opts.to ?? positionals.shift();
    if (!from || !to || positionals.length > 0) {
      const { LadingError } = await import('../../oci/index.js');
      throw new LadingError('INVALID_ARGUMENT', 'cp needs a source and a destination: lading cp <from> <to>');
    }
    const { copy } = await import('../../copy/index.js');
    const { isValidDigest, parsePlatform } = await import('../../oci/index.js');
    const { openTarget, closeRegistries, requireReference, prefixedFlags } = await import('../targets.js');
    const { TransferDisplay, CopyVerbs } = await import('../output/transfer.js');
    const display = new TransferDisplay(io, CopyVerbs, { tty: opts.tty });
    try {
      const src = await openTarget(from, prefixedFlags(opts, 'from'));
      const dst = await openTarget(to, prefixedFlags(opts, 'to'), { write: true });
      const srcRef = await requireReference(src, from);
      const dstRef = dst.reference || (isValidDigest(srcRef) ? '' : srcRef);
      const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
      const { interruptSignal } = await import('../interrupt.js');
      const root = await copy(src.target, srcRef, dst.target, dstRef || srcRef, {
        signal: interruptSignal(),
        concurrency: parseConcurrency(opts.concurrency),
        ...(opts.recursive ? { includeReferrers: true } : {}),
        ...(platform ? { platform } : {}),
        ...display.hooks(),
      });
      for (const tag of dst.extraTags) await dst.target.tag(root, tag);
      display.stop();
      io.stdout.write(`Copied ${src.display} => ${dst.display}\n`);
      // As ORAS: the first destination tag in `Copied`, a `Tagged` line for each other one.
      for (const tag of dst.extraTags) io.stdout.write(`Tagged ${safeText(tag)}\n`);
      io.stdout.write(`Digest: ${root.digest}\n`);
    } finally {
      display.stop();
      await closeRegistries();
    }
  });
}
