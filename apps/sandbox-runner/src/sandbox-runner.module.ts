import { AuthzClient, authzClientProvider } from '@forgeone/authz-client';
import { BUS_CONNECTION, BUS_NAMES } from '@forgeone/bus';
import { capLimits, INVOCATION_AGGREGATE, PLUGIN_AGGREGATE, PLUGIN_EVENT_TYPES, RUNNER_SIGNATURE_AGGREGATE, tenantAggregateId, type Names } from '@forgeone/contracts';
import { SequencedLogWriter } from '@forgeone/event-sourcing';
import { ArtifactStore, JetStreamEventStore } from '@forgeone/event-store';
import { PluginStorage } from '@forgeone/plugin-storage';
import { pluginEventOf, publishedVersionOf, SandboxHost } from '@forgeone/sandbox';
import type { ServiceContext } from '@forgeone/service-host';
import { platformMetrics, type Logger } from '@forgeone/telemetry';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { Module, type DynamicModule, type OnModuleDestroy } from '@nestjs/common';
import { CallRecordingSettingsCache } from './call-recording.settings.js';
import { CallWindowsRecorder, nextWindowSequence } from './call-windows.recorder.js';
import { PluginHostHooks } from './plugin-host.hooks.js';
import { environmentSettingsOf, PluginConfigSource } from './plugin-config.source.js';
import { ConfigSecretBox } from '@forgeone/signing';
import { ModuleSignatureVerifier } from './module-signature.verifier.js';
import { PluginInstallations } from './plugin-installations.table.js';
import { PluginInvoker } from './plugin.invoker.js';
import { PluginStorageReport } from './plugin-storage.report.js';
import type { SandboxRunnerOptions } from './sandbox-runner.config.js';
import { SandboxRunnerController } from './sandbox-runner.controller.js';

// Room for the headers of a storage write (compare-and-set revision) next to the value in one NATS message.
const STORAGE_HEADER_ALLOWANCE_BYTES = 1024;

/** Everything one runner holds, closed with the module. */
export class SandboxRunner implements OnModuleDestroy {
  readonly host: SandboxHost;
  readonly hooks: PluginHostHooks;
  readonly storage: PluginStorage;
  readonly storageReport: PluginStorageReport;
  readonly installations: PluginInstallations;
  readonly invoker: PluginInvoker;
  readonly verifier: ModuleSignatureVerifier;
  readonly calls: CallWindowsRecorder;
  readonly config: PluginConfigSource;
  private kv?: Promise<KV>;

