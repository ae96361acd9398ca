import { lstat, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileHeader, readTarBytes, type TarWriteHeader, tarBytes } from '../../archive/index.js';
import { isWithin, readRegularFile } from '../../content/index.js';
import { compareBytes, isLadingError, LadingError } from '../../oci/index.js';
import { parseGoYaml } from '../descriptor/go-yaml-read.js';
import { goPathMatch } from './glob-match.js';

/** Charts are held in memory while packed; helm itself refuses charts much larger than this. */
export const MaxChartBytes = 64 * 1024 * 1024;

export interface PackagedChart {
  name: string;
  version: string;
  /** The chart archive (`<name>-<version>.tgz` content). */
  archive: Buffer;
  /** The provenance file next to a packaged chart, when there is one. */
  provenance?: Buffer;
}

function chartMetadata(text: string, where: string): { name: string; version: string } {
  const { value, errors } = parseGoYaml(text);
  if (errors.length > 0)
    throw new LadingError('INVALID_ARGUMENT', `${where}: Chart.yaml is not valid YAML: ${errors[0]}`);
  const meta = (value ?? {}) as Record<string, unknown>;
  const name = meta.name;
  const version = meta.version;
  if (typeof name !== 'string' || name === '')
    throw new LadingError('INVALID_ARGUMENT', `${where}: Chart.yaml: chart name is required`);
  // The name is the folder of every file in the chart's archive (and names its artifact): one
  // plain path component, as helm itself requires.
  if (/[/\\]/.test(name) || name === '.' || name === '..') {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `${where}: Chart.yaml: chart name ${JSON.stringify(name)} must be one path component`,
    );
  }
  if (typeof version !== 'string' || version === '') {
    throw new LadingError('INVALID_ARGUMENT', `${where}: Chart.yaml: chart version is required (and must be a string)`);
  }
  return { name, version };
}

/**
 * Name and version of a packaged chart (`<name>/Chart.yaml` in a .tgz); `where` names it in errors.
 * The archive must be gzip (checked before anything else is believed).
 */
export function parsePackagedChart(archive: Buffer, where: string): PackagedChart {
  if (archive.length > MaxChartBytes)
    throw new LadingError('SIZE_EXCEEDS_LIMIT', `${where}: chart archive exceeds ${MaxChartBytes} bytes`);
  let tar: Buffer;
  try {
    tar = gunzipSync(archive, { maxOutputLength: 4 * MaxChartBytes });
  } catch (error) {
    throw new LadingError('INVALID_ARCHIVE', `${where}: not a gzip-compressed chart archive`, { cause: error });
  }
  const entry = readTarBytes(tar, where).find((e) => /^[^/]+\/Chart\.yaml$/.test(e.name));
  if (!entry) throw new LadingError('INVALID_ARGUMENT', `${where}: no <chart>/Chart.yaml in the chart archive`);
  return { ...chartMetadata(entry.body.toString('utf8'), where), archive };
}

/**
 * Reads name and version from a packaged chart file, with its `.prov` next to it, if present. Both
 * must be regular files (a FIFO there would hang the read); the `.prov` may not be a symbolic link
 * (the chart's own path is checked against the working directory by the caller, the `.prov`'s is
 * not). `within`: both must lie in this real path once open ({@link readRegularFile}).
 */
export async function readPackagedChart(path: string, o: { within?: string } = {}): Promise<PackagedChart> {
  const within = o.within !== undefined ? { within: o.within } : {};
  const chart = parsePackagedChart(await readRegularFile(path, { limit: MaxChartBytes, ...within }), path);
  const provenance = await readRegularFile(`${path}.prov`, { limit: MaxChartBytes, noFollow: true, ...within }).catch(
    (error: unknown) => {
      if (isLadingError(error, 'NOT_FOUND')) return undefined;
      throw error;
    },
  );
  if (provenance) chart.provenance = provenance;
  return chart;
}

interface IgnoreRule {
  pattern: string;
  negate: boolean;
  dirOnly: boolean;
}

