import type { Command } from 'commander';
import { LadingError } from '../../../oci/index.js';
import type { ComponentVersionRepository } from '../../../ocm/repository/repository.js';
import type { CliIO } from '../../io.js';
import type { TreeNode } from '../../output/ocm-render.js';
import { addOcmRemoteOptions, checkFormat, openRepository } from './common.js';

async function withChildren(
  repo: ComponentVersionRepository,
  name: string,
  version: string,
  depth: number,
  seen: Set<string>,
): Promise<TreeNode> {
  const { descriptor } = await repo.getComponentVersion(name, version);
  const key = `${name}:${version}`;
  seen.add(key);
  const children: TreeNode[] = [];
  if (depth !== 0) {
    const { verifyReferenceDigest } = await import('../../../ocm/signing/reference-digest.js');
    for (const ref of descriptor.component.componentReferences ?? []) {
      if (seen.has(`${ref.componentName}:${ref.version}`)) continue;
      const child = await withChildren(repo, ref.componentName, ref.version, depth - 1, seen);
      // A reference that pins a digest is shown only with the version it pins.
      verifyReferenceDigest(ref, child.descriptor, key);
      children.push(child);
    }
  }
  return { descriptor, children };
}

export function registerGet(program: Command, io: CliIO): void {
  const get = program.command('get').description('show component versions and their resources');
  const cv = get
    .command('component-version')
    .aliases([
      'cv',
      'cvs',
      'componentversion',
      'componentversions',
      'component-versions',
      'component',
      'components',
      'comp',
      'comps',
      'c',
    ])
    .description('show a component version, or every version of a component')
    .argument('<reference>', '<repository>//<component>[:<version>], e.g. ./transport-archive//acme.org/hello:1.0.0')
    .option('-o, --output <format>', 'output format: table, yaml, json, ndjson or tree', 'table')
    .option('--recursive [depth]', 'also show referenced component versions (-1: all levels)')
    .option('--latest', 'only the newest version')
    .option('--semver-constraint <constraint>', 'only versions matching this constraint', '> 0.0.0-0');
  addOcmRemoteOptions(cv);
  cv.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { matchesConstraint, sortVersionsDescending } = await import('../../../ocm/semver.js');
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
        const all = await opened.repository.listComponentVersions(ref.component);
        versions = sortVersionsDescending(all.filter((v) => matchesConstraint(v, opts.semverConstraint)));
        if (opts.latest) versions = versions.slice(0, 1);
        if (versions.length === 0)
          throw new LadingError('NOT_FOUND', `no versions of ${ref.component} in ${opened.display}`);
      }
      const nodes: TreeNode[] = [];
      for (const v of versions) nodes.push(await withChildren(opened.repository, ref.component, v, depth, new Set()));
      await renderDescriptors(io, format, nodes);
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
  addOcmRemoteOptions(res);
  res.action(async (reference: string, opts) => {
    const { parseComponentReference } = await import('../../../ocm/reference.js');
    const { renderResources } = await import('../../output/ocm-render.js');
    const format = checkFormat(opts.output);
    const ref = parseComponentReference(reference);
    if (!ref.version) throw new LadingError('INVALID_REFERENCE', `${reference}: a version is required`);
    const opened = await openRepository(ref.repository, opts);
    try {
      const { descriptor } = await opened.repository.getComponentVersion(ref.component, ref.version);
      await renderResources(io, format, descriptor);
    } finally {
      await opened.close();
    }
  });
}
