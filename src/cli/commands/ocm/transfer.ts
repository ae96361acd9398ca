import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { CliIO } from '../../io.js';
import { addOcmOptions, parseConcurrency } from '../../options.js';
import { safeText } from '../../output/safe-text.js';
import { accessOptions, ComponentVersionAliases, openRepository, plainHttpPolicy } from './common.js';

export function registerTransfer(program: Command, io: CliIO): void {
  const transfer = program.command('transfer').description('transfer component versions between OCM repositories');
  const cmd = transfer
    .command('component-version')
    .aliases(ComponentVersionAliases)
    .description(
      'copy a component version, with its local blobs (and with --copy-resources its OCI images and Helm charts), to another repository',
    )
    .argument('<reference>', 'source: <repository>//<component>[:<version>] (without a version: every version)')
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
    .option(
      '-r, --recursive',
      "also transfer the referenced component versions, found in the source or through the OCM configuration's resolvers (OCM meaning of -r)",
    )
    .option('--latest', 'without a version in the reference: only the newest version')
    .option(
      '--semver-constraint <constraint>',
      'without a version in the reference: only versions matching this constraint',
      '> 0.0.0-0',
    )
    .option('--dry-run', 'print what would be transferred and write nothing')
    .option('-o, --output <format>', 'format of the --dry-run plan: yaml, json or ndjson', 'yaml');
  addOcmOptions(cmd, { concurrency: { what: 'blobs transferred', default: 3 }, progress: true });
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
    const { registryArtifactDestination, registryImageSource } = await import('../../../ocm/image-access.js');
    const { TransferDisplay, CopyVerbs } = await import('../../output/transfer.js');
    if (opts.uploadAs !== 'localBlob' && opts.uploadAs !== 'ociArtifact') {
      throw new LadingError('INVALID_ARGUMENT', `--upload-as must be localBlob or ociArtifact, got "${opts.uploadAs}"`);
    }
    if (!['yaml', 'json', 'ndjson'].includes(opts.output)) {
      throw new LadingError('INVALID_ARGUMENT', `-o/--output must be yaml, json or ndjson, got "${opts.output}"`);
    }
    const ref = parseComponentReference(reference, { ignoreSemverValidation: true });
    const targetSpec = parseRepository(targetArg);
    const source = await openRepository(ref.repository, opts);
    const target = opts.dryRun ? undefined : await openRepository(targetSpec, opts, { write: true });
    const display = new TransferDisplay(io, CopyVerbs, { tty: opts.tty });
    const access = await accessOptions(opts, await plainHttpPolicy(opts, [ref.repository, targetSpec]));
    // -r finds referenced versions the source lacks through the configuration's resolvers.
    const resolving = opts.recursive
      ? await (await import('./resolving.js')).resolvingReader(source.repository, opts)
      : undefined;
    let ok = false;
    try {
      const { registries, helm, allowPlainHttp } = access;
      const artifactDestination = registryArtifactDestination(targetSpec, registries);
      const dummy = opts.dryRun ? source.repository : (target?.repository ?? source.repository);
      let versions: string[];
      if (ref.version) {
        versions = [ref.version];
      } else {
        const { findComponentVersions } = await import('../../../ocm/component-tree.js');
        versions = await findComponentVersions(source.repository, ref.component, {
          constraint: opts.semverConstraint,
          ...(opts.latest ? { latest: true } : {}),
        });
        if (versions.length === 0)
          throw new LadingError('NOT_FOUND', `no versions of ${ref.component} in ${source.display}`);
        // Oldest first, so that a target lists them in the order they were made.
        versions.reverse();
      }
      const plan: unknown[] = [];
      for (const version of versions) {
        const result = await transferComponentVersion(source.repository, dummy, ref.component, version, {
          concurrency: parseConcurrency(opts.concurrency),
          signal: (await import('../../interrupt.js')).interruptSignal(),
          uploadAs: opts.uploadAs,
          imageSource: registryImageSource(registries, { allowPlainHttp }),
          helm,
          allowPlainHttp,
          ...(artifactDestination ? { artifactDestination } : {}),
          ...(opts.copyResources ? { copyResources: true } : {}),
          ...(opts.recursive ? { recursive: true } : {}),
          ...(resolving ? { locator: resolving.reader } : {}),
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
              io.stdout.write(
                `${verb} ${safeText(`${e.component}:${e.version}`)} => ${target?.display ?? targetArg}\n`,
              );
            }
          },
        });
        plan.push(...result.plan);
      }
      display.stop();
      if (opts.dryRun) {
        if (opts.output === 'json') io.stdout.write(`${JSON.stringify(plan, null, 2)}\n`);
        else if (opts.output === 'ndjson') for (const p of plan) io.stdout.write(`${JSON.stringify(p)}\n`);
        else io.stdout.write((await import('../../../ocm/descriptor/go-yaml.js')).goYaml(plan));
      }
      ok = true;
    } finally {
      display.stop();
      // Ctrl-C while a tar or tgz is written back stops the write and leaves the archive as it was.
      await target?.close({ commit: ok, signal: (await import('../../interrupt.js')).interruptSignal() });
      await resolving?.close();
      await source.close();
      await access.registries.close();
    }
  });
}
