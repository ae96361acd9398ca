export * from './docker-config.js';
export * from './helper.js';
export * from './store.js';
