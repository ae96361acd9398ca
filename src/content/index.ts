export * from './file-origin.js';
export * from './graph.js';
export * from './hash.js';
export * from './memory.js';
export * from './read-size.js';
export * from './referrers.js';
export type * from './resolver.js';
export * from './storage.js';
export * from './verify.js';
