import { ForgeOneError, SIEM_SINK_EVENT_TYPES, siemSinkEndpoint, siemSinkTokenBinding, type Names, type SiemSinkDefinition } from '@forgeone/contracts';
import type { EventAuthorship } from '@forgeone/event-store';
import {
  HecTransport,
  SharedEventReads,
  SinkAddressGuard,
  SinkAddressRefusedError,
  SinkPump,
  sinkTestRecord,
  SyslogTransport,
  TenantSinkFollower,
  type SiemConfig,
  type SinkCheckpointStore,
  type SinkDefinition,
  type SinkStatus,
  type SinkTransport,
  type TenantSinkAdded,
} from '@forgeone/siem';
import type { ConfigSecretBox } from '@forgeone/signing';
import type { Logger } from '@forgeone/telemetry';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/** A running tenant sink: its pump and the definition it was added with. */
interface TenantSink {
  readonly added: TenantSinkAdded;
  readonly pump: SinkPump;
}

/**
 * The forwarder's running sinks: the platform's (from configuration) and every tenant's (from the
 * registry's `siem-sink` events, followed from the stream), one pump each, started after
 * migrations, stopped before NATS drains. A tenant sink receives only its tenant's events and
 * judges its address at every connect.
 */
export class SiemForwarder {
  private readonly pumps = new Map<string, SinkPump>();
  private readonly tenantSinks = new Map<string, TenantSink>();
  private readonly guard: SinkAddressGuard;
  /** Every sink's reads, verified once for all sinks reading the same messages. */
  private readonly reads: SharedEventReads;
  private follower: TenantSinkFollower | undefined;

  constructor(
    private readonly config: SiemConfig,
    private readonly connection: NatsConnection,
    private readonly names: Names,
    private readonly authorship: EventAuthorship,
    private readonly checkpoints: SinkCheckpointStore,
    private readonly logger: Logger,
    /** Opens HEC tokens of tenant sinks; null when the forwarder was given no configuration key. */
    private readonly secrets: ConfigSecretBox | null,
  ) {
    this.guard = new SinkAddressGuard(config.tenantAllowPrivate);
    this.reads = new SharedEventReads(authorship);
  }

  async start(): Promise<void> {
    for (const sink of this.config.sinks) await this.startPump(sink, this.platformTransport(sink));
    if (this.config.sinks.length === 0) this.logger.info('no platform SIEM sink configured (FORGEONE_SIEM_SYSLOG_URL, FORGEONE_SIEM_HEC_URL)');
    this.follower = new TenantSinkFollower({
      connection: this.connection,
      names: this.names,
      authorship: this.authorship,
      logger: this.logger,
      retryMs: this.config.tuning.retryMinMs,
      onAdded: (added) => this.addTenantSink(added),
      onRemoved: (tenant, name) => this.removeTenantSink(tenant, name),
    });
    this.follower.start();
  }

  private platformTransport(sink: SinkDefinition): SinkTransport {
    const { hostname } = this.config.tuning;
    return sink.target.kind === 'syslog' ? new SyslogTransport(sink.target, hostname) : new HecTransport(sink.target, hostname);
  }

  private async startPump(sink: SinkDefinition, transport: SinkTransport): Promise<SinkPump> {
    const { tuning } = this.config;
    const pump = new SinkPump({
      sink,
      transport,
      connection: this.connection,
      names: this.names,
      authorship: this.reads,
      checkpoints: this.checkpoints,
      logger: this.logger,
      bufferEvents: tuning.bufferEvents,
      retryMinMs: tuning.retryMinMs,
      retryMaxMs: tuning.retryMaxMs,
    });
    await pump.start();
    this.pumps.set(sink.id, pump);
    this.logger.info({ sink: sink.id, kind: sink.target.kind, ...describeTarget(sink) }, 'SIEM sink started');
    return pump;
  }

  private async addTenantSink(added: TenantSinkAdded): Promise<void> {
    const key = tenantSinkId(added.tenant, added.definition.name);
    await this.removeTenantSink(added.tenant, added.definition.name);
    const sink = this.tenantSinkDefinition(added);
    const pump = await this.startPump(sink, this.tenantTransport(added));
    this.tenantSinks.set(key, { added, pump });
  }

  private async removeTenantSink(tenant: string, name: string): Promise<void> {
    const key = tenantSinkId(tenant, name);
    const running = this.tenantSinks.get(key);
    if (!running) return;
    this.tenantSinks.delete(key);
    this.pumps.delete(key);
    await running.pump.stop();
    await this.checkpoints.remove(checkpointKeyOf(running.added));
    this.logger.info({ sink: key }, 'SIEM sink stopped (removed)');
  }

