export * from './atomic.js';
export * from './dir-files.js';
export type * from './files.js';
export * from './layout.js';
export * from './tar-files.js';
export * from './tar-index.js';
export * from './tar-writer.js';
