export * from './bus-service.host.js';