function ignoreRules(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    rules.push({ pattern: line.replace(/^\//, ''), negate, dirOnly });
  }
  return rules;
}

function ignored(rules: readonly IgnoreRule[], path: string, isDir: boolean): boolean {
  let result = false;
  const base = path.slice(path.lastIndexOf('/') + 1);
  for (const rule of rules) {
    if (rule.dirOnly && !isDir) continue;
    const target = rule.pattern.includes('/') ? path : base;
    if (goPathMatch(rule.pattern, target)) result = !rule.negate;
  }
  return result;
}

/** Helm's package order: Chart.yaml, Chart.lock, values.yaml, values.schema.json, templates, the rest. */
function rank(path: string): number {
  const order = ['Chart.yaml', 'Chart.lock', 'values.yaml', 'values.schema.json'];
  const i = order.indexOf(path);
  if (i >= 0) return i;
  return path.startsWith('templates/') ? order.length : order.length + 1;
}

/**
 * Packages a chart directory as `helm package` lays it out: every file under `<name>/`, no
 * directory entries, `.helmignore` honoured (plus helm's rule that hidden files in `templates/`
 * are ignored), mode 0644. Unlike helm, entries get mtime 0 and the original Chart.yaml bytes, so
 * that packaging the same directory twice gives the same archive. A symbolic link in the chart is
 * packed as what it names (a file, or a folder such as a library chart linked in as a subchart) only
 * when that lies inside `root` (the working directory, as for every input; by default the chart
 * itself); a link leading out, to nothing, or back into a folder already packed is refused, and so
 * is anything but regular files and folders (a FIFO would hang the read).
 */
export async function packageChartDirectory(dir: string, root: string = dir): Promise<PackagedChart> {
  const realRoot = await realpath(root);
  const read = (path: string) =>
    readRegularFile(join(dir, path), { limit: MaxChartBytes, where: `${dir}: ${path}`, within: realRoot });
  const optional = (path: string) =>
    read(path).catch((error: unknown) => {
      if (isLadingError(error, 'NOT_FOUND')) return undefined;
      throw error;
    });
  const chartYaml = await optional('Chart.yaml');
  if (!chartYaml) throw new LadingError('NOT_FOUND', `${dir}: no Chart.yaml (not a helm chart directory)`);
  const meta = chartMetadata(chartYaml.toString('utf8'), dir);
  const rules = ignoreRules((await optional('.helmignore'))?.toString('utf8') ?? '');
  rules.push({ pattern: 'templates/.?*', negate: false, dirOnly: false });
  const files: string[] = [];
  // Folders entered, by real path: a link to a folder (a library chart linked in as a subchart)
  // is walked like the folder, once, so a link loop ends.
  const entered = new Set<string>([await realpath(dir)]);
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? dir : join(dir, rel))).sort(compareBytes);
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      let info = await lstat(join(dir, path));
      if (info.isSymbolicLink()) {
        const target = await realpath(join(dir, path)).catch(() => undefined);
        if (target === undefined) {
          if (ignored(rules, path, false)) continue;
          throw new LadingError('NOT_FOUND', `${dir}: ${path} is a symbolic link to nothing`);
        }
        info = await lstat(target);
        if (ignored(rules, path, info.isDirectory())) continue;
        if (!isWithin(realRoot, target)) {
          throw new LadingError(
            'PATH_TRAVERSAL',
            `${dir}: ${path} is a symbolic link leading outside ${root}; refusing to pack what it names`,
          );
        }
        if (info.isDirectory()) {
          if (entered.has(target)) {
            throw new LadingError('INVALID_ARGUMENT', `${dir}: ${path} links back to a folder already packed (a loop)`);
          }
          entered.add(target);
        }
      }
      if (ignored(rules, path, info.isDirectory())) continue;
      if (info.isDirectory()) await walk(path);
      else if (info.isFile()) files.push(path);
      else throw new LadingError('INVALID_ARGUMENT', `${dir}: ${path} is neither a regular file nor a folder`);
    }
  };
  await walk('');
  files.sort((a, b) => rank(a) - rank(b) || compareBytes(a, b));
  const entries: { header: TarWriteHeader; body: Buffer }[] = [];
  let total = 0;
  for (const file of files) {
    const body = await read(file);
    total += body.length;
    if (total > MaxChartBytes)
      throw new LadingError('SIZE_EXCEEDS_LIMIT', `${dir}: chart exceeds ${MaxChartBytes} bytes`);
    entries.push({ header: fileHeader(`${meta.name}/${file}`, body.length), body });
  }
  return { ...meta, archive: gzipSync(tarBytes(entries)) };
}
