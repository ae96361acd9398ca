// A component-constructor.yaml of `count` components, one tiny `utf8/v1` resource each: the shape of
// BENCHMARKS.md's "CTF at scale" and "add cv of thousands" sections (bench/many-components.mjs) and
// of test/ocm-add-many.test.ts. `lastInput` lines go into the last component's input (a field
// upstream ignores there makes a warning only once the whole file has been read). Plain JS, so
// that the bench script can load it without tsx.

/**
 * @param {number} count
 * @param {{ lastInput?: string[] }} [options]
 * @returns {string}
 */
export function manyComponents(count, options = {}) {
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
      ...(i === count - 1 ? (options.lastInput ?? []).map((l) => `          ${l}`) : []),
    );
  }
  return `${out.join('\n')}\n`;
}
