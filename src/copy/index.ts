export * from './copy.js';
export * from './pack.js';
