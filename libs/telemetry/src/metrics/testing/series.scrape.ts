import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { InProcessSeries } from '../in-process.series.js';

/** The Prometheus text the SDK's exporter makes of `series`, as a scrape would see it (for specs). */
export async function scrapeSeries(series: InProcessSeries): Promise<string> {
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [series] });
  const provider = new MeterProvider({ readers: [exporter] });
  try {
    const { resourceMetrics, errors } = await exporter.collect();
    if (errors.length > 0) throw new AggregateError(errors, 'collecting the series failed');
    return new PrometheusSerializer('', false, undefined, true, true).serialize(resourceMetrics);
  } finally {
    await provider.shutdown();
  }
}

/** The value of the sample named exactly `series` (name and labels) in Prometheus text, if present. */
export function sampleValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1).split(' ')[0]);
}
