import { dirname, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { ComponentTree } from '../../../ocm/component-tree.js';
import type { ComponentDescriptor } from '../../../ocm/descriptor/model.js';
import type { ComponentVersionReader } from '../../../ocm/resolving-reader.js';
import type { CliIO } from '../../io.js';
import { log } from '../../log.js';
import { addOcmOptions } from '../../options.js';
import {
  type AccessOptions,
  accessOptions,
  addDisplayModeOption,
  ComponentVersionAliases,
  checkFormat,
  openRepository,
} from './common.js';

export function registerAdd(program: Command, io: CliIO): void {
  const add = program.command('add').description('add component versions to an OCM repository');
  const cmd = add
    .command('component-version')
    .aliases(ComponentVersionAliases)
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
    .option(
      '--external-component-version-copy-policy <policy>',
      "component versions referenced from outside the constructor and the target (found through the configuration's resolvers): skip (referenced by digest, not copied) or copy-or-fail (copied into the target first with their own references and local blobs; the add fails when one cannot be)",
      'skip',
    )
    .option('--skip-reference-digest-processing', 'do not resolve and pin digests of resources given by access')
    .option('--concurrency-limit <n>', 'inputs processed in parallel', '4')
    .option('--working-directory <dir>', "where relative input paths start (default: the constructor file's folder)")
    .option('-o, --output <format>', 'output format: table, yaml, json, ndjson or tree', 'table')
    // Upstream's cache of downloaded input blobs: lading streams inputs and keeps no cache.
    .addOption(
      new Option(
        '--blob-cache-directory <dir>',
        'accepted for upstream scripts; lading keeps no blob cache',
      ).hideHelp(),
    );
  addDisplayModeOption(cmd);
  addOcmOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  lading add cv                                       # component-constructor.yaml → ./transport-archive
  lading add cv -c constructor.yaml -r ./ctf.tgz
  lading add cv -r http://localhost:5000/my-components --component-version-conflict-policy replace`,
  );
  cmd.action(async (opts) => {
    const { parseConstructorAsync } = await import('../../../ocm/constructor/parse.js');
    const { constructComponentVersions } = await import('../../../ocm/construct.js');
    const { parseRepository } = await import('../../../ocm/reference.js');
    const { renderDescriptors } = await import('../../output/ocm-render.js');
    const { storedReferenceDigest } = await import('../../../ocm/stored-reference-digest.js');
    const { registryDigestProcessor } = await import('../../../ocm/digest-processor.js');
    const format = checkFormat(opts.output);
    const policy = opts.componentVersionConflictPolicy;
    if (!['abort-and-fail', 'skip', 'replace'].includes(policy)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `--component-version-conflict-policy must be abort-and-fail, skip or replace, got "${policy}"`,
      );
    }
    const copyPolicy = opts.externalComponentVersionCopyPolicy;
    if (copyPolicy !== 'skip' && copyPolicy !== 'copy-or-fail') {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `--external-component-version-copy-policy must be skip or copy-or-fail, got "${copyPolicy}"`,
      );
    }
    const concurrency = Number(opts.concurrencyLimit);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new LadingError('INVALID_ARGUMENT', '--concurrency-limit must be a positive whole number');
    const file: string = opts.constructor;
    // Everything that can be checked without touching the repository is checked first. The file's
    // text is not kept past the read (megabytes for thousands of components).
    const ctor = await readConstructor(file, io, {
      byDefault: cmd.getOptionValueSource('constructor') === 'default',
      parse: parseConstructorAsync,
    });
    for (const w of ctor.warnings) log('warn', w, io);
    const spec = parseRepository(opts.repository);
    const opened = await openRepository(spec, opts, { write: true });
    // A constructor is the user's instruction: an http:// chart repository or image there is
    // their choice. The credentials given on this command line go to the target repository's
    // registry only (a constructor may come from someone else, and name their registry), and none
    // goes over plain HTTP beyond this machine to a registry the command line does not name.
    const access = await accessOptions(opts, () => true, [spec]);
    // A reference to a version in neither the constructor nor the target is looked up through the
    // configuration's resolvers, as upstream's add cv does (and pinned by its digest; copied in
    // with copy-or-fail).
    let resolving: Awaited<ReturnType<typeof import('./resolving.js').resolvingReader>> | undefined;
    let ok = false;
    // What a registry keeps of a run that then fails: each version is stored as it is done there,
    // and only a CTF is put back as it was.
    const stored: string[] = [];
    try {
      const { resolvingReader } = await import('./resolving.js');
      resolving = await resolvingReader(opened.repository, opts);
      const signal = (await import('../../interrupt.js')).interruptSignal();
      const descriptors = await constructComponentVersions(ctor, opened.repository, {
        onEvent: (event) => {
          if (event.kind === 'component' && (event.status === 'added' || event.status === 'replaced')) {
            stored.push(`${event.component}:${event.version}`);
          }
        },
        workingDirectory: resolve(opts.workingDirectory ?? dirname(file)),
        conflictPolicy: policy,
        concurrency,
        // The file's own warnings were printed as soon as it was read.
        onWarning: (w) => {
          if (!ctor.warnings.includes(w)) log('warn', w, io);
        },
        signal,
        ...(opts.skipReferenceDigestProcessing ? { skipReferenceDigestProcessing: true } : {}),
        // A referenced version (built earlier in this run, or already in the repository) is
        // pinned by its normalised digest, as upstream does.
        referenceDigest: storedReferenceDigest(resolving.resolvers > 0 ? resolving.reader : opened.repository, {
          file,
          repositoryName: opened.display,
          resolvers: resolving.resolvers > 0,
        }),
        digestAccess: registryDigestProcessor({ registries: access.registries, helm: access.helm }),
        inputMethods: await helmAwareInputs(access),
        // As upstream's copy-or-fail: found in the target itself or through the resolvers.
        ...(copyPolicy === 'copy-or-fail' ? { copyReferencedFrom: resolving.reader } : {}),
      });
      // Upstream prints the construction graph: what the run built and what it references.
      const graph = await constructionGraph(
        descriptors,
        resolving.resolvers > 0 ? resolving.reader : opened.repository,
      );
      ok = true;
      // Ctrl-C while a tar or tgz is written back stops the write and leaves the archive as it was.
      await opened.close({ commit: true, signal: (await import('../../interrupt.js')).interruptSignal() });
      await renderDescriptors(io, format, graph);
    } finally {
      // A failed add leaves a CTF archive exactly as it was.
      if (!ok) await opened.close({ commit: false }).catch(() => {});
      await resolving?.close();
      await access.registries.close();
      if (!ok && spec.kind === 'OCIRepository' && stored.length > 0) {
        log('warn', `${opened.display} keeps what this run stored before it failed: ${stored.join(', ')}`, io);
      }
    }
  });
}

