export * from './platform.metrics.js';
export * from './in-process.series.js';
export * from './plugin-metrics.recorder.js';
export * from './metrics.endpoint.js';
