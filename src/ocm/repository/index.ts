export * from './mapping.js';
export * from './repository.js';
export * from './resolvers.js';
