export * from './logger.js';
export * from './tracing.js';
export * from './nest-logger.js';
export * from './metrics/index.js';
export { enableModuleInstrumentations } from './module-instrumentations.js';
