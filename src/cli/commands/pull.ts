import type { Command } from 'commander';
import { defaultCopyConcurrency } from '../../copy/limits.js';
import { LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions, parseConcurrency, parseFileRef, parseSizeOrUnlimited } from '../options.js';
import { descriptorModel, isModelFormat, printModel } from '../output/format.js';
import { safeText } from '../output/safe-text.js';

export function registerPull(program: Command, io: CliIO): void {
  const cmd = program
    .command('pull')
    .description('pull the files of an artifact from a registry or an OCI layout')
    .argument('<name>', 'source: <registry>/<repository>{:<tag>|@<digest>} (or a layout with --oci-layout)')
    .option('-o, --output <dir>', 'output folder', '.')
    .option('-k, --keep-old-files', 'do not replace existing files; fail instead')
    .option(
      '-T, --allow-path-traversal',
      'allow file names that point outside the output folder (written there at once: a failed pull does not undo them)',
    )
    .option('--include-subject', 'also pull the subject of the manifest, recursively')
    .option('--config <file>', 'also save the config as this file: <file>[:<type>]')
    .option('--platform <platform>', 'pull the manifest for this platform: os[/arch[/variant]][:os_version]')
    .option(
      '--max-unpack-size <size>',
      'most bytes one directory layer may unpack to, against gzip bombs (default: 1GiB or 100 times the layer, whichever is more; "unlimited" for no bound)',
      parseSizeOrUnlimited,
    );
  addOrasOptions(cmd, {
    concurrency: { what: 'blobs pulled', default: defaultCopyConcurrency() },
    format: ['text', 'json', 'go-template'],
    progress: true,
  });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading pull localhost:5000/hello:v1
  lading pull -o ./out localhost:5000/hello@sha256:<digest>
  lading pull --oci-layout ./layout.tar:v1 -o ./files`,
  );
  cmd.action(async (name: string, opts) => {
    const { pullFiles } = await import('../../files/index.js');
    const { parsePlatform } = await import('../../oci/index.js');
    const { openTarget, closeRegistries, requireReference } = await import('../targets.js');
    const { TransferDisplay, PullVerbs } = await import('../output/transfer.js');
    const opened = await openTarget(name, opts);
    const display = new TransferDisplay(io, PullVerbs, { tty: opts.tty, format: opts.format });
    try {
      const reference = await requireReference(opened, name);
      const platform = opts.platform ? parsePlatform(opts.platform) : undefined;
      let config: { path: string; mediaType?: string } | undefined;
      if (opts.config) config = parseFileRef(opts.config);
      const { interruptSignal } = await import('../interrupt.js');
      const result = await pullFiles(opened.target, reference, {
        output: opts.output,
        signal: interruptSignal(),
        concurrency: parseConcurrency(opts.concurrency),
        ...(opts.keepOldFiles ? { keepOldFiles: true } : {}),
        ...(opts.allowPathTraversal ? { allowPathTraversal: true } : {}),
        ...(opts.includeSubject ? { includeSubject: true } : {}),
        ...(config ? { configPath: config.path } : {}),
        ...(config?.mediaType ? { configMediaType: config.mediaType } : {}),
        ...(platform ? { platform } : {}),
        ...(opts.maxUnpackSize !== undefined ? { maxUnpackSize: opts.maxUnpackSize } : {}),
        preCopy: display.preCopy,
        postCopy: display.postCopy,
        onProgress: display.onProgress,
        onSkipped: (d) => display.onCopySkipped(d),
      });
      display.stop();
      if (isModelFormat(opts.format)) {
        await printModel(io, opts, {
          reference: `${opened.base}@${result.root.digest}`,
          files:
            result.files.length > 0
              ? result.files.map((f) => ({
                  path: f.path,
                  ...descriptorModel(`${opened.base}@${f.desc.digest}`, f.desc),
                }))
              : null,
        });
        return;
      }
      if (result.skipped.length > 0) {
        // As ORAS 1.3 says it; the Pulled and Digest lines follow all the same (seed 002 shows them).
        io.stdout.write(
          'Skipped pulling layers without file name in "org.opencontainers.image.title"\n' +
            `Use 'lading copy ${opts.ociLayout ? '--from-oci-layout ' : ''}${safeText(name)} --to-oci-layout <layout-dir>' to pull all layers.\n`,
        );
      } else if (result.files.length === 0) {
        io.stdout.write('Downloaded empty artifact\n');
      }
      io.stdout.write(`Pulled ${opened.display}\nDigest: ${result.root.digest}\n`);
    } catch (error) {
      // Only where a title leads is what -T permits; links and entries of an archive never leave the output.
      if (
        error instanceof LadingError &&
        error.code === 'PATH_TRAVERSAL' &&
        /^(layer title .* has a "\." or "\.\." component|path traversal disallowed)/.test(error.message) &&
        !/allow-path-traversal/.test(error.message)
      ) {
        throw new LadingError('PATH_TRAVERSAL', `${error.message} (use --allow-path-traversal to permit it)`, {
          cause: error,
        });
      }
      if (error instanceof LadingError && error.code === 'SIZE_EXCEEDS_LIMIT' && /gzip bomb/.test(error.message)) {
        const said = error.message.replace(/ \(raise the extraction limit if the archive is trusted\)$/, '');
        throw new LadingError(
          'SIZE_EXCEEDS_LIMIT',
          `${said} (if you trust it: --max-unpack-size <size> or unlimited)`,
          {
            cause: error,
          },
        );
      }
      throw error;
    } finally {
      display.stop();
      await closeRegistries();
    }
  });
}
