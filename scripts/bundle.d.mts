/** Writes `<outdir>/main.js` (executable) and its chunks from src/cli/main.ts. */
export function bundleCli(outdir: string): Promise<void>;

/** Copies the browser view's static files (src/server/ui/assets) to `outdir`. */
export function copyUiAssets(outdir: string): Promise<void>;