  constructor(connection: NatsConnection, names: Names, events: JetStreamEventStore, artifacts: ArtifactStore, authz: AuthzClient, options: SandboxRunnerOptions, logger: Logger) {
    const kv = () => {
      // Provisioned by the operator step with the stream (`forgeone admin setup`); bound, never created here.
      this.kv ??= new Kvm(connection).open(names.pluginKvBucket);
      this.kv.catch(() => (this.kv = undefined));
      return this.kv;
    };
    const invocationLog = new SequencedLogWriter(events, INVOCATION_AGGREGATE);
    this.calls = new CallWindowsRecorder({
      runner: options.runnerId,
      windowMs: options.callWindowMs,
      nextSequence: async () => nextWindowSequence(await kv(), options.runnerId),
      append: (tenant, batch) => invocationLog.append(tenant, batch),
      logger,
    });
    this.storage = new PluginStorage({
      kv,
      tenantQuota: options.storageQuota.tenant,
      maxValueBytes: () => (connection.info?.max_payload ?? 1024 * 1024) - STORAGE_HEADER_ALLOWANCE_BYTES,
    });
    this.hooks = new PluginHostHooks(authz, this.storage, options.storageQuota);
    this.host = new SandboxHost({ hooks: this.hooks, ...(options.caps ? { caps: options.caps } : {}) });
    const host = this.host;
    platformMetrics().observeWorkerPools(() => {
      let workers = 0;
      let busy = 0;
      let queued = 0;
      for (const { key } of host.loaded()) {
        const stats = host.poolStats(key);
        workers += stats?.workers ?? 0;
        busy += stats?.busy ?? 0;
        queued += stats?.queued ?? 0;
      }
      return { workers, busy, queued };
    });
    this.config = new PluginConfigSource({ events, secrets: ConfigSecretBox.from(options.configSecretKey), logger });
    this.config.listen(connection, names);
    this.verifier = new ModuleSignatureVerifier({
      settings: (tenant, environment) => environmentSettingsOf(events, options.signaturePolicy, tenant, environment),
      artifact: (digest) => artifacts.get(digest),
      keyEvents: events,
      // Results are a log, not a decision: appended per plugin on the runner's own aggregate, with no concurrency check.
      record: async (tenant, name, batch) => {
        await events.append(RUNNER_SIGNATURE_AGGREGATE, tenantAggregateId(tenant, name), batch, { expectedSequence: 'any' });
      },
      logger,
    });
    this.installations = new PluginInstallations({
      host: this.host,
      wasm: (installed) => this.verifier.load(installed),
      // The environment's caps as they stand when the version loads; a later change applies from its next load.
      limits: async (installed) => capLimits(installed.manifest.limits, (await environmentSettingsOf(events, options.signaturePolicy, installed.tenant, installed.environment)).limitCaps),
      published: async (tenant, name, version) => {
        const stored = await events.read(PLUGIN_AGGREGATE, tenantAggregateId(tenant, name));
        for (const { event } of stored) {
          const plugin = pluginEventOf(event);
          if (plugin?.type === PLUGIN_EVENT_TYPES.versionPublished && plugin.data.version === version) return publishedVersionOf(plugin.data);
        }
        return undefined;
      },
      // A version's calls are in the open window: written before the version goes.
      beforeUnload: () => this.calls.flush(),
      logger,
    });
    this.storageReport = new PluginStorageReport(this.storage, this.installations, options.storageQuota);
    this.invoker = new PluginInvoker({
      host: this.host,
      installations: this.installations,
      hooks: this.hooks,
      config: this.config,
      authz,
      events: invocationLog,
      calls: this.calls,
      recording: new CallRecordingSettingsCache({ events, refreshMs: options.callRecordingRefreshMs, logger }),
      runnerId: options.runnerId,
      latestPluginSequence: (tenant, name) => events.lastSequence(PLUGIN_AGGREGATE, tenantAggregateId(tenant, name)),
      logger,
    });
  }

  async onModuleDestroy(): Promise<void> {
    // Usually written already (the bus server's beforeDisconnect); a no-op then.
    await this.calls.flush();
    this.config.close();
    await this.installations.close();
  }
}

/**
 * The sandbox-runner service: invocations, host hooks and hot swap over the SandboxHost, its
 * installation table fed by its own durable consumer of plugin events.
 */
@Module({})
export class SandboxRunnerModule {
  static forRoot(context: ServiceContext, options: SandboxRunnerOptions): DynamicModule {
    return {
      module: SandboxRunnerModule,
      imports: [context.busModule],
      controllers: [SandboxRunnerController],
      providers: [
        authzClientProvider({ serviceCredential: options.serviceCredential, ...options.authz }),
        {
          provide: SandboxRunner,
          useFactory: (nc: NatsConnection, names: Names, events: JetStreamEventStore, artifacts: ArtifactStore, authz: AuthzClient) =>
            new SandboxRunner(nc, names, events, artifacts, authz, options, context.logger),
          inject: [BUS_CONNECTION, BUS_NAMES, JetStreamEventStore, ArtifactStore, AuthzClient],
        },
        { provide: PluginInvoker, useFactory: (r: SandboxRunner) => r.invoker, inject: [SandboxRunner] },
        { provide: PluginInstallations, useFactory: (r: SandboxRunner) => r.installations, inject: [SandboxRunner] },
        { provide: PluginStorageReport, useFactory: (r: SandboxRunner) => r.storageReport, inject: [SandboxRunner] },
      ],
    };
  }
}

/**
 * The runner's durable consumer: plugin events only, in order, replayed from the start at every
 * boot (the table lives in memory), so replayed event ids are caught in memory too. Calls, test runs
 * and queries are taken only once the table holds every plugin event that was in the stream at start:
 * before that, "not installed" would be a guess.
 */
export function sandboxRunnerConsumer(names: Names, options: SandboxRunnerOptions) {
  return {
    durable: names.consumer(`sandbox-runner-${options.instanceId}`),
    filterSubject: names.aggregateEvents(PLUGIN_AGGREGATE),
    maxAckPending: 1,
    resumeFrom: async () => 1,
    refuseReplays: true,
    // A runner that is gone for good does not leave its consumer behind.
    inactiveThresholdMs: 60 * 60 * 1000,
    commandsAfterCatchUp: { timeoutMs: options.catchUpTimeoutMs },
  };
}
