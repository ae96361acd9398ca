// Every example of docs/library.md (examples/*.ts) runs as written, importing `lading` and its
// subpaths (mapped to src/ by examples/tsconfig.json), against the real registry, each in a fresh
// folder that is its working directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tempDir } from './support/fixtures.js';
import { loadPeers } from './support/peers.mjs';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.ts'));

/** What each example must print: proof that it did its work, not only that it exited 0. */
const expected: Record<string, RegExp[]> = {
  'oci-artifacts.ts': [
    /^pushed sha256:[0-9a-f]{64} \(\d+ bytes moved\)$/m,
    /^the tar holds sha256:[0-9a-f]{64}$/m,
    /^pulled 2 files$/m,
    /^aborted: user pressed stop$/m,
  ],
  'components.ts': [/^verified guide$/m, /^notes \(text\/plain[^)]*\): notes that ship with the component$/m],
};

describe('the library guide examples', () => {
  test('every example is listed here', () => {
    assert.deepEqual(examples.sort(), Object.keys(expected).sort());
  });
  for (const example of examples) {
    test(example, async () => {
      const work = await tempDir('lading-example-');
      try {
        const { stdout } = await run(
          process.execPath,
          ['--import', import.meta.resolve('tsx'), join(root, 'examples', example)],
          {
            cwd: work.path,
            encoding: 'utf8',
            env: {
              ...process.env,
              REGISTRY: loadPeers().plain.host,
              TSX_TSCONFIG_PATH: join(root, 'examples', 'tsconfig.json'),
            },
          },
        );
        for (const pattern of expected[example] ?? []) assert.match(stdout, pattern);
      } finally {
        await work.cleanup();
      }
    });
  }
});
