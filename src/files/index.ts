export * from './annotation-file.js';
export * from './extract.js';
export * from './prepare.js';
export * from './pull.js';
export * from './push.js';
export * from './safe-path.js';
