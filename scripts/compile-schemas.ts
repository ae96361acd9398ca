/**
 * Generates `schemas/compiled/<name>.cjs`: ajv's standalone code for every schema the OCM code
 * declares with `defineSchema`, each stamped with the key of the schema it was made from. Run it
 * after changing a vendored schema, a derivation, or ajv: `npm run compile-schemas`. A test
 * fails while any generated file is stale, and a stale file is never used (the schema is then
 * compiled at run time, slower but correct).
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compiledFiles } from '../src/ocm/compiled-schemas.js';
import { compiledSchemaDir } from '../src/ocm/descriptor/schema.js';

await mkdir(compiledSchemaDir, { recursive: true });
const files = compiledFiles();
for (const name of await readdir(compiledSchemaDir)) {
  if (name.endsWith('.cjs') && !files.has(name)) await rm(join(compiledSchemaDir, name));
}
for (const [name, source] of files) {
  await writeFile(join(compiledSchemaDir, name), source);
  console.log(`wrote schemas/compiled/${name} (${source.length} bytes)`);
}
