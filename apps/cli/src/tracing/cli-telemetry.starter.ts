import { initTelemetry, shutdownTelemetry, tracer } from '@forgeone/telemetry';
import { createCommandTracing, type CommandTracing } from './command-span.tracer.js';

/**
 * Starts the services' OpenTelemetry SDK in this process as `forgeone-cli` (OTEL_SERVICE_NAME wins),
 * with the standard variables' exporter and sampler. Imported only when they ask for traces.
 */
export async function startCliTracing(): Promise<CommandTracing> {
  await initTelemetry('forgeone-cli', process.env);
  return createCommandTracing(tracer(), shutdownTelemetry);
}
