export * from './test-environment.js';
export * from './test-platform.js';
export * from './cli-results.js';
export * from './event-writers.js';
export * from './siem-peers.js';
export * from './nats-cluster.harness.js';
export * from './metrics-scrape.js';
export * from './otlp-receiver.js';
