// Writes a component-constructor.yaml of N components, one tiny utf8/v1 resource each: the shape
// of BENCHMARKS.md's "CTF at scale" and "add cv of thousands" sections.
// Usage: node bench/many-components.mjs N > component-constructor.yaml
const count = Number(process.argv[2] ?? 5000);
if (!Number.isInteger(count) || count < 1) throw new Error(`usage: many-components.mjs N (got ${process.argv[2]})`);
const out = ['components:'];
for (let i = 0; i < count; i++) {
  out.push(
    `  - name: acme.org/many/c${i}`,
    '    version: 1.0.0',
    '    provider:',
    '      name: acme.org',
    '    resources:',
    '      - name: text',
    '        type: plainText',
    '        version: 1.0.0',
    '        input:',
    '          type: utf8/v1',
    `          text: component ${i}`,
  );
}
process.stdout.write(`${out.join('\n')}\n`);
