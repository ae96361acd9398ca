export * from './authorizer.js';
export * from './challenge.js';
export * from './credential.js';
export * from './realm.js';
export * from './scope.js';
