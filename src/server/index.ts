export * from './browser.js';
export * from './handler.js';
export * from './htpasswd.js';
export * from './names.js';
export * from './server.js';
export * from './storage.js';
export * from './uploads.js';
