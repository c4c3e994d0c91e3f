import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNoopMeter } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InProcessSeries } from './in-process.series.js';
import { PlatformMetrics, usePlatformMetrics } from './platform.metrics.js';
import { PluginMetricsRecorder } from './plugin-metrics.recorder.js';

/** Where and how a service serves `/metrics` (FORGEONE_METRICS_PORT, _HOST, _TOKEN). */
export interface MetricsSettings {
  /** TCP port; 0 picks a free one; absent means no endpoint and no-op instruments. */
  readonly port?: number;
  /** Interface to listen on; anything but loopback needs a token. */
  readonly host: string;
  /** Bearer token a scraper must send; never logged. */
  readonly token?: string;
  /** Distinct metric names one plugin may export (FORGEONE_PLUGIN_METRIC_NAMES_MAX). */
  readonly pluginMetricNames?: number;
}

/** A running `/metrics` endpoint. */
export interface MetricsEndpoint {
  /** `http://host:port/metrics`, for the start-up log. */
  readonly url: string;
  readonly port: number;
  /** Whether calls are being recorded (true from start until {@link setRecording} pauses it). */
  readonly recording: boolean;
  /**
   * Pauses (false) or resumes (true) recording: while paused every instrument is the no-op set a
   * process without a metrics port has, and `/metrics` keeps serving the series as they stood.
   */
  setRecording(on: boolean): void;
  /** Stops serving and resets the instruments to no-ops. */
  close(): Promise<void>;
}

/** Thrown when the settings would expose tenants' series without a token. */
export class MetricsSettingsError extends Error {
  override readonly name = 'MetricsSettingsError';
  readonly code = 'CONFIG.INVALID';
}

const NOT_RECORDING_PLUGINS = new PluginMetricsRecorder(createNoopMeter(), { recording: false });
let plugins = NOT_RECORDING_PLUGINS;

/** Where the `metric` host hook's samples go (no-op until {@link startMetrics}). */
export function pluginMetrics(): PluginMetricsRecorder {
  return plugins;
}

/** Whether `host` names the loopback interface only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Starts the OpenTelemetry metrics SDK with the Prometheus exporter and serves the Prometheus text
 * format at `GET /metrics` on `settings.host:settings.port`. Series name tenants and their plugins,
 * so a non-loopback address is refused unless a scrape token is set; with a token, a request
 * without `Authorization: Bearer <token>` gets 401. Returns undefined (and keeps the no-op
 * instruments) when no port is configured.
 */
export async function startMetrics(service: string, settings: MetricsSettings): Promise<MetricsEndpoint | undefined> {
  if (settings.port === undefined) return undefined;
  if (!isLoopbackHost(settings.host) && !settings.token) {
    throw new MetricsSettingsError(
      `FORGEONE_METRICS_HOST is ${settings.host}, which is not a loopback address, and FORGEONE_METRICS_TOKEN is not set: metrics name tenants' plugins, so set a scrape token (openssl rand -hex 32) or listen on 127.0.0.1`,
    );
  }
  // The exporter's own server has no authentication: it only collects, this server answers.
  // Counters and histograms of the per-call path are aggregated in-process and read at each scrape.
  const series = new InProcessSeries('forgeone');
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [series] });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': service }), readers: [exporter] });
  const meter = provider.getMeter('forgeone');
  const expected = settings.token ? digest(settings.token) : undefined;

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') return reply(res, 404, 'not found: metrics are served at /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed: use GET /metrics\n');
    if (expected !== undefined) {
      const header = req.headers.authorization ?? '';
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match || !timingSafeEqual(digest(match[1]), expected)) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="forgeone-metrics"');
        return reply(res, 401, 'unauthorized: send Authorization: Bearer <FORGEONE_METRICS_TOKEN>\n');
      }
    }
    exporter.getMetricsRequestHandler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const live = new PlatformMetrics(meter, series);
  const livePlugins = new PluginMetricsRecorder(meter, { ...(settings.pluginMetricNames !== undefined ? { maxNamesPerPlugin: settings.pluginMetricNames } : {}) });
  let recording = true;
  let closed = false;
  const setRecording = (on: boolean) => {
    if (closed) return;
    recording = on;
    usePlatformMetrics(on ? live : undefined);
    plugins = on ? livePlugins : NOT_RECORDING_PLUGINS;
  };
  setRecording(true);
  const host = settings.host.includes(':') && !settings.host.startsWith('[') ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${host}:${port}/metrics`,
    port,
    get recording() {
      return recording;
    },
    setRecording,
    close: async () => {
      setRecording(false);
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      await provider.shutdown().catch(() => undefined);
    },
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function reply(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(body);
}
