import { LadingError } from '../oci/index.js';

/** A relaxed semantic version (`v` prefix, missing minor/patch allowed), as OCM accepts them. */
interface Version {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: (string | bigint)[];
}

/** Upstream keeps each number in a uint64: a larger one is no version there (and no number in a pre-release). */
const maxUint64 = 2n ** 64n - 1n;
const uint64 = (digits: string): bigint | undefined => {
  const n = BigInt(digits);
  return n <= maxUint64 ? n : undefined;
};

/** Upstream's relaxed semantic version (Masterminds semver's `NewVersion`, OCM's relaxedSemver). */
const pattern =
  /^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

export function parseVersion(text: string): Version | undefined {
  const m = pattern.exec(text.trim());
  if (!m) return undefined;
  const major = uint64(m[1] as string);
  const minor = uint64(m[2] ?? '0');
  const patch = uint64(m[3] ?? '0');
  if (major === undefined || minor === undefined || patch === undefined) return undefined;
  return {
    major,
    minor,
    patch,
    // A numeric identifier beyond a uint64 orders as a word upstream (its ParseUint fails).
    pre: m[4] ? m[4].split('.').map((p) => (/^\d+$/.test(p) ? (uint64(p) ?? p) : p)) : [],
  };
}

/** Pre-release identifiers in order: numbers below words, numbers by value, words by bytes, fewer first. */
function comparePre(a: Version['pre'], b: Version['pre']): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    if (typeof x === 'bigint' && typeof y === 'bigint') return x < y ? -1 : 1;
    if (typeof x === 'bigint') return -1;
    if (typeof y === 'bigint') return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function compare(a: Version, b: Version): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  if (a.pre.length === 0 || b.pre.length === 0) return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  return comparePre(a.pre, b.pre);
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

/** A version that satisfies a constraint or not; `includePre` is its group's choice (see below). */
type Comparator = (v: Version, includePre: boolean) => boolean;

/** Whitespace as upstream's (Go) regular expressions read `\s`: ASCII only, no vertical tab, no NBSP. */
const ws = String.raw`[\t\n\f\r ]`;
/** The operators of a constraint (Masterminds semver v3, which upstream's `--semver-constraint` is). */
const ops = String.raw`!=|=>|=<|>=|<=|~>|=|>|<|~|\^`;
/** A version in a constraint: `x`, `X` or `*` may stand for a part, minor and patch may be left out. */
const cv = String.raw`v?([0-9]+|[xX*])(\.(?:[0-9]+|[xX*]))?(\.(?:[0-9]+|[xX*]))?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?`;
const oneConstraint = new RegExp(`^${ws}*(${ops})?${ws}*${cv}${ws}*$`);
// A comparator starts the text or follows a space, a comma or a `|`: matching only there keeps a
// scan of a long run of digits linear.
const findConstraint = new RegExp(
  String.raw`(?<=^|[\t\n\f\r ,|])(?:(?:${ops})${ws}*)?${cv.replace(/\((?!\?)/g, '(?:')}`,
  'g',
);
// Whitespace is matched where only one split of it can succeed (no backtracking blow-up).
const comparatorText = `(?:(?:${ops})${ws}*)?(?:${cv})`;
const validGroup = new RegExp(`^${ws}*${comparatorText}(?:(?:${ws}*,${ws}*|${ws}+)${comparatorText})*${ws}*$`);
/** `1.2 - 2.3` is `>= 1.2, <= 2.3`. */
const hyphenRange = new RegExp(
  String.raw`(?<=^|[\t\n\f\r ,|])(${cv.replace(/\((?!\?)/g, '(?:')})${ws}+-${ws}+(${cv.replace(/\((?!\?)/g, '(?:')})`,
  'g',
);

const isWildcard = (part: string | undefined) => part === 'x' || part === 'X' || part === '*';

