import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { matchesConstraint, sortVersionsDescending } from './semver.js';

const versions = [
  '0.9.0',
  '1.0.0',
  '1.0.0+build.1',
  '1.1.0-rc.1',
  '1.1.0',
  '1.2.3',
  '2.0.0-rc.1',
  '2.0.0',
  'v3',
  'latest',
];
const kept = (constraint: string) => versions.filter((v) => matchesConstraint(v, constraint));

describe('semver constraints, as upstream reads --semver-constraint (Masterminds semver v3)', () => {
  test('a pre-release matches only where a bound of its alternative is a pre-release', () => {
    // OCM's default for get cv takes every version, pre-releases too.
    assert.deepEqual(kept('> 0.0.0-0'), versions.slice(0, -1));
    assert.deepEqual(kept('>=1.0.0'), ['1.0.0', '1.0.0+build.1', '1.1.0', '1.2.3', '2.0.0', 'v3']);
    assert.deepEqual(kept('>=1.0.0 <2'), ['1.0.0', '1.0.0+build.1', '1.1.0', '1.2.3']);
    assert.deepEqual(kept('>=1.0.0, <2.0.0-0'), ['1.0.0', '1.0.0+build.1', '1.1.0-rc.1', '1.1.0', '1.2.3']);
    assert.deepEqual(kept('~1.1.0-0'), ['1.1.0-rc.1', '1.1.0']);
    assert.deepEqual(kept('1.1.0-rc.1'), ['1.1.0-rc.1']);
    // Only the alternative with the pre-release bound takes pre-releases.
    assert.deepEqual(kept('2.0.0-rc.1 || 1.x'), ['1.0.0', '1.0.0+build.1', '1.1.0', '1.2.3', '2.0.0-rc.1']);
  });

  test('wildcards, parts left out, tilde, caret, !=, hyphen ranges and the operator spellings', () => {
    assert.deepEqual(kept('1.x'), ['1.0.0', '1.0.0+build.1', '1.1.0', '1.2.3']);
    assert.deepEqual(kept('1'), kept('1.x'));
    assert.deepEqual(kept('*'), ['0.9.0', '1.0.0', '1.0.0+build.1', '1.1.0', '1.2.3', '2.0.0', 'v3']);
    assert.deepEqual(kept('~1.1'), ['1.1.0']);
    assert.deepEqual(kept('~>1.1'), ['1.1.0']);
    assert.deepEqual(kept('^1.1.0'), ['1.1.0', '1.2.3']);
    assert.deepEqual(kept('^0.9'), ['0.9.0']);
    assert.deepEqual(kept('!=1.0.0'), ['0.9.0', '1.1.0', '1.2.3', '2.0.0', 'v3']);
    assert.deepEqual(kept('1.0 - 1.2'), ['1.0.0', '1.0.0+build.1', '1.1.0', '1.2.3']);
    assert.deepEqual(kept('>1.1'), ['1.2.3', '2.0.0', 'v3']);
    assert.deepEqual(kept('>1'), ['2.0.0', 'v3']);
    assert.deepEqual(kept('<=1'), ['0.9.0', '1.0.0', '1.0.0+build.1', '1.1.0', '1.2.3']);
    assert.deepEqual(kept('=>2'), ['2.0.0', 'v3']);
    assert.deepEqual(kept('=<0.9'), ['0.9.0']);
    // Build metadata does not order: 1.0.0+build.1 is 1.0.0.
    assert.deepEqual(kept('=1.0.0'), ['1.0.0', '1.0.0+build.1']);
    assert.deepEqual(kept('v2'), ['2.0.0']);
  });

  test('a constraint upstream cannot read is refused, naming it', () => {
    for (const bad of ['bogus', '>= 1 ||', '1.0 -', '>=1.0.0-01', '>> 1', '1.2.3.4']) {
      assert.throws(
        () => matchesConstraint('1.0.0', bad),
        (e) => isLadingError(e, 'INVALID_ARGUMENT') && e.message.startsWith(`constraint ${JSON.stringify(bad)}: `),
        bad,
      );
    }
  });

  test('numbers are exact to a uint64 as upstream keeps them; a larger one is no version', () => {
    // 2^53 + 1 and 2^53 are one JavaScript number: compared as numbers, the two were equal.
    assert.equal(matchesConstraint('9007199254740993.0.0', '9007199254740992.0.0'), false);
    assert.equal(matchesConstraint('9007199254740993.0.0', '>9007199254740992'), true);
    assert.equal(matchesConstraint('1.0.0-9007199254740993', '1.0.0-9007199254740992'), false);
    assert.equal(matchesConstraint('18446744073709551615.0.0', '>=18446744073709551614'), true);
    // Beyond a uint64 upstream's NewVersion fails: the version matches nothing, the bound is refused.
    assert.equal(matchesConstraint('18446744073709551616.0.0', '*'), false);
    assert.throws(
      () => matchesConstraint('1.0.0', '<18446744073709551616'),
      (e) => isLadingError(e, 'INVALID_ARGUMENT'),
    );
    // A pre-release number beyond a uint64 orders as a word upstream: above every number.
    assert.equal(matchesConstraint('1.0.0-18446744073709551616', '>1.0.0-18446744073709551615'), true);
    assert.equal(matchesConstraint('1.0.0-18446744073709551616', '<1.0.0-a'), true);
    assert.deepEqual(sortVersionsDescending(['9007199254740992.0.0', '9007199254740993.0.0']), [
      '9007199254740993.0.0',
      '9007199254740992.0.0',
    ]);
  });

  test("whitespace is Go's \\s (ASCII), and a refused constraint's error stays on one line", () => {
    assert.equal(matchesConstraint('1.2.3', '>=1.2.3\t<2'), true);
    for (const bad of ['>=1.2.3\u00a0<2', '>=1.2.3\v<2', '\u2003>=1', '>=1.0\n!', '1\u001b[31m']) {
      assert.throws(
        () => matchesConstraint('1.2.3', bad),
        (e) => isLadingError(e, 'INVALID_ARGUMENT') && !e.message.includes('\n') && !e.message.includes('\u001b'),
        JSON.stringify(bad),
      );
    }
  });

  test('a long constraint is checked in linear time', () => {
    const start = performance.now();
    for (const text of [
      `${'1 '.repeat(20_000)}!`,
      `1${'  ,  1'.repeat(20_000)} !`,
      `${' '.repeat(50_000)}1 !`,
      `${'1'.repeat(50_000)} !`,
      `1.0 ${'- '.repeat(20_000)}`,
    ]) {
      assert.throws(() => matchesConstraint('1.0.0', text));
    }
    assert.ok(performance.now() - start < 1_000);
  });

  test('versions sort newest first, pre-releases below their release, the rest last', () => {
    assert.deepEqual(sortVersionsDescending(['1.1.0-rc.1', 'latest', '1.1.0', '1.1.0-rc.10', '1.1.0-rc.2', 'v3']), [
      'v3',
      '1.1.0',
      '1.1.0-rc.10',
      '1.1.0-rc.2',
      '1.1.0-rc.1',
      'latest',
    ]);
  });
});
