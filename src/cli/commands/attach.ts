import type { Command } from 'commander';
import { LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions, collect, parseAnnotations, parseConcurrency, parseFileRef } from '../options.js';
import { descriptorModel, isModelFormat, printModel } from '../output/format.js';

export function registerAttach(program: Command, io: CliIO): void {
  const cmd = program
    .command('attach')
    .description('attach files to an existing artifact as a referrer (a manifest whose subject is that artifact)')
    .argument('<name>', 'the subject: <registry>/<repository>{:<tag>|@<digest>}')
    .argument('[files...]', 'files to attach: <file>[:<type>]')
    .requiredOption('--artifact-type <type>', 'the artifact type of the referrer (required)')
    .option('-a, --annotation <key=value>', 'a manifest annotation (repeatable)', collect)
    .option('--annotation-file <file>', 'annotations from a JSON file')
    .option('--export-manifest <file>', 'also write the attached manifest to this file')
    .option('--platform <platform>', 'attach to the manifest for this platform inside an index')
    .option('--disable-path-validation', 'allow absolute file paths');
  addOrasOptions(cmd, {
    concurrency: { what: 'blobs pushed', default: 5 },
    distributionSpec: true,
    format: ['text', 'json', 'go-template'],
    progress: true,
  });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading attach --artifact-type application/vnd.example.sbom localhost:5000/hello:v1 sbom.json
  lading attach --artifact-type application/vnd.example.review -a reviewed=yes localhost:5000/hello:v1`,
  );
  cmd.action(async (name: string, files: string[], opts) => {
    const { pushFiles, readAnnotationFile } = await import('../../files/index.js');
    const { resolveRoot } = await import('../../copy/index.js');
    const { parsePlatform } = await import('../../oci/index.js');
    const { openTarget, closeRegistries, requireReference } = await import('../targets.js');
    const { TransferDisplay, PushVerbs } = await import('../output/transfer.js');
    if (opts.annotation && opts.annotationFile) {
      throw new LadingError('INVALID_ARGUMENT', '--annotation and --annotation-file cannot be used together');
    }
    const annotations = parseAnnotations(opts.annotation);
    const fileAnnotations = opts.annotationFile ? await readAnnotationFile(opts.annotationFile) : {};
    if (files.length === 0 && Object.keys(annotations).length === 0 && !fileAnnotations.$manifest) {
      throw new LadingError('INVALID_ARGUMENT', 'nothing to attach: give at least one file or --annotation');
    }
    const { checkOutputFile, writeOutputFile } = await import('../output-file.js');
    if (opts.exportManifest) await checkOutputFile(opts.exportManifest, '--export-manifest');
    // Arguments are checked before the target is opened (opening a new layout creates it).
    const fileRefs = files.map((f) => parseFileRef(f));
    const opened = await openTarget(name, opts, { write: true });
    const display = new TransferDisplay(io, PushVerbs, { tty: opts.tty, format: opts.format });
    try {
      const subject = await resolveRoot(opened.target, await requireReference(opened, name), {
        ...(opts.platform ? { platform: parsePlatform(opts.platform) } : {}),
      });
      if (fileRefs.length === 0) display.note('Uploading empty artifact');
      const manifest = await pushFiles(opened.target, fileRefs, {
        // Ctrl-C stops the uploads, as it does push's.
        signal: (await import('../interrupt.js')).interruptSignal(),
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
        artifactType: opts.artifactType,
        annotations,
        fileAnnotations,
        concurrency: parseConcurrency(opts.concurrency),
        ...(opts.disablePathValidation ? { allowAbsolutePaths: true } : {}),
        onFileLoading: (title) => display.note(`Preparing ${title}`),
        ...display.hooks(),
      });
      display.stop();
      if (opts.exportManifest) {
        const { fetchAll } = await import('../../content/index.js');
        await writeOutputFile(opts.exportManifest, await fetchAll(opened.target, manifest), '--export-manifest');
      }
      if (isModelFormat(opts.format)) {
        await printModel(io, opts, descriptorModel(`${opened.base}@${manifest.digest}`, manifest));
      } else {
        // The subject by digest, as ORAS shows it, unless it was named by that digest already.
        const shown = name.endsWith(subject.digest)
          ? opened.display
          : `[${opened.kind}] ${opened.base}@${subject.digest}`;
        io.stdout.write(`Attached to ${shown}\nDigest: ${manifest.digest}\n`);
      }
    } finally {
      display.stop();
      await closeRegistries();
    }
  });
}
