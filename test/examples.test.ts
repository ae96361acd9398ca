// Every example of docs/library.md (examples/*.ts) runs as written, importing `lading` and its
// subpaths (mapped to src/ by examples/tsconfig.json), against the real registry, each in a fresh
// folder that is its working directory.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

// docs/library.md tells a reader how to run an example by hand: that command, as written (only the
// checkout's path and the registry's port filled in), from an empty folder that is not the checkout.
describe("docs/library.md's command to run an example", () => {
  const guide = readFileSync(join(root, 'docs', 'library.md'), 'utf8');
  const block = /```sh\n([^`]*examples\/oci-artifacts\.ts[^`]*)```/.exec(guide)?.[1];
  test('runs as written from an empty folder', async (t) => {
    assert.ok(block, 'docs/library.md shows the command in a sh block');
    // The guide says to build first: the example imports `lading`, which is dist/ (the package's own exports).
    assert.ok(existsSync(join(root, 'dist', 'index.js')), 'dist/ is not built: run `npm run build` first');
    const work = await tempDir('lading-guide-command-');
    try {
      const script = block
        .replaceAll('~/lading', root.replace(/\/$/, ''))
        .replaceAll('localhost:5000', loadPeers().plain.host)
        .replaceAll('/tmp/lading-example', work.path);
      // A reader's shell: none of the npm_* variables `npm test` (or CI's `npx -c`, whose
      // npm_config_call makes the guide's npx refuse its arguments) sets for the tests.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
      const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: root, encoding: 'utf8', env });
      for (const pattern of expected['oci-artifacts.ts'] ?? []) assert.match(stdout, pattern);
      assert.ok(existsSync(join(work.path, 'hello-layout.tar')), 'it wrote its files into the empty folder');
      t.diagnostic(`ran: ${script.trim().split('\n').join(' && ')}`);
    } finally {
      await work.cleanup();
    }
  });
});
