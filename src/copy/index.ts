export * from './copy.js';
export * from './pack.js';
export * from './platform.js';
export * from './referrer-tree.js';
export * from './resolve.js';
export * from './tag.js';
export * from './tagged.js';
