export * from './test-environment.js';
export * from './test-platform.js';
export * from './cli-results.js';
export * from './event-writers.js';
export * from './siem-peers.js';
export * from './private-postgres.js';
export * from './private-nats.js';
