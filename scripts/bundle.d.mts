/** Writes `<outdir>/main.js` (executable) and its chunks from src/cli/main.ts. */
export function bundleCli(outdir: string): Promise<void>;
