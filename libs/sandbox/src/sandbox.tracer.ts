import { trace } from '@opentelemetry/api';

// Looked up at each use, so spans go to whichever tracer provider the process registered, even after import.
export function sandboxTracer() {
  return trace.getTracer('forgeone-sandbox');
}
