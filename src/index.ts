export * from './content/index.js';
export * from './copy/index.js';
export * from './ctf/index.js';
export * from './files/index.js';
export * from './layout/index.js';
export * from './oci/index.js';
export * from './ocm/index.js';
export * from './registry/index.js';
