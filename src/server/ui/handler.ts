import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Op } from '../../content/index.js';
import { LadingError } from '../../oci/index.js';
import { ComponentVersionRepository } from '../../ocm/repository/index.js';
import { fromOwnOrigin } from '../browser.js';
import { artifactGraph, describeBlob, listRepositories, listTags, sendContent } from './artifacts.js';
import { type Asset, defaultAssetsDir, loadAssets, sendAsset } from './assets.js';
import {
  componentVersions,
  componentVersionView,
  listComponents,
  resourceBlob,
  type UiKeys,
  verifyVersion,
} from './components.js';
import { clientSignal, intParam, param, securityHeaders, sendError, sendJson } from './http.js';
import { search } from './search.js';
import type { UiStore } from './store.js';

export interface UiOptions {
  store: UiStore;
  /** Where the view lives, with leading and trailing slash (default `/ui/`). */
  basePath?: string;
  /** Keys to verify signatures with; without them the view offers no verify action. */
  keys?: UiKeys;
  /**
   * Whether a Host header is one the view answers under (see hostGuard); any when absent. Guards
   * the server against DNS rebinding: every request is checked, since a browser's same-origin GET
   * over plain HTTP carries neither `Origin` nor `Sec-Fetch-*`.
   */
  allowedHost?: (host: string | undefined) => boolean;
  /** The folder of the static files (default: the package's own). */
  assetsDir?: string;
  /** The lading version, shown in the page footer. */
  version?: string;
}

/** Answers a request if it is the view's (true), or leaves it to the caller (false). Never rejects. */
export type UiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** The pages the view has; each is the same index.html, which reads its query. */
export const UiViews = ['', 'repository', 'artifact', 'components', 'component', 'version', 'search'] as const;

const PageSize = 50;
const MaxPageSize = 500;

/**
 * The browser view: static files, the pages (deep links), and a read-only JSON API over the
 * store under `<basePath>api/`. Only GET and HEAD are answered (and POST of `api/verify`, which
 * reads and changes nothing); every answer carries a strict Content-Security-Policy.
 */
