/** Verbs that run until stopped: one span for the platform's whole lifetime, exported only at its end, would help no one. */
export const UNTRACED_VERBS: ReadonlySet<string> = new Set(['up', 'watch']);

/** How long the CLI waits, after its command, for its span to be exported. */
export const TRACE_EXPORT_WAIT_MS = 1000;

// Read before anything of the SDK is loaded, so a run that asks for no traces pays nothing.
export { spansExported as tracesExportRequested } from '@forgeone/telemetry/span-export';
