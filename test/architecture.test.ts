// The layers of docs/architecture.md, checked on the code: which folder may import which, no
// import circle between files, tar and HTTP each in one layer, printing only in the CLI.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src', import.meta.url));

/** What each folder of src/ may import (besides itself), as docs/architecture.md draws it. */
const mayImport: Record<string, string[]> = {
  oci: [],
  content: ['oci'],
  copy: ['content', 'oci'],
  archive: ['content', 'oci'],
  layout: ['archive', 'copy', 'content', 'oci'],
  registry: ['content', 'oci'],
  ctf: ['archive', 'copy', 'content', 'oci'],
  files: ['archive', 'copy', 'content', 'oci'],
  ocm: ['layout', 'registry', 'ctf', 'files', 'archive', 'copy', 'content', 'oci'],
  cli: ['server', 'ocm', 'layout', 'registry', 'ctf', 'files', 'archive', 'copy', 'content', 'oci'],
  server: ['ocm', 'layout', 'registry', 'ctf', 'files', 'archive', 'copy', 'content', 'oci'],
  // The library's front door exports the library, never the command line.
  'index.ts': ['ocm', 'layout', 'registry', 'ctf', 'files', 'archive', 'copy', 'content', 'oci'],
};

interface Source {
  file: string; // relative to src/, '/'-separated
  text: string;
  imports: { spec: string; target?: string }[];
}

function sources(): Source[] {
  const out: Source[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
        const text = readFileSync(path, 'utf8');
        const file = relative(src, path).split('\\').join('/');
        const imports = [
          ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g),
        ].map((m) => {
          const spec = (m[1] ?? m[2]) as string;
          if (!spec.startsWith('.')) return { spec };
          const target = normalize(join(dirname(file), spec))
            .split('\\')
            .join('/')
            .replace(/\.js$/, '.ts');
          return { spec, target };
        });
        out.push({ file, text, imports });
      }
    }
  };
  walk(src);
  return out;
}

const folderOf = (file: string): string => (file.includes('/') ? (file.split('/')[0] as string) : file);

describe('architecture', () => {
  const all = sources();

  test('each folder imports only the layers below it', () => {
    const wrong: string[] = [];
    for (const s of all) {
      const from = folderOf(s.file);
      const allowed = mayImport[from];
      if (!allowed) {
        if (from !== 'cli') wrong.push(`${s.file}: a folder docs/architecture.md does not name`);
        continue;
      }
      for (const i of s.imports) {
        if (!i.target) continue;
        const to = folderOf(i.target);
        if (to !== from && !allowed.includes(to)) wrong.push(`${s.file} imports ${i.target} (${from} → ${to})`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('no import circle between files (type imports included)', () => {
    const graph = new Map(all.map((s) => [s.file, s.imports.flatMap((i) => (i.target ? [i.target] : []))]));
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file);
    assert.deepEqual(circles, []);
  });

  test("tar code lives in src/archive; Node's http modules serve (src/server) and never the client", () => {
    const wrong: string[] = [];
    for (const s of all) {
      for (const i of s.imports) {
        if (i.spec === 'tar-stream' && folderOf(s.file) !== 'archive') wrong.push(`${s.file} imports tar-stream`);
        // The registry client speaks HTTP/1.1 itself (src/registry/h1/) over node:net and node:tls.
        if (/^node:https?$/.test(i.spec) && folderOf(s.file) !== 'server') wrong.push(`${s.file} imports ${i.spec}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  test('only the command line prints or exits', () => {
    const wrong = all
      .filter((s) => folderOf(s.file) !== 'cli')
      .filter((s) => /process\.(stdout|stderr|exit)\b|console\.(log|error|warn|info)\(/.test(s.text))
      .map((s) => s.file);
    assert.deepEqual(wrong, []);
  });
});
