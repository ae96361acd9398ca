import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LadingError, packagePath } from '../../oci/index.js';
import { securityHeaders } from './http.js';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/**
 * The view's static files: beside this module (src/ and the library's dist/), else in the
 * package's dist/server/ui/assets (the bundled command line, whose chunks live in dist/bin/).
 */
export function defaultAssetsDir(): string {
  const beside = fileURLToPath(new URL('./assets/', import.meta.url));
  if (existsSync(join(beside, 'index.html'))) return beside;
  return packagePath('dist', 'server', 'ui', 'assets');
}

export interface Asset {
  type: string;
  body: Buffer;
}

/** Reads the (small, fixed) set of files once: only these names are ever served, so no path escapes. */
export function loadAssets(dir: string): Map<string, Asset> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    throw new LadingError('IO_ERROR', `the browser view's files are missing: cannot read ${dir}`, { cause: error });
  }
  const out = new Map<string, Asset>();
  for (const name of names) {
    const type = contentTypes[extname(name)];
    if (!type || !/^[a-z0-9][a-z0-9.-]*$/.test(name)) continue;
    out.set(name, { type, body: readFileSync(join(dir, name)) });
  }
  if (!out.has('index.html')) throw new LadingError('IO_ERROR', `the browser view's index.html is missing in ${dir}`);
  return out;
}

export function sendAsset(res: ServerResponse, asset: Asset, status = 200): void {
  securityHeaders(res);
  res.statusCode = status;
  res.setHeader('Content-Type', asset.type);
  res.setHeader('Content-Length', asset.body.length);
  res.setHeader('Cache-Control', 'no-cache');
  res.end(asset.body);
}