export function createUiHandler(options: UiOptions): UiHandler {
  const basePath = normaliseBasePath(options.basePath ?? '/ui/');
  const assets = loadAssets(options.assetsDir ?? defaultAssetsDir());
  const index = assets.get('index.html') as Asset;
  const { store } = options;
  const repo = new ComponentVersionRepository(store.resolver);

  const api = async (route: string, req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const signal = clientSignal(req, res);
    const o: Op = { signal };
    const last = query.get('last') ?? undefined;
    switch (route) {
      case 'info':
        return sendJson(res, 200, {
          kind: store.kind,
          display: store.display,
          canVerify: Boolean(options.keys),
          ...(options.version ? { version: options.version } : {}),
        });
      case 'repositories': {
        const q = query.get('q')?.toLowerCase();
        const componentsToo = query.get('components') === '1';
        return sendJson(
          res,
          200,
          await listRepositories(store, intParam(query, 'n', PageSize, MaxPageSize), {
            ...o,
            last,
            filter: (name) =>
              (componentsToo || !name.startsWith('component-descriptors/')) && (!q || name.toLowerCase().includes(q)),
          }),
        );
      }
      case 'tags':
        return sendJson(
          res,
          200,
          await listTags(store, param(query, 'repository'), intParam(query, 'n', PageSize, MaxPageSize), {
            ...o,
            last,
          }),
        );
      case 'artifact':
        return sendJson(
          res,
          200,
          await artifactGraph(
            store,
            param(query, 'repository'),
            param(query, 'reference'),
            { mediaType: query.get('mediaType'), size: query.get('size') },
            o,
          ),
        );
      case 'blob': {
        const target = await store.resolver.targetFor(param(query, 'repository'), o);
        const desc = await describeBlob(
          target,
          param(query, 'digest'),
          { size: query.get('size'), mediaType: query.get('mediaType') },
          o,
        );
        return sendContent(res, target, desc, { name: query.get('name'), head: req.method === 'HEAD', signal });
      }
      case 'components':
        return sendJson(
          res,
          200,
          await listComponents(store, intParam(query, 'n', PageSize, MaxPageSize), { ...o, last }),
        );
      case 'versions': {
        const name = param(query, 'component');
        return sendJson(res, 200, { component: name, versions: await componentVersions(repo, name, o) });
      }
      case 'version':
        return sendJson(
          res,
          200,
          await componentVersionView(
            repo,
            param(query, 'component'),
            param(query, 'version'),
            Boolean(options.keys),
            o,
          ),
        );
      case 'resource': {
        const raw = param(query, 'index');
        if (!/^[0-9]{1,6}$/.test(raw))
          throw new LadingError('INVALID_ARGUMENT', `resource index "${raw}" is not a number`);
        const found = await resourceBlob(repo, param(query, 'component'), param(query, 'version'), Number(raw), o);
        return sendContent(res, found.target, found.desc, {
          name: found.resource.name,
          head: req.method === 'HEAD',
          signal,
        });
      }
      case 'verify': {
        if (!options.keys) throw new LadingError('UNSUPPORTED', 'no keys are configured on the server to verify with');
        const checks = await verifyVersion(repo, param(query, 'component'), param(query, 'version'), options.keys, o);
        return sendJson(res, 200, { signatures: checks });
      }
      case 'search':
        return sendJson(res, 200, await search(store, param(query, 'q'), o));
      default:
        throw new LadingError('NOT_FOUND', `no API ${route}`);
    }
  };

  return async (req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://view.invalid');
    } catch {
      return false;
    }
    const path = url.pathname;
    if (path === basePath.slice(0, -1)) {
      securityHeaders(res);
      res.statusCode = 308;
      res.setHeader('Location', `${basePath}${url.search}`);
      res.end();
      return true;
    }
    if (!path.startsWith(basePath)) return false;
    const rest = path.slice(basePath.length);
    try {
      if (options.allowedHost && !options.allowedHost(req.headers.host)) {
        const host = (req.headers.host ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 100);
        throw new LadingError(
          'DENIED',
          `host "${host}" is not this server's (not one of its addresses, nor a host name it was allowed)`,
        );
      }
      const verify = rest === 'api/verify';
      const method = req.method ?? 'GET';
      if (!(method === 'GET' || method === 'HEAD' || (verify && method === 'POST'))) {
        securityHeaders(res);
        res.setHeader('Allow', verify ? 'POST' : 'GET, HEAD');
        sendJson(res, 405, {
          error: { code: 'UNSUPPORTED', message: `${method} is not allowed: the view is read-only` },
        });
        return true;
      }
      if (verify) {
        if (method !== 'POST') throw new LadingError('INVALID_ARGUMENT', 'verify is a POST');
        // A custom header cannot be sent cross-site without a preflight, which this server never
        // grants; and the page's origin is this server's (as for the registry API's writes).
        if (req.headers['x-lading-ui'] !== 'verify' || !fromOwnOrigin(req, { allowNone: false })) {
          throw new LadingError('DENIED', 'verify is answered only to the view itself');
        }
      }
      if (rest.startsWith('api/')) {
        await api(rest.slice(4), req, res, url.searchParams);
      } else if (rest.startsWith('assets/')) {
        const asset = assets.get(rest.slice(7));
        if (!asset) throw new LadingError('NOT_FOUND', `no file ${rest}`);
        sendAsset(res, asset);
      } else if ((UiViews as readonly string[]).includes(rest)) {
        sendAsset(res, index);
      } else {
        sendAsset(res, index, 404);
      }
    } catch (error) {
      sendError(res, error);
    }
    return true;
  };
}

function normaliseBasePath(path: string): string {
  if (!/^\/([A-Za-z0-9._~-]+\/)*$/.test(path)) {
    throw new LadingError(
      'INVALID_ARGUMENT',
      `base path "${path}" must be /, or /segments/ (leading and trailing slash)`,
    );
  }
  return path;
}
