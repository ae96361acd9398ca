import type { Command } from 'commander';
import type { CliIO } from '../io.js';
import { addOrasOptions } from '../options.js';
import { safeText } from '../output/safe-text.js';
import type { TargetFlags } from '../targets.js';

interface RepoListFlags extends TargetFlags {
  last?: string;
  format: string;
}

interface RepoTagsFlags extends TargetFlags {
  last?: string;
  excludeDigestTags?: boolean;
  format: string;
}

/** Go's `json.NewEncoder` with a two-space indent, or the --format go-template template. */
async function printModel(io: CliIO, flags: { format: string; template?: string }, model: object): Promise<void> {
  await (await import('../output/format.js')).printModel(io, flags, model);
}

/** `<registry>[/<namespace>]`: the namespace filters repository names by prefix, as ORAS does. */
async function parseRegistryArgument(raw: string): Promise<{ host: string; namespace: string }> {
  const { LadingError, parseReference } = await import('../../oci/index.js');
  const trimmed = raw.replace(/\/$/, '');
  if (!trimmed.includes('/')) return { host: trimmed, namespace: '' };
  let ref: ReturnType<typeof parseReference>;
  try {
    ref = parseReference(trimmed);
  } catch (error) {
    throw new LadingError('INVALID_REFERENCE', `could not parse repository path: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (ref.reference) {
    throw new LadingError(
      'INVALID_REFERENCE',
      `could not parse repository path "${raw}": tags or digests should not be provided`,
    );
  }
  return { host: ref.registry, namespace: `${ref.repository}/` };
}

/*
 * `--last` is also applied here: some registries (distribution 2.8 for tags) ignore the parameter,
 * and the flag promises names after it either way.
 */

async function repoList(io: CliIO, raw: string, flags: RepoListFlags): Promise<void> {
  const { compareBytes, LadingError } = await import('../../oci/index.js');
  const { registryFor, closeRegistries } = await import('../registry-target.js');
  const { host, namespace } = await parseRegistryArgument(raw);
  const registry = registryFor(host, flags);
  const json = flags.format === 'json' || flags.format === 'go-template';
  const found: string[] = [];
  try {
    const signal = (await import('../interrupt.js')).interruptSignal();
    for await (const page of registry.repositories({ signal, ...(flags.last ? { last: flags.last } : {}) })) {
      for (const name of page) {
        if (flags.last && compareBytes(name, flags.last) <= 0) continue;
        if (namespace && !name.startsWith(namespace)) continue;
        if (json) found.push(name);
        // Text shows names below the namespace only, which reads better.
        else io.stdout.write(`${safeText(name.slice(namespace.length))}\n`);
      }
    }
  } catch (error) {
    const what = namespace
      ? `could not list repositories for "${host}" with prefix "${namespace}"`
      : `could not list repositories for "${host}"`;
    const message = error instanceof Error ? error.message : String(error);
    throw new LadingError(error instanceof LadingError ? error.code : 'REGISTRY_ERROR', `${what}: ${message}`, {
      cause: error,
    });
  } finally {
    await closeRegistries();
  }
  if (json) await printModel(io, flags, { registry: host, repositories: found });
}

/** A tag like `sha256-<hex>` (the referrers tag schema, cosign's signatures) reads as a digest. */
async function isDigestTag(tag: string): Promise<boolean> {
  const { isValidDigest } = await import('../../oci/index.js');
  return isValidDigest(tag.replace('-', ':'));
}

async function repoTags(io: CliIO, raw: string, flags: RepoTagsFlags): Promise<void> {
  const { hasTags } = await import('../../content/index.js');
  const { compareBytes, isValidDigest, LadingError, parseReference } = await import('../../oci/index.js');
  const { openTarget, closeRegistries } = await import('../targets.js');
  // `--oci-layout-path dir host/repo` lists the layout tags named `host/repo:<tag>`, prefix removed.
  let prefix = '';
  let argument = raw;
  if (flags.ociLayoutPath) {
    try {
      const ref = parseReference(raw);
      if (!ref.reference) {
        prefix = `${ref.registry}/${ref.repository}:`;
        argument = '';
      }
    } catch {
      // Not a registry reference: a tag or digest inside the layout.
    }
  }
  const opened = await openTarget(argument, flags);
  const signal = (await import('../interrupt.js')).interruptSignal();
  try {
    const target = opened.target;
    if (!hasTags(target)) throw new LadingError('UNSUPPORTED', `${opened.display}: listing tags is not supported`);
    let wanted = '';
    if (!prefix && opened.reference) {
      wanted = isValidDigest(opened.reference)
        ? opened.reference
        : (await target.resolve(opened.reference, { signal })).digest;
      io.stderr.write(`[Experimental] querying tags associated to ${wanted}, it may take a while...\n`);
    }
    const tags: string[] = [];
    for await (const page of target.tags({ signal, ...(flags.last ? { last: flags.last } : {}) })) {
      for (const listed of page) {
        if (flags.last && compareBytes(listed, flags.last) <= 0) continue;
        let tag = listed;
        if (prefix) {
          if (!tag.startsWith(prefix)) continue;
          tag = tag.slice(prefix.length);
        }
        if (flags.excludeDigestTags && (await isDigestTag(tag))) continue;
        if (wanted && tag !== opened.reference && (await target.resolve(tag, { signal })).digest !== wanted) continue;
        tags.push(tag);
      }
    }
    tags.sort(compareBytes);
    if (flags.format === 'json' || flags.format === 'go-template') await printModel(io, flags, { tags });
    else for (const tag of tags) io.stdout.write(`${safeText(tag)}\n`);
  } finally {
    await closeRegistries();
  }
}

/** `repo ls|tags`, as `oras repo`. */
export function registerRepo(program: Command, io: CliIO): void {
  const group = program.command('repo').alias('repository').description('list the repositories and tags of a registry');

  const ls = group
    .command('ls')
    .alias('list')
    .description('list the repositories of a registry')
    .argument('<registry>', 'the registry, optionally with a namespace: <registry>[/<namespace>]')
    .option('--last <repository>', 'start after this repository');
  addOrasOptions(ls, { names: 'registry', format: ['text', 'json', 'go-template'] });
  ls.addHelpText(
    'after',
    `
Examples:
  lading repo ls localhost:5000
  lading repo ls localhost:5000/example-namespace
  lading repo ls --format json localhost:5000`,
  );
  ls.action((registry: string, opts) => repoList(io, registry, opts));

  const tags = group
    .command('tags')
    .alias('show-tags')
    .description('list the tags of a repository or an OCI layout')
    .argument('<name>', 'the repository: <registry>/<repository>[:<tag>|@<digest>] (or a layout with --oci-layout)')
    .option('--last <tag>', 'start after this tag')
    .option('--exclude-digest-tags', "hide tags that read as digests, such as 'sha256-<hex>'");
  addOrasOptions(tags, { format: ['text', 'json', 'go-template'] });
  tags.addHelpText(
    'after',
    `
Examples:
  lading repo tags localhost:5000/hello
  lading repo tags --exclude-digest-tags localhost:5000/hello
  lading repo tags --oci-layout layout.tar
  lading repo tags localhost:5000/hello@sha256:<digest>`,
  );
  tags.action((name: string, opts) => repoTags(io, name, opts));
}
