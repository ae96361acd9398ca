import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import { isElementName } from '../../../ocm/descriptor/names.js';
import type { CliIO } from '../../io.js';
import { addOcmOptions } from '../../options.js';
import { safeText } from '../../output/safe-text.js';
import { accessOptions, openRepository, plainHttpPolicy } from './common.js';

export function registerDownload(program: Command, io: CliIO): void {
  const download = program.command('download').description('download resources of component versions');
  const cmd = download
    .command('resource')
    .alias('resources')
    .description('download one resource of a component version; OCI artifacts come out as an OCI image layout tar')
    .argument('<reference>', '<repository>//<component>:<version>')
    .requiredOption(
      '--identity <key=value,...>',
      'the resource to download, e.g. name=image or name=chart,version=1.0.0',
    )
    .option('--output <path>', 'the file to write (default: the resource name in the current folder)');
  addOcmOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading download resource ./transport-archive//acme.org/hello:1.0.0 --identity name=image --output image.tar
  skopeo inspect oci-archive:image.tar`,
  );
  cmd.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { parseIdentity, selectByIdentity, identityOf, formatIdentity } = await import(
      '../../../ocm/descriptor/identity.js'
    );
    const { resourceContent } = await import('../../../ocm/resource-content.js');
    const { checkOutputFile, writeOutputStream, writeOutputVia } = await import('../../output-file.js');
    const ref = parseComponentReference(reference);
    if (!ref.version) throw new LadingError('INVALID_REFERENCE', `${reference}: a version is required`);
    const requested = parseIdentity(opts.identity);
    const opened = await openRepository(ref.repository, opts);
    // An access is data from the descriptor: it does not choose plain HTTP for the user.
    const access = await accessOptions(opts, await plainHttpPolicy(opts, [ref.repository]));
    try {
      const stored = await opened.repository.getComponentVersion(ref.component, ref.version);
      const resource = selectByIdentity(stored.descriptor.component.resources ?? [], requested);
      if (!resource) {
        throw new LadingError('NOT_FOUND', `${ref.component}:${ref.version} has no resource matching ${opts.identity}`);
      }
      const out: string = opts.output ?? defaultOutput(resource.name);
      await checkOutputFile(out, '--output');
      const content = await resourceContent(opened.repository, stored, resource, access);
      let what: string;
      if (content.kind === 'artifact') {
        const { writeLayoutTar } = await import('../../../ocm/repository/repository.js');
        // A tar writer renames its temp file over the path: /dev/stdout or a fifo gets a copy instead.
        await writeOutputVia(out, '--output', (path) =>
          writeLayoutTar(content.target, content.root, path, content.tag),
        );
        what = content.imageReference ? `OCI image layout of ${content.imageReference}` : content.mediaType;
      } else {
        // A regular file through a temp file renamed over it, so a failed download leaves no file.
        await writeOutputStream(content.stream, out, '--output');
        what = content.chart ? `chart ${content.chart.name}:${content.chart.version}` : content.mediaType;
      }
      io.stdout.write(`Downloaded ${safeText(formatIdentity(identityOf(resource)))} (${safeText(what)}) to ${out}\n`);
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
function defaultOutput(name: string): string {
  if (!isElementName(name)) {
    throw new LadingError(
      'INVALID_DESCRIPTOR',
      `resource name ${JSON.stringify(name)} is not a plain file name; choose the file with --output`,
    );
  }
  return name;
}
