export * from './backup.js';
export * from './layout.js';
export * from './layout-tar.js';
