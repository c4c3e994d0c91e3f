import { PLUGIN_AGGREGATE, type CloudEvent, type PluginEvent } from '@forgeone/contracts';
import type { JetStreamEventStore } from '@forgeone/event-store';
import { initialPluginState, evolve, type AppendedEvent, type CommandMetadata, type PluginEventStream, type PluginState } from '@forgeone/registry-domain';

const SOURCE = '/forgeone/registry';

/** The plugin aggregate's stream on JetStream: one subject per plugin. */
export class PluginEventStreamAdapter implements PluginEventStream {
  constructor(private readonly store: JetStreamEventStore) {}

  load(name: string): Promise<{ state: PluginState; version: number }> {
    return this.store.load(PLUGIN_AGGREGATE, name, {
      initialState: initialPluginState,
      evolve: (state: PluginState, event: CloudEvent) => evolve(state, { type: event.type, data: event.data } as PluginEvent),
    });
  }

  async append(name: string, events: readonly PluginEvent[], options: { expectedVersion: number; metadata: CommandMetadata }): Promise<AppendedEvent[]> {
    const { metadata } = options;
    const appended = await this.store.append(
      PLUGIN_AGGREGATE,
      name,
      events.map((event) => ({
        id: metadata.newId(),
        type: event.type,
        data: event.data,
        time: metadata.now.toISOString(),
        actor: metadata.actor,
        tenant: metadata.tenant,
        source: SOURCE,
      })),
      { expectedSequence: options.expectedVersion },
    );
    return appended.map((result) => ({ eventId: result.event.id, sequence: result.sequence }));
  }
}
