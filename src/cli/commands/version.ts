import { LadingError } from '../../oci/index.js';
import type { CliIO } from '../io.js';
import { readVersion } from '../version.js';

/**
 * `lading version`: text as `oras version` prints it; `--format json`, the same facts as one JSON
 * object (indented, as ORAS prints its models); `--format legacyjson`, the OCM v1 shape that
 * `ocm version` prints by default (one line), with the runtime where Go's facts stand.
 */
export function versionCommand(io: CliIO, format = 'text'): void {
  const version = readVersion();
  const platform = `${process.platform}/${process.arch}`;
  if (format === 'json') {
    const model = { version, nodeVersion: process.version, platform };
    io.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    return;
  }
  if (format === 'legacyjson') {
    io.stdout.write(`${JSON.stringify(legacyVersion(version, platform))}\n`);
    return;
  }
  if (format !== 'text')
    throw new LadingError(
      'INVALID_ARGUMENT',
      `invalid format type: "${format}" (supported types: text, json, legacyjson)`,
    );
  const rows = [
    ['Version', version],
    ['Node version', process.version],
    ['OS/Arch', platform],
  ];
  for (const [k, v] of rows) io.stdout.write(`${`${k}:`.padEnd(14)}${v}\n`);
}

/** OCM's LegacyVersionInfo: major/minor/patch strings, prerelease and meta split off a semver. */
function legacyVersion(version: string, platform: string): Record<string, string> {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/.exec(version);
  const out: Record<string, string> = {};
  if (m) {
    out.major = m[1] as string;
    out.minor = m[2] as string;
    out.patch = m[3] as string;
    if (m[4]) out.prerelease = m[4];
    if (m[5]) out.meta = m[5];
    out.gitVersion = `${m[1]}.${m[2]}.${m[3]}${m[4] ? `-${m[4]}` : ''}${m[5] ? `+${m[5]}` : ''}`;
    if (m[4]) {
      const dash = m[4].indexOf('-');
      out.buildDate = dash < 0 ? m[4] : m[4].slice(0, dash);
      if (dash >= 0) out.gitCommit = m[4].slice(dash + 1);
    }
  } else {
    Object.assign(out, { major: '0', minor: '0', patch: '0', gitVersion: version });
  }
  // Key order as OCM's struct: major, minor, patch, prerelease, meta, gitVersion, gitCommit, buildDate, …
  const order = ['major', 'minor', 'patch', 'prerelease', 'meta', 'gitVersion', 'gitCommit', 'buildDate'];
  const sorted: Record<string, string> = {};
  for (const k of order) if (out[k] !== undefined) sorted[k] = out[k] as string;
  sorted.goVersion = process.version;
  sorted.compiler = 'node';
  sorted.platform = platform;
  return sorted;
}
