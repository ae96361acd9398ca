import { type Command, Help } from 'commander';

const termOf = (c: Command) => new Help().subcommandTerm(c);

import { LadingError } from '../../../oci/index.js';
import type { ComponentTree } from '../../../ocm/component-tree.js';
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
    .argument('[reference]', '<repository>//<component>[:<version>], e.g. ./transport-archive//acme.org/hello:1.0.0')
    .usage('[options] <reference>')
    .option('-o, --output <format>', 'output format: table, yaml, json, ndjson or tree', 'table')
    .option('--recursive [depth]', 'also show referenced component versions (-1, the default: all levels)')
    .option('--latest', 'only the newest version')
    .option('--semver-constraint <constraint>', 'only versions matching this constraint', '> 0.0.0-0');
  addDisplayModeOption(cv);
  addOcmOptions(cv);
  cv.action(async (given: string | undefined, opts) => {
    let reference = given;
    if (reference === undefined && typeof opts.recursive === 'string' && !/^-?\d+$/.test(opts.recursive)) {
      reference = opts.recursive;
      opts.recursive = true;
    }
    if (reference === undefined) return cv.error("error: missing required argument 'reference'");
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { componentVersionTree, findComponentVersions } = await import('../../../ocm/component-tree.js');
    const { renderDescriptors } = await import('../../output/ocm-render.js');
    const format = checkFormat(opts.output);
    const ref = parseComponentReference(reference);
    let depth = 0;
    if (opts.recursive !== undefined) depth = opts.recursive === true ? -1 : Number(opts.recursive);
    if (!Number.isInteger(depth) || depth < -1)
      throw new LadingError('INVALID_ARGUMENT', '--recursive takes -1 (all levels) or a depth');
    const opened = await openRepository(ref.repository, opts);
    try {
      let versions: string[];
      if (ref.version) {
        versions = [ref.version];
      } else {
        versions = await findComponentVersions(opened.repository, ref.component, {
          constraint: opts.semverConstraint,
          ...(opts.latest ? { latest: true } : {}),
        });
        if (versions.length === 0)
          throw new LadingError('NOT_FOUND', `no versions of ${ref.component} in ${opened.display}`);
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
        for (const v of versions) nodes.push(await componentVersionTree(reader, ref.component, v, { depth }));
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
