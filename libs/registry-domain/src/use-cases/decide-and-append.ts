import { PLUGIN_AGGREGATE, type PluginEvent } from '@forgeone/contracts';
import { handleCommand, type EventStore } from '@forgeone/event-sourcing';
import type { PluginCommand } from '../plugin/plugin.commands.js';
import { pluginDecider } from '../plugin/plugin.decider.js';
import { pluginAggregateId, type PluginKey } from '../plugin/plugin.identity.js';
import type { PluginState } from '../plugin/plugin.state.js';
import type { AppendedEvent, CommandMetadata } from './registry.ports.js';

export interface Decision {
  readonly events: readonly PluginEvent[];
  /** Empty when nothing was decided, and for a dry run. */
  readonly appended: readonly AppendedEvent[];
  readonly state: PluginState;
}

/**
 * Decides a command on a plugin aggregate through the shared command handler: load, decide, append
 * with the loaded version expected, and on a conflict decide again on the fresh state.
 * `beforeAppend` runs before each append attempt, with the state the events were decided on (to store
 * an artifact the events will reference, or to verify a signature); throwing from it appends nothing.
 * With `dryRun`, everything up to and including `beforeAppend` runs and the append does not: the
 * answer holds the events that would have been appended.
 */
export async function decideAndAppend(
  events: EventStore,
  plugin: PluginKey,
  command: PluginCommand,
  metadata: CommandMetadata,
  beforeAppend?: (events: readonly PluginEvent[], state: PluginState) => Promise<void>,
  options: { readonly dryRun?: boolean } = {},
): Promise<Decision> {
  const outcome = await handleCommand(
    events,
    pluginDecider,
    // The CloudEvents subject stays the plugin name; the tenant travels in its own attribute.
    { aggregate: PLUGIN_AGGREGATE, id: pluginAggregateId(plugin), subject: plugin.name },
    command,
    metadata,
    { ...(beforeAppend ? { beforeAppend } : {}), ...(options.dryRun ? { dryRun: true } : {}) },
  );
  return {
    events: outcome.events,
    appended: outcome.appended.map((result) => ({ eventId: result.event.id, sequence: result.sequence })),
    state: outcome.state,
  };
}