/**
 * The versions an add built as upstream's `add cv` prints them: the graph of the constructor's
 * components and the versions they reference (built in this run, or read from the target or
 * through the resolvers), from its roots (versions nothing in the graph references) in the order
 * of their identity (`name=…,version=…`), each with its references in reference order.
 */
async function constructionGraph(
  built: readonly ComponentDescriptor[],
  reader: ComponentVersionReader,
): Promise<ComponentTree[]> {
  const { componentVersionTree } = await import('../../../ocm/component-tree.js');
  const key = (name: string, version: string) => `name=${name},version=${version}`;
  const byKey = new Map(built.map((d) => [key(d.component.name, d.component.version), d]));
  const referenced = new Set(
    built.flatMap((d) => d.component.componentReferences.map((r) => key(r.componentName, r.version))),
  );
  const node = async (d: ComponentDescriptor): Promise<ComponentTree> => ({
    descriptor: d,
    children: await Promise.all(
      d.component.componentReferences.map((r) => {
        const inRun = byKey.get(key(r.componentName, r.version));
        return inRun ? node(inRun) : componentVersionTree(reader, r.componentName, r.version, { depth: -1 });
      }),
    ),
  });
  const roots = [...byKey.entries()]
    .filter(([k]) => !referenced.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const trees: ComponentTree[] = [];
  for (const [, d] of roots) trees.push(await node(d));
  return trees;
}

/** The built-in inputs, with Helm charts fetched through the command's TLS and credentials. */
async function helmAwareInputs(access: AccessOptions) {
  const { builtinInputMethods } = await import('../../../ocm/input/registry.js');
  const { createHelmInput } = await import('../../../ocm/input/helm.js');
  const { InputType } = await import('../../../ocm/types.js');
  return new Map(builtinInputMethods).set(InputType.Helm, createHelmInput(access.helm));
}

/** The constructor file read and parsed (see readConstructorFile); a Ctrl-C stops the parse. */
async function readConstructor(
  file: string,
  io: CliIO,
  o: { byDefault: boolean; parse: typeof import('../../../ocm/constructor/parse.js').parseConstructorAsync },
) {
  const text = await readConstructorFile(file, { byDefault: o.byDefault });
  log('debug', `reading component constructor ${file} (${text.length} bytes)`, io);
  // Thousands of components take seconds to read.
  return o.parse(text, { file, env: process.env, signal: (await import('../../interrupt.js')).interruptSignal() });
}

/**
 * The constructor file, read only if it is a regular file of at most MaxDescriptorBytes (what it
 * describes must fit in a descriptor): a FIFO does not hang the command, `/dev/zero` or a huge file
 * does not fill memory, and a file that grows while read is refused at the limit.
 */
async function readConstructorFile(file: string, o: { byDefault?: boolean } = {}): Promise<Buffer> {
  const { readRegularFile } = await import('../../../content/index.js');
  const { MaxDescriptorBytes } = await import('../../../ocm/descriptor/yaml-expansion.js');
  const { isLadingError } = await import('../../../oci/index.js');
  try {
    return await readRegularFile(file, { limit: MaxDescriptorBytes, where: `component constructor ${file}` });
  } catch (error) {
    if (isLadingError(error, 'NOT_FOUND')) {
      throw new LadingError(
        'NOT_FOUND',
        `component constructor ${file} not found${o.byDefault ? ' in the current folder (name another with -c FILE)' : ''}`,
        { cause: error },
      );
    }
    if (isLadingError(error, 'INVALID_ARGUMENT')) {
      const { stat } = await import('node:fs/promises');
      const directory = await stat(file).then(
        (info) => info.isDirectory(),
        () => false,
      );
      throw new LadingError(
        'INVALID_CONSTRUCTOR',
        directory
          ? `${file} is a directory but must point to a component constructor file`
          : `component constructor ${file} is not a regular file (a FIFO, a device or a socket is not read)`,
        { cause: error },
      );
    }
    throw error;
  }
}
