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

test('Go-style boolean values: --flag=true is --flag, --flag=false its negation or nothing; values and -- are left alone', async () => {
  const { buildProgram, goBoolFlags } = await import('./program.js');
  const { processIO } = await import('./io.js');
  const convert = async (args: string[]) => goBoolFlags(await buildProgram(processIO(), args), args);
  assert.deepEqual(await convert(['pull', '--plain-http=false', '--insecure=TRUE', 'localhost:5000/a:b']), [
    'pull',
    '--no-plain-http',
    '--insecure',
    'localhost:5000/a:b',
  ]);
  assert.deepEqual(
    await convert(['cp', '--from-plain-http=0', '--to-plain-http=t', '--from-insecure=f', 'a/b:c', 'd/e:f']),
    ['cp', '--no-from-plain-http', '--to-plain-http', 'a/b:c', 'd/e:f'],
  );
  // An option's value, given as the next argument, is not a flag; nor is anything after --.
  assert.deepEqual(await convert(['push', '-H', '--plain-http=false', '--', '--insecure=true']), [
    'push',
    '-H',
    '--plain-http=false',
    '--',
    '--insecure=true',
  ]);
  await assert.rejects(
    convert(['pull', '--plain-http=yes', 'a/b:c']),
    (e) => (e as { code?: string }).code === 'lading.invalidBoolean' && /"yes" for "--plain-http"/.test(String(e)),
  );
});
