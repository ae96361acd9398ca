import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { compiledFiles } from './compiled-schemas.js';
import { compiledSchemaDir, defineSchema, readOcmSchema } from './descriptor/schema.js';

const require = createRequire(import.meta.url);

describe('precompiled schema validators', () => {
  test('schemas/compiled holds exactly what the declared schemas generate (run npm run compile-schemas)', async () => {
    const expected = compiledFiles();
    const present = (await readdir(compiledSchemaDir)).filter((n) => n.endsWith('.cjs')).sort();
    assert.deepEqual(present, [...expected.keys()].sort());
    for (const [name, source] of expected) {
      assert.equal(await readFile(`${compiledSchemaDir}${name}`, 'utf8'), source, `${name} is stale`);
    }
  });

  test('a validator made from the same schema is loaded, not compiled; a changed schema is compiled afresh', () => {
    const file = require(`${compiledSchemaDir}input-File.cjs`) as unknown;
    const same = defineSchema('input-File', () => readOcmSchema('input/File.schema.json'))();
    assert.equal(same, file);
    assert.equal(same({ type: 'File', path: 'a.txt' }), true);

    const changed = defineSchema('input-File', () => {
      const schema = readOcmSchema('input/File.schema.json');
      return { ...schema, required: ['type', 'path', 'mediaType'] };
    })();
    assert.notEqual(changed, file);
    assert.equal(changed({ type: 'File', path: 'a.txt' }), false);
    assert.equal(changed({ type: 'File', path: 'a.txt', mediaType: 'text/plain' }), true);
    // Leave the declaration as the input module made it.
    defineSchema('input-File', () => readOcmSchema('input/File.schema.json'));
  });
});
