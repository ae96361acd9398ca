/**
 * Writes `<outdir>/main.js` (executable), the bodies `<outdir>/lading.cjs` (full) and
 * `<outdir>/lading-oras.cjs` (ORAS family only), and `<outdir>/package.json` from src/cli/; resolves
 * with the source modules of the full body, and of each body by file name, as esbuild names them.
 */
export function bundleCli(outdir: string): Promise<{ modules: string[]; bodies: Record<string, string[]> }>;

/** Copies the browser view's static files (src/server/ui/assets) to `outdir`. */
export function copyUiAssets(outdir: string): Promise<void>;
