// Bundles the command line into dist/bin/ (part of `npm run build`): one module graph in a few
// files starts ~40 ms faster than the ~150 modules tsc emits, which every lading command pays.
// The library (dist/index.js) stays tsc's output. Usage: node scripts/bundle.mjs [outdir]
import { chmod, cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Writes `<outdir>/main.js` (executable) and its chunks from src/cli/main.ts. */
export async function bundleCli(outdir) {
  // Chunk names carry content hashes: without this, every build would leave the last one's behind.
  await rm(outdir, { recursive: true, force: true });
  await build({
    entryPoints: { main: join(root, 'src', 'cli', 'main.ts') },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire as __ladingCreateRequire } from 'node:module'; const require = __ladingCreateRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'warning',
  });
  await chmod(join(outdir, 'main.js'), 0o755);
}

/**
 * Copies the browser view's static files (HTML, CSS, plain ES modules: no build step of their own)
 * beside tsc's output of src/server/ui/, where the library and the bundled command line find them.
 */
export async function copyUiAssets(outdir) {
  await rm(outdir, { recursive: true, force: true });
  await cp(join(root, 'src', 'server', 'ui', 'assets'), outdir, { recursive: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await bundleCli(process.argv[2] ?? join(root, 'dist', 'bin'));
  if (!process.argv[2]) await copyUiAssets(join(root, 'dist', 'server', 'ui', 'assets'));
}
