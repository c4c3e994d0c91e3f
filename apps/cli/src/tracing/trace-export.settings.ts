/** Verbs that run until stopped: one span for the platform's whole lifetime, exported only at its end, would help no one. */
export const UNTRACED_VERBS: ReadonlySet<string> = new Set(['up', 'watch']);

/** How long the CLI waits, after its command, for its span to be exported. */
export const TRACE_EXPORT_WAIT_MS = 1000;

/**
 * Whether the standard OpenTelemetry variables ask this process to export traces:
 * `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or an `OTEL_TRACES_EXPORTER`
 * other than `none`, unless `OTEL_SDK_DISABLED=true`. Read before anything of the SDK is loaded,
 * so a run that asks for nothing pays nothing.
 */
export function tracesExportRequested(env: Readonly<Record<string, string | undefined>>): boolean {
  if (env['OTEL_SDK_DISABLED']?.trim().toLowerCase() === 'true') return false;
  const exporters = (env['OTEL_TRACES_EXPORTER'] ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
  if (exporters.includes('none')) return false;
  return exporters.length > 0 || Boolean(env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim() || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']?.trim());
}
