import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { CliIO } from '../../io.js';
import { parseConcurrency } from '../../options.js';
import { safeText } from '../../output/safe-text.js';
import { addOcmRemoteOptions, ocmConfigFor, openRepository, otherRegistries, plainHttpPolicy } from './common.js';

export function registerTransfer(program: Command, io: CliIO): void {
  const transfer = program.command('transfer').description('transfer component versions between OCM repositories');
  const cmd = transfer
    .command('component-version')
    .aliases(['cv', 'cvs', 'componentversion', 'componentversions', 'component-versions'])
    .description(
      'copy a component version, with its local blobs (and with --copy-resources its OCI images and Helm charts), to another repository',
    )
    .argument('<reference>', 'source: <repository>//<component>:<version>')
    .argument('<target>', 'target repository: a CTF path, or a registry such as http://localhost:5000/sub')
    .option(
      '--copy-resources',
      'also copy OCIImage/v1 and Helm/v1 resources by value: they become local blobs of the component version (local blobs always travel; other access types keep their access, as upstream)',
    )
    .option(
      '-u, --upload-as <type>',
      "how OCI artifacts land in a registry: localBlob (in the version's index) or ociArtifact (standalone)",
      'localBlob',
    )
    .option('-r, --recursive', 'also transfer the referenced component versions')
    .option('--dry-run', 'print what would be transferred and write nothing')
    .option('-o, --output <format>', 'format of the --dry-run plan: yaml, json or ndjson', 'yaml')
    .option('--concurrency <n>', 'blobs transferred in parallel', '3')
    .option('--no-tty', 'print one line per event instead of progress bars');
  addOcmRemoteOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading transfer cv --copy-resources ./transport-archive//github.com/acme.org/demo:1.0.0 http://localhost:5001
  lading transfer cv http://localhost:5001//github.com/acme.org/demo:1.0.0 ./mirror.tgz
  lading transfer cv --copy-resources --upload-as ociArtifact ./ctf//acme.org/app:1.0.0 ghcr.io/acme/ocm`,
  );
  cmd.action(async (reference: string, targetArg: string, opts) => {
    const { parseComponentReference, parseRepository } = await import('../../../ocm/reference.js');
    const { transferComponentVersion } = await import('../../../ocm/transfer.js');
    const { parseReference } = await import('../../../oci/index.js');
    const { TransferDisplay, CopyVerbs } = await import('../../output/transfer.js');
    if (opts.uploadAs !== 'localBlob' && opts.uploadAs !== 'ociArtifact') {
      throw new LadingError('INVALID_ARGUMENT', `--upload-as must be localBlob or ociArtifact, got "${opts.uploadAs}"`);
    }
    if (!['yaml', 'json', 'ndjson'].includes(opts.output)) {
      throw new LadingError('INVALID_ARGUMENT', `-o/--output must be yaml, json or ndjson, got "${opts.output}"`);
    }
    const ref = parseComponentReference(reference, { ignoreSemverValidation: true });
    if (!ref.version) throw new LadingError('INVALID_REFERENCE', `${reference}: a version is required`);
    const targetSpec = parseRepository(targetArg);
    const source = await openRepository(ref.repository, opts);
    const target = opts.dryRun ? undefined : await openRepository(targetSpec, opts, { write: true });
    const display = new TransferDisplay(io, CopyVerbs, { tty: io.isTTY && opts.tty !== false && !io.debug });
    const others = await otherRegistries(opts);
    let ok = false;
    try {
      const { helmCredentialsFromConfig } = await import('../../../ocm/config/index.js');
      const allowPlainHttp = await plainHttpPolicy(opts, [ref.repository, targetSpec]);
      const helm = {
        allowPlainHttp,
        registryOptions: (host: string) => ({
          ...others.optionsFor(host),
          ...(opts.plainHttp ? { plainHttp: true } : {}),
        }),
        httpCredentials: helmCredentialsFromConfig(await ocmConfigFor(opts)),
      };
      const imageSource = async (imageReference: string) => {
        const plain = imageReference.startsWith('http://');
        const parsed = parseReference(imageReference.replace(/^https?:\/\//, ''));
        const registry = others.registry(parsed.registry, { plainHttp: plain });
        return { target: registry.repository(parsed.repository), reference: parsed.reference };
      };
      const artifactDestination =
        targetSpec.kind === 'OCIRepository'
          ? async (referenceName: string) => {
              const plain = targetSpec.baseUrl.startsWith('http://');
              const host = targetSpec.baseUrl.replace(/^https?:\/\//, '');
              const colon = referenceName.lastIndexOf(':');
              const repo = colon > referenceName.lastIndexOf('/') ? referenceName.slice(0, colon) : referenceName;
              const tag = colon > referenceName.lastIndexOf('/') ? referenceName.slice(colon + 1) : '';
              const fullRepo = targetSpec.subPath ? `${targetSpec.subPath}/${repo}` : repo;
              const registry = others.registry(host, { plainHttp: plain });
              return {
                target: registry.repository(fullRepo, { push: true }),
                reference: tag,
                imageReference: `${host}/${fullRepo}${tag ? `:${tag}` : ''}`,
              };
            }
          : undefined;
      const dummy = opts.dryRun ? source.repository : (target?.repository ?? source.repository);
      const result = await transferComponentVersion(source.repository, dummy, ref.component, ref.version, {
        concurrency: parseConcurrency(opts.concurrency),
        signal: (await import('../../interrupt.js')).interruptSignal(),
        uploadAs: opts.uploadAs,
        imageSource,
        helm,
        allowPlainHttp,
        ...(artifactDestination ? { artifactDestination } : {}),
        ...(opts.copyResources ? { copyResources: true } : {}),
        ...(opts.recursive ? { recursive: true } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
        onProgress: display.onProgress,
        onEvent: (e) => {
          if (e.status === 'copying' && e.desc) display.preCopy(e.desc);
          else if (e.status === 'copied' && e.desc) display.postCopy(e.desc);
          else if (e.status === 'exists' && e.desc) display.onCopySkipped(e.desc);
          else if (e.status === 'mounted' && e.desc) display.onMounted(e.desc);
          else if (!e.desc) {
            display.stop();
            const verb = e.status === 'unchanged' ? 'Unchanged (already in the target)' : 'Transferred';
            io.stdout.write(`${verb} ${safeText(`${e.component}:${e.version}`)} => ${target?.display ?? targetArg}\n`);
          }
        },
      });
      display.stop();
      if (opts.dryRun) {
        if (opts.output === 'json') io.stdout.write(`${JSON.stringify(result.plan, null, 2)}\n`);
        else if (opts.output === 'ndjson') for (const p of result.plan) io.stdout.write(`${JSON.stringify(p)}\n`);
        else io.stdout.write((await import('../../../ocm/descriptor/go-yaml.js')).goYaml(result.plan));
      }
      ok = true;
    } finally {
      display.stop();
      // Ctrl-C while a tar or tgz is written back stops the write and leaves the archive as it was.
      await target?.close({ commit: ok, signal: (await import('../../interrupt.js')).interruptSignal() });
      await source.close();
      await others.close();
    }
  });
}
