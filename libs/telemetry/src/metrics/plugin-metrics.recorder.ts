import type { Counter, Meter, UpDownCounter } from '@opentelemetry/api';
import type { PluginCallLabels } from './platform.metrics.js';

/** One sample a plugin reported through the `metric` host hook. */
export interface PluginMetricSample {
  readonly name: string;
  readonly value: number;
}

export interface PluginMetricsRecorderOptions {
  /** Distinct metric names one plugin (tenant and name) may have exported; later names are dropped and counted. */
  readonly maxNamesPerPlugin?: number;
  /** Longest metric name kept; a longer one is dropped and counted. */
  readonly maxNameLength?: number;
  /** False: a recorder that records nothing and keeps no names (a process without metrics, or paused). */
  readonly recording?: boolean;
}

export const DEFAULT_PLUGIN_METRIC_NAMES = 100;
const DEFAULT_NAME_LENGTH = 64;
// A name a plugin chose becomes a label value: printable ASCII, no quotes or backslashes to escape.
const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*$/;

/**
 * Exports the samples plugins report with the `metric` hook as `forgeone_plugin_metric_sum` (sum of
 * values) and `forgeone_plugin_metric_samples_total`, labelled with the plugin and the name it chose.
 * The name is the only plugin-chosen label, so it is capped: each plugin may use at most
 * `maxNamesPerPlugin` distinct names for the life of the process (every version and environment of
 * that plugin shares the allowance); a sample under a new name beyond it, or under a name that is not
 * a plain identifier, is dropped and counted in `forgeone_plugin_metric_dropped_total{reason}`.
 */
export class PluginMetricsRecorder {
  private readonly sums: UpDownCounter;
  private readonly samples: Counter;
  private readonly dropped: Counter;
  private readonly namesByPlugin = new Map<string, Set<string>>();
  private readonly maxNames: number;
  private readonly maxLength: number;
  readonly recording: boolean;

  constructor(meter: Meter, options: PluginMetricsRecorderOptions = {}) {
    this.recording = options.recording ?? true;
    this.maxNames = options.maxNamesPerPlugin ?? DEFAULT_PLUGIN_METRIC_NAMES;
    this.maxLength = options.maxNameLength ?? DEFAULT_NAME_LENGTH;
    this.sums = meter.createUpDownCounter('forgeone_plugin_metric_sum', { description: 'Sum of the values a plugin reported under a metric name' });
    this.samples = meter.createCounter('forgeone_plugin_metric_samples', { description: 'Samples a plugin reported under a metric name' });
    this.dropped = meter.createCounter('forgeone_plugin_metric_dropped', { description: 'Plugin metric samples dropped (over the per-plugin name cap, or a malformed name or value)' });
  }

  /** Records one call's samples under the call's plugin labels. */
  record(labels: PluginCallLabels, metrics: readonly PluginMetricSample[]): void {
    if (!this.recording || metrics.length === 0) return;
    const pluginKey = `${labels.tenant}\u0000${labels.plugin}`;
    let names = this.namesByPlugin.get(pluginKey);
    for (const { name, value } of metrics) {
      const reason = this.refusal(name, value, names);
      if (reason !== undefined) {
        this.dropped.add(1, { tenant: labels.tenant, plugin: labels.plugin, reason });
        continue;
      }
      if (names === undefined) {
        names = new Set();
        this.namesByPlugin.set(pluginKey, names);
      }
      names.add(name);
      const attributes = { tenant: labels.tenant, plugin: labels.plugin, version: labels.version, environment: labels.environment, metric: name };
      this.sums.add(value, attributes);
      this.samples.add(1, attributes);
    }
  }

  /** Distinct names held for a plugin. */
  namesOf(tenant: string, plugin: string): number {
    return this.namesByPlugin.get(`${tenant}\u0000${plugin}`)?.size ?? 0;
  }

  private refusal(name: string, value: number, names: Set<string> | undefined): string | undefined {
    if (!Number.isFinite(value)) return 'value_not_finite';
    if (name.length === 0 || name.length > this.maxLength || !NAME.test(name)) return 'name_invalid';
    if (names?.has(name)) return undefined;
    if ((names?.size ?? 0) >= this.maxNames) return 'name_cap';
    return undefined;
  }
}
