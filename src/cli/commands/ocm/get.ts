import { type Command, Help } from 'commander';

const termOf = (c: Command) => new Help().subcommandTerm(c);

import { isLadingError, LadingError } from '../../../oci/index.js';
import type { ComponentTree } from '../../../ocm/component-tree.js';
import type { OpenedRepository } from '../../../ocm/open.js';
import type { ComponentVersionReference, RepositorySpec } from '../../../ocm/reference.js';
import type { ComponentVersionReader } from '../../../ocm/resolving-reader.js';
import type { CliIO } from '../../io.js';
import { addOcmOptions } from '../../options.js';
import {
  addDisplayModeOption,
  ComponentVersionAliases,
  checkFormat,
  openRepository,
  requireVersion,
} from './common.js';

export function registerGet(program: Command, io: CliIO): void {
  const get = program.command('get').description('show component versions and their resources');
  // The listing shows get cv's reference as required, as its own usage line does (see below).
  get.configureHelp({
    subcommandTerm: (c) =>
      c.name() === 'component-version' ? 'component-version|cv [options] <reference>' : termOf(c),
  });
  const cv = get
    .command('component-version')
    // `get` also answers to the component's own names, as upstream's `get cv`.
    .aliases([...ComponentVersionAliases, 'component', 'components', 'comp', 'comps', 'c'])
    .description('show a component version, or every version of a component')
    // Optional to commander only: `--recursive <reference>` (upstream's form, whose depth is given
    // with `=`) leaves the reference in --recursive's value, and the action takes it back.
    .argument(
      '[reference]',
      '<repository>//<component>[:<version>], e.g. ./transport-archive//acme.org/hello:1.0.0, or a repository on its own (every component)',
    )
    .usage('[options] <reference>')
    .option('-o, --output <format>', 'output format: table, yaml, json, ndjson or tree', 'table')
    .option('--recursive [depth]', 'also show referenced component versions (-1, the default: all levels)')
    .option('--latest', 'only the newest version')
    .option('--semver-constraint <constraint>', 'only versions matching this constraint', '> 0.0.0-0');
  addDisplayModeOption(cv);
  addOcmOptions(cv);
  cv.addHelpText(
    'after',
    `
Examples:
  lading get cv ./transport-archive//ocm.software/examples-01:1.0.0
  lading get cv ./transport-archive//ocm.software/examples-01 -o tree      # every version
  lading get cv http://localhost:5000//acme.org/hello:1.0.0 -o yaml
  lading get cv --latest http://localhost:5000//acme.org/hello`,
  );
  cv.action(async (given: string | undefined, opts) => {
    let reference = given;
    if (reference === undefined && typeof opts.recursive === 'string' && !/^-?\d+$/.test(opts.recursive)) {
      reference = opts.recursive;
      opts.recursive = true;
    }
    if (reference === undefined) return cv.error("error: missing required argument 'reference'");
    const { parseComponentReference, parseRepository } = await import('../../../ocm/reference.js');
    const { componentVersionTree, findComponentVersions } = await import('../../../ocm/component-tree.js');
    const { renderDescriptors } = await import('../../output/ocm-render.js');
    const format = checkFormat(opts.output);
    const target = parseGetTarget(reference, parseComponentReference, parseRepository);
    let depth = 0;
    if (opts.recursive !== undefined) depth = opts.recursive === true ? -1 : Number(opts.recursive);
    if (!Number.isInteger(depth) || depth < -1)
      throw new LadingError('INVALID_ARGUMENT', '--recursive takes -1 (all levels) or a depth');
    const opened = await openRepository(target.repository, opts);
    const selection = {
      constraint: opts.semverConstraint,
      ...(opts.latest ? { latest: true } : {}),
    };
    try {
      // The versions to show, as [component, version], in the order upstream prints them.
      let roots: [string, string][];
      if (target.component === undefined) {
        roots = await everyComponentVersion(opened, selection);
      } else if (target.version) {
        roots = [[target.component, target.version]];
      } else {
        const component = target.component;
        // As upstream: no version (none stored, none the selection keeps, a repository whose
        // tags are all gone) is an empty answer, exit 0. Except a registry without the component's
        // repository: upstream's tag listing fails there (404), and so does this.
        const versions = await findComponentVersions(opened.repository, component, {
          ...selection,
          missingRepository: 'error',
        });
        roots = versions.map((v) => [component, v]);
      }
      // References to components elsewhere are found through the configuration's resolvers.
      let reader: ComponentVersionReader = opened.repository;
      let resolving: { close(): Promise<void> } | undefined;
      if (depth !== 0) {
        const { resolvingReader } = await import('./resolving.js');
        const r = await resolvingReader(opened.repository, opts);
        resolving = r;
        if (r.resolvers > 0) reader = r.reader;
      }
      try {
        const nodes: ComponentTree[] = [];
        for (const [component, v] of roots) nodes.push(await componentVersionTree(reader, component, v, { depth }));
        await renderDescriptors(io, format, nodes);
      } finally {
        await resolving?.close();
      }
    } finally {
      await opened.close();
    }
  });

  const res = get
    .command('resources')
    .aliases(['resource', 'res', 'r'])
    .description('show the resources of a component version')
    .argument('<reference>', '<repository>//<component>:<version>')
    .option('-o, --output <format>', 'output format: table, yaml, json or ndjson', 'table');
  addOcmOptions(res);
  res.addHelpText(
    'after',
    `
Examples:
  lading get resources ./transport-archive//ocm.software/examples-01:1.0.0
  lading get resources http://localhost:5000//acme.org/hello:1.0.0 -o yaml`,
  );
  res.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { renderResources } = await import('../../output/ocm-render.js');
    const format = checkFormat(opts.output);
    const ref = parseComponentReference(reference);
    const version = requireVersion(reference, ref);
    const opened = await openRepository(ref.repository, opts);
    try {
      const { descriptor } = await opened.repository.getComponentVersion(ref.component, version);
      await renderResources(io, format, descriptor);
    } finally {
      await opened.close();
    }
  });
}

