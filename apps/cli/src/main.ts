#!/usr/bin/env node
import { run, wantsJson } from './program.js';
import type { CommandTracing } from './tracing/command-span.tracer.js';
import { TRACE_EXPORT_WAIT_MS, tracesExportRequested } from './tracing/trace-export.settings.js';

// `forgeone plugin list | head` closes the pipe early; that is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const argv = process.argv.slice(2);
// The SDK is loaded only when the OTEL_* variables ask for traces, and only once a verb runs.
let tracing: Promise<CommandTracing> | undefined;
const startTracing = tracesExportRequested(process.env)
  ? () => (tracing ??= import('./tracing/cli-telemetry.starter.js').then(({ startCliTracing }) => startCliTracing()))
  : undefined;

process.exitCode = await run(argv, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stdin: process.stdin,
  stderrStream: process.stderr,
}, startTracing);

if (tracing && !(await (await tracing).flush(TRACE_EXPORT_WAIT_MS))) {
  // The exporter would keep retrying an endpoint that does not answer for its own timeout (10 s by
  // default); the command is done and its exit code stands, so the span is given up.
  if (!wantsJson(argv)) process.stderr.write(`warning: the trace of this command was not exported: the OTLP endpoint did not take it within ${TRACE_EXPORT_WAIT_MS / 1000} s\n`);
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  process.exit();
}
