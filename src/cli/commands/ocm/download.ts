import { type Command, Option } from 'commander';
import { LadingError } from '../../../oci/index.js';
import { isElementName } from '../../../ocm/descriptor/names.js';
import type { ExtractionPolicy } from '../../../ocm/resource-extraction.js';
import type { CliIO } from '../../io.js';
import { addOcmOptions } from '../../options.js';
import { safeText } from '../../output/safe-text.js';
import { accessOptions, openRepository, plainHttpPolicy, requireVersion } from './common.js';

export function registerDownload(program: Command, io: CliIO): void {
  const download = program.command('download').description('download resources of component versions');
  const cmd = download
    .command('resource')
    .alias('resources')
    .description(
      'download one resource of a component version; by default a tar or tar+gzip resource, and an OCI artifact (as an OCI image layout), is unpacked into the output folder',
    )
    .argument('<reference>', '<repository>//<component>:<version>')
    .requiredOption(
      '--identity <key=value,...>',
      'the resource to download, e.g. name=image or name=chart,version=1.0.0',
    )
    .option(
      '--output <path>',
      'where to write: the folder an archive is unpacked into (new or empty) with --extraction-policy auto, otherwise the file; missing folders leading to it are made (default: the resource name in the current folder)',
    )
    .addOption(
      new Option(
        '--extraction-policy <policy>',
        'auto: unpack a resource whose media type says tar (application/tar, application/x-tar, *+tar; gunzipped first for *+gzip) and an OCI artifact (as an OCI image layout folder), and gunzip other gzip content (application/gzip, *+gzip); disable: write the resource as it is (an OCI artifact as an OCI image layout tar). Helm charts fetched through a Helm/v1 access stay .tgz files',
      )
        .choices(['auto', 'disable'])
        .default('auto'),
    )
    .option(
      '--transformer <name>',
      "upstream's transformer of the downloaded resource, by name; neither upstream nor lading registers any, so naming one fails",
    );
  addOcmOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading download resource ./transport-archive//acme.org/hello:1.0.0 --identity name=image --output image
  skopeo inspect --raw oci:image
  lading download resource ./transport-archive//acme.org/hello:1.0.0 --identity name=image --output image.tar --extraction-policy disable
  skopeo inspect --raw oci-archive:image.tar`,
  );
  cmd.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { parseIdentity, selectByIdentity, identityOf, formatIdentity } = await import(
      '../../../ocm/descriptor/identity.js'
    );
    const { resourceContent } = await import('../../../ocm/resource-content.js');
    const { checkOutputFile, writeOutputStream, writeOutputVia } = await import('../../output-file.js');
    const { checkNewFolder, extractResourceTar, gunzipResource, unpackingFor, writeLayoutFolder } = await import(
      '../../../ocm/resource-extraction.js'
    );
    const ref = parseComponentReference(reference);
    const version = requireVersion(reference, ref);
    const requested = parseIdentity(opts.identity);
    // As upstream, whose table of transformers is empty: an empty name is none, any other is unknown.
    if (opts.transformer)
      throw new LadingError(
        'INVALID_ARGUMENT',
        `transformer ${JSON.stringify(opts.transformer)} not found, available transformers: []`,
      );
    const opened = await openRepository(ref.repository, opts);
    // An access is data from the descriptor: it does not choose plain HTTP for the user.
    const access = await accessOptions(opts, await plainHttpPolicy(opts, [ref.repository]), [ref.repository]);
    try {
      const stored = await opened.repository.getComponentVersion(ref.component, version);
      const resource = selectByIdentity(stored.descriptor.component.resources ?? [], requested);
      if (!resource) {
        throw new LadingError('NOT_FOUND', `${ref.component}:${version} has no resource matching ${opts.identity}`);
      }
      const out: string = opts.output ?? (await defaultOutput(resource.name));
      const policy = opts.extractionPolicy as ExtractionPolicy;
      // Ctrl-C stops an unpack and removes the folder it was filling.
      const signal = (await import('../../interrupt.js')).interruptSignal();
      const content = await resourceContent(opened.repository, stored, resource, access);
      const where = `${ref.component}:${version}: resource ${formatIdentity(identityOf(resource))}`;
      // A chart from a Helm/v1 access is the chart archive helm installs: kept whole.
      const unpacking =
        content.kind === 'blob' && policy === 'auto' && !content.chart ? unpackingFor(content.mediaType) : undefined;
      const folder = policy === 'auto' && (content.kind === 'artifact' || unpacking?.tar === true);
      let what: string;
      let how = '';
      // As upstream, the folders leading to --output are made; a failed download removes the ones it made.
      let made: string | undefined;
      try {
        made = await makeParents(out);
        if (folder) await checkNewFolder(out, '--output');
        else await checkOutputFile(out, '--output');
        if (content.kind === 'artifact') {
          what = content.imageReference ? `OCI image layout of ${content.imageReference}` : content.mediaType;
          if (folder) {
            await writeLayoutFolder(content.target, content.root, out, content.tag, { signal });
            how = ', unpacked';
          } else {
            const { writeLayoutTar } = await import('../../../ocm/repository/repository.js');
            // A tar writer renames its temp file over the path: /dev/stdout or a fifo gets a copy instead.
            await writeOutputVia(out, '--output', (path) =>
              writeLayoutTar(content.target, content.root, path, content.tag),
            );
          }
        } else {
          what = content.chart ? `chart ${content.chart.name}:${content.chart.version}` : content.mediaType;
          if (folder) {
            await extractResourceTar(content.stream, out, { where, gzip: unpacking?.gunzip === true, signal });
            how = ', unpacked';
          } else if (unpacking?.gunzip) {
            await writeOutputStream(gunzipResource(content.stream, where), out, '--output');
            how = ', gunzipped';
          } else {
            // A regular file through a temp file renamed over it, so a failed download leaves no file.
            await writeOutputStream(content.stream, out, '--output');
          }
        }
      } catch (error) {
        if (content.kind === 'blob') content.stream.destroy();
        await removeParents(out, made);
        throw error;
      }
      // A message, so on stderr (upstream logs it there): `--output /dev/stdout` carries only the resource.
      io.stderr.write(
        `Downloaded ${safeText(formatIdentity(identityOf(resource)))} (${safeText(what)}${how}) to ${safeText(out)}\n`,
      );
    } finally {
      await opened.close();
      await access.registries.close();
    }
  });
}

/**
 * The output file when none is given: the resource name, in the current folder. Names from a
 * descriptor are data, never paths: the repository enforces the schema's name pattern on every read,
 * and anything that is not one plain file name is refused here as well.
 */
/**
 * The output named after the resource (no --output): a plain name in the current folder, and not a
 * symbolic link there. The name is the descriptor's choice, so a link of that name (planted, or
 * left from something else) must not send the content to wherever it points.
 */
async function defaultOutput(name: string): Promise<string> {
  if (!isElementName(name)) {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `resource name ${JSON.stringify(name)} is not a plain file name; choose the file with --output`,
    );
  }
  const { lstat } = await import('node:fs/promises');
  const info = await lstat(name).catch(() => undefined);
  if (info?.isSymbolicLink()) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${JSON.stringify(name)} (named after the resource) is a symbolic link here; choose the file with --output`,
    );
  }
  return name;
}

/** Makes the folders leading to `out`; returns the first one made (undefined when all were there). */
async function makeParents(out: string): Promise<string | undefined> {
  const { makeDirectory } = await import('../../../content/index.js');
  const { dirname, resolve } = await import('node:path');
  const parent = dirname(resolve(out));
  try {
    return await makeDirectory(parent);
  } catch (error) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `--output ${out}: cannot make the folder ${parent}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
}

/** Removes the folders {@link makeParents} made, deepest first, as long as they are empty. */
async function removeParents(out: string, made: string | undefined): Promise<void> {
  if (!made) return;
  const { rmdir } = await import('node:fs/promises');
  const { dirname, resolve } = await import('node:path');
  for (let folder = dirname(resolve(out)); folder.startsWith(made); folder = dirname(folder)) {
    const removed = await rmdir(folder).then(
      () => true,
      () => false,
    );
    if (!removed || folder === made) return;
  }
}
