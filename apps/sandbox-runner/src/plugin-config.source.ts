import {
  defaultEnvironmentSettings,
  ENVIRONMENT_AGGREGATE,
  evolveEnvironment,
  evolvePluginConfig,
  initialEnvironmentState,
  initialPluginConfigState,
  isEnvironmentEvent,
  isPluginConfigEvent,
  PLUGIN_CONFIG_AGGREGATE,
  pluginConfigAggregateId,
  sealedSecretBinding,
  tenantAggregateId,
  type EnvironmentSettings,
  type Names,
  type SignaturePolicy,
} from '@forgeone/contracts';
import type { EventStore } from '@forgeone/event-sourcing';
import type { ConfigSecretBox } from '@forgeone/signing';
import type { Logger } from '@forgeone/telemetry';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';

/**
 * The values a plugin's `config_get` answers in one environment, read from the plugin-config
 * aggregate (verified reads) and kept per plugin and environment until any configuration event is
 * published: the runner subscribes to those subjects only to drop what it holds (the safe direction),
 * so it trusts nothing that arrives there. Secrets are opened here, in the runner, and held only in memory.
 */
export class PluginConfigSource {
  private readonly cache = new Map<string, Promise<Readonly<Record<string, string>>>>();
  // Bumped by every configuration event: a load that began before it is not kept.
  private generation = 0;
  private subscription?: Subscription;
  private statusWatch?: AsyncIterable<unknown> & { stop?: () => void };

  constructor(
    private readonly deps: {
      readonly events: EventStore;
      readonly secrets: ConfigSecretBox | undefined;
      readonly logger: Logger;
    },
  ) {}

  /** Starts listening for configuration events on `connection`. */
  listen(connection: NatsConnection, names: Names): void {
    // One token per aggregate id: the subject the runner's NATS permissions name (`forgeone.evt.plugin-config.*`).
    this.subscription = connection.subscribe(names.aggregateEvents(PLUGIN_CONFIG_AGGREGATE).replace(/>$/, '*'), {
      callback: () => this.forget(),
    });
    // Events published while disconnected never reach a core subscription: forget everything instead.
    this.statusWatch = connection.status() as AsyncIterable<unknown> & { stop?: () => void };
    void this.watchReconnects(this.statusWatch);
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.statusWatch?.stop?.();
  }

  private forget(): void {
    this.generation++;
    this.cache.clear();
  }

  private async watchReconnects(statuses: AsyncIterable<unknown>): Promise<void> {
    try {
      for await (const status of statuses) if ((status as { type?: string }).type === 'reconnect') this.forget();
    } catch {
      // The connection closed; there is nothing left to watch.
    }
  }

  /** The configuration of plugin `name` of `tenant` in `environment`, secrets opened. */
  valuesFor(tenant: string, environment: string, name: string): Promise<Readonly<Record<string, string>>> {
    const id = pluginConfigAggregateId(tenant, name, environment);
    const cached = this.cache.get(id);
    if (cached) return cached;
    const generation = this.generation;
    const loading = this.load(tenant, environment, name, id);
    this.cache.set(id, loading);
    loading.then(
      () => {
        if (generation !== this.generation && this.cache.get(id) === loading) this.cache.delete(id);
      },
      () => this.cache.delete(id),
    );
    return loading;
  }

  private async load(tenant: string, environment: string, name: string, id: string): Promise<Readonly<Record<string, string>>> {
    let state = initialPluginConfigState();
    for (const { event } of await this.deps.events.read(PLUGIN_CONFIG_AGGREGATE, id)) {
      if (isPluginConfigEvent(event)) state = evolvePluginConfig(state, event);
    }
    const values: Record<string, string> = {};
    for (const [key, entry] of Object.entries(state.entries)) {
      if (!entry.secret) {
        values[key] = entry.value;
        continue;
      }
      if (!this.deps.secrets) {
        // The plugin sees the key as unset rather than a call failing; the operator sees why.
        this.deps.logger.error({ tenant, environment, plugin: name, key }, 'a configuration secret is set but this runner has no FORGEONE_CONFIG_SECRET_KEY; the plugin reads it as unset');
        continue;
      }
      try {
        values[key] = this.deps.secrets.open(entry.sealed, sealedSecretBinding(tenant, name, environment, key));
      } catch (error) {
        this.deps.logger.error({ tenant, environment, plugin: name, key, err: (error as Error).message }, 'a configuration secret could not be opened; the plugin reads it as unset');
      }
    }
    return values;
  }
}

/**
 * The settings of an environment of a tenant as its events leave them, else the first-start
 * defaults; read fresh for every module the runner verifies.
 */
export async function environmentSettingsOf(events: EventStore, policy: SignaturePolicy, tenant: string, environment: string): Promise<EnvironmentSettings> {
  let state = initialEnvironmentState();
  for (const { event } of await events.read(ENVIRONMENT_AGGREGATE, tenantAggregateId(tenant, environment))) {
    if (isEnvironmentEvent(event)) state = evolveEnvironment(state, event);
  }
  return state.settings ?? defaultEnvironmentSettings(environment, policy);
}
