// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the cases are literal ${...} text
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { envLookup, expandEnv } from './env-expand.js';

// Expected values follow Go's os.Expand (go1.23 os/env.go) with os.Getenv as the mapping.
const env = envLookup({ A: 'x', AB: 'y', A_1: 'z', '1': 'one', '*': 'star', 'A B': 'spaced', EMPTY: '' });

const table: [string, string][] = [
  ['plain text', 'plain text'],
  ['$A', 'x'],
  ['${A}', 'x'],
  ['$AB', 'y'],
  ['${A}B', 'xB'],
  ['$A_1', 'z'],
  ['$A-', 'x-'],
  ['$UNSET', ''],
  ['${UNSET}', ''],
  ['$EMPTY.', '.'],
  ['a $ b', 'a $ b'],
  ['end $', 'end $'],
  ['$$', ''],
  ['$$A', 'A'],
  ['$1x', 'onex'],
  ['${1}', 'one'],
  ['$*', 'star'],
  ['${*}', 'star'],
  ['${A B}', 'spaced'],
  ['${}', ''],
  ['x${}y', 'xy'],
  ['${A', 'A'],
  ['pre${', 'pre'],
  ['$%', '$%'],
  ['$é', '$é'],
  ['${A}${AB}$A', 'xyx'],
  ['${12}', ''],
  ['$-', ''],
  ['version: ${VERSION}\n', 'version: \n'],
];

describe('expandEnv (Go os.Expand)', () => {
  for (const [input, want] of table) {
    it(`${JSON.stringify(input)} → ${JSON.stringify(want)}`, () => assert.equal(expandEnv(input, env), want));
  }
});
