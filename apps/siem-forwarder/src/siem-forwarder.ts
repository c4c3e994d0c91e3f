import type { Names } from '@forgeone/contracts';
import type { EventAuthorship } from '@forgeone/event-store';
import { HecTransport, SinkPump, SyslogTransport, type SiemConfig, type SinkCheckpointStore, type SinkDefinition, type SinkStatus, type SinkTransport } from '@forgeone/siem';
import type { Logger } from '@forgeone/telemetry';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** The forwarder's running sinks: one pump each, started after migrations, stopped before NATS drains. */
export class SiemForwarder {
  private readonly pumps = new Map<string, SinkPump>();

  constructor(
    private readonly config: SiemConfig,
    private readonly connection: NatsConnection,
    private readonly names: Names,
    private readonly authorship: EventAuthorship,
    private readonly checkpoints: SinkCheckpointStore,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    for (const sink of this.config.sinks) await this.startSink(sink);
    if (this.config.sinks.length === 0) this.logger.info('no platform SIEM sink configured (FORGEONE_SIEM_SYSLOG_URL, FORGEONE_SIEM_HEC_URL)');
  }

  private async startSink(sink: SinkDefinition): Promise<void> {
    const { tuning } = this.config;
    const transport: SinkTransport = sink.target.kind === 'syslog' ? new SyslogTransport(sink.target, tuning.hostname) : new HecTransport(sink.target, tuning.hostname);
    const pump = new SinkPump({
      sink,
      transport,
      connection: this.connection,
      names: this.names,
      authorship: this.authorship,
      checkpoints: this.checkpoints,
      logger: this.logger,
      bufferEvents: tuning.bufferEvents,
      retryMinMs: tuning.retryMinMs,
      retryMaxMs: tuning.retryMaxMs,
    });
    await pump.start();
    this.pumps.set(sink.id, pump);
    this.logger.info({ sink: sink.id, kind: sink.target.kind, ...describeTarget(sink) }, 'SIEM sink started');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pumps.values()].map((pump) => pump.stop()));
    this.pumps.clear();
  }

  /** Every sink's status, or only `tenant`'s sinks. */
  async status(tenant?: string): Promise<SinkStatus[]> {
    const info = await (await jetstreamManager(this.connection)).streams.info(this.names.stream);
    const last = info.state.last_seq;
    return [...this.pumps.values()].map((pump) => pump.status(last)).filter((s) => tenant === undefined || s.tenant === tenant);
  }
}

// Where a sink sends, without its token: logs name the place, never the secret.
function describeTarget(sink: SinkDefinition): Record<string, string> {
  const target = sink.target;
  if (target.kind === 'syslog') return { target: `${target.tls ? 'tls' : 'tcp'}://${target.host}:${target.port}` };
  const url = new URL(target.url);
  return { target: `${url.protocol}//${url.host}${url.pathname}` };
}
