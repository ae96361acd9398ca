// The library's public surface, pinned: every entry of package.json's `exports` and the names
// (values and types) it exports. A change here is a decision about the API, made visibly.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
};

/** The source file of each entry (dist/x.js ← src/x.ts). */
const entries: Record<string, string> = {
  lading: 'src/index.ts',
  'lading/registry': 'src/registry/api.ts',
  'lading/layout': 'src/layout/api.ts',
  'lading/ctf': 'src/ctf/api.ts',
  'lading/files': 'src/files/api.ts',
  'lading/ocm': 'src/ocm/api.ts',
};

/** `value:name` for what exists at run time, `type:name` for what exists only for the compiler. */
function exportsOf(program: ts.Program, file: string): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(`${root}${file}`);
  assert.ok(source, file);
  const module = checker.getSymbolAtLocation(source);
  assert.ok(module, file);
  return checker
    .getExportsOfModule(module)
    .map((e) => {
      const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
      return `${target.flags & ts.SymbolFlags.Value ? 'value' : 'type'}:${e.name}`;
    })
    .sort();
}

const expected: Record<string, string[]> = JSON.parse(
  readFileSync(new URL('./fixtures/api-surface.json', import.meta.url), 'utf8'),
);

describe('public API surface', () => {
  test('package.json exports exactly the pinned entries, each from its own entry file', () => {
    const mapped = Object.fromEntries(
      Object.entries(pkg.exports)
        .filter(([key]) => key !== './package.json')
        .map(([key, value]) => [key === '.' ? 'lading' : `lading/${key.slice(2)}`, value]),
    );
    assert.deepEqual(Object.keys(mapped).sort(), Object.keys(entries).sort());
    for (const [name, file] of Object.entries(entries)) {
      const js = file.replace(/^src\//, './dist/').replace(/\.ts$/, '.js');
      assert.deepEqual(mapped[name], { types: js.replace(/\.js$/, '.d.ts'), default: js }, name);
    }
  });

  test('each entry exports exactly the pinned names', () => {
    const program = ts.createProgram(
      Object.values(entries).map((f) => `${root}${f}`),
      {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        strict: true,
        noEmit: true,
        types: ['node'],
      },
    );
    const actual = Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, exportsOf(program, file)]));
    // To accept a deliberate change: LADING_UPDATE_API=1 npm test -- api-surface
    if (process.env.LADING_UPDATE_API) {
      writeFileSync(new URL('./fixtures/api-surface.json', import.meta.url), `${JSON.stringify(actual, null, 2)}\n`);
    }
    assert.deepEqual(actual, expected);
  });

  test('the values each entry exports at run time are the pinned values', async () => {
    for (const [name, file] of Object.entries(entries)) {
      const loaded = (await import(`${root}${file}`)) as Record<string, unknown>;
      const values = (expected[name] ?? []).filter((e) => e.startsWith('value:')).map((e) => e.slice(6));
      assert.deepEqual(Object.keys(loaded).sort(), values.sort(), name);
    }
  });
});
