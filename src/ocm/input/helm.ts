import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readRegularFile } from '../../content/index.js';
import { goStringify, LadingError } from '../../oci/index.js';
import { type PackagedChart, packageChartDirectory, readPackagedChart } from './helm-chart.js';
import { fetchRemoteChart, type HelmFetchOptions, HelmMediaType, parseHelmRepository } from './helm-remote.js';
import { type LayoutBlob, OciLayoutTarGzipMediaType, ociLayoutTarGzip } from './oci-layout-tar.js';
import { optionalString } from './spec-fields.js';
import type { InputBlob, InputContext, InputMethod } from './types.js';
import { bytesBlob } from './utf8.js';
import { realWorkingDirectory, resolveInWorkingDirectory } from './working-dir.js';

export { HelmMediaType } from './helm-remote.js';

/**
 * The blobs of a chart as a Helm OCI artifact, as helm and upstream OCM lay it out: config
 * `{"name","version"}`, the chart archive as first layer, the provenance (if any) as second.
 */
export function helmArtifactBlobs(chart: PackagedChart): { config: LayoutBlob; layers: LayoutBlob[] } {
  const config: LayoutBlob = {
    mediaType: HelmMediaType.Config,
    bytes: Buffer.from(goStringify({ name: chart.name, version: chart.version })),
  };
  const layers: LayoutBlob[] = [{ mediaType: HelmMediaType.ChartContent, bytes: chart.archive }];
  if (chart.provenance) layers.push({ mediaType: HelmMediaType.Provenance, bytes: chart.provenance });
  return { config, layers };
}

/** Options of the `Helm/v1` input beyond its specification: how remote repositories are reached. */
export type HelmInputOptions = Omit<HelmFetchOptions, 'signal'>;

/** A CA bundle is a few hundred KiB at most (the whole Mozilla set is ~220 KiB). */
const MaxCaFileBytes = 4 * 1024 * 1024;

async function caFromSpec(spec: Record<string, unknown>, context: InputContext): Promise<string[]> {
  const out: string[] = [];
  const inline = optionalString(spec, 'caCert');
  if (inline) out.push(inline);
  const file = optionalString(spec, 'caCertFile');
  if (file) {
    // A CA certificate is only trusted, never packaged, so it may live outside the working directory.
    const path = resolve(context.workingDirectory, file);
    const pem = await readRegularFile(path, { limit: MaxCaFileBytes, where: `caCertFile ${JSON.stringify(file)}` });
    out.push(pem.toString('utf8'));
  }
  return out;
}

/**
 * `Helm/v1` {path | helmRepository, repository?, version?, caCert?, caCertFile?}:
 * - `path`: a chart directory (packaged first) or a packaged `.tgz` (with its `.prov`, if present);
 * - `helmRepository`: an http(s) URL of a chart archive, `http(s)://host/path/<chart>:<version>` for
 *   a chart in a classic helm repository (found through its index.yaml), or
 *   `oci://host/path/<chart>[:<version>]`; `version` supplies a missing tag; `caCert` (PEM) and
 *   `caCertFile` add trusted CAs for the download. TLS is always verified.
 * The result is an OCI image layout tar.gz, as upstream produces: config `{"name","version"}`,
 * the chart as layer, the provenance as second layer, one manifest tagged with the chart version.
 * `repository`, if set, must carry the chart version as its tag.
 *
 * `options` say how registries and repositories are reached beyond the specification: an
 * `oci://` chart on a plain-HTTP registry needs `registryOptions: () => ({ plainHttp: true })`.
 */
export function createHelmInput(options: HelmInputOptions = {}): InputMethod {
  return async (spec, context) => {
    const remote = optionalString(spec, 'helmRepository');
    const local = optionalString(spec, 'path');
    if (remote && local) throw new LadingError('INVALID_ARGUMENT', 'only one of path or helmRepository may be set');
    let chart: PackagedChart;
    if (remote) {
      const location = parseHelmRepository(remote, optionalString(spec, 'version'));
      const ca = await caFromSpec(spec, context);
      chart = await fetchRemoteChart(location, {
        ...options,
        ...(ca.length > 0 ? { ca: [...(options.ca === undefined ? [] : [options.ca].flat()), ...ca] } : {}),
        ...(context.signal ? { signal: context.signal } : {}),
      });
    } else {
      if (!local) throw new LadingError('INVALID_ARGUMENT', 'one of path or helmRepository must be set');
      const path = await resolveInWorkingDirectory(local, context.workingDirectory);
      chart = (await stat(path)).isDirectory()
        ? await packageChartDirectory(path, context.workingDirectory)
        : await readPackagedChart(path, { within: await realWorkingDirectory(context.workingDirectory) });
    }

    const repository = optionalString(spec, 'repository');
    if (repository) {
      const tag = /:([^/:@]+)(?:@.*)?$/.exec(repository)?.[1];
      if (tag !== chart.version) {
        throw new LadingError(
          'INVALID_ARGUMENT',
          `repository ${JSON.stringify(repository)}: its tag must equal the chart version ${JSON.stringify(chart.version)}`,
        );
      }
    }
    const { bytes } = ociLayoutTarGzip({ ...helmArtifactBlobs(chart), tag: chart.version });
    return bytesBlob(bytes, OciLayoutTarGzipMediaType);
  };
}

const defaultHelmInput = createHelmInput();

/** The `Helm/v1` input with default options (see createHelmInput). */
export function helmInput(spec: Record<string, unknown>, context: InputContext): Promise<InputBlob> {
  return defaultHelmInput(spec, context);
}
