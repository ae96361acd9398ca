/**
 * Writes `<outdir>/main.js` (executable), `<outdir>/lading.cjs` and `<outdir>/package.json` from
 * src/cli/; resolves with the source modules in lading.cjs as esbuild names them.
 */
export function bundleCli(outdir: string): Promise<{ modules: string[] }>;

/** Copies the browser view's static files (src/server/ui/assets) to `outdir`. */
export function copyUiAssets(outdir: string): Promise<void>;
