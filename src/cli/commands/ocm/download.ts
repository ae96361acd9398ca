import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { LocalBlobAccess } from '../../../ocm/descriptor/model.js';
import { isElementName } from '../../../ocm/descriptor/names.js';
import type { CliIO } from '../../io.js';
import { safeText } from '../../output/safe-text.js';
import { addOcmRemoteOptions, ocmConfigFor, openRepository, otherRegistries, plainHttpPolicy } from './common.js';

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
  addOcmRemoteOptions(cmd);
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
    const { isAccessType } = await import('../../../ocm/types.js');
    const ref = parseComponentReference(reference);
    if (!ref.version) throw new LadingError('INVALID_REFERENCE', `${reference}: a version is required`);
    const requested = parseIdentity(opts.identity);
    const opened = await openRepository(ref.repository, opts);
    const others = await otherRegistries(opts);
    try {
      const stored = await opened.repository.getComponentVersion(ref.component, ref.version);
      const resource = selectByIdentity(stored.descriptor.component.resources ?? [], requested);
      if (!resource) {
        throw new LadingError('NOT_FOUND', `${ref.component}:${ref.version} has no resource matching ${opts.identity}`);
      }
      const out: string = opts.output ?? defaultOutput(resource.name);
      await (await import('../../output-file.js')).checkOutputFile(out, '--output');
      const { verifyResourceContent } = await import('../../../ocm/content-digest.js');
      const { accessReference } = await import('../../../ocm/access-transport.js');
      const where = `${ref.component}:${ref.version}`;
      // An access is data from the descriptor: it does not choose plain HTTP for the user.
      const allowPlainHttp = await plainHttpPolicy(opts, [ref.repository]);
      const layoutTag = resource.version || ref.version;
      if (isAccessType(resource.access.type, 'LocalBlob/v1')) {
        // Checked against the resource digest before a byte is written.
        const local = await opened.repository.localContent(stored, resource.access as LocalBlobAccess);
        if (local.artifact) {
          const { writeLayoutTar } = await import('../../../ocm/repository/repository.js');
          // A tar writer renames its temp file over the path: /dev/stdout or a fifo gets a copy instead.
          const { writeOutputVia } = await import('../../output-file.js');
          await writeOutputVia(out, '--output', (path) => writeLayoutTar(local.target, local.desc, path, layoutTag));
        } else {
          await writeStream(await local.target.fetch(local.desc), out);
        }
        const mediaType = local.artifact
          ? 'application/vnd.ocm.software.oci.layout.v1+tar'
          : (resource.access as LocalBlobAccess).mediaType;
        io.stdout.write(
          `Downloaded ${safeText(formatIdentity(identityOf(resource)))} (${safeText(mediaType)}) to ${out}\n`,
        );
        return;
      }
      if (isAccessType(resource.access.type, 'OCIImage/v1')) {
        const { parseReference } = await import('../../../oci/index.js');
        const { writeLayoutTar } = await import('../../../ocm/repository/repository.js');
        const imageRef = String((resource.access as { imageReference?: unknown }).imageReference ?? '');
        const image = accessReference(imageRef, { allowPlainHttp, where: `${where}: resource ${resource.name}` });
        const parsed = parseReference(image.reference);
        const repo = others.registry(parsed.registry, { plainHttp: image.plainHttp }).repository(parsed.repository);
        const top = await repo.resolve(parsed.reference);
        await verifyResourceContent(resource, top, 'artifact', repo, { where });
        const { writeOutputVia } = await import('../../output-file.js');
        await writeOutputVia(out, '--output', (path) => writeLayoutTar(repo, top, path, layoutTag));
        io.stdout.write(
          `Downloaded ${safeText(formatIdentity(identityOf(resource)))} (OCI image layout of ${safeText(imageRef)}) to ${out}\n`,
        );
        return;
      }
      if (isAccessType(resource.access.type, 'OCIImageLayer/v1')) {
        // One blob of an image: fetched by digest from the repository `ref` names, verified as it streams.
        const { parseReference } = await import('../../../oci/index.js');
        const access = resource.access as { ref?: unknown; mediaType?: unknown; digest?: unknown; size?: unknown };
        const imageRef = String(access.ref ?? '');
        const image = accessReference(imageRef, { allowPlainHttp, where: `${where}: resource ${resource.name}` });
        const parsed = parseReference(image.reference);
        const repo = others.registry(parsed.registry, { plainHttp: image.plainHttp }).repository(parsed.repository);
        const desc = {
          mediaType: String(access.mediaType || 'application/octet-stream'),
          digest: String(access.digest ?? ''),
          size: Number(access.size),
        };
        await verifyResourceContent(resource, desc, 'blob', repo, { where });
        await writeStream(await repo.fetch(desc), out);
        io.stdout.write(
          `Downloaded ${safeText(formatIdentity(identityOf(resource)))} (${safeText(desc.mediaType)}) to ${out}\n`,
        );
        return;
      }
      if (isAccessType(resource.access.type, 'Helm/v1')) {
        const { fetchHelmAccessChart, verifyHelmDigest } = await import('../../../ocm/helm-access.js');
        const { helmCredentialsFromConfig } = await import('../../../ocm/config/index.js');
        const chart = await fetchHelmAccessChart(resource.access, {
          registryOptions: (host) => ({ ...others.optionsFor(host), ...(opts.plainHttp ? { plainHttp: true } : {}) }),
          httpCredentials: helmCredentialsFromConfig(await ocmConfigFor(opts)),
          allowPlainHttp,
        });
        verifyHelmDigest(resource.digest, chart, `${where}: resource ${resource.name}`);
        const { Readable } = await import('node:stream');
        await writeStream(Readable.from([chart.archive]), out);
        io.stdout.write(
          `Downloaded ${safeText(formatIdentity(identityOf(resource)))} (chart ${safeText(`${chart.name}:${chart.version}`)}) to ${out}\n`,
        );
        return;
      }
      throw new LadingError(
        'UNSUPPORTED',
        `resources with access type ${resource.access.type} cannot be downloaded yet`,
      );
    } finally {
      await opened.close();
      await others.close();
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

/**
 * Writes a (verified) stream to `out`: a regular file through a temp file renamed over it, so a
 * failed download leaves no file; `/dev/stdout`, a fifo or a device in place.
 */
async function writeStream(stream: import('node:stream').Readable, out: string): Promise<void> {
  await (await import('../../output-file.js')).writeOutputStream(stream, out, '--output');
}
