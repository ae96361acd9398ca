import { Readable } from 'node:stream';
import type { Target } from '../content/index.js';
import { type Descriptor, LadingError } from '../oci/index.js';
import type { PlainHttpPolicy } from './access-transport.js';
import { verifyResourceContent } from './content-digest.js';
import type { LocalBlobAccess, Resource } from './descriptor/model.js';
import { fetchHelmAccessChart, verifyHelmDigest } from './helm-access.js';
import { type HelmFetchOptions, HelmMediaType } from './input/helm-remote.js';
import { OciLayoutTarMediaType } from './input/oci-layout-tar.js';
import type { RegistryPool } from './registry-pool.js';
import type { ComponentVersionRepository, StoredVersion } from './repository/repository.js';
import { AccessType, isAccessType } from './types.js';

/** Options of {@link resourceContent}. */
export interface ResourceContentOptions {
  /** The registries that OCI image and image layer accesses name. */
  registries: RegistryPool;
  /** How the charts of `Helm/v1` accesses are downloaded (TLS, oci registry options, credentials). */
  helm?: Omit<HelmFetchOptions, 'signal'>;
  /** Hosts an access may name with `http://` (default: loopback only). */
  allowPlainHttp?: PlainHttpPolicy;
  /** Cancels the call (rejects with ABORTED). */
  signal?: AbortSignal;
}

/** A resource's content, checked against the resource's digest before the caller gets it. */
export type ResourceContent =
  /** An OCI artifact, to be written as an OCI image layout tar tagged `tag`. */
  | {
      /** An OCI artifact. */
      kind: 'artifact';
      /** The media type of the layout tar it is written as. */
      mediaType: 'application/vnd.ocm.software.oci.layout.v1+tar';
      /** The store the artifact is read from. */
      target: Target;
      /** The artifact's manifest or index (checked against the resource digest). */
      root: Descriptor;
      /** The tag to give it in the layout. */
      tag: string;
      /** The registry reference the artifact was read from, for an `OCIImage/v1` access. */
      imageReference?: string;
    }
  /** Bytes, verified as they stream (the caller consumes or destroys the stream). */
  | {
      /** Bytes. */
      kind: 'blob';
      /** Their media type. */
      mediaType: string;
      /** The bytes, verified as they stream. */
      stream: Readable;
      /** For a Helm chart: its name and version. */
      chart?: {
        /** The chart's name. */
        name: string;
        /** The chart's version. */
        version: string;
      };
    };

/**
 * Opens the content of one resource of a stored component version, by its access: a local blob
 * or natively stored artifact, an OCI image or one of its layers in a registry, a Helm chart. The
 * access is data from the descriptor and not signed, so what it leads to is checked against the
 * resource's digest before anything is handed out.
 */
export async function resourceContent(
  repository: ComponentVersionRepository,
  stored: StoredVersion,
  resource: Resource,
  options: ResourceContentOptions,
): Promise<ResourceContent> {
  const { name, version } = stored.descriptor.component;
  const where = `${name}:${version}`;
  const signal = options.signal ? { signal: options.signal } : {};
  const tag = resource.version || version;
  const access = resource.access;
  if (isAccessType(access.type, AccessType.LocalBlob)) {
    const local = await repository.localContent(stored, access as LocalBlobAccess, signal);
    if (local.artifact) {
      return { kind: 'artifact', mediaType: OciLayoutTarMediaType, target: local.target, root: local.desc, tag };
    }
    const stream = await local.target.fetch(local.desc, signal);
    return { kind: 'blob', mediaType: (access as LocalBlobAccess).mediaType, stream };
  }
  const accessWhere = `${where}: resource ${resource.name}`;
  if (isAccessType(access.type, AccessType.OCIImage)) {
    const imageReference = String((access as { imageReference?: unknown }).imageReference ?? '');
    const image = options.registries.repository(imageReference, {
      allowPlainHttp: options.allowPlainHttp,
      where: accessWhere,
    });
    const root = await image.target.resolve(image.reference, signal);
    await verifyResourceContent(resource, root, 'artifact', image.target, { ...signal, where });
    return { kind: 'artifact', mediaType: OciLayoutTarMediaType, target: image.target, root, tag, imageReference };
  }
  if (isAccessType(access.type, AccessType.OCIImageLayer)) {
    // One blob of an image: fetched by digest from the repository `ref` names, verified as it streams.
    const layer = access as { ref?: unknown; mediaType?: unknown; digest?: unknown; size?: unknown };
    const image = options.registries.repository(String(layer.ref ?? ''), {
      allowPlainHttp: options.allowPlainHttp,
      where: accessWhere,
    });
    const desc = {
      mediaType: String(layer.mediaType || 'application/octet-stream'),
      digest: String(layer.digest ?? ''),
      size: Number(layer.size),
    };
    await verifyResourceContent(resource, desc, 'blob', image.target, { ...signal, where });
    return { kind: 'blob', mediaType: desc.mediaType, stream: await image.target.fetch(desc, signal) };
  }
  if (isAccessType(access.type, AccessType.Helm)) {
    const chart = await fetchHelmAccessChart(access, {
      ...options.helm,
      ...(options.allowPlainHttp ? { allowPlainHttp: options.allowPlainHttp } : {}),
      ...signal,
    });
    verifyHelmDigest(resource.digest, chart, accessWhere);
    return {
      kind: 'blob',
      mediaType: HelmMediaType.ChartContent,
      stream: Readable.from([chart.archive]),
      chart: { name: chart.name, version: chart.version },
    };
  }
  if (isAccessType(access.type, AccessType.File)) {
    const { fileAccessContent } = await import('./file-access.js');
    const file = await fileAccessContent(resource, where, options.signal);
    return { kind: 'blob', mediaType: file.mediaType, stream: file.stream };
  }
  throw new LadingError('UNSUPPORTED', `resources with access type ${access.type} cannot be downloaded yet`);
}
