import { readFileSync } from 'node:fs';

/** `lading/<version>`, read once from package.json (two levels up from both src/ and dist/). */
export const defaultUserAgent: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return `lading/${pkg.version ?? 'unknown'}`;
  } catch {
    return 'lading';
  }
})();
