import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { readRegularFile } from '../../content/index.js';
import { isLadingError, LadingError } from '../../oci/index.js';
import { emptyOcmConfig, type OcmConfig } from './model.js';
import { mergeOcmConfigs, parseOcmConfig } from './parse.js';

/** Where the OCM configuration is looked for (home and working folders, environment). */
export interface ConfigDiscoveryOptions {
  /** Default `process.env` (`OCM_CONFIG`, `XDG_CONFIG_HOME`). */
  env?: NodeJS.ProcessEnv;
  /** Default `process.cwd()`. */
  cwd?: string;
  /** Default `os.homedir()`. */
  home?: string;
  /** Whether a path names something; default: stat succeeds. */
  exists?: (path: string) => boolean;
}

function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The OCM configuration files that exist, in upstream's order (later ones win when merged):
 * 1. `$OCM_CONFIG`;
 * 2. `$XDG_CONFIG_HOME/ocm/config`, `$XDG_CONFIG_HOME/.ocmconfig` (when XDG_CONFIG_HOME is set),
 *    then the same under the default XDG home `$HOME/.config`, then `$HOME/.ocm/config`, `$HOME/.ocmconfig`;
 * 3. `$PWD/.ocm/config`, `$PWD/.ocmconfig`.
 * Upstream also looks next to its executable; for lading that folder is node's, so it is skipped.
 * A path found twice (XDG_CONFIG_HOME = ~/.config) is listed once.
 */
export function ocmConfigPaths(options: ConfigDiscoveryOptions = {}): string[] {
  const env = options.env ?? process.env;
  const exists = options.exists ?? statExists;
  const home = options.home ?? homedir();
  const cwd = options.cwd ?? process.cwd();
  const candidates: string[] = [];
  const fromEnv = env.OCM_CONFIG;
  if (fromEnv) candidates.push(isAbsolute(fromEnv) ? normalize(fromEnv) : resolve(cwd, fromEnv));
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg) candidates.push(join(xdg, 'ocm', 'config'), join(xdg, '.ocmconfig'));
  if (home) {
    candidates.push(join(home, '.config', 'ocm', 'config'), join(home, '.config', '.ocmconfig'));
    candidates.push(join(home, '.ocm', 'config'), join(home, '.ocmconfig'));
  }
  candidates.push(join(cwd, '.ocm', 'config'), join(cwd, '.ocmconfig'));
  const seen = new Set<string>();
  const out: string[] = [];
  for (const path of candidates) {
    const key = resolve(cwd, path);
    if (seen.has(key) || !exists(path)) continue;
    seen.add(key);
    out.push(path);
  }
  return out;
}

/** Options of {@link loadOcmConfig}: where to look, or the files to read. */
export interface LoadOcmConfigOptions extends ConfigDiscoveryOptions {
  /** Explicit files: they replace discovery, and each must load. */
  files?: readonly string[];
}

/** An OCM configuration as {@link loadOcmConfig} found it, with the files it came from and any warnings. */
export interface LoadedOcmConfig {
  /** The merged configuration of every file read. */
  config: OcmConfig;
  /** Discovered files that could not be read or parsed, and were skipped (as upstream does). */
  warnings: string[];
}

/** The most an OCM configuration file may hold (upstream's samples are a few KiB). */
const MaxOcmConfigBytes = 4 * 1024 * 1024;

/**
 * One configuration file, only as a regular file of at most MaxOcmConfigBytes: a `.ocmconfig` in
 * the working folder (a cloned repository's) that links to /dev/zero or a FIFO, or a `--config`
 * FIFO, must not exhaust memory or hang the command.
 */
async function loadFile(path: string): Promise<OcmConfig> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, { limit: MaxOcmConfigBytes, where: `OCM config ${path}` });
  } catch (error) {
    if (isLadingError(error, 'NOT_FOUND')) {
      throw new LadingError('NOT_FOUND', `OCM config file ${path} not found`, { cause: error });
    }
    throw error;
  }
  return parseOcmConfig(bytes.toString('utf8'), { source: path });
}

/**
 * Loads the OCM configuration: the explicit `files` if given (every one must load), else every
 * discovered file (one that fails to load is skipped with a warning, as upstream logs and skips
 * it). All are merged in order. No file at all is an empty configuration.
 */
export async function loadOcmConfig(options: LoadOcmConfigOptions = {}): Promise<LoadedOcmConfig> {
  if (options.files && options.files.length > 0) {
    const configs: OcmConfig[] = [];
    for (const file of options.files) configs.push(await loadFile(file));
    return { config: mergeOcmConfigs(...configs), warnings: [] };
  }
  const warnings: string[] = [];
  const configs: OcmConfig[] = [];
  for (const path of ocmConfigPaths(options)) {
    try {
      configs.push(await loadFile(path));
    } catch (error) {
      warnings.push(`OCM config ${path} skipped: ${(error as Error).message}`);
    }
  }
  return { config: configs.length > 0 ? mergeOcmConfigs(...configs) : emptyOcmConfig(), warnings };
}
