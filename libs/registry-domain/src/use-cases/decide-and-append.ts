import { ForgeOneError, type PluginEvent } from '@forgeone/contracts';
import type { PluginCommand } from '../plugin/plugin.commands.js';
import { decide } from '../plugin/plugin.decider.js';
import type { PluginKey } from '../plugin/plugin.identity.js';
import type { PluginState } from '../plugin/plugin.state.js';
import type { AppendedEvent, CommandMetadata, PluginEventStream } from './registry.ports.js';

const MAX_ATTEMPTS = 5;

export interface Decision {
  readonly events: readonly PluginEvent[];
  /** Empty when nothing was decided, and for a dry run. */
  readonly appended: readonly AppendedEvent[];
  readonly state: PluginState;
}

/**
 * Loads the aggregate, decides, and appends with the loaded version as the expected one. A
 * concurrent writer makes the append fail with EVENTSTORE.CONFLICT; the command is then decided
 * again on the fresh state, so of two racing commands one wins and the other is re-judged.
 * `beforeAppend` runs before each append attempt, with the state the events were decided on (to store
 * an artifact the events will reference, or to verify a signature); throwing from it appends nothing.
 * With `dryRun`, everything up to and including `beforeAppend` runs and the append does not: the
 * answer holds the events that would have been appended.
 */
export async function decideAndAppend(
  stream: PluginEventStream,
  plugin: PluginKey,
  command: PluginCommand,
  metadata: CommandMetadata,
  beforeAppend?: (events: readonly PluginEvent[], state: PluginState) => Promise<void>,
  options: { readonly dryRun?: boolean } = {},
): Promise<Decision> {
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await stream.load(plugin);
    const events = decide(command, state);
    if (events.length === 0) return { events, appended: [], state };
    await beforeAppend?.(events, state);
    if (options.dryRun) return { events, appended: [], state };
    try {
      const appended = await stream.append(plugin, events, { expectedVersion: version, metadata });
      return { events, appended, state };
    } catch (error) {
      if (!(error instanceof ForgeOneError) || error.code !== 'EVENTSTORE.CONFLICT' || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
