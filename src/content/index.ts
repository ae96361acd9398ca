export * from './graph.js';
export * from './memory.js';
export * from './referrers.js';
export * from './storage.js';
export * from './verify.js';
