import { fetchAll, type ReadOnlyStorage } from '../content/index.js';
import {
  type Descriptor,
  formatPlatform,
  isIndexMediaType,
  LadingError,
  MediaType,
  type Platform,
  parseJson,
  parseNode,
  platformMatches,
} from '../oci/index.js';

/**
 * Picks the manifest for `platform`: the first matching child of an index, or the manifest
 * itself when its image config says it is built for that platform (as oras-go does).
 */
export async function selectPlatform(src: ReadOnlyStorage, root: Descriptor, platform: Platform): Promise<Descriptor> {
  const wanted = formatPlatform(platform);
  const node = parseNode(await fetchAll(src, root), root.mediaType, root.digest);
  if (node.kind === 'index' && isIndexMediaType(root.mediaType)) {
    const match = node.index.manifests.find((m) => platformMatches(m.platform, platform));
    if (!match) throw new LadingError('NOT_FOUND', `${root.digest}: no manifest for platform ${wanted}`);
    return match;
  }
  if (node.kind !== 'manifest')
    throw new LadingError('UNSUPPORTED', `${root.digest}: cannot select a platform in ${root.mediaType}`);
  const config = node.manifest.config;
  if (config.mediaType !== MediaType.ImageConfig && config.mediaType !== MediaType.DockerConfig) {
    throw new LadingError('UNSUPPORTED', `${root.digest}: config ${config.mediaType} carries no platform`);
  }
  const value = parseJson(await fetchAll(src, config), `${root.digest}: config ${config.digest}`);
  const parsed = (typeof value === 'object' && value !== null ? value : {}) as Partial<Platform>;
  const actual: Platform = { os: String(parsed.os ?? ''), architecture: String(parsed.architecture ?? '') };
  if (parsed.variant) actual.variant = parsed.variant;
  if (parsed['os.version']) actual['os.version'] = parsed['os.version'];
  if (!platformMatches(actual, platform)) {
    throw new LadingError('NOT_FOUND', `${root.digest}: built for ${formatPlatform(actual)}, not ${wanted}`);
  }
  return root;
}
