export * from './copy.js';
export * from './pack.js';
export * from './platform.js';
