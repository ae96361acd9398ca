import type { Platform } from './descriptor.js';
import { LadingError } from './errors.js';

/** Parses `os[/arch[/variant]][:os_version]`; arch defaults to the running machine's, as ORAS. */
export function parsePlatform(text: string, defaultArch = goArch(process.arch)): Platform {
  let spec = text;
  let osVersion: string | undefined;
  const colon = spec.indexOf(':');
  if (colon >= 0) {
    osVersion = spec.slice(colon + 1);
    spec = spec.slice(0, colon);
  }
  const parts = spec.split('/');
  const [os, arch, variant] = parts;
  if (!os || parts.length > 3 || parts.some((p) => p === '')) {
    throw new LadingError('INVALID_ARGUMENT', `invalid platform "${text}": expected os[/arch[/variant]][:os_version]`);
  }
  const platform: Platform = { architecture: arch ?? defaultArch, os };
  if (variant) platform.variant = variant;
  if (osVersion) platform['os.version'] = osVersion;
  return platform;
}

/** A platform as `os/arch[/variant]`, the form `parsePlatform` reads. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/') + (p['os.version'] ? `:${p['os.version']}` : '');
}

/** True when `candidate` satisfies `wanted`: os and arch exact, the rest only when asked for. */
export function platformMatches(candidate: Platform | undefined, wanted: Platform): boolean {
  if (!candidate) return false;
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  if (wanted.variant && candidate.variant !== wanted.variant) return false;
  if (wanted['os.version'] && candidate['os.version'] !== wanted['os.version']) return false;
  const features = wanted['os.features'] ?? [];
  return features.every((f) => candidate['os.features']?.includes(f));
}

function goArch(arch: string): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm: 'arm',
    arm64: 'arm64',
    ppc64: 'ppc64le',
    s390x: 's390x',
  };
  return map[arch] ?? arch;
}
