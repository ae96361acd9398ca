import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { CliIO } from '../../io.js';
import { safeText } from '../../output/safe-text.js';
import { addOcmRemoteOptions, ocmConfigFor, openRepository, otherRegistries } from './common.js';

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
      const out: string = opts.output ?? resource.name;
      await (await import('../../output-file.js')).checkOutputFile(out, '--output');
      if (isAccessType(resource.access.type, 'LocalBlob/v1')) {
        const written = await opened.repository.writeLocalBlob(stored, resource.access as never, out, {
          layoutTag: resource.version || ref.version,
        });
        io.stdout.write(
          `Downloaded ${safeText(formatIdentity(identityOf(resource)))} (${written.mediaType}) to ${out}\n`,
        );
        return;
      }
      if (isAccessType(resource.access.type, 'OCIImage/v1')) {
        const { parseReference } = await import('../../../oci/index.js');
        const { writeLayoutTar } = await import('../../../ocm/repository/repository.js');
        const imageRef = String((resource.access as { imageReference?: unknown }).imageReference ?? '');
        const parsed = parseReference(imageRef.replace(/^https?:\/\//, ''));
        const repo = others
          .registry(parsed.registry, { plainHttp: imageRef.startsWith('http://') })
          .repository(parsed.repository);
        const top = await repo.resolve(parsed.reference);
        await writeLayoutTar(repo, top, out, resource.version || ref.version);
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
        const parsed = parseReference(imageRef.replace(/^https?:\/\//, ''));
        const repo = others
          .registry(parsed.registry, { plainHttp: imageRef.startsWith('http://') })
          .repository(parsed.repository);
        const desc = {
          mediaType: String(access.mediaType || 'application/octet-stream'),
          digest: String(access.digest ?? ''),
          size: Number(access.size),
        };
        await writeStream(await repo.fetch(desc), out);
        io.stdout.write(
          `Downloaded ${safeText(formatIdentity(identityOf(resource)))} (${safeText(desc.mediaType)}) to ${out}\n`,
        );
        return;
      }
      if (isAccessType(resource.access.type, 'Helm/v1')) {
        const { fetchHelmAccessChart } = await import('../../../ocm/helm-access.js');
        const { helmCredentialsFromConfig } = await import('../../../ocm/config/index.js');
        const chart = await fetchHelmAccessChart(resource.access, {
          registryOptions: (host) => ({ ...others.optionsFor(host), ...(opts.plainHttp ? { plainHttp: true } : {}) }),
          httpCredentials: helmCredentialsFromConfig(await ocmConfigFor(opts)),
        });
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
 * Writes a (verified) stream to `out`: a regular file through a temp file renamed over it, so a
 * failed download leaves no file; `/dev/stdout`, a fifo or a device in place.
 */
async function writeStream(stream: import('node:stream').Readable, out: string): Promise<void> {
  await (await import('../../output-file.js')).writeOutputStream(stream, out, '--output');
}