type GetTarget = { repository: RepositorySpec; component?: string; version?: string };

/**
 * What `get cv` is asked for: a component reference, or (as upstream) a repository on its own, whose
 * every component is shown. A reference that is neither is refused as a component reference.
 */
function parseGetTarget(
  raw: string,
  parseReference: (raw: string) => ComponentVersionReference,
  parseRepository: (raw: string) => RepositorySpec,
): GetTarget {
  try {
    const ref = parseReference(raw);
    return { repository: ref.repository, component: ref.component, ...(ref.version ? { version: ref.version } : {}) };
  } catch (error) {
    // A `//` past the scheme separates a component: such a reference is refused as written.
    const afterScheme = raw.replace(/^([A-Za-z][A-Za-z0-9+.-]*::)?[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
    if (!isLadingError(error, 'INVALID_REFERENCE') || afterScheme.includes('//')) throw error;
    try {
      return { repository: parseRepository(raw) };
    } catch {
      throw error;
    }
  }
}

/**
 * Every component of a repository with its selected versions (`--latest`: each component's newest),
 * newest version first across components, as upstream lists a CTF given without a component.
 */
async function everyComponentVersion(
  opened: OpenedRepository,
  selection: { constraint: string; latest?: boolean },
): Promise<[string, string][]> {
  const { findComponentVersions } = await import('../../../ocm/component-tree.js');
  const { parseVersion, sortVersionsDescending } = await import('../../../ocm/semver.js');
  const { isLadingError } = await import('../../../oci/index.js');
  const names = await opened.repository.listComponents().catch((error: unknown) => {
    if (isLadingError(error, 'UNSUPPORTED')) {
      throw new LadingError('UNSUPPORTED', `${opened.display}: cannot list its components`, { cause: error });
    }
    throw error;
  });
  if (names.length === 0) throw new LadingError('NOT_FOUND', `no components found in ${opened.display}`);
  const all: [string, string][] = [];
  for (const name of names) {
    for (const v of await findComponentVersions(opened.repository, name, selection)) all.push([name, v]);
  }
  const order = sortVersionsDescending([...new Set(all.map(([, v]) => v))]);
  const rank = new Map(order.map((v, i) => [v, i]));
  // Upstream reads every version as a semantic version here; the others go last.
  return all.sort(
    ([an, av], [bn, bv]) =>
      Number(!parseVersion(av)) - Number(!parseVersion(bv)) ||
      (rank.get(av) ?? 0) - (rank.get(bv) ?? 0) ||
      (an < bn ? -1 : an > bn ? 1 : 0),
  );
}
