export * from './contained-tree.js';
export * from './extract.js';
export * from './link-target.js';
export * from './real-dir.js';
export * from './tar-reader.js';
export * from './temp-name.js';
