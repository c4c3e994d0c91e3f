export * from './bus-service.host.js';
export * from './platform-nats.guard.js';
