import type { Command } from 'commander';
import { LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { addOrasOptions, collect, parseAnnotations, parseConcurrency, parseFileRef } from '../options.js';
import { descriptorModel, isModelFormat, printModel } from '../output/format.js';
import { safeText } from '../output/safe-text.js';

export function sourceDateEpoch(): number | undefined {
  const raw = process.env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new LadingError('INVALID_ARGUMENT', `SOURCE_DATE_EPOCH must be whole seconds, got "${raw}"`);
  return n;
}

export function registerPush(program: Command, io: CliIO): void {
  const cmd = program
    .command('push')
    .description('push files and directories to a registry or an OCI layout as one artifact')
    .argument('<name>', 'destination: <registry>/<repository>[:<tag>[,<tag>...]] (or a layout path with --oci-layout)')
    .argument('[files...]', 'files or directories, each optionally with a media type: <file>[:<type>]')
    .option('--config <file>', 'a config file, optionally with a media type: <file>[:<type>]')
    .option('--artifact-type <type>', 'the artifact type of the manifest')
    .option('-a, --annotation <key=value>', 'a manifest annotation (repeatable)', collect)
    .option(
      '--annotation-file <file>',
      'annotations from a JSON file: {"$manifest": {...}, "$config": {...}, "<file>": {...}}',
    )
    .option('--export-manifest <file>', 'also write the pushed manifest to this file')
    .option('--image-spec <version>', 'image-spec version of the manifest: v1.1 or v1.0')
    .option('--disable-path-validation', 'allow absolute file paths (they would pull outside the output folder)')
    .option(
      '--reproducible',
      'fixed times and owners in directory tars and the created annotation (honours SOURCE_DATE_EPOCH)',
    )
    .option(
      '--artifact-platform <platform>',
      'the platform of the artifact, stored as its config: os[/arch[/variant]][:os_version]',
    );
  addOrasOptions(cmd, {
    concurrency: { what: 'blobs pushed', default: 5 },
    format: ['text', 'json', 'go-template'],
    progress: true,
  });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading push localhost:5000/hello:v1 artifact.txt
  lading push localhost:5000/hello:v2 ./docs
  lading push --artifact-type application/vnd.example.data localhost:5000/data:v1 data.json:application/json
  lading push --annotation-file annotation.json localhost:5000/hello:ann
  lading push --oci-layout ./layout:v1 artifact.txt`,
  );
  cmd.action(async (name: string, files: string[], opts) => {
    const { pushFiles, readAnnotationFile } = await import('../../files/index.js');
    const { openTarget, closeRegistries } = await import('../targets.js');
    const { TransferDisplay, PushVerbs } = await import('../output/transfer.js');
    if (opts.annotation && opts.annotationFile) {
      throw new LadingError('INVALID_ARGUMENT', '--annotation and --annotation-file cannot be used together');
    }
    let imageSpec: 'v1.0' | 'v1.1' | undefined;
    if (opts.imageSpec !== undefined) {
      if (opts.imageSpec !== 'v1.0' && opts.imageSpec !== 'v1.1') {
        throw new LadingError('INVALID_ARGUMENT', `--image-spec must be v1.1 or v1.0, got "${opts.imageSpec}"`);
      }
      imageSpec = opts.imageSpec;
      if (imageSpec === 'v1.1' && opts.config && !opts.artifactType) {
        throw new LadingError(
          'INVALID_ARGUMENT',
          'missing artifact type for OCI image-spec v1.1 artifacts: set one with --artifact-type, or use --image-spec v1.0',
        );
      }
    } else if (opts.config && !opts.artifactType) {
      imageSpec = 'v1.0'; // as ORAS: a config without an artifact type means an image-spec 1.0 manifest
    }
    const fileAnnotations = opts.annotationFile ? await readAnnotationFile(opts.annotationFile) : {};
    if (opts.artifactPlatform && opts.config) {
      throw new LadingError('INVALID_ARGUMENT', '--artifact-platform and --config cannot be used together');
    }
    const { parsePlatform } = await import('../../oci/index.js');
    const artifactPlatform = opts.artifactPlatform ? parsePlatform(opts.artifactPlatform) : undefined;
    const epoch = opts.reproducible ? (sourceDateEpoch() ?? 0) : undefined;
    const annotations = parseAnnotations(opts.annotation);
    const { checkOutputFile, writeOutputFile } = await import('../output-file.js');
    if (opts.exportManifest) await checkOutputFile(opts.exportManifest, '--export-manifest');
    // Arguments are checked before the target is opened (opening a new layout creates it).
    const fileRefs = files.map((f) => parseFileRef(f));
    const configRef = opts.config ? parseFileRef(opts.config, 'application/vnd.unknown.config.v1+json') : undefined;
    const opened = await openTarget(name, opts, { write: true });
    const display = new TransferDisplay(io, PushVerbs, { tty: opts.tty, format: opts.format });
    if (fileRefs.length === 0) display.note('Uploading empty artifact');
    try {
      const manifest = await pushFiles(opened.target, fileRefs, {
        signal: (await import('../interrupt.js')).interruptSignal(),
        concurrency: parseConcurrency(opts.concurrency),
        tags: [opened.reference, ...opened.extraTags].filter(Boolean),
        fileAnnotations,
        annotations,
        ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
        ...(imageSpec ? { imageSpec } : {}),
        ...(configRef ? { config: configRef } : {}),
        ...(artifactPlatform ? { artifactPlatform } : {}),
        ...(opts.disablePathValidation ? { allowAbsolutePaths: true } : {}),
        ...(epoch !== undefined ? { reproducible: true, sourceDateEpoch: epoch } : {}),
        onFileLoading: (title) => display.note(`Preparing ${title}`),
        ...display.hooks(),
      });
      display.stop();
      if (opts.exportManifest) {
        const { fetchAll } = await import('../../content/index.js');
        await writeOutputFile(opts.exportManifest, await fetchAll(opened.target, manifest), '--export-manifest');
      }
      const tags = [opened.reference, ...opened.extraTags].filter(Boolean);
      if (isModelFormat(opts.format)) {
        await printModel(io, opts, {
          ...descriptorModel(`${opened.base}@${manifest.digest}`, manifest),
          referenceAsTags: tags.length > 0 ? tags.map((t) => `${opened.base}:${t}`) : null,
        });
      } else {
        // As ORAS: the first tag in `Pushed`, then a `Tagged` line for each other one.
        io.stdout.write(`Pushed ${opened.display}\n`);
        for (const t of opened.extraTags) io.stdout.write(`Tagged ${safeText(t)}\n`);
        io.stdout.write(`ArtifactType: ${manifest.artifactType ?? ''}\n`);
        io.stdout.write(`Digest: ${manifest.digest}\n`);
      }
    } finally {
      display.stop();
      await closeRegistries();
    }
  });
}
