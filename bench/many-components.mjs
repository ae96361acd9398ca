// Writes a component-constructor.yaml of N components, one tiny utf8/v1 resource each: the shape
// of BENCHMARKS.md's "CTF at scale" and "add cv of thousands" sections.
// Usage: node bench/many-components.mjs N > component-constructor.yaml
import { manyComponents } from '../test/support/many-components.mjs';

const count = Number(process.argv[2] ?? 5000);
if (!Number.isInteger(count) || count < 1) throw new Error(`usage: many-components.mjs N (got ${process.argv[2]})`);
process.stdout.write(manyComponents(count));
