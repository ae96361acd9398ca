export { isLoopbackAddress } from '../browser.js';
export { type ArtifactView, type GraphNode, MaxGraphDepth, MaxGraphNodes, type Page } from './artifacts.js';
export type { ResourceContent, SignatureCheck, UiKeys, VersionView } from './components.js';
export { createUiHandler, type UiHandler, type UiOptions, UiViews } from './handler.js';
export { PageCsp } from './http.js';
export type { SearchResult } from './search.js';
export { parseAddr, startUiServer, type UiServer, type UiServerOptions } from './standalone.js';
export { ctfStore, layoutStore, registryStore, type UiStore } from './store.js';
