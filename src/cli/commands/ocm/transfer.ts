import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { CliIO } from '../../io.js';
import { log } from '../../log.js';
import { addOcmOptions, parseConcurrency } from '../../options.js';
import { safeText } from '../../output/safe-text.js';
import {
  accessOptions,
  ComponentVersionAliases,
  type OcmRemoteFlags,
  openRepository,
  plainHttpPolicy,
} from './common.js';

export function registerTransfer(program: Command, io: CliIO): void {
  const transfer = program.command('transfer').description('transfer component versions between OCM repositories');
  const cmd = transfer
    .command('component-version')
    .aliases(ComponentVersionAliases)
    .description(
      'copy a component version, with its local blobs (and with --copy-resources its OCI images and Helm charts), to another repository',
    )
    .argument('[reference]', 'source: <repository>//<component>[:<version>] (without a version: every version)')
    .argument('[target]', 'target repository: a CTF path, or a registry such as http://localhost:5000/sub')
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
      'without a version in the reference: only versions matching this constraint (default: every version, semantic or not)',
    )
    .option(
      '--dry-run',
      "print the transfer spec (upstream's TransformationGraphDefinition) that would run, and write nothing",
    )
    .option(
      '--transfer-spec <file>',
      'run a transfer spec saved from --dry-run (and perhaps edited); "-" reads stdin. No positional arguments then; --recursive, --copy-resources and --upload-as have no effect',
    )
    .option('-o, --output <format>', 'format of the --dry-run transfer spec: yaml, json or ndjson', 'yaml');
  addOcmOptions(cmd, { concurrency: { what: 'blobs transferred', default: 3 }, progress: true });
  cmd.addHelpText(
    'after',
    `
Examples:
  lading transfer cv --copy-resources ./transport-archive//github.com/acme.org/demo:1.0.0 http://localhost:5001
  lading transfer cv http://localhost:5001//github.com/acme.org/demo:1.0.0 ./mirror.tgz
  lading transfer cv --copy-resources --upload-as ociArtifact ./ctf//acme.org/app:1.0.0 ghcr.io/acme/ocm

Two steps: save the spec, review or edit it (e.g. drop a resource's Get/Add nodes to keep it by reference,
or add globalAccessPolicy: auto to an OCIAddLocalResource node), then run it:
  lading transfer cv --dry-run -o yaml --copy-resources ./ctf//acme.org/app:1.0.0 http://localhost:5001 > spec.yaml
  lading transfer cv --transfer-spec spec.yaml`,
  );
  cmd.action(async (reference: string | undefined, targetArg: string | undefined, opts) => {
    if (!['yaml', 'json', 'ndjson'].includes(opts.output)) {
      throw new LadingError('INVALID_ARGUMENT', `-o/--output must be yaml, json or ndjson, got "${opts.output}"`);
    }
    if (opts.transferSpec !== undefined) {
      if (reference !== undefined) {
        throw new LadingError('INVALID_ARGUMENT', 'positional arguments are not allowed with --transfer-spec');
      }
      for (const [flag, set] of [
        ['--recursive', opts.recursive],
        ['--copy-resources', opts.copyResources],
        ['--upload-as', cmd.getOptionValueSource('uploadAs') === 'cli'],
      ] as const) {
        if (set) log('warn', `${flag} has no effect when --transfer-spec is set`, io);
      }
      await runSpec(io, opts);
      return;
    }
    if (reference === undefined || targetArg === undefined) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        'transfer cv needs a source reference and a target repository (or --transfer-spec)',
      );
    }
    const { parseComponentReference, parseRepository } = await import('../../../ocm/reference.js');
    const { transferComponentVersion } = await import('../../../ocm/transfer.js');
    const { registryArtifactDestination, registryImageSource } = await import('../../../ocm/image-access.js');
    const { TransferDisplay, CopyVerbs } = await import('../../output/transfer.js');
    if (opts.uploadAs !== 'localBlob' && opts.uploadAs !== 'ociArtifact') {
      throw new LadingError('INVALID_ARGUMENT', `--upload-as must be localBlob or ociArtifact, got "${opts.uploadAs}"`);
    }
    const ref = parseComponentReference(reference, { ignoreSemverValidation: true });
    const targetSpec = parseRepository(targetArg);
    const source = await openRepository(ref.repository, opts);
    const target = opts.dryRun ? undefined : await openRepository(targetSpec, opts, { write: true });
    const display = new TransferDisplay(io, CopyVerbs, { tty: opts.tty, lines: 'stderr' });
    const access = await accessOptions(opts, await plainHttpPolicy(opts, [ref.repository, targetSpec]), [
      ref.repository,
      targetSpec,
    ]);
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
        // As upstream: the selection flags are for a reference without a version.
        for (const [flag, set] of [
          ['--semver-constraint', opts.semverConstraint !== undefined],
          ['--latest', opts.latest === true],
        ] as const) {
          if (set) log('warn', `${flag} has no effect when a version is already specified in the reference`, io);
        }
      } else {
        const { findComponentVersions } = await import('../../../ocm/component-tree.js');
        // As upstream: a registry without the component's repository fails as its listing does
        // (as get cv), and a listing that keeps no version fails, naming the selection.
        versions = await findComponentVersions(source.repository, ref.component, {
          ...(opts.semverConstraint !== undefined ? { constraint: opts.semverConstraint } : {}),
          ...(opts.latest ? { latest: true } : {}),
          missingRepository: 'error',
        });
        if (versions.length === 0) {
          const constraint =
            opts.semverConstraint !== undefined ? ` matching constraint ${JSON.stringify(opts.semverConstraint)}` : '';
          throw new LadingError(
            'NOT_FOUND',
            `${source.display}: no versions of ${ref.component}${constraint}${opts.latest ? ' (latest only)' : ''}`,
          );
        }
        // Oldest first, so that a target lists them in the order they were made.
        versions.reverse();
      }
      const specVersions: import('../../../ocm/transfer-spec.js').SpecVersion[] = [];
      const inSpec = new Set<string>();
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
              io.stderr.write(
                `${verb} ${safeText(`${e.component}:${e.version}`)} => ${target?.display ?? targetArg}\n`,
              );
            }
          },
        });
        result.descriptors.forEach((descriptor, i) => {
          const key = `${descriptor.component.name}:${descriptor.component.version}`;
          if (inSpec.has(key)) return;
          inSpec.add(key);
          specVersions.push({ descriptor, source: result.sources[i] ?? ref.repository });
        });
      }
      display.stop();
      if (opts.dryRun) {
        const { buildTransferSpec } = await import('../../../ocm/transfer-spec.js');
        const spec = buildTransferSpec(specVersions, targetSpec, {
          ...(opts.copyResources ? { copyResources: true } : {}),
          uploadAs: opts.uploadAs,
        });
        await printSpec(io, spec, opts.output);
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

/** A transfer spec in upstream's shape: YAML (sigs.k8s.io/yaml), indented JSON, or one JSON line. */
async function printSpec(
  io: CliIO,
  spec: import('../../../ocm/transfer-spec.js').TransformationGraphDefinition,
  format: string,
): Promise<void> {
  const { transferSpecJson } = await import('../../../ocm/transfer-spec.js');
  const value = transferSpecJson(spec);
  if (format === 'json') io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else if (format === 'ndjson') io.stdout.write(`${JSON.stringify(value)}\n`);
  else io.stdout.write((await import('../../../ocm/descriptor/go-yaml.js')).goYaml(value));
}

/** Transfer specs hold descriptors; anything this big is not one. */
const MaxSpecBytes = 64 * 1024 * 1024;

/** Reads a spec file (or stdin), bounded, refusing what is not a regular file. */
async function readSpecText(file: string): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  const add = (chunk: Buffer) => {
    total += chunk.length;
    if (total > MaxSpecBytes) {
      throw new LadingError('SIZE_EXCEEDS_LIMIT', `${file}: a transfer spec is at most ${MaxSpecBytes} bytes`);
    }
    chunks.push(chunk);
  };
  if (file === '-') {
    for await (const chunk of process.stdin) add(chunk as Buffer);
  } else {
    const { open } = await import('node:fs/promises');
    const { constants } = await import('node:fs');
    let handle: import('node:fs/promises').FileHandle;
    try {
      handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      throw new LadingError('IO_ERROR', `cannot read transfer spec ${file}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    try {
      if (!(await handle.stat()).isFile()) {
        throw new LadingError('INVALID_ARGUMENT', `${file}: a transfer spec must be a regular file`);
      }
      for await (const chunk of handle.createReadStream({ autoClose: false })) add(chunk as Buffer);
    } finally {
      await handle.close();
    }
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

async function runSpec(io: CliIO, opts: Record<string, unknown> & OcmRemoteFlags): Promise<void> {
  const file = String(opts.transferSpec);
  const name = file === '-' ? 'stdin' : file;
  const { parseGoYaml } = await import('../../../ocm/descriptor/go-yaml-read.js');
  const { parseTransferSpec, runTransferSpec } = await import('../../../ocm/transfer-spec.js');
  const parsed = parseGoYaml(await readSpecText(file));
  if (parsed.errors.length > 0) {
    throw new LadingError('INVALID_ARGUMENT', `${name}: not YAML or JSON: ${(parsed.errors[0] ?? '').split('\n')[0]}`);
  }
  const spec = parseTransferSpec(parsed.value, name);
  if (opts.dryRun) {
    await printSpec(io, spec, String(opts.output));
    return;
  }
  const { TransferDisplay, CopyVerbs } = await import('../../output/transfer.js');
  const display = new TransferDisplay(io, CopyVerbs, {
    ...(opts.tty === undefined ? {} : { tty: Boolean(opts.tty) }),
    lines: 'stderr',
  });
  // The spec's own repositories (where its nodes read and write component versions, and so where
  // an --upload-as target lives) get the command's credentials; the hosts of the accesses it
  // copies from do not.
  const { repositorySpecFrom } = await import('../../../ocm/config/resolvers.js');
  const own = spec.transformations.flatMap((t, i) => {
    const raw = t.spec.repository;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
    try {
      return [repositorySpecFrom(raw, `${name}: transformations[${i}].spec.repository`)];
    } catch {
      return []; // reported when the node runs
    }
  });
  const access = await accessOptions(opts, await plainHttpPolicy(opts, []), own);
  const opened: { write: boolean; repo: Awaited<ReturnType<typeof openRepository>> }[] = [];
  let ok = false;
  try {
    const { registryImageSource } = await import('../../../ocm/image-access.js');
    const { isDigestReference } = await import('../../../oci/index.js');
    const result = await runTransferSpec(spec, name, {
      open: async (repositorySpec, { write }) => {
        const repo = await openRepository(repositorySpec, opts, write ? { write: true } : {});
        opened.push({ write, repo });
        return repo.repository;
      },
      imageSource: registryImageSource(access.registries, { allowPlainHttp: access.allowPlainHttp }),
      artifactTarget: async (imageReference) => {
        const { target, reference } = access.registries.repository(imageReference, {
          allowPlainHttp: access.allowPlainHttp,
          where: imageReference,
          push: true,
        });
        return { target, reference: isDigestReference(reference) ? '' : reference };
      },
      allowPlainHttp: access.allowPlainHttp,
      concurrency: parseConcurrency(String(opts.concurrency ?? 3)),
      signal: (await import('../../interrupt.js')).interruptSignal(),
      onProgress: display.onProgress,
    });
    display.stop();
    for (const v of result.versions) {
      const where =
        v.repository.kind === 'OCIRepository'
          ? `${v.repository.baseUrl}${v.repository.subPath ? `/${v.repository.subPath}` : ''}`
          : v.repository.filePath;
      const verb = v.status === 'unchanged' ? 'Unchanged (already in the target)' : 'Transferred';
      io.stderr.write(`${verb} ${safeText(`${v.component}:${v.version}`)} => ${safeText(where)}\n`);
    }
    ok = true;
  } finally {
    display.stop();
    const signal = (await import('../../interrupt.js')).interruptSignal();
    for (const o of opened.reverse()) await o.repo.close(o.write ? { commit: ok, signal } : undefined);
    await access.registries.close();
  }
}
