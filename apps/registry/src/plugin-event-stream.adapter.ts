import { PLUGIN_AGGREGATE, type CloudEvent, type PluginEvent } from '@forgeone/contracts';
import type { JetStreamEventStore } from '@forgeone/event-store';
import {
  evolve,
  initialPluginState,
  pluginAggregateId,
  type AppendedEvent,
  type CommandMetadata,
  type PluginEventStream,
  type PluginKey,
  type PluginState,
} from '@forgeone/registry-domain';

const SOURCE = '/forgeone/registry';

/** The plugin aggregate's stream on JetStream: one subject per plugin of a tenant (`<tenant>:<name>`). */
export class PluginEventStreamAdapter implements PluginEventStream {
  constructor(private readonly store: JetStreamEventStore) {}

  load(plugin: PluginKey): Promise<{ state: PluginState; version: number }> {
    return this.store.load(PLUGIN_AGGREGATE, pluginAggregateId(plugin), {
      initialState: initialPluginState,
      evolve: (state: PluginState, event: CloudEvent) => evolve(state, { type: event.type, data: event.data } as PluginEvent),
    });
  }

  async append(plugin: PluginKey, events: readonly PluginEvent[], options: { expectedVersion: number; metadata: CommandMetadata }): Promise<AppendedEvent[]> {
    const { metadata } = options;
    const appended = await this.store.append(
      PLUGIN_AGGREGATE,
      pluginAggregateId(plugin),
      events.map((event) => ({
        id: metadata.newId(),
        type: event.type,
        data: event.data,
        time: metadata.now.toISOString(),
        actor: metadata.actor,
        tenant: metadata.tenant,
        source: SOURCE,
        // The CloudEvents subject stays the plugin name; the tenant travels in its own attribute.
        subject: plugin.name,
      })),
      { expectedSequence: options.expectedVersion },
    );
    return appended.map((result) => ({ eventId: result.event.id, sequence: result.sequence }));
  }
}
