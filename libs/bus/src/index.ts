export { ForgeOneBusServer, REFUSED_EVENT_PATTERN, type BusConsumerOptions, type ForgeOneBusServerOptions, type ReadinessChecks, type RefusedEvent } from './forgeone-bus.server.js';
export { BusCommandRegistry, type DirectCommandHandler } from './bus-command.registry.js';
export { BusClient, type BusRequestOptions } from './bus.client.js';
export { BusContext, EventContext } from './bus.context.js';
export { HaltConsumerError, isHaltConsumerError } from './halt-consumer.error.js';
export { BusExceptionFilter } from './bus-exception.filter.js';
export { BusModule, BUS_CONNECTION, BUS_NAMES, EVENT_STORE, busClientProvider, type BusModuleOptions } from './bus.module.js';
export { connectNats } from './nats.connection.js';
export { natsHeaderCarrier } from './nats-header.carrier.js';
