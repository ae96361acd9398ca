import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { matchesConstraint } from './semver.js';

/** Masterminds semver v3.4.0's own constraint tables (see test/fixtures/upstream/PROVENANCE.md). */
const vectors = JSON.parse(
  readFileSync(new URL('../../test/fixtures/upstream/masterminds-semver/constraints.json', import.meta.url), 'utf8'),
) as {
  check: [string, string, boolean][];
  constraintsCheck: [string, string, boolean][];
  validate: [string, string, boolean][];
  newConstraint: [string, number, number, boolean][];
};

describe("semver constraints against Masterminds semver v3.4.0's test tables (what OCM v2 links)", () => {
  for (const table of ['check', 'constraintsCheck', 'validate'] as const) {
    test(`${table}: every [constraint, version] pair is decided as upstream decides it`, () => {
      const wrong: string[] = [];
      for (const [constraint, version, want] of vectors[table]) {
        // NewConstraint refuses the empty string (its TestConstraintCheck calls the inner parser).
        if (constraint === '') continue;
        let got: boolean | string;
        try {
          got = matchesConstraint(version, constraint);
        } catch (e) {
          got = (e as Error).message;
        }
        if (got !== want) wrong.push(`${JSON.stringify(constraint)} with ${version}: want ${want}, got ${got}`);
      }
      assert.deepEqual(wrong, []);
    });
  }

  test('newConstraint: what upstream refuses is refused, naming it; the rest is read', () => {
    const wrong: string[] = [];
    for (const [constraint, , , refused] of vectors.newConstraint) {
      try {
        matchesConstraint('1.0.0', constraint);
        if (refused) wrong.push(`${constraint}: read`);
      } catch (e) {
        if (!refused) wrong.push(`${constraint}: ${(e as Error).message}`);
        else if (!isLadingError(e, 'INVALID_ARGUMENT') || e.message.includes('\n')) wrong.push(`${constraint}: ${e}`);
      }
    }
    assert.deepEqual(wrong, []);
  });
});