  private tenantSinkDefinition(added: TenantSinkAdded): SinkDefinition {
    const { definition, tenant } = added;
    const endpoint = siemSinkEndpoint(definition.kind, definition.url);
    if (typeof endpoint === 'string') throw new Error(`tenant sink ${tenantSinkId(tenant, definition.name)}: url ${endpoint}`);
    const filter = { tenant, ...(definition.types.length ? { types: definition.types } : {}), ...(definition.minSeverity ? { minSeverity: definition.minSeverity } : {}) };
    const base = {
      id: tenantSinkId(tenant, definition.name),
      checkpointKey: checkpointKeyOf(added),
      startAfterSequence: added.sequence,
      filter,
      endsWith: (event: { type: string; tenant: string; data: unknown }) =>
        event.type === SIEM_SINK_EVENT_TYPES.removed && event.tenant === tenant && (event.data as { name?: unknown } | null)?.name === definition.name,
    };
    if (definition.kind === 'syslog') {
      const tls = definition.url.startsWith('tls:');
      return { ...base, target: { kind: 'syslog', host: endpoint.host, port: endpoint.port, tls, ...(definition.ca ? { ca: definition.ca } : {}) } };
    }
    // The token is opened when a transport is made, never kept in a definition that could be logged.
    return { ...base, target: { kind: 'hec', url: hecUrl(definition.url), token: '', ca: definition.ca, batchEvents: this.config.hecBatchEvents } };
  }

  private tenantTransport(added: TenantSinkAdded): SinkTransport {
    const sink = this.tenantSinkDefinition(added);
    const { hostname } = this.config.tuning;
    if (sink.target.kind === 'syslog') return new SyslogTransport(sink.target, hostname, undefined, this.guard);
    const token = this.openToken(added.tenant, added.definition);
    if (token instanceof Error) return failingTransport(token.message);
    return new HecTransport({ ...sink.target, token }, hostname, this.guard);
  }

  private openToken(tenant: string, definition: SiemSinkDefinition): string | Error {
    if (definition.kind !== 'hec') return new Error('not a HEC sink');
    if (!this.secrets) return new Error('the forwarder was started without the configuration key (FORGEONE_CONFIG_SECRET_KEY), so it cannot open this sink\'s HEC token');
    try {
      return this.secrets.open(definition.token, siemSinkTokenBinding(tenant, definition.name));
    } catch (error) {
      return new Error(`the sink's HEC token cannot be opened: ${(error as Error).message}`);
    }
  }

  /**
   * `siem sink test`: one test record through a fresh transport of the tenant's sink (address judged
   * again), answered once it was delivered, or SIEM.SINK_TEST_FAILED with what went wrong.
   */
  async testTenantSink(tenant: string, name: string, actor: string, id: string): Promise<{ name: string; delivered: true; eventId: string; ms: number }> {
    const key = tenantSinkId(tenant, name);
    // A sink added a moment ago may not have been read yet.
    const deadline = Date.now() + 3_000;
    while (!this.tenantSinks.has(key) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const running = this.tenantSinks.get(key);
    if (!running) throw new ForgeOneError('SIEM.SINK_NOT_FOUND', `your tenant has no SIEM sink named ${name}; see forgeone siem sink list`, { name });
    const transport = this.tenantTransport(running.added);
    const started = Date.now();
    try {
      await withTimeout(transport.deliver([sinkTestRecord(tenant, name, actor, id, new Date())]), 15_000);
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof SinkAddressRefusedError) throw new ForgeOneError('SIEM.SINK_ADDRESS_REFUSED', message, { name });
      throw new ForgeOneError('SIEM.SINK_TEST_FAILED', `the test message was not delivered to ${name}: ${message}`, { name });
    } finally {
      await transport.close().catch(() => undefined);
    }
    return { name, delivered: true, eventId: id, ms: Date.now() - started };
  }

  async stop(): Promise<void> {
    await this.follower?.stop();
    await Promise.all([...this.pumps.values()].map((pump) => pump.stop()));
    this.pumps.clear();
    this.tenantSinks.clear();
  }

  /** Every sink's status, or only `tenant`'s sinks. */
  async status(tenant?: string): Promise<SinkStatus[]> {
    const info = await (await jetstreamManager(this.connection)).streams.info(this.names.stream);
    const last = info.state.last_seq;
    return [...this.pumps.values()].map((pump) => pump.status(last)).filter((s) => tenant === undefined || s.tenant === tenant);
  }
}

function tenantSinkId(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}

// A sink added again after a removal is a new sink: its checkpoint is keyed by the event that added it.
function checkpointKeyOf(added: TenantSinkAdded): string {
  return `tenant:${added.tenant}/${added.definition.name}@${added.sequence}`;
}

function hecUrl(raw: string): string {
  const url = new URL(raw);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/services/collector/event';
  return url.toString();
}

function failingTransport(message: string): SinkTransport {
  return {
    deliver: () => Promise.reject(new Error(message)),
    close: () => Promise.resolve(),
  };
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no delivery within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

// Where a sink sends, without its token: logs name the place, never the secret.
function describeTarget(sink: SinkDefinition): Record<string, string> {
  const target = sink.target;
  if (target.kind === 'syslog') return { target: `${target.tls ? 'tls' : 'tcp'}://${target.host}:${target.port}` };
  const url = new URL(target.url);
  return { target: `${url.protocol}//${url.host}${url.pathname}` };
}
