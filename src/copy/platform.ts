import { fetchAll, type Op, type ReadOnlyStorage } from '../content/index.js';
import {
  type Descriptor,
  formatPlatform,
  goStringify,
  isIndexMediaType,
  LadingError,
  MediaType,
  type Platform,
  parseNode,
  platformMatches,
} from '../oci/index.js';

/**
 * The platform an image config declares, read as Go's `json.Unmarshal` into `ocispec.Platform`
 * reads it (oras-go does): undefined when the config is not JSON or a field has the wrong type
 * (Unmarshal fails). Empty os and architecture mean that the config names no platform.
 */
export function configPlatform(bytes: Uint8Array): Platform | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  // `null` leaves Go's struct as it was: no platform, and no error.
  if (value === null) return { architecture: '', os: '' };
  if (typeof value !== 'object' || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x : x === undefined || x === null ? '' : undefined);
  const list = (x: unknown) =>
    Array.isArray(x) && x.every((e) => typeof e === 'string') ? (x as string[]) : x == null ? [] : undefined;
  const architecture = str(v.architecture);
  const os = str(v.os);
  const variant = str(v.variant);
  const osVersion = str(v['os.version']);
  const osFeatures = list(v['os.features']);
  if (
    architecture === undefined ||
    os === undefined ||
    variant === undefined ||
    osVersion === undefined ||
    osFeatures === undefined
  ) {
    return undefined;
  }
  const platform: Platform = { architecture, os };
  if (osVersion) platform['os.version'] = osVersion;
  if (osFeatures.length > 0) platform['os.features'] = osFeatures;
  if (variant) platform.variant = variant;
  return platform;
}

/** An image config that declares `platform` and nothing else, in Go's `ocispec.Platform` field order as oras writes it. */
export function platformConfig(platform: Platform): Uint8Array {
  return Buffer.from(
    goStringify({
      architecture: platform.architecture,
      os: platform.os,
      'os.version': platform['os.version'],
      'os.features': platform['os.features'],
      variant: platform.variant,
    }),
  );
}

/**
 * Picks the manifest for `platform`: the first matching child of an index, or the manifest
 * itself when its image config says it is built for that platform (as oras-go does). `bytes` are
 * the root's, when the caller has them already.
 */
export async function selectPlatform(
  src: ReadOnlyStorage,
  root: Descriptor,
  platform: Platform,
  o: Op & { bytes?: Uint8Array } = {},
): Promise<Descriptor> {
  const wanted = formatPlatform(platform);
  const signal = o.signal ? { signal: o.signal } : {};
  const node = parseNode(o.bytes ?? (await fetchAll(src, root, signal)), root.mediaType, root.digest);
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
  const actual = configPlatform(await fetchAll(src, config, signal));
  if (!actual) {
    throw new LadingError('INVALID_MANIFEST', `${root.digest}: config ${config.digest} is not a JSON platform object`);
  }
  if (!platformMatches(actual, platform)) {
    throw new LadingError('NOT_FOUND', `${root.digest}: built for ${formatPlatform(actual)}, not ${wanted}`);
  }
  return root;
}
