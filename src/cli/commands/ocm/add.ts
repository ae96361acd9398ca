import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { CliIO } from '../../io.js';
import { safeText } from '../../output/safe-text.js';
import { addOcmRemoteOptions, checkFormat, ocmConfigFor, openRepository, otherRegistries } from './common.js';

export function registerAdd(program: Command, io: CliIO): void {
  const add = program.command('add').description('add component versions to an OCM repository');
  const cmd = add
    .command('component-version')
    .aliases(['cv', 'cvs', 'componentversion', 'componentversions', 'component-versions'])
    .description('build component versions from a component constructor file into a CTF archive or registry')
    .option('-c, --constructor <file>', 'the component constructor', 'component-constructor.yaml')
    .option(
      '-r, --repository <repository>',
      'target repository: a CTF path, or a registry such as http://localhost:5000/sub',
      'transport-archive',
    )
    .option(
      '--component-version-conflict-policy <policy>',
      'when the version exists: abort-and-fail, skip or replace',
      'abort-and-fail',
    )
    .option('--skip-reference-digest-processing', 'do not resolve and pin digests of resources given by access')
    .option('--concurrency-limit <n>', 'inputs processed in parallel', '4')
    .option('--working-directory <dir>', "where relative input paths start (default: the constructor file's folder)")
    .option('-o, --output <format>', 'output format: table, yaml, json, ndjson or tree', 'table');
  addOcmRemoteOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading add cv                                       # component-constructor.yaml → ./transport-archive
  lading add cv -c constructor.yaml -r ./ctf.tgz
  lading add cv -r http://localhost:5000/my-components --component-version-conflict-policy replace`,
  );
  cmd.action(async (opts) => {
    const { readFile } = await import('node:fs/promises');
    const { parseConstructor } = await import('../../../ocm/constructor/parse.js');
    const { constructComponentVersions } = await import('../../../ocm/construct.js');
    const { parseRepository } = await import('../../../ocm/reference.js');
    const { renderDescriptors } = await import('../../output/ocm-render.js');
    const format = checkFormat(opts.output);
    const policy = opts.componentVersionConflictPolicy;
    if (!['abort-and-fail', 'skip', 'replace'].includes(policy)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `--component-version-conflict-policy must be abort-and-fail, skip or replace, got "${policy}"`,
      );
    }
    const concurrency = Number(opts.concurrencyLimit);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new LadingError('INVALID_ARGUMENT', '--concurrency-limit must be a positive whole number');
    const file: string = opts.constructor;
    let text: Buffer;
    try {
      text = await readFile(file);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EISDIR')
        throw new LadingError(
          'INVALID_CONSTRUCTOR',
          `${file} is a directory but must point to a component constructor file`,
        );
      throw new LadingError('NOT_FOUND', `component constructor ${file} not found`, { cause: error });
    }
    // Everything that can be checked without touching the repository is checked first.
    const ctor = parseConstructor(text, { file, env: process.env });
    for (const w of ctor.warnings) io.stderr.write(`warning: ${safeText(w)}\n`);
    const spec = parseRepository(opts.repository);
    const opened = await openRepository(spec, opts, { write: true });
    const others = await otherRegistries(opts);
    let ok = false;
    try {
      const descriptors = await constructComponentVersions(ctor, opened.repository, {
        workingDirectory: resolve(opts.workingDirectory ?? dirname(file)),
        conflictPolicy: policy,
        concurrency,
        signal: (await import('../../interrupt.js')).interruptSignal(),
        ...(opts.skipReferenceDigestProcessing ? { skipReferenceDigestProcessing: true } : {}),
        // A referenced version (built earlier in this run, or already in the repository) is
        // pinned by its normalised digest, as upstream does.
        referenceDigest: async (component: string, version: string) => {
          const { digestDescriptor } = await import('../../../ocm/signing/index.js');
          const stored = await opened.repository.getComponentVersion(component, version).catch((error: unknown) => {
            if (error instanceof LadingError && error.code === 'NOT_FOUND') {
              throw new LadingError(
                'NOT_FOUND',
                `${file}: referenced component version ${component}:${version} is neither in the constructor nor in ${opened.display}`,
              );
            }
            throw error;
          });
          return digestDescriptor(stored.descriptor).digest;
        },
        resolveImage: async (imageReference: string) => {
          const { parseReference } = await import('../../../oci/index.js');
          const plain = imageReference.startsWith('http://');
          const bare = imageReference.replace(/^https?:\/\//, '');
          const parsed = parseReference(bare);
          if (!parsed.reference)
            throw new LadingError('INVALID_REFERENCE', `${imageReference}: no tag or digest to resolve`);
          const repo = others.registry(parsed.registry, { plainHttp: plain }).repository(parsed.repository);
          const desc = await repo.resolve(parsed.reference);
          // Pinned as upstream does: the tag stays for readers, the digest makes it immutable.
          const withoutDigest = imageReference.includes('@')
            ? imageReference.slice(0, imageReference.lastIndexOf('@'))
            : imageReference;
          return { digest: desc.digest, pinned: `${withoutDigest}@${desc.digest}` };
        },
        inputMethods: await helmAwareInputs(opts, others),
      });
      ok = true;
      // Ctrl-C while a tar or tgz is written back stops the write and leaves the archive as it was.
      await opened.close({ commit: true, signal: (await import('../../interrupt.js')).interruptSignal() });
      await renderDescriptors(
        io,
        format,
        descriptors.map((descriptor) => ({ descriptor, children: [] })),
      );
    } finally {
      // A failed add leaves a CTF archive exactly as it was.
      if (!ok) await opened.close({ commit: false }).catch(() => {});
    }
  });
}

/** The built-in inputs, with Helm charts fetched through the command's TLS and credentials. */
async function helmAwareInputs(
  opts: Parameters<typeof ocmConfigFor>[0] & { plainHttp?: boolean },
  others: Awaited<ReturnType<typeof otherRegistries>>,
) {
  const { builtinInputMethods } = await import('../../../ocm/input/registry.js');
  const { createHelmInput } = await import('../../../ocm/input/helm.js');
  const { helmCredentialsFromConfig } = await import('../../../ocm/config/index.js');
  const { InputType } = await import('../../../ocm/types.js');
  const methods = new Map(builtinInputMethods);
  methods.set(
    InputType.Helm,
    createHelmInput({
      registryOptions: (host) => ({ ...others.optionsFor(host), ...(opts.plainHttp ? { plainHttp: true } : {}) }),
      httpCredentials: helmCredentialsFromConfig(await ocmConfigFor(opts)),
      // A constructor is the user's own instruction: an http:// chart repository there is their
      // choice (credentials still never go over plain HTTP beyond this machine).
      allowPlainHttp: () => true,
    }),
  );
  return methods;
}