function comparator(token: string, where: string): { test: Comparator; pre: boolean } {
  const m = oneConstraint.exec(token);
  if (!m)
    throw new LadingError('INVALID_ARGUMENT', `${where}: ${JSON.stringify(token.trim())} is not a version constraint`);
  const op = m[1] ?? '';
  const [major, minorPart, patchPart, prePart = ''] = [m[2] as string, m[3], m[4], m[5]];
  const minor = minorPart?.slice(1);
  const patch = patchPart?.slice(1);
  // A part left out or written as a wildcard makes the bound "dirty": a range, not one version.
  let bound: Version | undefined;
  let minorDirty = false;
  let patchDirty = false;
  let dirty = false;
  if (isWildcard(major)) {
    dirty = true;
    bound = parseVersion(`0.0.0${prePart}`);
  } else if (minor === undefined || isWildcard(minor)) {
    dirty = minorDirty = true;
    bound = parseVersion(`${major}.0.0${prePart}`);
  } else if (patch === undefined || isWildcard(patch)) {
    dirty = patchDirty = true;
    bound = parseVersion(`${major}.${minor}.0${prePart}`);
  } else {
    bound = parseVersion(`${major}.${minor}.${patch}${prePart}`);
  }
  if (!bound)
    throw new LadingError('INVALID_ARGUMENT', `${where}: ${JSON.stringify(token.trim())} is not a version constraint`);
  const b = bound;
  const tilde = (v: Version) =>
    compare(v, b) >= 0 &&
    ((b.major === 0n && b.minor === 0n && b.patch === 0n && !minorDirty && !patchDirty) ||
      (v.major === b.major && (minorDirty || v.minor === b.minor)));
  const tests: Record<string, (v: Version) => boolean> = {
    '': (v) => (dirty ? tilde(v) : compare(v, b) === 0),
    '!=': (v) => {
      if (dirty) {
        if (b.major !== v.major) return true;
        if (minorDirty) return false;
        if (b.minor !== v.minor) return true;
        if (patchDirty) return (v.pre.length > 0 || b.pre.length > 0) && comparePre(v.pre, b.pre) !== 0;
      }
      return compare(v, b) !== 0;
    },
    '>': (v) => {
      if (!dirty) return compare(v, b) > 0;
      if (v.major !== b.major) return v.major > b.major;
      if (minorDirty) return false;
      if (patchDirty) return v.minor > b.minor;
      return compare(v, b) > 0;
    },
    '<': (v) => compare(v, b) < 0,
    '>=': (v) => compare(v, b) >= 0,
    '<=': (v) => {
      if (!dirty) return compare(v, b) <= 0;
      if (v.major > b.major) return false;
      return !(v.major === b.major && v.minor > b.minor && !minorDirty);
    },
    '~': tilde,
    '^': (v) => {
      if (compare(v, b) < 0) return false;
      if (b.major > 0n || minorDirty) return v.major === b.major;
      if (v.major > 0n) return false;
      if (b.minor > 0n || patchDirty) return v.minor === b.minor;
      if (v.minor > 0n) return false;
      return v.patch === b.patch;
    },
  };
  const aliases: Record<string, string> = { '=': '', '=>': '>=', '=<': '<=', '~>': '~' };
  const test = tests[aliases[op] ?? op] as (v: Version) => boolean;
  // A pre-release satisfies a group only where one of the group's bounds is a pre-release.
  return { test: (v, includePre) => (v.pre.length === 0 || includePre) && test(v), pre: b.pre.length > 0 };
}

/**
 * A constraint such as `> 0.0.0-0`, `>=1.2, <2`, `1.x || ^2.1`, `~1.2`, `!=1.3.0` or `1.0 - 2.0`,
 * as upstream reads `--semver-constraint` (Masterminds semver v3): comparators joined by commas or
 * spaces (all must hold), alternatives joined by `||`; `x`, `X` or `*` (or a part left out) stand
 * for any value. A pre-release matches only an alternative with a pre-release in one of its
 * bounds (OCM's default `> 0.0.0-0` takes them all; `>= 1.0.0` none). Build metadata is ignored.
 * A version that is not a (relaxed) semantic version matches nothing.
 */
export function matchesConstraint(version: string, constraint: string): boolean {
  const groups = parseConstraint(constraint);
  const v = parseVersion(version);
  if (!v) return false;
  return groups.some((group) => {
    const includePre = group.some((c) => c.pre);
    return group.every((c) => c.test(v, includePre));
  });
}

function parseConstraint(constraint: string): { test: Comparator; pre: boolean }[][] {
  const where = `constraint ${JSON.stringify(constraint)}`;
  const rewritten = constraint.replace(hyphenRange, (_all, from: string, to: string) => `>= ${from}, <= ${to} `);
  return rewritten.split('||').map((group) => {
    if (!validGroup.test(group)) {
      throw new LadingError(
        'INVALID_ARGUMENT',
        `${where}: ${JSON.stringify(group.trim())} is not a version constraint`,
      );
    }
    return [...group.matchAll(findConstraint)].map((m) => comparator(m[0], where));
  });
}
