import { stat } from 'node:fs/promises';
import { goStringify, LadingError } from '../../oci/index.js';
import { packageChartDirectory, readPackagedChart } from './helm-chart.js';
import { type LayoutBlob, OciLayoutTarGzipMediaType, ociLayoutTarGzip } from './oci-layout-tar.js';
import { optionalString } from './spec-fields.js';
import type { InputBlob, InputContext } from './types.js';
import { bytesBlob } from './utf8.js';
import { resolveInWorkingDirectory } from './working-dir.js';

export const HelmMediaType = {
  Config: 'application/vnd.cncf.helm.config.v1+json',
  ChartContent: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  Provenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
} as const;

/**
 * `Helm/v1` {path | helmRepository, repository?, version?, caCert?, caCertFile?} for a local
 * chart: a chart directory (packaged first) or a packaged `.tgz` (with its `.prov`, if present).
 * The result is an OCI image layout tar.gz, as upstream produces: config `{"name","version"}`,
 * the chart as layer, the provenance as second layer, one manifest tagged with the chart version.
 * Downloading from a helm repository (`helmRepository`) is not implemented yet.
 */
export async function helmInput(spec: Record<string, unknown>, context: InputContext): Promise<InputBlob> {
  const remote = optionalString(spec, 'helmRepository');
  const local = optionalString(spec, 'path');
  if (remote && local) throw new LadingError('INVALID_ARGUMENT', 'only one of path or helmRepository may be set');
  if (remote) {
    throw new LadingError(
      'UNSUPPORTED',
      `helmRepository ${JSON.stringify(remote)}: downloading charts from http(s) or oci repositories is not supported yet; download the chart and use path`,
    );
  }
  if (!local) throw new LadingError('INVALID_ARGUMENT', 'one of path or helmRepository must be set');
  const path = await resolveInWorkingDirectory(local, context.workingDirectory);
  const chart = (await stat(path)).isDirectory() ? await packageChartDirectory(path) : await readPackagedChart(path);

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
  const config: LayoutBlob = {
    mediaType: HelmMediaType.Config,
    bytes: Buffer.from(goStringify({ name: chart.name, version: chart.version })),
  };
  const layers: LayoutBlob[] = [{ mediaType: HelmMediaType.ChartContent, bytes: chart.archive }];
  if (chart.provenance) layers.push({ mediaType: HelmMediaType.Provenance, bytes: chart.provenance });
  const { bytes } = ociLayoutTarGzip({ config, layers, tag: chart.version });
  return bytesBlob(bytes, OciLayoutTarGzipMediaType);
}
