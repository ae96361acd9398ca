import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLadingError } from '../oci/index.js';
import { parseAnnotations } from './options.js';

test('-a keys that an object inherits are keys like any other; a repeated key is still refused', () => {
  const out = parseAnnotations(['constructor=c', 'toString=t', '__proto__=p', 'hasOwnProperty=h']);
  assert.deepEqual(Object.keys(out), ['constructor', 'toString', '__proto__', 'hasOwnProperty']);
  assert.equal(out.constructor, 'c');
  assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, 'p');
  assert.equal(JSON.stringify(out), '{"constructor":"c","toString":"t","__proto__":"p","hasOwnProperty":"h"}');
  assert.throws(
    () => parseAnnotations(['__proto__=a', '__proto__=b']),
    (e) => isLadingError(e, 'INVALID_ARGUMENT') && /duplicate annotation key "__proto__"/.test((e as Error).message),
  );
});
