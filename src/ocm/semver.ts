import { LadingError } from '../oci/index.js';

/** A relaxed semantic version (`v` prefix, missing minor/patch allowed), as OCM accepts them. */
interface Version {
  major: number;
  minor: number;
  patch: number;
  pre: (string | number)[];
}

const pattern = /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): Version | undefined {
  const m = pattern.exec(text.trim());
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2] ?? 0),
    patch: Number(m[3] ?? 0),
    pre: m[4] ? m[4].split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)) : [],
  };
}

function compare(a: Version, b: Version): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i];
    const y = b.pre[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : 1;
    if (typeof x === 'number') return -1;
    if (typeof y === 'number') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Newest first; versions that do not parse go last, in string order. Build metadata does not order. */
export function sortVersionsDescending(versions: readonly string[]): string[] {
  return [...versions].sort((a, b) => {
    const va = parseVersion(a);
    const vb = parseVersion(b);
    if (va && vb) return compare(vb, va) || (a < b ? 1 : -1);
    if (va) return -1;
    if (vb) return 1;
    return a < b ? -1 : 1;
  });
}

type Comparator = (v: Version) => boolean;

function comparator(token: string, where: string): Comparator {
  const m = /^(>=|<=|>|<|=|~|\^)?\s*(.+)$/.exec(token);
  const op = m?.[1] ?? '=';
  const bound = m?.[2] ? parseVersion(m[2]) : undefined;
  if (!bound) throw new LadingError('INVALID_ARGUMENT', `${where}: "${token}" is not a version constraint`);
  switch (op) {
    case '>':
      return (v) => compare(v, bound) > 0;
    case '>=':
      return (v) => compare(v, bound) >= 0;
    case '<':
      return (v) => compare(v, bound) < 0;
    case '<=':
      return (v) => compare(v, bound) <= 0;
    case '~':
      return (v) => compare(v, bound) >= 0 && v.major === bound.major && v.minor === bound.minor;
    case '^':
      return (v) =>
        compare(v, bound) >= 0 &&
        (bound.major > 0 ? v.major === bound.major : v.major === 0 && v.minor === bound.minor);
    default:
      return (v) => compare(v, bound) === 0;
  }
}

/**
 * A constraint such as `> 0.0.0-0`, `>=1.2, <2` or `1.x || ^2.1`: comparators joined by commas or
 * spaces (all must hold), alternatives joined by `||`. Pre-releases are included, as OCM's
 * default constraint asks for.
 */
export function matchesConstraint(version: string, constraint: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return constraint.split('||').some((alternative) => {
    const tokens = alternative
      .replace(/(>=|<=|>|<|=|~|\^)\s+/g, '$1')
      .split(/[\s,]+/)
      .filter(Boolean);
    return tokens.every((t) => comparator(t, `constraint ${JSON.stringify(constraint)}`)(v));
  });
}
